package approval

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

// Callers of the tests. Unit 20 (发改局) and 30 (住建局) handle items.
func countyAdmin() sdk.Caller {
	return sdk.Caller{Kind: sdk.CallerAccount, Login: "admin", AccountID: 1, UnitID: 10, Roles: []string{"system_admin"}}
}
func unitAdmin() sdk.Caller {
	return sdk.Caller{Kind: sdk.CallerAccount, Login: "ua20", AccountID: 2, UnitID: 20, Roles: []string{"unit_admin", "business_admin"}}
}
func clerk() sdk.Caller {
	return sdk.Caller{Kind: sdk.CallerAccount, Login: "zhangsan", AccountID: 3, UnitID: 20, Roles: []string{"clerk"}}
}
func operator() sdk.Caller {
	return sdk.Caller{Kind: sdk.CallerOperator, Login: "op", Roles: []string{"operator"}}
}
func anonymous() sdk.Caller {
	return sdk.Caller{Kind: sdk.CallerAnonymous, Login: "anonymous", Address: "203.0.113.9"}
}

type tester struct {
	t    *testing.T
	mu   sync.Mutex
	now  time.Time
	host *fakeHost
	m    *module
	// county is the requests' county key (sdk.Request.County): none
	// unless a test sets one, and without one the module keeps no item.
	county string
}

