package main

import (
	"strconv"
	"strings"
	"testing"

	"github.com/countycloud/countycloud/plugins/sdk/sdktest"
)

// TestOnARealHost runs the module as a vendor would test theirs: built,
// registered and enabled in a CountyCloud dev server, and called through
// the platform's API by the county's accounts.
func TestOnARealHost(t *testing.T) {
	h := sdktest.Start(t, sdktest.Options{
		Settings: map[string]any{"max_length": 300},
		Accounts: map[string][]string{"admin": {"system_admin"}, "clerk": {"clerk"}},
		// The public routes allow an address one request a second;
		// this test calls them in quick succession.
		ServerFlags: []string{"--public-rate", "100"},
	})
	admin, clerk := h.As(t, "admin"), h.As(t, "clerk")

	r := clerk.Call(t, "POST", "/suggestions", map[string]string{"text": "  办事大厅增加自助终端  "})
	if r.Status != 201 {
		t.Fatalf("file a suggestion: %v", r)
	}
	var filed struct {
		ID       string     `json:"id"`
		Version  int64      `json:"version"`
		Document Suggestion `json:"document"`
	}
	r.Decode(t, &filed)
	if d := filed.Document; d.Text != "办事大厅增加自助终端" || d.Status != "open" || d.By != "clerk" || filed.Version != 1 {
		t.Fatalf("filed %+v", filed)
	}
	if filed.Document.Unit != strconv.FormatInt(h.UnitID, 10) {
		t.Errorf("filed in unit %s, the clerk is in %d", filed.Document.Unit, h.UnitID)
	}

	if r := clerk.Call(t, "POST", "/suggestions", map[string]string{"text": " "}); r.Status != 400 || r.Code != "invalid_suggestion" {
		t.Errorf("an empty suggestion: %v", r)
	}
	if r := clerk.Call(t, "POST", "/suggestions", []byte("not json")); r.Status != 400 || r.Code != "invalid_json" {
		t.Errorf("a body that is not JSON: %v", r)
	}

	var open struct {
		Suggestions []struct {
			ID string `json:"id"`
		} `json:"suggestions"`
	}
	r = clerk.Call(t, "GET", "/suggestions?status=open", nil)
	if r.Status != 200 {
		t.Fatalf("list the open ones: %v", r)
	}
	if r.Decode(t, &open); len(open.Suggestions) != 1 || open.Suggestions[0].ID != filed.ID {
		t.Fatalf("open suggestions: %v", r)
	}

	answer := map[string]any{"answer": "已安排", "version": filed.Version}
	if r := clerk.Call(t, "POST", "/suggestions/"+filed.ID+"/answer", answer); r.Status != 403 || r.Code != "forbidden" {
		t.Errorf("a clerk answers: %v", r)
	}
	r = admin.Call(t, "POST", "/suggestions/"+filed.ID+"/answer", answer)
	if r.Status != 200 {
		t.Fatalf("the admin answers: %v", r)
	}
	var answered struct {
		Version  int64      `json:"version"`
		Document Suggestion `json:"document"`
	}
	if r.Decode(t, &answered); answered.Version != 2 || answered.Document.Status != "answered" || answered.Document.Answered != "admin" {
		t.Errorf("answered %+v", answered)
	}
	if r := admin.Call(t, "POST", "/suggestions/"+filed.ID+"/answer", answer); r.Status != 409 || r.Code != "conflict" {
		t.Errorf("answering the version read before the answer: %v", r)
	}

	if r := clerk.Call(t, "GET", "/suggestions?status=open", nil); r.Status != 200 || strings.Contains(string(r.Body), filed.ID) {
		t.Errorf("open after the answer: %v", r)
	}
	if r := clerk.Call(t, "GET", "/suggestions/"+filed.ID, nil); r.Status != 200 || !strings.Contains(string(r.Body), "已安排") {
		t.Errorf("the clerk reads the answer: %v", r)
	}
	if r := clerk.Call(t, "GET", "/suggestions/s-none", nil); r.Status != 404 || r.Code != "not_found" {
		t.Errorf("a suggestion that does not exist: %v", r)
	}
	if r := clerk.Call(t, "DELETE", "/suggestions/"+filed.ID, nil); r.Status != 404 || r.Code != "not_found" {
		t.Errorf("a route the module does not have: %v", r)
	}

	// A citizen, without an account, leaves a suggestion and follows it
	// with the receipt; a wrong code finds nothing.
	r = h.Public(t, "POST", "/public/suggestions", map[string]string{"text": "公交站牌字太小"})
	if r.Status != 201 {
		t.Fatalf("a citizen's suggestion: %v", r)
	}
	var left struct {
		Receipt struct{ Number, Code string }
	}
	r.Decode(t, &left)
	if r := h.Public(t, "POST", "/public/receipts/"+left.Receipt.Number, map[string]string{"code": left.Receipt.Code}); r.Status != 200 || !strings.Contains(string(r.Body), `"status":"open"`) {
		t.Errorf("follow it by receipt: %v", r)
	}
	if r := h.Public(t, "POST", "/public/receipts/"+left.Receipt.Number, map[string]string{"code": "AAAA-AAAA-AAAA-AAAA"}); r.Status != 404 || r.Code != "not_found" {
		t.Errorf("a wrong code: %v", r)
	}
	// The code goes in the body: a URL holding it would be kept in logs.
	if r := h.Public(t, "GET", "/public/receipts/"+left.Receipt.Number+"?code="+left.Receipt.Code, nil); r.Status != 404 || r.Code != "public_route_not_found" {
		t.Errorf("the code in the query string: %v", r)
	}
	if r := h.Public(t, "GET", "/suggestions", nil); r.Status != 404 || r.Code != "public_route_not_found" {
		t.Errorf("the staff's list, without a token: %v", r)
	}

	// The county's settings are checked against the manifest's schema.
	module := "/v1/tenants/" + h.County + "/modules/" + h.Module
	if r := h.Operator().API(t, "PUT", module, map[string]any{"settings": map[string]any{"max_length": 5}}); r.Status != 400 || r.Code != "invalid_module_settings" {
		t.Errorf("settings the schema refuses: %v", r)
	}
}
