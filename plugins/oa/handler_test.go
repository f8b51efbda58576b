package oa

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/countycloud/countycloud/plugins/sdk"
)

// Callers of the tests. Unit 20 (县政府办) sends; units 30 (民政局) and
// 40 (财政局) receive.
func countyAdmin() sdk.Caller {
	return sdk.Caller{Kind: sdk.CallerAccount, Login: "admin", AccountID: 1, UnitID: 10, Roles: []string{"system_admin"}}
}
func unitAdmin() sdk.Caller {
	return sdk.Caller{Kind: sdk.CallerAccount, Login: "ua20", AccountID: 2, UnitID: 20, Roles: []string{"unit_admin"}}
}
func clerk() sdk.Caller {
	return sdk.Caller{Kind: sdk.CallerAccount, Login: "zhangsan", AccountID: 3, UnitID: 20, Roles: []string{"clerk"}}
}
func otherUnitAdmin() sdk.Caller {
	return sdk.Caller{Kind: sdk.CallerAccount, Login: "ua30", AccountID: 4, UnitID: 30, Roles: []string{"unit_admin"}}
}
func operator() sdk.Caller {
	return sdk.Caller{Kind: sdk.CallerOperator, Login: "op", Roles: []string{"operator"}}
}

type tester struct {
	t        *testing.T
	mu       sync.Mutex
	now      time.Time
	host     *fakeHost
	m        *module
	settings json.RawMessage
}

func newTester(t *testing.T) *tester {
	tt := &tester{t: t, now: time.Date(2026, 6, 5, 9, 0, 0, 0, time.UTC)}
	tt.host = newFakeHost(tt.clock)
	tt.m = &module{now: tt.clock, log: hclog.NewNullLogger()}
	return tt
}

func (tt *tester) clock() time.Time {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	return tt.now
}

// do serves one request and decodes its answer into out, if given.
func (tt *tester) do(who sdk.Caller, method, path, query string, body any, out any) int {
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
	tt.host.mu.Lock()
	tt.host.engine.caller = who
	tt.host.mu.Unlock()
	resp, err := tt.m.serve(context.Background(), &sdk.Request{Method: method, Path: path, Query: query, Body: data, Caller: who, RequestID: "req-1", Settings: tt.settings}, tt.host)
	if err != nil {
		tt.t.Fatalf("%s %s: %v", method, path, err)
	}
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

// fails serves a request that must be refused with status and code.
func (tt *tester) fails(who sdk.Caller, method, path, query string, body any, status int, code string) {
	tt.t.Helper()
	var e sdk.Refusal
	if got := tt.do(who, method, path, query, body, &e); got != status || e.Error.Code != code || e.Error.Message == "" {
		tt.t.Fatalf("%s %s?%s as %s: %d %+v, want %d %s", method, path, query, who.Login, got, e, status, code)
	}
}

func wengfu() map[string]any {
	return map[string]any{"header": "翁源县人民政府文件", "prefix": "翁府", "signature": "翁源县人民政府"}
}

func TestRoutes(t *testing.T) {
	tt := newTester(t)
	tt.fails(clerk(), "GET", "/nothing", "", nil, 404, codeRouteNotFound)
	tt.fails(clerk(), "GET", "/templates/20/x", "", nil, 404, codeRouteNotFound)
	tt.fails(clerk(), "GET", "/templates/", "", nil, 404, codeRouteNotFound)
	tt.fails(clerk(), "DELETE", "/templates/20", "", nil, 405, codeMethodNotAllowed)
	tt.fails(clerk(), "GET", "/templates/abc", "", nil, 400, codeInvalidQuery)
	tt.fails(clerk(), "GET", "/templates", "colour=red", nil, 400, codeInvalidQuery)
}

func TestTemplates(t *testing.T) {
	tt := newTester(t)
	tt.fails(clerk(), "GET", "/templates/20", "", nil, 404, codeTemplateNotFound)
	// A clerk, another unit's admin and an operator set no template.
	for _, who := range []sdk.Caller{clerk(), otherUnitAdmin(), operator()} {
		tt.fails(who, "PUT", "/templates/20", "", wengfu(), 403, codeForbidden)
	}
	var got templateView
	if status := tt.do(unitAdmin(), "PUT", "/templates/20", "", wengfu(), &got); status != 201 || got.Version != 1 ||
		got.NumberFormat != defaultNumberFormat || got.formatNumber(2026, 12) != "翁府〔2026〕12号" || got.UpdatedBy != "ua20" {
		t.Fatalf("create: %d %+v", status, got)
	}
	// Creating it again, or replacing a stale version, conflicts.
	tt.fails(unitAdmin(), "PUT", "/templates/20", "", wengfu(), 409, codeVersionConflict)
	changed := wengfu()
	changed["version"], changed["number_format"] = 1, "{prefix}发〔{year}〕{seq}号"
	if status := tt.do(countyAdmin(), "PUT", "/templates/20", "", changed, &got); status != 200 || got.Version != 2 || got.formatNumber(2026, 3) != "翁府发〔2026〕3号" {
		t.Fatalf("replace: %d %+v", status, got)
	}
	tt.fails(unitAdmin(), "PUT", "/templates/20", "", changed, 409, codeVersionConflict)
	// Bad input changes nothing.
	for _, bad := range []map[string]any{
		{"header": "", "prefix": "翁府", "signature": "x"},
		{"header": "x", "prefix": "翁{府}", "signature": "x"},
		{"header": "x", "prefix": "翁府", "signature": "x", "number_format": "{prefix}{seq}号"},
		{"header": "x", "prefix": "翁府", "signature": "x", "number_format": "{year}{seq}{seq}"},
		{"header": "x", "prefix": "翁府", "signature": "x", "number_format": "{year}{seq}{unit}"},
	} {
		bad["version"] = 2
		tt.fails(countyAdmin(), "PUT", "/templates/20", "", bad, 400, codeInvalidTemplate)
	}
	tt.fails(countyAdmin(), "PUT", "/templates/20", "", `{"header":"x","colour":"red"}`, 400, codeInvalidJSON)
	tt.fails(countyAdmin(), "PUT", "/templates/20", "", ``, 400, codeInvalidJSON)
	if status := tt.do(clerk(), "GET", "/templates/20", "", nil, &got); status != 200 || got.Version != 2 {
		t.Fatalf("read: %d %+v", status, got)
	}
	var list struct {
		Templates []templateView `json:"templates"`
	}
	if status := tt.do(operator(), "GET", "/templates", "", nil, &list); status != 200 || len(list.Templates) != 1 || list.Templates[0].UnitID != 20 {
		t.Fatalf("list: %d %+v", status, list)
	}
	if a := tt.host.Audits(); len(a) != 2 || a[0].Action != "template.put" {
		t.Fatalf("audits: %+v", a)
	}
	// The unit's template counts once, when it is first set.
	var counted []sdk.Measure
	for _, m := range tt.host.Measures() {
		if m.ID == measureTemplates {
			counted = append(counted, m)
		}
	}
	if len(counted) != 1 || counted[0].UnitID != 20 {
		t.Fatalf("the template's measure: %+v", counted)
	}
}
