package sdk

import (
	"context"

	"github.com/countycloud/countycloud/plugins/sdk/proto/pluginv1"
)

// SuspendWorkflow stops the clock of instance id of the module's
// workflows, and of every running instance distributed from it, while
// they wait on the applicant for missing materials (补正): their tasks
// wait, supervision does not watch them, and their deadlines will move on
// by the working time waited. The request's caller must be an account
// that may act on one of their unfinished tasks (ErrDenied otherwise);
// reason (required) is what they wait for. A suspension does not nest
// (ErrConflict). It answers the instances suspended, id's first if it was
// running.
func (h *Host) SuspendWorkflow(ctx context.Context, id int64, reason string) ([]Instance, error) {
	resp, err := h.suspension.SuspendWorkflow(ctx, &pluginv1.SuspendWorkflowRequest{Capability: h.capability, InstanceId: id, Reason: reason})
	v, err := decodeWorkflow[struct {
		Instances []Instance `json:"instances"`
	}](resp, err)
	return v.Instances, err
}

// ResumeWorkflow starts again the clock of instance id and of those
// distributed from it that its suspension stopped, each deadline moved on
// by the working time waited. Unlike the other workflow calls, a public
// route's anonymous caller may resume (the applicant supplying the
// materials): check first that the caller is the applicant (the receipt's
// code). An account must be able to act on one of the suspended tasks.
// An instance not suspended is ErrConflict.
func (h *Host) ResumeWorkflow(ctx context.Context, id int64, comment string) ([]Instance, error) {
	resp, err := h.suspension.ResumeWorkflow(ctx, &pluginv1.ResumeWorkflowRequest{Capability: h.capability, InstanceId: id, Comment: comment})
	v, err := decodeWorkflow[struct {
		Instances []Instance `json:"instances"`
	}](resp, err)
	return v.Instances, err
}
