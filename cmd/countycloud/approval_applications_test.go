package main

import (
	"strings"
	"testing"
	"time"

	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/core/config"
	"github.com/countycloud/countycloud/core/measure"
)

// TestAnApprovalApplicationThroughTheHost: a citizen applies online on
// Wengyuan's public pages and gets a receipt; the department's clerk asks
// for a missing material (补正), which suspends the application's
// workflow in the real engine; the citizen supplies it with the query
// code, resuming it; the clerk accepts, the leader approves; the citizen
// reads the result; the department's figures count it for the day; a
// wrong code is answered as an unknown number; Lechang reaches none of
// it.
func TestAnApprovalApplicationThroughTheHost(t *testing.T) {
	t.Parallel()
	db, _, url, env := twoCounties(t, map[string]string{"wyadmin": auth.RoleCountyAdmin}, func(c *config.Server) { c.PublicRate = 100 })
	operator := env["COUNTYCLOUD_TOKEN"]
	const wyCode, lcCode = "gd.shaoguan.wengyuan", "gd.shaoguan.lechang"
	opEnv := map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": operator, "COUNTYCLOUD_TENANT": wyCode}
	mustCLI(t, opEnv, "org", "units", "create", "--name", "发改局")
	mustCLI(t, opEnv, "org", "accounts", "create", "--login", "fgclerk", "--name", "发改窗口", "--unit", "2", "--role", "clerk")
	mustCLI(t, opEnv, "org", "accounts", "create", "--login", "fgleader", "--name", "发改局长", "--unit", "2", "--role", "leader")
	for _, county := range []string{wyCode, lcCode} {
		mustCLI(t, map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": operator, "COUNTYCLOUD_TENANT": county}, "plugin", "enable", "approval")
	}
	tokens := loginAs(t, db, url, operator, wyCode)
	lcadmin := loginAs(t, db, url, operator, lcCode)["lcadmin"]
	wy, lc := url+"/v1/tenants/"+wyCode+"/modules/approval", url+"/v1/tenants/"+lcCode+"/modules/approval"
	pub, lcPub := url+"/v1/public/"+wyCode+"/modules/approval", url+"/v1/public/"+lcCode+"/modules/approval"

	item := map[string]any{"code": "XK-001", "name": "企业投资项目备案", "category": "行政许可", "departments": []map[string]any{{"unit_id": 2}},
		"legal_basis": "《企业投资项目核准和备案管理条例》", "conditions": "本县企业投资项目",
		"materials": []map[string]any{{"name": "备案申请表", "eform": true}, {"name": "营业执照", "original": true}},
		"procedure": "申请、受理、决定", "promised_days": 3, "statutory_days": 20, "fees": "不收费", "phone": "0795-3561234"}
	want(t, "the county admin creates an item", call(t, "POST", wy+"/items", tokens["wyadmin"], item), 201, "")

	application := map[string]any{"item_code": "XK-001", "materials": []string{"备案申请表"},
		"applicant": map[string]any{"name": "翁源县宏达建材有限公司", "id_type": "统一社会信用代码", "id_number": "91440229MA4UJ1234X", "contact": "13800138000"}}
	want(t, "an application without a required material", call(t, "POST", pub+"/public/applications", "", application), 400, "missing_materials")
	want(t, "an application in Lechang for Wengyuan's item", call(t, "POST", lcPub+"/public/applications", "", application), 404, "item_not_found")
	application["materials"] = []string{"备案申请表", "营业执照"}
	r := call(t, "POST", pub+"/public/applications", "", application)
	want(t, "apply online", r, 201, "")
	receipt := decode[struct{ ID, Number, Code, Channel string }](t, r)
	if receipt.Channel != "online" || len(receipt.Code) < 16 {
		t.Fatalf("the receipt: %+v", receipt)
	}

	want(t, "Lechang examines Wengyuan's application", call(t, "POST", lc+"/applications/"+receipt.ID+"/acceptance", lcadmin, map[string]any{"decision": "accept"}), 404, "application_not_found")
	want(t, "Lechang's admin in Wengyuan", call(t, "GET", wy+"/applications/"+receipt.ID, lcadmin, nil), 404, "tenant_not_found")
	r = call(t, "POST", wy+"/applications/"+receipt.ID+"/acceptance", tokens["fgclerk"], map[string]any{"decision": "correct", "missing": []string{"营业执照"}})
	want(t, "补正", r, 200, "")
	examined := decode[struct {
		Status     string `json:"status"`
		InstanceID int64  `json:"instance_id"`
	}](t, r)
	suspended := func() int {
		t.Helper()
		var n int
		if err := db.Server.Get(&n, "SELECT COUNT(*) FROM `"+db.SchemaPrefix+"gd_shaoguan_wengyuan`.workflow_tasks WHERE status = 'suspended' AND instance_id = ?", examined.InstanceID); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if examined.Status != "correcting" || suspended() != 1 {
		t.Fatalf("after 补正: %+v, %d suspended tasks", examined, suspended())
	}

	query := "/public/applications/" + receipt.Number + "?code="
	wrong, unknown := call(t, "GET", pub+query+"wrong", "", nil), call(t, "GET", pub+"/public/applications/2026-999999?code=wrong", "", nil)
	want(t, "a wrong code", wrong, 404, "application_not_found")
	want(t, "an unknown number", unknown, 404, "application_not_found")
	want(t, "Lechang's public pages", call(t, "GET", lcPub+query+receipt.Code, "", nil), 404, "application_not_found")
	if r := call(t, "GET", pub+query+receipt.Code, "", nil); r.status != 200 || !strings.Contains(string(r.body), `"missing":["营业执照"]`) {
		t.Fatalf("the applicant reads: %d %s", r.status, r.body)
	}
	supply := map[string]any{"code": receipt.Code, "materials": []string{"营业执照"}}
	want(t, "supplied in Lechang", call(t, "POST", lcPub+"/public/applications/"+receipt.Number+"/supplements", "", supply), 404, "application_not_found")
	want(t, "supplied", call(t, "POST", pub+"/public/applications/"+receipt.Number+"/supplements", "", supply), 200, "")
	if suspended() != 0 {
		t.Fatal("the application's workflow still waits after the applicant supplied the material")
	}

	want(t, "the leader decides before acceptance", call(t, "POST", wy+"/applications/"+receipt.ID+"/decision", tokens["fgleader"], map[string]any{"decision": "approve"}), 409, "illegal_transition")
	want(t, "the leader examines without the clerk's role", call(t, "POST", wy+"/applications/"+receipt.ID+"/acceptance", tokens["fgleader"], map[string]any{"decision": "accept"}), 403, "forbidden")
	want(t, "accept", call(t, "POST", wy+"/applications/"+receipt.ID+"/acceptance", tokens["fgclerk"], map[string]any{"decision": "accept"}), 200, "")
	want(t, "the clerk decides without the leader's role", call(t, "POST", wy+"/applications/"+receipt.ID+"/decision", tokens["fgclerk"], map[string]any{"decision": "approve"}), 403, "forbidden")
	want(t, "approve", call(t, "POST", wy+"/applications/"+receipt.ID+"/decision", tokens["fgleader"], map[string]any{"decision": "approve"}), 200, "")
	if r := call(t, "GET", pub+query+receipt.Code, "", nil); r.status != 200 || !strings.Contains(string(r.body), `"status":"approved"`) {
		t.Fatalf("the applicant reads the result: %d %s", r.status, r.body)
	}

	today := measure.Day(time.Now())
	q := "?measure=approval.applications.decided,approval.applications.decided_online,approval.applications.decided_on_time,approval.applications.overdue&from=" + today + "&to=" + today
	report := decode[measure.Report](t, call(t, "GET", url+"/v1/tenants/"+wyCode+"/measures"+q, tokens["wyadmin"], nil))
	if got := figureList(report); got != "approval.applications.decided/2=1 approval.applications.decided_on_time/2=1 approval.applications.decided_online/2=1" {
		t.Errorf("Wengyuan's figures: %s", got)
	}
	if lcReport := decode[measure.Report](t, call(t, "GET", url+"/v1/tenants/"+lcCode+"/measures"+q, lcadmin, nil)); len(lcReport.Figures) != 0 {
		t.Errorf("Lechang's figures: %s", figureList(lcReport))
	}
}
