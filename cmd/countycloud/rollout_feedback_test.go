package main

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/core/measure"
	"github.com/countycloud/countycloud/core/notify"
	"github.com/countycloud/countycloud/tenants/rollout"
)

// TestTrialFeedbackGoesFromTheUnitToTheVendorAndBack takes a problem
// with the OA module from the unit that reports it, through the IT
// office's assignment, to its vendor's answer over a vendor's token, a
// reopening and the unit's confirmation; at every step the wrong caller
// tries and is refused, and nothing changes.
func TestTrialFeedbackGoesFromTheUnitToTheVendorAndBack(t *testing.T) {
	t.Parallel()
	db, p, addr, env := twoCounties(t, map[string]string{"wyadmin": auth.RoleCountyAdmin, "wyclerk": auth.RoleClerk, "wystaff": "", "wysup": auth.RoleSupervisor})
	op := env["COUNTYCLOUD_TOKEN"]
	const wy = "gd.shaoguan.wengyuan"
	wyEnv := map[string]string{"COUNTYCLOUD_ADDR": addr, "COUNTYCLOUD_TOKEN": op, "COUNTYCLOUD_TENANT": wy}
	mustCLI(t, wyEnv, "org", "units", "create", "--name", "发改局", "--code", "FGJ")
	mustCLI(t, wyEnv, "org", "accounts", "create", "--login", "fgstaff", "--name", "发改局人员", "--unit", "2")
	want(t, "enable oa", call(t, "PUT", addr+"/v1/tenants/"+wy+"/modules/oa", op, map[string]any{}), 200, "")
	// A second vendor, owning a module Wengyuan never enabled.
	if _, err := db.Control.Exec("INSERT INTO plugin_namespaces (name, owner, vendor, claimed_at, claimed_by) VALUES ('hotline', 'plugin', 'Acme', NOW(6), 'test')"); err != nil {
		t.Fatal(err)
	}
	wyTokens := loginAs(t, db, addr, op, wy)
	admin, clerk, staff, fg, sup := wyTokens["wyadmin"], wyTokens["wyclerk"], wyTokens["wystaff"], wyTokens["fgstaff"], wyTokens["wysup"]
	lcadmin := loginAs(t, db, addr, op, "gd.shaoguan.lechang")["lcadmin"]
	base := addr + "/v1/tenants/" + wy + "/rollout/feedback"

	// Vendors' tokens are the operators' to issue, for vendors the
	// catalog has, shown once.
	want(t, "a county admin issues a vendor token", call(t, "POST", addr+"/v1/vendors/CountyCloud/tokens", admin, auth.VendorTokenRequest{Name: "答复"}), 403, "")
	want(t, "a token for a vendor of nothing", call(t, "POST", addr+"/v1/vendors/Nobody/tokens", op, auth.VendorTokenRequest{Name: "答复"}), 404, auth.CodeVendorNotFound)
	want(t, "a token without a name", call(t, "POST", addr+"/v1/vendors/CountyCloud/tokens", op, auth.VendorTokenRequest{}), 400, auth.CodeInvalidTokenRequest)
	r := call(t, "POST", addr+"/v1/vendors/CountyCloud/tokens", op, auth.VendorTokenRequest{Name: "问题答复"})
	want(t, "CountyCloud's token", r, 201, "")
	cc := decode[auth.NewVendorToken](t, r)
	acme := decode[auth.NewVendorToken](t, call(t, "POST", addr+"/v1/vendors/Acme/tokens", op, auth.VendorTokenRequest{Name: "问题答复"})).Token
	if !strings.HasPrefix(cc.Token, auth.VendorTokenPrefix) {
		t.Errorf("a vendor token: %q", cc.Token)
	}
	if listed := call(t, "GET", addr+"/v1/vendors/CountyCloud/tokens", op, nil); strings.Contains(string(listed.body), cc.Token) || !strings.Contains(string(listed.body), "问题答复") {
		t.Errorf("the vendor's tokens: %s", listed.body)
	}

	// A unit's staff report for the units they reach, on a module the
	// county enabled, with nothing classified.
	report := rollout.ReportInput{Module: "oa", Title: "收文无法登记", Description: "点击登记后提示错误"}
	want(t, "anonymous reports", call(t, "POST", base, "", report), 401, "")
	want(t, "a vendor reports", call(t, "POST", base, acme, report), 403, "")
	want(t, "staff report for another unit", call(t, "POST", base, staff, rollout.ReportInput{Module: "oa", UnitID: 2, Title: "x", Description: "y"}), 403, auth.CodeOutsideReach)
	want(t, "a module the county did not enable", call(t, "POST", base, fg, rollout.ReportInput{Module: "hotline", Title: "x", Description: "y"}), 400, rollout.CodeFeedbackModule)
	want(t, "classified text", call(t, "POST", base, fg, rollout.ReportInput{Module: "oa", Title: "x", Description: "【机密】文件无法登记"}), 403, "classified_content_refused")
	want(t, "a field of its own", call(t, "POST", base, fg, map[string]any{"module": "oa", "title": "x", "description": "y", "status": "confirmed"}), 400, "")
	want(t, "no description", call(t, "POST", base, fg, rollout.ReportInput{Module: "oa", Title: "x"}), 400, rollout.CodeInvalidFeedback)
	if items := decode[[]rollout.FeedbackItem](t, call(t, "GET", base, op, nil)); len(items) != 0 {
		t.Fatalf("refused reports left items: %+v", items)
	}
	r = call(t, "POST", base, fg, report)
	want(t, "the unit reports", r, 201, "")
	item := decode[rollout.FeedbackItem](t, r)
	if item.Status != rollout.FeedbackReported || item.UnitID != 2 || item.DueAt == nil || item.Waits != "it_office" || item.Level.String() != "green" {
		t.Errorf("the reported item: %+v", item)
	}
	id := "/" + itoa(item.ID)

	// Another county's admin, another unit's staff and a vendor see
	// nothing of it.
	want(t, "Lechang's admin lists", call(t, "GET", base, lcadmin, nil), 404, "tenant_not_found")
	want(t, "another unit's staff read it", call(t, "GET", base+id, staff, nil), 404, rollout.CodeFeedbackNotFound)
	if items := decode[[]rollout.FeedbackItem](t, call(t, "GET", base, staff, nil)); len(items) != 0 {
		t.Errorf("another unit's staff list: %+v", items)
	}
	// Its own unit's staff and the supervisors, who watch the time
	// limits, see it.
	for who, token := range map[string]string{"the reporting unit": fg, "a supervisor": sup} {
		if items := decode[[]rollout.FeedbackItem](t, call(t, "GET", base+"?status=reported&module=oa", token, nil)); len(items) != 1 || items[0].ID != item.ID {
			t.Errorf("%s lists: %+v", who, items)
		}
		want(t, who+" reads it", call(t, "GET", base+id, token, nil), 200, "")
	}
	want(t, "a vendor reads it before it is assigned", call(t, "GET", base+id, cc.Token, nil), 404, rollout.CodeFeedbackNotFound)
	want(t, "a vendor answers before it is assigned", call(t, "POST", base+id+"/answer", cc.Token, rollout.NoteInput{Note: "已修复"}), 404, rollout.CodeFeedbackNotFound)

	// The IT office assigns it; a clerk may not, nor may a unit confirm
	// what was not answered.
	want(t, "a clerk assigns", call(t, "POST", base+id+"/assign", clerk, rollout.NoteInput{}), 403, "")
	want(t, "a vendor assigns", call(t, "POST", base+id+"/assign", cc.Token, rollout.NoteInput{}), 403, "")
	want(t, "Lechang's admin assigns", call(t, "POST", base+id+"/assign", lcadmin, rollout.NoteInput{}), 404, "tenant_not_found")
	want(t, "confirming an unanswered item", call(t, "POST", base+id+"/confirm", fg, rollout.NoteInput{}), 409, rollout.CodeFeedbackStep)
	r = call(t, "POST", base+id+"/assign", admin, rollout.NoteInput{Note: "请厂商处理"})
	want(t, "the IT office assigns", r, 200, "")
	if item = decode[rollout.FeedbackItem](t, r); item.Vendor == nil || *item.Vendor != "CountyCloud" || item.Waits != "vendor" {
		t.Errorf("the assigned item: %+v", item)
	}
	want(t, "assigning twice", call(t, "POST", base+id+"/assign", op, rollout.NoteInput{}), 409, rollout.CodeFeedbackStep)

	// Another vendor reaches nothing: not the item, nor any other route.
	want(t, "another vendor reads it", call(t, "GET", base+id, acme, nil), 404, rollout.CodeFeedbackNotFound)
	want(t, "another vendor answers it", call(t, "POST", base+id+"/answer", acme, rollout.NoteInput{Note: "不是我们的"}), 404, rollout.CodeFeedbackNotFound)
	if items := decode[[]rollout.FeedbackItem](t, call(t, "GET", base, acme, nil)); len(items) != 0 {
		t.Errorf("another vendor lists: %+v", items)
	}
	want(t, "another vendor's list across counties", call(t, "GET", addr+"/v1/vendors/CountyCloud/feedback", acme, nil), 403, rollout.CodeNotTheVendor)
	for _, rt := range []struct{ method, path string }{
		{"GET", "/v1/tenants/" + wy + "/units"},
		{"GET", "/v1/tenants/" + wy + "/measures?measure=platform.logins"},
		{"GET", "/v1/tenants/" + wy + "/modules/oa"},
		{"GET", "/v1/tenants/" + wy + "/modules/oa/documents"},
		{"GET", "/v1/tenants/" + wy + "/rollout/status"},
		{"GET", "/v1/tenants/" + wy + "/notifications"},
		{"GET", "/v1/auth/me"},
		{"POST", "/v1/auth/tokens"},
		{"GET", "/v1/vendors/CountyCloud/tokens"},
		{"POST", "/v1/tenants/" + wy + "/rollout/feedback"},
	} {
		for _, token := range []string{cc.Token, acme} {
			if r := call(t, rt.method, addr+rt.path, token, map[string]any{"name": "x"}); r.status != 403 {
				t.Errorf("a vendor on %s %s: %d %s", rt.method, rt.path, r.status, r.body)
			}
		}
	}

	// The vendor answers, reads its items across the counties, the
	// unit reopens, the vendor answers again, the unit confirms.
	want(t, "an empty answer", call(t, "POST", base+id+"/answer", cc.Token, rollout.NoteInput{}), 400, rollout.CodeInvalidFeedback)
	want(t, "staff answer", call(t, "POST", base+id+"/answer", fg, rollout.NoteInput{Note: "好了"}), 403, "")
	want(t, "the vendor answers", call(t, "POST", base+id+"/answer", cc.Token, rollout.NoteInput{Note: "已修复，请刷新后重试"}), 200, "")
	mine := decode[[]rollout.FeedbackItem](t, call(t, "GET", addr+"/v1/vendors/CountyCloud/feedback?status=answered", cc.Token, nil))
	if len(mine) != 1 || mine[0].County != wy || mine[0].ID != item.ID {
		t.Errorf("the vendor's feedback: %+v", mine)
	}
	want(t, "another unit's staff confirm", call(t, "POST", base+id+"/confirm", staff, rollout.NoteInput{}), 403, auth.CodeOutsideReach)
	want(t, "reopening without saying why", call(t, "POST", base+id+"/reopen", fg, rollout.NoteInput{}), 400, rollout.CodeInvalidFeedback)
	want(t, "the unit reopens", call(t, "POST", base+id+"/reopen", fg, rollout.NoteInput{Note: "仍然报错"}), 200, "")
	want(t, "the vendor answers again", call(t, "POST", base+id+"/answer", cc.Token, rollout.NoteInput{Note: "已更换版本"}), 200, "")
	want(t, "the unit confirms", call(t, "POST", base+id+"/confirm", fg, rollout.NoteInput{Note: "已解决"}), 200, "")
	want(t, "confirming twice", call(t, "POST", base+id+"/confirm", fg, rollout.NoteInput{}), 409, rollout.CodeFeedbackStep)
	done := decode[rollout.FeedbackItem](t, call(t, "GET", base+id, fg, nil))
	var history []string
	for _, s := range done.Steps {
		history = append(history, s.Status+":"+s.Actor)
	}
	if got := strings.Join(history, " "); got != "reported:fgstaff assigned:wyadmin answered:CountyCloud reopened:fgstaff answered:CountyCloud confirmed:fgstaff" || done.DueAt != nil {
		t.Errorf("the history: %s (due %v)", got, done.DueAt)
	}

	// A revoked vendor token reaches nothing from then on.
	want(t, "revoke", call(t, "DELETE", addr+"/v1/vendors/CountyCloud/tokens/"+itoa(cc.ID), op, nil), 200, "")
	want(t, "a revoked vendor token", call(t, "GET", addr+"/v1/vendors/CountyCloud/feedback", cc.Token, nil), 401, auth.CodeTokenRevoked)
	want(t, "revoking another vendor's token", call(t, "DELETE", addr+"/v1/vendors/Acme/tokens/"+itoa(cc.ID), op, nil), 404, auth.CodeVendorTokenNotFound)

	// A step past its time limit is red, listed as overdue, counted once
	// and told to the IT office once by the sweep.
	late := decode[rollout.FeedbackItem](t, call(t, "POST", base, fg, rollout.ReportInput{Module: "oa", Title: "发文打印错位", Description: "打印稿版式错位"}))
	schema := "`" + db.SchemaPrefix + "gd_shaoguan_wengyuan`."
	if _, err := db.Server.Exec("UPDATE "+schema+"rollout_feedback SET warn_at = ?, due_at = ? WHERE id = ?", time.Now().Add(-2*time.Hour), time.Now().Add(-time.Hour), late.ID); err != nil {
		t.Fatal(err)
	}
	overdue := decode[[]rollout.FeedbackItem](t, call(t, "GET", base+"?overdue=true", admin, nil))
	if len(overdue) != 1 || overdue[0].ID != late.ID || overdue[0].Level.String() != "red" || !overdue[0].Overdue {
		t.Errorf("the overdue items: %+v", overdue)
	}
	want(t, "a filter that is none", call(t, "GET", base+"?overdue=yes", admin, nil), 400, rollout.CodeInvalidFeedback)
	adminEnv := map[string]string{"COUNTYCLOUD_ADDR": addr, "COUNTYCLOUD_TOKEN": admin}
	if out := mustCLI(t, adminEnv, "rollout", "feedback", "list", wy, "--overdue"); !strings.Contains(out, "发文打印错位") || !strings.Contains(out, "red") || strings.Contains(out, "收文无法登记") {
		t.Errorf("rollout feedback list --overdue:\n%s", out)
	}
	if out := mustCLI(t, adminEnv, "rollout", "feedback", "show", wy, itoa(item.ID), "-o", "json"); !strings.Contains(out, `"status": "confirmed"`) {
		t.Errorf("rollout feedback show -o json:\n%s", out)
	}
	if r := cli(t, map[string]string{"COUNTYCLOUD_ADDR": addr, "COUNTYCLOUD_TOKEN": acme}, "rollout", "feedback", "show", wy, itoa(item.ID)); r.code == 0 || !strings.Contains(r.stderr, rollout.CodeFeedbackNotFound) {
		t.Errorf("another vendor shows the item: %d %s", r.code, r.stderr)
	}
	if out := mustCLI(t, env, "vendor", "token", "list", "CountyCloud", "-o", "json"); !strings.Contains(out, `"revoked_at"`) || strings.Contains(out, cc.Token) {
		t.Errorf("vendor token list:\n%s", out)
	}
	planFile := filepath.Join(t.TempDir(), "template.json")
	if err := os.WriteFile(planFile, []byte(basicTemplate), 0o600); err != nil {
		t.Fatal(err)
	}
	mustCLI(t, env, "rollout", "templates", "put", "--file", planFile)
	mustCLI(t, env, "rollout", "plan", "create", wy, "--template", "gd.basic", "--key-units", "oa=FGJ")
	for range 2 {
		if err := p.feedback().Sweep(t.Context(), time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	inbox := decode[notify.InboxPage](t, call(t, "GET", addr+"/v1/tenants/"+wy+"/notifications", admin, nil))
	told := 0
	for _, n := range inbox.Notifications {
		if n.RefType != nil && *n.RefType == "rollout_feedback" && *n.RefID == late.ID {
			told++
		}
	}
	if told != 1 {
		t.Errorf("the IT office was told %d times of the late item: %+v", told, inbox.Notifications)
	}
	// Taken late after the sweep told it, the step counts no more; taken
	// late before any sweep, it counts then, and the sweep tells nothing.
	r = call(t, "POST", base+"/"+itoa(late.ID)+"/assign", admin, rollout.NoteInput{})
	if assigned := decode[rollout.FeedbackItem](t, r); r.status != 200 || !assigned.Steps[1].Late || assigned.Level.String() != "green" {
		t.Errorf("assigned late: %d %s", r.status, r.body)
	}
	early := decode[rollout.FeedbackItem](t, call(t, "POST", base, fg, rollout.ReportInput{Module: "oa", Title: "通知无法发送", Description: "发送按钮无反应"}))
	if _, err := db.Server.Exec("UPDATE "+schema+"rollout_feedback SET warn_at = ?, due_at = ? WHERE id = ?", time.Now().Add(-2*time.Hour), time.Now().Add(-time.Hour), early.ID); err != nil {
		t.Fatal(err)
	}
	want(t, "assigned late before the sweep", call(t, "POST", base+"/"+itoa(early.ID)+"/assign", admin, rollout.NoteInput{Note: "  请尽快处理  "}), 200, "")
	if err := p.feedback().Sweep(t.Context(), time.Now()); err != nil {
		t.Fatal(err)
	}
	inbox = decode[notify.InboxPage](t, call(t, "GET", addr+"/v1/tenants/"+wy+"/notifications", admin, nil))
	if len(inbox.Notifications) != 1 {
		t.Errorf("the IT office's inbox after the late steps were taken: %+v", inbox.Notifications)
	}

	// The measures, per the reporting unit, once the counts pending are
	// folded into them, as every reader of measures does.
	if err := p.measures.Fold(t.Context(), wy); err != nil {
		t.Fatal(err)
	}
	for measureID, wantValue := range map[string]int{measure.FeedbackReported: 3, measure.FeedbackAnswered: 2, measure.FeedbackOverdue: 2} {
		var got int
		if err := db.Server.Get(&got, "SELECT COALESCE(SUM(value), 0) FROM "+schema+"measure_values WHERE measure = ? AND unit_id = 2 AND grain = 'd'", measureID); err != nil {
			t.Fatal(err)
		}
		if got != wantValue {
			t.Errorf("%s: %d, want %d", measureID, got, wantValue)
		}
	}
	today := measure.Day(time.Now())
	q := url.Values{"measure": {measure.FeedbackReported + "," + measure.FeedbackOverdue}, "from": {today}, "to": {today}}
	if r := call(t, "GET", addr+"/v1/tenants/"+wy+"/measures?"+q.Encode(), admin, nil); r.status != 200 || !strings.Contains(string(r.body), measure.FeedbackOverdue) {
		t.Errorf("the county's admin reads the measures: %d %s", r.status, r.body)
	}
}

// TestAVendorTokenReachesOnlyTheRoutesForVendors is generated from the
// route table: a vendor's token calls every route and is refused (401 or
// 403) on every API route whose rule does not allow vendors, public
// ones aside, and the county is unchanged.
func TestAVendorTokenReachesOnlyTheRoutesForVendors(t *testing.T) {
	t.Parallel()
	db, p, addr, env := twoCounties(t, nil)
	if _, err := db.Control.Exec("INSERT INTO plugin_namespaces (name, owner, vendor, claimed_at, claimed_by) VALUES ('hotline', 'plugin', 'Acme', NOW(6), 'test')"); err != nil {
		t.Fatal(err)
	}
	acme := decode[auth.NewVendorToken](t, call(t, "POST", addr+"/v1/vendors/Acme/tokens", env["COUNTYCLOUD_TOKEN"], auth.VendorTokenRequest{Name: "答复"})).Token
	schema := db.SchemaPrefix + "gd_shaoguan_wengyuan"
	before := countyFingerprint(t, db, schema)
	policy := auth.Policy()
	admitted := 0
	for _, rt := range p.routes() {
		rule, ok := policy[rt.Name]
		// The console's pages take its own session's cookie, never a
		// bearer token: without one they show the login page.
		if !ok || !strings.HasPrefix(rt.Pattern, "/v1/") || strings.HasPrefix(rt.Name, "files.") || rule.Public {
			continue
		}
		path := strings.NewReplacer("{code}", "gd.shaoguan.wengyuan", "{id}", "999", "{vendor}", "Acme", "{year}", "2026", "{date}", "2026-06-05", "{workflow}", "office.incoming").Replace(rt.Pattern)
		r := call(t, rt.Method, addr+path, acme, map[string]any{"name": "x", "note": "x"})
		refused := r.status == 401 || r.status == 403
		if refused == rule.Vendor {
			t.Errorf("%s %s (%s) with a vendor's token: %d %s; vendors allowed: %v", rt.Method, path, rt.Name, r.status, r.body, rule.Vendor)
		}
		if rule.Vendor {
			admitted++
		}
	}
	if admitted < 3 {
		t.Fatalf("only %d routes admit vendors", admitted)
	}
	if after := countyFingerprint(t, db, schema); after != before {
		t.Errorf("a vendor's token changed Wengyuan:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}
