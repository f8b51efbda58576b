package oa

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/countycloud/countycloud/plugins/sdk"
)

// Manifest describes the module to the host's catalog.
func Manifest() sdk.Manifest {
	return sdk.Manifest{
		ID:          "oa",
		Name:        "公文",
		Vendor:      "CountyCloud",
		Version:     "1.0.0",
		Protocol:    sdk.ProtocolVersion,
		Collections: collections(),
		Settings:    json.RawMessage(settingsSchema),
		Workflows:   workflows(),
		Measures:    slices.Concat(documentMeasures(), noticeMeasures(), mailMeasures()),
	}
}

// collections are the record collections of every part of the module.
func collections() map[string]sdk.Collection {
	c := map[string]sdk.Collection{
		// One template (红头) per unit, read by its id.
		collTemplates: {Indexed: []string{"unit_id"}},
		// Documents are listed by issuing unit, year, sequence (the
		// number), status and urgency, and found by their sending
		// instance.
		collDocuments: {Indexed: []string{"unit_id", "year", "sequence", "status", "urgency", "instance_id"}},
		// What each unit received, one record per document and unit,
		// listed alike and found by the document and the receiving
		// instance.
		collReceived: {Indexed: []string{"unit_id", "document_id", "year", "sequence", "status", "urgency", "instance_id"}},
	}
	maps.Copy(c, noticeCollections())
	maps.Copy(c, mailCollections())
	return c
}

// Serve runs the module as a plugin process until the host stops it; the
// platform's hidden 'module serve oa' command calls it.
func Serve() {
	sdk.Serve(Manifest(), newModule())
}

// module serves the requests of every county that enables oa: one
// process is shared by all of them, so it keeps no state of its own
// between requests; everything lives in the host's records and workflows.
type module struct {
	now func() time.Time
	// log reaches the host's log: go-plugin reads a plugin's stderr and
	// keeps the lines written in hclog's JSON format at their level.
	log hclog.Logger
}

func newModule() *module {
	return &module{
		now: time.Now,
		log: hclog.New(&hclog.LoggerOptions{Name: "oa", Output: os.Stderr, JSONFormat: true, Level: hclog.Info}),
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
		return nil, fmt.Errorf("oa: the county's settings: %w", err)
	}
	c := &call{ctx: ctx, host: h, log: m.log, req: r, who: accessOf(r.Caller), now: m.now(), settings: s}
	status, body, err := rt.handle(c, p)
	var ae *apiError
	if errors.As(err, &ae) {
		return errorResponse(ae), nil
	}
	if err != nil {
		return nil, fmt.Errorf("oa: %s %s: %w", r.Method, r.Path, err)
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

// audit records action on an object in the county's trail. The change is
// made by then and cannot be taken back, so a trail that refuses the
// entry fails the request no further: the host's log keeps what the
// trail missed.
func (c *call) audit(action, objectType, id string, before, after any) {
	e := sdk.AuditEntry{Action: action, ObjectType: objectType, ObjectID: id, Before: before, After: after}
	if err := c.host.Audit(c.ctx, e); err != nil {
		c.log.Error("the county's audit trail refused an entry", "action", "oa."+action, objectType, id,
			"account", c.who.account, "request", c.req.RequestID, "err", err)
	}
}
