package disclosure

import (
	"strings"
	"testing"

	"github.com/countycloud/countycloud/plugins/sdk"
)

// TestBasicInformation: a unit's form is filled by its business admin,
// published by its admin only, and the public sees what was published,
// never the draft; the wrong callers change nothing.
func TestBasicInformation(t *testing.T) {
	tt := newTester(t)
	tt.fails(clerk(), "GET", "/units/20/profile", "", nil, 404, codeNotFound)
	// Who may not fill it: a clerk, another unit's admin, an operator,
	// an anonymous caller.
	for _, who := range []sdk.Caller{clerk(), otherUnitAdmin(), operator(), anonymous()} {
		tt.fails(who, "PUT", "/units/20/profile", "", form(0), 403, codeForbidden)
	}
	// A form missing its parts names every one.
	var e sdk.Refusal
	incomplete := form(0)
	delete(incomplete, "functions")
	incomplete["leaders"] = []map[string]any{{"name": "李明", "title": "", "duties": "主持全面工作。"}}
	incomplete["contacts"] = map[string]any{"address": "建设路1号", "phone": "call us"}
	incomplete["complaints"] = map[string]any{}
	if status := tt.do(businessAdmin(), "PUT", "/units/20/profile", "", incomplete, &e); status != 400 || e.Error.Code != codeInvalidProfile {
		t.Fatalf("incomplete: %d %+v", status, e)
	}
	for _, field := range []string{"functions", "leaders[0].title", "contacts.phone", "complaints"} {
		if !strings.Contains(e.Error.Message, field) {
			t.Errorf("the refusal does not name %s: %s", field, e.Error.Message)
		}
	}
	tt.fails(businessAdmin(), "PUT", "/units/20/profile", "", `{"functions":"x","colour":"red"}`, 400, codeInvalidJSON)
	tt.fails(countyAdmin(), "PUT", "/units/99/profile", "", form(0), 400, codeUnknownUnit)
	if n := tt.host.Count(collProfiles); n != 0 {
		t.Fatalf("refusals left %d profiles", n)
	}

	var v profileView
	tt.ok(businessAdmin(), "PUT", "/units/20/profile", "", form(0), 201, &v)
	if v.Version != 1 || v.Status != profileDraft || v.UnitName != "县政府办" || v.Draft.Leaders[1].Name != "王芳" || v.UpdatedBy != "ba20" {
		t.Fatalf("created: %+v", v)
	}
	tt.fails(businessAdmin(), "PUT", "/units/20/profile", "", form(0), 409, codeVersionConflict)
	// Unpublished, it is not on the public pages.
	tt.fails(anonymous(), "GET", "/public/units/20", "", nil, 404, codeNotFound)
	var units struct {
		Units []publicUnitView `json:"units"`
	}
	tt.ok(anonymous(), "GET", "/public/units", "", nil, 200, &units)
	if len(units.Units) != 0 {
		t.Fatalf("a draft listed: %+v", units)
	}
	// Staff of the unit read the draft; another unit's do not.
	tt.ok(clerk(), "GET", "/units/20/profile", "", nil, 200, nil)
	tt.fails(otherUnitAdmin(), "GET", "/units/20/profile", "", nil, 403, codeForbidden)

	// Only the unit's admin (or a county admin) publishes.
	for _, who := range []sdk.Caller{clerk(), businessAdmin(), otherUnitAdmin(), operator()} {
		tt.fails(who, "POST", "/units/20/profile/publish", "", map[string]any{"version": 1}, 403, codeForbidden)
	}
	tt.fails(unitAdmin(), "POST", "/units/20/profile/publish", "", map[string]any{"version": 9}, 409, codeVersionConflict)
	tt.ok(unitAdmin(), "POST", "/units/20/profile/publish", "", map[string]any{"version": 1}, 200, &v)
	if v.Status != profilePublished || v.PublishedBy != "ua20" || v.Version != 2 {
		t.Fatalf("published: %+v", v)
	}
	tt.fails(unitAdmin(), "POST", "/units/20/profile/publish", "", map[string]any{"version": 2}, 409, codeAlreadyPublished)
	var pub publicUnitView
	tt.ok(anonymous(), "GET", "/public/units/20", "", nil, 200, &pub)
	if pub.UnitName != "县政府办" || pub.Basic == nil || pub.Basic.Contacts.Phone != "0751-2862001" {
		t.Fatalf("public: %+v", pub)
	}

	// A change is a draft until published again: the public keeps the
	// published form.
	changed := form(2)
	changed["functions"] = "草稿：尚未审定的职能。"
	tt.ok(businessAdmin(), "PUT", "/units/20/profile", "", changed, 200, &v)
	if v.Status != profileChanged || v.Published.Functions == v.Draft.Functions {
		t.Fatalf("changed: %+v", v)
	}
	tt.ok(anonymous(), "GET", "/public/units/20", "", nil, 200, &pub)
	if strings.Contains(pub.Basic.Functions, "草稿") {
		t.Fatalf("the draft leaked: %+v", pub)
	}
	tt.ok(anonymous(), "GET", "/public/units", "", nil, 200, &units)
	if len(units.Units) != 1 || units.Units[0].UnitID != 20 || units.Units[0].Basic != nil {
		t.Fatalf("the public list: %+v", units)
	}

	// Withdrawn, it is gone from the public pages.
	tt.fails(clerk(), "POST", "/units/20/profile/withdraw", "", map[string]any{"version": 3}, 403, codeForbidden)
	tt.ok(countyAdmin(), "POST", "/units/20/profile/withdraw", "", map[string]any{"version": 3}, 200, &v)
	tt.fails(countyAdmin(), "POST", "/units/20/profile/withdraw", "", map[string]any{"version": 4}, 409, codeNotPublished)
	tt.fails(anonymous(), "GET", "/public/units/20", "", nil, 404, codeNotFound)
	tt.fails(anonymous(), "GET", "/public/units/abc", "", nil, 404, codeNotFound)
	audits := tt.host.Audits()
	if got := []string{audits[0].Action, audits[1].Action, audits[2].Action, audits[3].Action}; strings.Join(got, " ") != "profile.create profile.publish profile.update profile.withdraw" {
		t.Fatalf("audits: %v", got)
	}
}

