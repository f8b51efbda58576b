package approval

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/countycloud/countycloud/plugins/sdk"
)

// Manifest describes the module to the host's catalog.
func Manifest() sdk.Manifest {
	return sdk.Manifest{
		ID:          "approval",
		Name:        "网上行政审批",
		Vendor:      "CountyCloud",
		Version:     "1.0.0",
		Protocol:    sdk.ProtocolVersion,
		Collections: collections(),
		Measures:    append(catalogueMeasures(), applicationMeasures()...),
		Workflows: map[string]json.RawMessage{workflowApplication: json.RawMessage(applicationWorkflow),
			workflowReview: json.RawMessage(reviewWorkflow)},
		// An online application's workflow starts when it is submitted.
		PublicStart: []string{workflowApplication},
		Public: []sdk.PublicRoute{{Method: "POST", Path: "/public/applications"}, {Method: "POST", Path: "/public/applications/{number}/query"},
			{Method: "POST", Path: "/public/applications/{number}/supplements"}, {Method: "POST", Path: "/public/applications/{number}/files"},
			{Method: "POST", Path: "/public/applicant/applications"}, {Method: "POST", Path: "/public/applications/{number}/files/{file}/download"}},
	}
}

// collections are the record collections of every part of the module.
func collections() map[string]sdk.Collection {
	c := map[string]sdk.Collection{}
	maps.Copy(c, itemCollections())
	maps.Copy(c, applicationCollections())
	maps.Copy(c, applicantCollections())
	return c
}

// Serve runs the module as a plugin process until the host stops it; the
// platform's hidden 'module serve approval' command calls it.
func Serve() {
	sdk.Serve(Manifest(), newModule())
}

// module serves the requests of every county that enables approval: one
// process is shared by all of them, so it keeps no state of its own
// between requests but items read, by county, which the host checks
// against their records when they are used (itemcache.go); everything
// lives in the host's records.
type module struct {
	now func() time.Time
	// log reaches the host's log: go-plugin reads a plugin's stderr and
	// keeps the lines written in hclog's JSON format at their level.
	log hclog.Logger
	// items are the items online applications were checked against,
	// by county (itemcache.go): the one thing kept between requests,
	// each checked by the host against its record when used.
	items *itemCache
}

func newModule() *module {
	return &module{
		now: time.Now, items: newItemCache(),
		log: hclog.New(&hclog.LoggerOptions{Name: "approval", Output: os.Stderr, JSONFormat: true, Level: hclog.Info}),
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
	c := &call{ctx: ctx, host: h, log: m.log, req: r, who: accessOf(r.Caller), now: m.now(), items: m.items}
	status, body, err := rt.handle(c, p)
	var ae *apiError
	if errors.As(err, &ae) {
		return errorResponse(ae), nil
	}
	if err != nil {
		return nil, fmt.Errorf("approval: %s %s: %w", r.Method, r.Path, err)
	}
	// A workbook is answered as it is, not as JSON.
	if raw, ok := body.(*sdk.Response); ok {
		return raw, nil
	}
	return sdk.JSONResponse(status, body)
}

// call is one request being served.
type call struct {
	ctx  context.Context
	host services
	log  hclog.Logger
	req  *sdk.Request
	who  access
	now  time.Time
	// items is the module's itemCache, nil in tests that keep none.
	items *itemCache
}

// audit records action on an object in the county's trail. The change is
// made by then and cannot be taken back, so a trail that refuses the
// entry fails the request no further: the host's log keeps what the
// trail missed.
func (c *call) audit(action, objectType, id string, before, after any) {
	e := sdk.AuditEntry{Action: action, ObjectType: objectType, ObjectID: id, Before: before, After: after}
	if err := c.host.Audit(c.ctx, e); err != nil {
		c.log.Error("the county's audit trail refused an entry", "action", "approval."+action, objectType, id,
			"account", c.who.account, "request", c.req.RequestID, "err", err)
	}
}
