package convenience

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/countycloud/countycloud/plugins/sdk"
)

// Collections of the module's records.
const (
	// collMessages are the citizens' messages, by a newest-first id.
	collMessages = "messages"
	// collPublished are the published replies, masked, by a newest-first
	// id of their publication: the public list reads them alone, a page
	// at a time, without filtering the messages.
	collPublished = "published"
)

// Manifest describes the module to the host's catalog.
func Manifest() sdk.Manifest {
	return sdk.Manifest{
		ID:       "convenience",
		Name:     "便民服务",
		Vendor:   "CountyCloud",
		Version:  "1.0.0",
		Protocol: sdk.ProtocolVersion,
		Collections: map[string]sdk.Collection{
			// Messages are listed by status, unit and whether an
			// unsatisfied rating reopened them, and found by their
			// receipt's number; the new ones of a category are routed
			// by its rule, and the oversight report reads the months
			// of its period, those left and those routed in them.
			collMessages:  {Indexed: []string{"status", "unit_id", "number", "reopened", "category", "submitted_month", "routed_month"}},
			collPublished: {},
		},
		Settings:  json.RawMessage(settingsSchema),
		Workflows: map[string]json.RawMessage{wfMessage: json.RawMessage(messageFlow)},
		// A message the county's rule routes starts its workflow as the
		// citizen leaves it.
		PublicStart: []string{wfMessage},
		Measures:    measures(),
		Public: []sdk.PublicRoute{
			{Method: "POST", Path: "/public/messages"},
			{Method: "POST", Path: "/public/messages/{number}/query"},
			{Method: "POST", Path: "/public/messages/{number}/rating"},
			{Method: "GET", Path: "/public/replies"},
		},
	}
}

// Serve runs the module as a plugin process until the host stops it; the
// platform's hidden 'module serve convenience' command calls it.
func Serve() {
	sdk.Serve(Manifest(), newModule())
}

// module serves the requests of every county that enables convenience;
// it keeps no state between requests: everything lives in the host's
// records and workflows.
type module struct {
	now func() time.Time
	log hclog.Logger
}

func newModule() *module {
	return &module{
		now: time.Now,
		log: hclog.New(&hclog.LoggerOptions{Name: "convenience", Output: os.Stderr, JSONFormat: true, Level: hclog.Info}),
	}
}

// Handle serves one request in one county.
func (m *module) Handle(ctx context.Context, r *sdk.Request) (*sdk.Response, error) {
	return m.serve(ctx, r, r.Host)
}

// serve takes the host's services apart from the request so that the
// tests can give it a fake of them: sdk.Host is a concrete type.
func (m *module) serve(ctx context.Context, r *sdk.Request, h services) (*sdk.Response, error) {
	rt, p, bad := match(routes(), r.Method, r.Path)
	if bad != nil {
		return errorResponse(bad), nil
	}
	s, err := parseSettings(r.Settings)
	if err != nil {
		return nil, fmt.Errorf("convenience: the county's settings: %w", err)
	}
	c := &call{ctx: ctx, host: h, log: m.log, req: r, who: accessOf(r.Caller, s), now: m.now(), settings: s}
	status, body, err := rt.handle(c, p)
	var ae *apiError
	if errors.As(err, &ae) {
		return errorResponse(ae), nil
	}
	if err != nil {
		return nil, fmt.Errorf("convenience: %s %s: %w", r.Method, r.Path, err)
	}
	return sdk.JSONResponse(status, body)
}

// call is one request being served.
type call struct {
	ctx      context.Context
	host     services
	log      hclog.Logger
	req      *sdk.Request
	who      access
	now      time.Time
	settings settings
}

// audit records action on a message in the county's trail. The change is
// made by then, so a trail that refuses the entry fails the request no
// further: the host's log keeps what the trail missed.
func (c *call) audit(action, id string, before, after any) {
	e := sdk.AuditEntry{Action: action, ObjectType: "message", ObjectID: id, Before: before, After: after}
	if err := c.host.Audit(c.ctx, e); err != nil {
		c.log.Error("the county's audit trail refused an entry", "action", "convenience."+action, "message", id,
			"account", c.who.account, "request", c.req.RequestID, "err", err)
	}
}

// services is what the module uses of the host: *sdk.Host for a real
// request, a fake in memory in the tests.
type services interface {
	Put(ctx context.Context, collection, id string, version int64, doc any) (sdk.Record, error)
	Get(ctx context.Context, collection, id string) (sdk.Record, error)
	Delete(ctx context.Context, collection, id string, version int64) error
	Query(ctx context.Context, collection string, q sdk.Query) (sdk.Page, error)

	Submit(ctx context.Context, s sdk.Submission) (sdk.Submitted, error)
	LookupReceipt(ctx context.Context, number, code string) (sdk.ReceiptRecord, error)

	Units(ctx context.Context, ids ...int64) ([]sdk.Unit, error)

	StartWorkflowFor(ctx context.Context, workflow string, o sdk.StartOptions) (sdk.Outcome, error)
	ActOnTaskWith(ctx context.Context, taskID int64, action string, o sdk.ActOptions) (sdk.Outcome, error)
	ListWorkflowInstances(ctx context.Context, q sdk.WorkflowQuery) ([]sdk.Instance, error)
	ListWorkflowTasks(ctx context.Context, q sdk.WorkflowQuery) ([]sdk.Task, error)

	RecordMeasure(ctx context.Context, m sdk.Measure) (bool, error)
	Audit(ctx context.Context, e sdk.AuditEntry) error
}

// Role codes the module reads in Caller.Roles: the county's built-in
// roles.
const (
	roleCountyAdmin = "system_admin"
	roleOperator    = "operator"
)

// access is who the caller is to the module, given the county's settings
// that name its IT office, letters-and-visits bureau and supervising
// unit.
type access struct {
	account   int64
	unit      int64
	anonymous bool
	// office: the IT office's staff and the county's admins route,
	// review and read everything.
	office bool
	// letters: the letters-and-visits bureau (信访局) reads every
	// message.
	letters bool
	// supervisor: the supervising unit reads the oversight report.
	supervisor bool
	operator   bool
}

func accessOf(c sdk.Caller, s settings) access {
	a := access{account: c.AccountID, unit: c.UnitID, anonymous: c.Kind == sdk.CallerAnonymous,
		operator: c.Kind == sdk.CallerOperator || slices.Contains(c.Roles, roleOperator)}
	if a.anonymous || a.operator || a.account <= 0 {
		return a
	}
	a.office = slices.Contains(c.Roles, roleCountyAdmin) || s.ITOfficeUnitID > 0 && a.unit == s.ITOfficeUnitID
	a.letters = s.LettersUnitID > 0 && a.unit == s.LettersUnitID
	a.supervisor = s.SupervisingUnitID > 0 && a.unit == s.SupervisingUnitID
	return a
}

// staff reports whether the caller is an account of the county with a
// unit.
func (a access) staff() bool { return !a.anonymous && !a.operator && a.account > 0 && a.unit > 0 }

// readsAll reports whether the caller reads every unit's messages.
func (a access) readsAll() bool { return a.office || a.letters }

// oversees reports whether the caller reads the oversight report.
func (a access) oversees() bool { return a.office || a.supervisor || a.operator }
