package disclosure

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/countycloud/countycloud/plugins/sdk"
)

// Collections of the module's records.
const (
	// collProfiles holds each unit's basic information, one record per
	// unit, its id the unit's.
	collProfiles = "profiles"
	// collDocuments holds normative documents and procurement notices.
	collDocuments = "documents"
	// collReports holds reported work information.
	collReports = "reports"
	// collLevels holds, per unit (0: the county) and day, the highest
	// index figures recorded as measures that day.
	collLevels = "levels"
)

// china is the time zone of the days the module counts and dates.
var china = time.FixedZone("CST", 8*3600)

// Manifest describes the module to the host's catalog.
func Manifest() sdk.Manifest {
	return sdk.Manifest{
		ID:       "disclosure",
		Name:     "政务公开",
		Vendor:   "CountyCloud",
		Version:  "1.0.0",
		Protocol: sdk.ProtocolVersion,
		Collections: map[string]sdk.Collection{
			// Profiles are listed by whether they are published.
			collProfiles: {Indexed: []string{"public"}},
			// Documents are listed by unit, kind and status.
			collDocuments: {Indexed: []string{"unit_id", "kind", "status"}},
			// Reports are listed by unit, status and use.
			collReports: {Indexed: []string{"unit_id", "status", "use"}},
			// Levels are read a day at a time.
			collLevels: {Indexed: []string{"day"}},
		},
		Settings: json.RawMessage(settingsSchema),
		Measures: measureDefs(),
		Public: []sdk.PublicRoute{
			{Method: "GET", Path: "/public/units"},
			{Method: "GET", Path: "/public/units/{unit}"},
			{Method: "GET", Path: "/public/documents"},
			{Method: "GET", Path: "/public/documents/{id}"},
			{Method: "GET", Path: "/public/reports"},
			{Method: "GET", Path: "/public/reports/{id}"},
			{Method: "GET", Path: "/public/reports/{id}/files/{file}"},
		},
	}
}

// Serve runs the module as a plugin process until the host stops it; the
// platform's hidden 'module serve disclosure' command calls it.
func Serve() {
	sdk.Serve(Manifest(), newModule())
}

// module serves the requests of every county that enables disclosure:
// one process is shared by all of them, so it keeps no state between
// requests; everything lives in the host's records.
type module struct {
	now func() time.Time
	log hclog.Logger
}

func newModule() *module {
	return &module{
		now: time.Now,
		log: hclog.New(&hclog.LoggerOptions{Name: "disclosure", Output: os.Stderr, JSONFormat: true, Level: hclog.Info}),
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
		return nil, fmt.Errorf("disclosure: the county's settings: %w", err)
	}
	c := &call{ctx: ctx, host: h, log: m.log, req: r, who: accessOf(r.Caller), now: m.now(), settings: s}
	status, body, err := rt.handle(c, p)
	var ae *apiError
	if errors.As(err, &ae) {
		return errorResponse(ae), nil
	}
	if err != nil {
		return nil, fmt.Errorf("disclosure: %s %s: %w", r.Method, r.Path, err)
	}
	if pa, ok := body.(publicAnswer); ok {
		return pa.response(r)
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

// today is the request's day in China, 2026-06-05.
func (c *call) today() string { return c.now.In(china).Format(time.DateOnly) }

// audit records action on an object in the county's trail. The change is
// made by then and cannot be taken back, so a trail that refuses the
// entry fails the request no further: the host's log keeps what the
// trail missed.
func (c *call) audit(action, objectType, id string, before, after any) {
	e := sdk.AuditEntry{Action: action, ObjectType: objectType, ObjectID: id, Before: before, After: after}
	if err := c.host.Audit(c.ctx, e); err != nil {
		c.log.Error("the county's audit trail refused an entry", "action", "disclosure."+action, objectType, id,
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

	CreateUpload(ctx context.Context, name, contentType string, size int64) (sdk.Upload, error)
	DownloadURL(ctx context.Context, id string, ttl time.Duration) (sdk.SignedURL, error)
	PublicDownloadURL(ctx context.Context, id string, ttl time.Duration) (sdk.SignedURL, error)

	Units(ctx context.Context, ids ...int64) ([]sdk.Unit, error)
	RecordMeasure(ctx context.Context, m sdk.Measure) (bool, error)
	Audit(ctx context.Context, e sdk.AuditEntry) error
}