// TestPublicAnswersRevalidate: a public answer carries an ETag, and the
// same request naming it is answered 304 without a body until the page
// changes.
func TestPublicAnswersRevalidate(t *testing.T) {
	tt := newTester(t)
	tt.ok(unitAdmin(), "PUT", "/units/20/profile", "", form(0), 201, nil)
	tt.ok(unitAdmin(), "POST", "/units/20/profile/publish", "", map[string]any{"version": 1}, 200, nil)
	first := tt.serve(anonymous(), "GET", "/public/units/20", "", nil, nil)
	tag := first.Header["ETag"]
	if first.Status != 200 || !strings.HasPrefix(tag, `"`) || first.Header["Cache-Control"] != "public, max-age=60" {
		t.Fatalf("first: %d %v", first.Status, first.Header)
	}
	again := tt.serve(anonymous(), "GET", "/public/units/20", "", nil, map[string]string{"If-None-Match": `"other", W/` + tag})
	if again.Status != 304 || len(again.Body) != 0 || again.Header["ETag"] != tag {
		t.Fatalf("revalidated: %d %v %s", again.Status, again.Header, again.Body)
	}
	changed := form(2)
	changed["functions"] = "新的职能。"
	tt.ok(unitAdmin(), "PUT", "/units/20/profile", "", changed, 200, nil)
	tt.ok(unitAdmin(), "POST", "/units/20/profile/publish", "", map[string]any{"version": 3}, 200, nil)
	if r := tt.serve(anonymous(), "GET", "/public/units/20", "", nil, map[string]string{"If-None-Match": tag}); r.Status != 200 || r.Header["ETag"] == tag {
		t.Fatalf("after a change: %d %v", r.Status, r.Header)
	}
}
