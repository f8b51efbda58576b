package disclosure

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/countycloud/countycloud/plugins/sdk"
	"github.com/countycloud/countycloud/plugins/sdk/sdkfake"
)

// Callers of the tests. Unit 10 is the IT office (县信息中心), 20 县政府办,
// 30 民政局, 40 财政局 (the county office when the settings name it).
func countyAdmin() sdk.Caller {
	return sdk.Caller{Kind: sdk.CallerAccount, Login: "admin", AccountID: 1, UnitID: 10, Roles: []string{"system_admin"}}
}
func unitAdmin() sdk.Caller {
	return sdk.Caller{Kind: sdk.CallerAccount, Login: "ua20", AccountID: 2, UnitID: 20, Roles: []string{"unit_admin"}}
}
func clerk() sdk.Caller {
	return sdk.Caller{Kind: sdk.CallerAccount, Login: "clerk20", AccountID: 3, UnitID: 20, Roles: []string{"clerk"}}
}
func businessAdmin() sdk.Caller {
	return sdk.Caller{Kind: sdk.CallerAccount, Login: "ba20", AccountID: 5, UnitID: 20, Roles: []string{"business_admin"}}
}
func otherUnitAdmin() sdk.Caller {
	return sdk.Caller{Kind: sdk.CallerAccount, Login: "ua30", AccountID: 4, UnitID: 30, Roles: []string{"unit_admin"}}
}
func officeStaff() sdk.Caller {
	return sdk.Caller{Kind: sdk.CallerAccount, Login: "ba40", AccountID: 6, UnitID: 40, Roles: []string{"business_admin"}}
}
func operator() sdk.Caller {
	return sdk.Caller{Kind: sdk.CallerOperator, Login: "op", Roles: []string{"operator"}}
}
func anonymous() sdk.Caller {
	return sdk.Caller{Kind: sdk.CallerAnonymous, Login: "anonymous", Address: "198.51.100.7"}
}

type tester struct {
	t        *testing.T
	mu       sync.Mutex
	now      time.Time
	host     *sdkfake.Host
	m        *module
	settings json.RawMessage
}

func newTester(t *testing.T) *tester {
	tt := &tester{t: t, now: time.Date(2026, 6, 5, 9, 0, 0, 0, time.UTC)}
	tt.host = sdkfake.New(Manifest(), tt.clock,
		sdk.Unit{ID: 10, Name: "县信息中心"}, sdk.Unit{ID: 20, Name: "县政府办"}, sdk.Unit{ID: 30, Name: "民政局"}, sdk.Unit{ID: 40, Name: "财政局"})
	tt.m = &module{now: tt.clock, log: hclog.NewNullLogger()}
	return tt
}

func (tt *tester) clock() time.Time {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	return tt.now
}

func (tt *tester) advance(d time.Duration) {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	tt.now = tt.now.Add(d)
}

// serve serves one request with headers.
func (tt *tester) serve(who sdk.Caller, method, path, query string, body any, header map[string]string) *sdk.Response {
	tt.t.Helper()
	var data []byte
	switch b := body.(type) {
	case nil:
	case string:
		data = []byte(b)
	default:
		var err error
		if data, err = json.Marshal(b); err != nil {
			tt.t.Fatal(err)
		}
	}
	resp, err := tt.m.serve(context.Background(), &sdk.Request{Method: method, Path: path, Query: query, Header: header, Body: data, Caller: who, RequestID: "req-1", Settings: tt.settings}, tt.host)
	if err != nil {
		tt.t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp
}

// do serves one request and decodes its answer into out, if given.
func (tt *tester) do(who sdk.Caller, method, path, query string, body any, out any) int {
	tt.t.Helper()
	resp := tt.serve(who, method, path, query, body, nil)
	if resp.Status != http.StatusNoContent && resp.Header["Content-Type"] != "application/json; charset=utf-8" {
		tt.t.Fatalf("%s %s: content type %q", method, path, resp.Header["Content-Type"])
	}
	if out != nil {
		if err := json.Unmarshal(resp.Body, out); err != nil {
			tt.t.Fatalf("%s %s: %v in %s", method, path, err, resp.Body)
		}
	}
	return resp.Status
}

// ok serves a request that must answer status, decoding into out.
func (tt *tester) ok(who sdk.Caller, method, path, query string, body any, status int, out any) {
	tt.t.Helper()
	var raw json.RawMessage
	if got := tt.do(who, method, path, query, body, &raw); got != status {
		tt.t.Fatalf("%s %s as %s: %d %s, want %d", method, path, who.Login, got, raw, status)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			tt.t.Fatal(err)
		}
	}
}

