package approval

import (
	"context"
	"time"

	"github.com/countycloud/countycloud/plugins/sdk"
)

// services is what the module uses of the host: *sdk.Host for a real
// request (Handle passes it, so the compiler holds the SDK to it), a fake
// in memory in the tests.
type services interface {
	Put(ctx context.Context, collection, id string, version int64, doc any) (sdk.Record, error)
	Get(ctx context.Context, collection, id string) (sdk.Record, error)
	Delete(ctx context.Context, collection, id string, version int64) error
	Query(ctx context.Context, collection string, q sdk.Query) (sdk.Page, error)
	PutRecordsBrief(ctx context.Context, puts []sdk.RecordPut) ([]sdk.Record, error)

	Submit(ctx context.Context, s sdk.Submission) (sdk.Submitted, error)
	ChecksUnchanged() bool
	LookupReceipt(ctx context.Context, number, code string) (sdk.ReceiptRecord, error)
	CreatePublicUpload(ctx context.Context, u sdk.PublicUpload) (sdk.Upload, error)
	File(ctx context.Context, id string) (sdk.File, error)
	DownloadURL(ctx context.Context, id string, ttl time.Duration) (sdk.SignedURL, error)
	PublicDownloadURL(ctx context.Context, id string, ttl time.Duration) (sdk.SignedURL, error)
	StartWorkflowFor(ctx context.Context, workflow string, o sdk.StartOptions) (sdk.Outcome, error)
	ActOnTaskWith(ctx context.Context, taskID int64, action string, o sdk.ActOptions) (sdk.Outcome, error)
	ListWorkflowInstances(ctx context.Context, q sdk.WorkflowQuery) ([]sdk.Instance, error)
	ListWorkflowTasks(ctx context.Context, q sdk.WorkflowQuery) ([]sdk.Task, error)
	WorkflowInstanceView(ctx context.Context, id int64) (sdk.InstanceView, error)
	SuspendWorkflow(ctx context.Context, id int64, reason string) ([]sdk.Instance, error)
	ResumeWorkflow(ctx context.Context, id int64, comment string) ([]sdk.Instance, error)

	Units(ctx context.Context, ids ...int64) ([]sdk.Unit, error)
	RecordMeasure(ctx context.Context, m sdk.Measure) (bool, error)
	Audit(ctx context.Context, e sdk.AuditEntry) error
}
