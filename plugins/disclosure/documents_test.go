package disclosure

import (
	"strings"
	"testing"
	"time"

	"github.com/countycloud/countycloud/plugins/sdk"
)

func normative() map[string]any {
	return map[string]any{"kind": "normative", "unit_id": 20, "title": "翁源县政府信息公开办法", "number": "翁府〔2026〕3号",
		"body": "第一条 为保障公民依法获取政府信息……", "issued_on": "2026-05-20", "effective_from": "2026-06-01", "expires_on": "2031-05-31"}
}

func procurement() map[string]any {
	return map[string]any{"kind": "procurement", "unit_id": 20, "title": "县政府办办公设备采购公告",
		"body": "采购项目：办公电脑20台。", "issued_on": "2026-05-25", "expires_on": "2026-06-04"}
}

// TestDocuments: a unit's normative documents and procurement notices,
// registered as drafts by its staff, published by its admin, shown to
// the public with their validity (an expired notice as such), fixed once
// published; drafts never reach the public.
func TestDocuments(t *testing.T) {
	tt := newTester(t)
	for _, who := range []sdk.Caller{clerk(), otherUnitAdmin(), operator(), anonymous()} {
		tt.fails(who, "POST", "/documents", "", normative(), 403, codeForbidden)
	}
	for _, c := range []struct {
		change map[string]any
		names  string
	}{
		{map[string]any{"number": ""}, "number"},
		{map[string]any{"kind": "memo"}, "kind"},
		{map[string]any{"effective_from": "2026-02-30"}, "effective_from"},
		{map[string]any{"expires_on": "2026-01-01"}, "before effective_from"},
		{map[string]any{"title": "第一行\n第二行"}, "title"},
		{map[string]any{"title": "隐藏\u202e字符"}, "title"},
	} {
		bad := normative()
		for k, v := range c.change {
			bad[k] = v
		}
		var e sdk.Refusal
		if status := tt.do(businessAdmin(), "POST", "/documents", "", bad, &e); status != 400 || e.Error.Code != codeInvalidDocument || !strings.Contains(e.Error.Message, c.names) {
			t.Errorf("%v: %d %+v", c.change, status, e)
		}
	}
	bad := procurement()
	delete(bad, "expires_on")
	tt.fails(businessAdmin(), "POST", "/documents", "", bad, 400, codeInvalidDocument)
	bad = normative()
	bad["unit_id"] = 99
	tt.fails(countyAdmin(), "POST", "/documents", "", bad, 400, codeUnknownUnit)
	if n := tt.host.Count(collDocuments); n != 0 {
		t.Fatalf("refusals left %d documents", n)
	}

	var norm, proc documentView
	tt.ok(businessAdmin(), "POST", "/documents", "", normative(), 201, &norm)
	tt.advance(time.Second)
	tt.ok(businessAdmin(), "POST", "/documents", "", procurement(), 201, &proc)
	if norm.Status != docDraft || norm.Validity != validEffective || norm.ValidityZH != "有效" || proc.EffectiveFrom != "2026-05-25" ||
		proc.Validity != validExpired || proc.ValidityZH != "已截止" {
		t.Fatalf("registered: %+v %+v", norm, proc)
	}
	// Drafts: not on the public pages, not readable by another unit.
	var public struct {
		Documents []publicDocumentView `json:"documents"`
	}
	tt.ok(anonymous(), "GET", "/public/documents", "", nil, 200, &public)
	if len(public.Documents) != 0 {
		t.Fatalf("drafts listed: %+v", public)
	}
	tt.fails(anonymous(), "GET", "/public/documents/"+norm.ID, "", nil, 404, codeNotFound)
	tt.fails(otherUnitAdmin(), "GET", "/documents/"+norm.ID, "", nil, 404, codeDocumentNotFound)
	tt.fails(otherUnitAdmin(), "GET", "/documents", "unit=20", nil, 403, codeForbidden)
	var list struct {
		Documents []documentView `json:"documents"`
	}
	tt.ok(otherUnitAdmin(), "GET", "/documents", "", nil, 200, &list)
	if len(list.Documents) != 0 {
		t.Fatalf("another unit lists: %+v", list)
	}
	tt.ok(clerk(), "GET", "/documents", "kind=normative", nil, 200, &list)
	if len(list.Documents) != 1 || list.Documents[0].ID != norm.ID {
		t.Fatalf("the unit lists: %+v", list)
	}

	// Edited as a draft; the kind stays.
	edit := normative()
	edit["version"], edit["title"] = norm.Version, "翁源县政府信息公开实施办法"
	tt.ok(businessAdmin(), "PUT", "/documents/"+norm.ID, "", edit, 200, &norm)
	edit["version"], edit["kind"], edit["expires_on"] = norm.Version, "procurement", "2031-05-31"
	tt.fails(businessAdmin(), "PUT", "/documents/"+norm.ID, "", edit, 400, codeInvalidDocument)

	// Published by the unit's admin only.
	for _, who := range []sdk.Caller{clerk(), businessAdmin()} {
		tt.fails(who, "POST", "/documents/"+norm.ID+"/publish", "", map[string]any{"version": norm.Version}, 403, codeForbidden)
	}
	// Another unit's admin does not learn the draft exists.
	tt.fails(otherUnitAdmin(), "POST", "/documents/"+norm.ID+"/publish", "", map[string]any{"version": norm.Version}, 404, codeDocumentNotFound)
	tt.ok(unitAdmin(), "POST", "/documents/"+norm.ID+"/publish", "", map[string]any{"version": norm.Version}, 200, &norm)
	tt.ok(unitAdmin(), "POST", "/documents/"+proc.ID+"/publish", "", map[string]any{"version": proc.Version}, 200, &proc)
	tt.fails(unitAdmin(), "POST", "/documents/"+norm.ID+"/publish", "", map[string]any{"version": norm.Version}, 409, codeAlreadyPublished)
	edit = normative()
	edit["version"] = norm.Version
	tt.fails(businessAdmin(), "PUT", "/documents/"+norm.ID, "", edit, 409, codeAlreadyPublished)
	tt.fails(businessAdmin(), "DELETE", "/documents/"+norm.ID, "version=3", nil, 409, codeAlreadyPublished)

	tt.ok(anonymous(), "GET", "/public/documents", "unit=20", nil, 200, &public)
	if len(public.Documents) != 2 || public.Documents[0].ID != proc.ID || public.Documents[0].ValidityZH != "已截止" ||
		public.Documents[1].ValidityZH != "有效" || public.Documents[1].Body != "" {
		t.Fatalf("the public list: %+v", public)
	}
	var one publicDocumentView
	tt.ok(anonymous(), "GET", "/public/documents/"+norm.ID, "", nil, 200, &one)
	if one.Number != "翁府〔2026〕3号" || one.Body == "" || one.Title != "翁源县政府信息公开实施办法" {
		t.Fatalf("the public document: %+v", one)
	}
	tt.ok(anonymous(), "GET", "/public/documents", "kind=procurement", nil, 200, &public)
	if len(public.Documents) != 1 || public.Documents[0].Kind != kindProcurement {
		t.Fatalf("procurement notices: %+v", public)
	}
	tt.fails(anonymous(), "GET", "/public/documents", "status=draft", nil, 400, codeInvalidQuery)

	// A draft registered by mistake is removed, at its version.
	var extra documentView
	tt.ok(businessAdmin(), "POST", "/documents", "", normative(), 201, &extra)
	tt.fails(businessAdmin(), "DELETE", "/documents/"+extra.ID, "version=7", nil, 409, codeVersionConflict)
	tt.fails(clerk(), "DELETE", "/documents/"+extra.ID, "version=1", nil, 403, codeForbidden)
	if status := tt.do(businessAdmin(), "DELETE", "/documents/"+extra.ID, "version=1", nil, nil); status != 204 {
		t.Fatalf("delete: %d", status)
	}
	day := "2026-06-05"
	if n, p := tt.host.Measured(measureNormative, 20, day), tt.host.Measured(measureProcurement, 20, day); n != 1 || p != 1 {
		t.Fatalf("published measures: %d normative, %d procurement", n, p)
	}
}