// fails serves a request that must be refused with status and code.
func (tt *tester) fails(who sdk.Caller, method, path, query string, body any, status int, code string) {
	tt.t.Helper()
	var e sdk.Refusal
	if got := tt.do(who, method, path, query, body, &e); got != status || e.Error.Code != code || e.Error.Message == "" {
		tt.t.Fatalf("%s %s?%s as %s: %d %+v, want %d %s", method, path, query, who.Login, got, e, status, code)
	}
}

// form is a complete basic-information form of 县政府办.
func form(version int64) map[string]any {
	return map[string]any{
		"version":    version,
		"functions":  "负责县政府日常工作的协调和督办。",
		"structure":  "内设秘书股、综合股、督查股。",
		"leaders":    []map[string]any{{"name": "李明", "title": "主任", "duties": "主持全面工作。"}, {"name": "王芳", "title": "副主任", "duties": "分管督查工作。"}},
		"contacts":   map[string]any{"address": "翁源县龙仙镇建设路1号", "phone": "0751-2862001", "hours": "工作日 8:30-17:30"},
		"procedures": "来文来电 → 登记 → 拟办 → 办理 → 答复。",
		"complaints": map[string]any{"phone": "0751-12345", "email": "jd@wengyuan.gov.cn"},
	}
}

func TestManifest(t *testing.T) {
	m := Manifest()
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	data, err := m.JSON()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sdk.ParseManifest(data); err != nil {
		t.Fatal(err)
	}
	if m.ID != "disclosure" || m.Name != "政务公开" || len(m.Public) != 7 {
		t.Fatalf("manifest %+v", m)
	}
	// Every public route of the manifest is a route of the module.
	for _, p := range m.Public {
		path := p.Path
		for _, seg := range []string{"{unit}", "{id}"} {
			path = replaceSeg(path, seg, "1")
		}
		if _, _, bad := match(routes(), p.Method, path); bad != nil {
			t.Errorf("public route %s %s: %v", p.Method, p.Path, bad)
		}
	}
}

func replaceSeg(path, seg, with string) string {
	for i := 0; i+len(seg) <= len(path); i++ {
		if path[i:i+len(seg)] == seg {
			return path[:i] + with + path[i+len(seg):]
		}
	}
	return path
}

// TestSettingsSchema holds the schema's defaults to defaultSettings.
func TestSettingsSchema(t *testing.T) {
	var schema struct {
		Properties map[string]struct {
			Default json.RawMessage `json:"default"`
		} `json:"properties"`
	}
	if err := json.Unmarshal([]byte(settingsSchema), &schema); err != nil {
		t.Fatal(err)
	}
	defaults := map[string]json.RawMessage{}
	for name, p := range schema.Properties {
		defaults[name] = p.Default
	}
	data, err := json.Marshal(defaults)
	if err != nil {
		t.Fatal(err)
	}
	got, err := parseSettings(data)
	if err != nil {
		t.Fatal(err)
	}
	want := defaultSettings()
	if got.IndexTarget != want.IndexTarget || got.OfficeUnitID != 0 || got.MaxAttachments != want.MaxAttachments ||
		got.MaxAttachmentBytes != want.MaxAttachmentBytes || len(got.AttachmentTypes) != len(want.AttachmentTypes) {
		t.Fatalf("the schema's defaults %+v, the module's %+v", got, want)
	}
}

func TestRoutes(t *testing.T) {
	tt := newTester(t)
	tt.fails(clerk(), "GET", "/nothing", "", nil, 404, codeRouteNotFound)
	tt.fails(clerk(), "DELETE", "/units/20/profile", "", nil, 405, codeMethodNotAllowed)
	tt.fails(clerk(), "GET", "/units/abc/profile", "", nil, 400, codeInvalidQuery)
	tt.fails(clerk(), "GET", "/units/020/profile", "", nil, 400, codeInvalidQuery)
	tt.fails(clerk(), "GET", "/units/20/profile", "colour=red", nil, 400, codeInvalidQuery)
	tt.fails(clerk(), "GET", "/documents/abc", "", nil, 404, codeDocumentNotFound)
	tt.fails(clerk(), "GET", "/reports/abc", "", nil, 404, codeReportNotFound)
}