func newTester(t *testing.T) *tester {
	tt := &tester{t: t, now: time.Date(2026, 6, 5, 9, 0, 0, 0, time.UTC)}
	tt.host = newFakeHost(tt.clock)
	tt.m = &module{now: tt.clock, log: hclog.NewNullLogger(), items: newItemCache()}
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

// serve serves one request and returns the module's answer.
func (tt *tester) serve(who sdk.Caller, method, path, query string, body any) *sdk.Response {
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
	tt.host.setCaller(who)
	resp, err := tt.m.serve(context.Background(), &sdk.Request{Method: method, Path: path, Query: query, Body: data, Caller: who, RequestID: "req-1", County: tt.county}, tt.host)
	if err != nil {
		tt.t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp
}

// do serves one request and decodes its JSON answer into out, if given.
func (tt *tester) do(who sdk.Caller, method, path, query string, body any, out any) int {
	tt.t.Helper()
	resp := tt.serve(who, method, path, query, body)
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

// refusal is an error answer with its details.
type refusal struct {
	Error struct {
		Code    string          `json:"code"`
		Message string          `json:"message"`
		Details json.RawMessage `json:"details"`
	} `json:"error"`
}

// refused checks that the request is answered status with code, and
// returns the answer.
func (tt *tester) refused(who sdk.Caller, method, path, query string, body any, status int, code string) refusal {
	tt.t.Helper()
	var r refusal
	if got := tt.do(who, method, path, query, body, &r); got != status || r.Error.Code != code {
		tt.t.Fatalf("%s %s: %d %s (%s), want %d %s", method, path, got, r.Error.Code, r.Error.Message, status, code)
	}
	return r
}

// completeItem is an item with every required field, of department 20.
func completeItem(code string) map[string]any {
	return map[string]any{
		"code": code, "name": "企业投资项目备案", "category": "行政许可",
		"departments": []map[string]any{{"unit_id": 20}},
		"legal_basis": "《企业投资项目核准和备案管理条例》第十三条", "conditions": "在本县行政区域内投资建设的企业投资项目",
		"materials": []map[string]any{{"name": "项目备案申请表", "original": false, "eform": true}, {"name": "营业执照", "original": true, "eform": false}},
		"procedure": "申请、受理、审查、决定", "promised_days": 3, "statutory_days": 20, "fees": "不收费", "phone": "0751-2881234",
	}
}

func TestItemsCreateReadListUpdateDelete(t *testing.T) {
	tt := newTester(t)
	var created itemView
	if got := tt.do(countyAdmin(), "POST", "/items", "", completeItem("xk-001"), &created); got != http.StatusCreated {
		t.Fatalf("create: %d", got)
	}
	if created.Code != "XK-001" || !created.Complete || created.UnitID != 20 || created.Departments[0].Days != 3 || created.Version != 1 || created.Joint {
		t.Fatalf("created %+v", created)
	}
	// A clerk and an operator read it; a list filters it.
	var got itemView
	if s := tt.do(clerk(), "GET", "/items/XK-001", "", nil, &got); s != http.StatusOK || got.Name != "企业投资项目备案" || len(got.Materials) != 2 {
		t.Fatalf("clerk reads %d %+v", s, got)
	}
	if s := tt.do(operator(), "GET", "/items/xk-001", "", nil, &got); s != http.StatusOK || got.Code != "XK-001" {
		t.Fatalf("an operator reads it in lower case: %d %+v", s, got)
	}
	draft := map[string]any{"code": "GG-002", "name": "政策咨询", "category": "公共服务",
		"departments": []map[string]any{{"unit_id": 20, "days": 0}}}
	tt.do(countyAdmin(), "POST", "/items", "", draft, nil)
	for query, want := range map[string]int{"": 2, "complete=true": 1, "complete=false": 1, "unit_id=20": 2, "unit_id=30": 0, "category=公共服务": 1} {
		var page struct{ Items []itemView }
		if s := tt.do(clerk(), "GET", "/items", query, nil, &page); s != http.StatusOK || len(page.Items) != want {
			t.Fatalf("list %q: %d, %d items, want %d", query, s, len(page.Items), want)
		}
	}
	// Editing a counted item counts nothing more; completing the draft
	// on another day counts it that day.
	body := completeItem("XK-001")
	body["version"], body["name"] = 1, "企业投资项目备案（变更）"
	if s := tt.do(countyAdmin(), "PUT", "/items/XK-001", "", body, &got); s != http.StatusOK || got.Version != 2 || got.CountedOn != "2026-06-05" {
		t.Fatalf("update %d %+v", s, got)
	}
	tt.advance(24 * time.Hour)
	full := completeItem("GG-002")
	full["version"], full["category"] = 1, "公共服务"
	tt.do(countyAdmin(), "PUT", "/items/GG-002", "", full, nil)
	if c := tt.host.counted(measureComplete); len(c) != 2 || c["20/2026-06-05"] != 1 || c["20/2026-06-06"] != 1 {
		t.Fatalf("counted %v", c)
	}
	// A stale version is refused, and the item stays.
	tt.refused(countyAdmin(), "PUT", "/items/XK-001", "", body, http.StatusConflict, codeVersionConflict)
	tt.refused(countyAdmin(), "DELETE", "/items/XK-001", "version=1", nil, http.StatusConflict, codeVersionConflict)
	if s := tt.do(countyAdmin(), "DELETE", "/items/XK-001", "version=2", nil, nil); s != http.StatusNoContent {
		t.Fatalf("delete: %d", s)
	}
	tt.refused(clerk(), "GET", "/items/XK-001", "", nil, http.StatusNotFound, codeItemNotFound)
	actions := []string{}
	for _, a := range tt.host.Audits() {
		actions = append(actions, a.Action)
	}
	if want := []string{"item.create", "item.create", "item.update", "item.update", "item.delete"}; !equal(actions, want) {
		t.Fatalf("audited %v, want %v", actions, want)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestItemsOnlyTheCountyAdminsChangeTheCatalogue(t *testing.T) {
	tt := newTester(t)
	tt.do(countyAdmin(), "POST", "/items", "", completeItem("XK-001"), nil)
	update := completeItem("XK-001")
	update["version"] = 1
	for name, who := range map[string]sdk.Caller{"clerk": clerk(), "unit admin": unitAdmin(), "operator": operator(), "anonymous": anonymous()} {
		t.Run(name, func(t *testing.T) {
			tt.t = t
			tt.refused(who, "POST", "/items", "", completeItem("XK-002"), http.StatusForbidden, codeForbidden)
			tt.refused(who, "PUT", "/items/XK-001", "", update, http.StatusForbidden, codeForbidden)
			tt.refused(who, "DELETE", "/items/XK-001", "version=1", nil, http.StatusForbidden, codeForbidden)
		})
	}
	tt.t = t
	tt.refused(anonymous(), "GET", "/items", "", nil, http.StatusForbidden, codeForbidden)
	tt.refused(anonymous(), "GET", "/items/XK-001", "", nil, http.StatusForbidden, codeForbidden)
	if n := tt.host.Count(collItems); n != 1 {
		t.Fatalf("%d items", n)
	}
	var got itemView
	tt.do(clerk(), "GET", "/items/XK-001", "", nil, &got)
	if got.Version != 1 {
		t.Fatalf("the item changed: %+v", got)
	}
}

func TestItemsBadInputIsRefusedWithItsProblems(t *testing.T) {
	tt := newTester(t)
	cases := map[string]struct {
		change func(map[string]any)
		field  string
	}{
		"promise not shorter": {func(b map[string]any) { b["promised_days"] = 20 }, "promised_days"},
		"unknown department":  {func(b map[string]any) { b["departments"] = []map[string]any{{"unit_id": 99}} }, "departments"},
		"joint without limits": {func(b map[string]any) {
			b["departments"] = []map[string]any{{"unit_id": 20, "days": 2}, {"unit_id": 30}}
		}, "departments"},
		"department over the promise": {func(b map[string]any) {
			b["departments"] = []map[string]any{{"unit_id": 20, "days": 2}, {"unit_id": 30, "days": 5}}
		}, "departments"},
		"bad category": {func(b map[string]any) { b["category"] = "审批" }, "category"},
		"bad code":     {func(b map[string]any) { b["code"] = "事项1" }, "code"},
		"no name":      {func(b map[string]any) { b["name"] = " " }, "name"},
		"bad phone":    {func(b map[string]any) { b["phone"] = "call us" }, "phone"},
		"twice the same material": {func(b map[string]any) {
			b["materials"] = []map[string]any{{"name": "营业执照"}, {"name": "营业执照"}}
		}, "materials"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			tt.t = t
			b := completeItem("XK-001")
			c.change(b)
			r := tt.refused(countyAdmin(), "POST", "/items", "", b, http.StatusBadRequest, codeInvalidItem)
			var ps []problem
			if err := json.Unmarshal(r.Error.Details, &ps); err != nil || len(ps) == 0 || ps[0].Field != c.field {
				t.Fatalf("details %s (%v), want a problem of %s", r.Error.Details, err, c.field)
			}
		})
	}
	tt.t = t
	tt.refused(countyAdmin(), "POST", "/items", "", `{"code":"XK-1","nmae":"x"}`, http.StatusBadRequest, codeInvalidJSON)
	tt.refused(countyAdmin(), "GET", "/items", "complete=yes", nil, http.StatusBadRequest, codeInvalidQuery)
	tt.refused(countyAdmin(), "GET", "/items", "unit=20", nil, http.StatusBadRequest, codeInvalidQuery)
	if n := tt.host.Count(collItems); n != 0 {
		t.Fatalf("%d items written", n)
	}
	tt.do(countyAdmin(), "POST", "/items", "", completeItem("XK-001"), nil)
	tt.refused(countyAdmin(), "POST", "/items", "", completeItem("xk-001"), http.StatusConflict, codeItemExists)
	other := completeItem("XK-002")
	other["version"] = 1
	tt.refused(countyAdmin(), "PUT", "/items/XK-001", "", other, http.StatusBadRequest, codeInvalidItem)
	tt.refused(countyAdmin(), "PUT", "/items/XK-009", "", other, http.StatusNotFound, codeItemNotFound)
	tt.refused(clerk(), "GET", "/items/nocode", "", nil, http.StatusNotFound, codeItemNotFound)
	if c := tt.host.counted(measureComplete); len(c) != 1 {
		t.Fatalf("counted %v", c)
	}
}

func TestManifestIsValid(t *testing.T) {
	if err := Manifest().Validate(); err != nil {
		t.Fatal(err)
	}
}
