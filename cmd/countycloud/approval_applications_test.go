package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
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
// workflow in the real engine; the citizen hands in its file as a real
// PDF through the public route (an oversized file, a type refused and
// PNG bytes declared a PDF refused), which the clerk reads and Lechang
// does not; the citizen supplies it with the query
// code, resuming it; the clerk accepts, the leader approves; the citizen
// reads the result; the department's figures count it for the day; a
// wrong code is answered as an unknown number; Lechang reaches none of
// it. Then a joint item (联合审批) of two departments, each with its own
// limit: one asks for a material and every department's clock stops
// until the citizen supplies it; both approve and the lead department
// gives the one reply; and where one department refuses, no approval
// can go out.
func TestAnApprovalApplicationThroughTheHost(t *testing.T) {
	t.Parallel()
	db, _, url, env := twoCounties(t, map[string]string{"wyadmin": auth.RoleCountyAdmin}, func(c *config.Server) { c.PublicRate = 100 })
	operator := env["COUNTYCLOUD_TOKEN"]
	const wyCode, lcCode = "gd.shaoguan.wengyuan", "gd.shaoguan.lechang"
	opEnv := map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": operator, "COUNTYCLOUD_TENANT": wyCode}
	mustCLI(t, opEnv, "org", "units", "create", "--name", "发改局")
	mustCLI(t, opEnv, "org", "accounts", "create", "--login", "fgclerk", "--name", "发改窗口", "--unit", "2", "--role", "clerk")
	mustCLI(t, opEnv, "org", "accounts", "create", "--login", "fgleader", "--name", "发改局长", "--unit", "2", "--role", "leader")
	mustCLI(t, opEnv, "org", "units", "create", "--name", "住建局")
	mustCLI(t, opEnv, "org", "accounts", "create", "--login", "jsleader", "--name", "住建局长", "--unit", "3", "--role", "leader")
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
	receipt := decode[struct {
		ID, Number, Code, Channel string
		Token                     string `json:"applicant_token"`
	}](t, r)
	if receipt.Channel != "online" || len(receipt.Code) < 16 || len(receipt.Token) != 39 {
		t.Fatalf("the receipt: %+v", receipt)
	}
	// Each public request has one entry in the trail, whether the host
	// wrote it after the module refused or the submission wrote it in
	// its own transaction.
	var publicEntries []string
	if err := db.Server.Select(&publicEntries, "SELECT outcome FROM `"+db.SchemaPrefix+"gd_shaoguan_wengyuan`.audit_log WHERE action = 'module.public'"); err != nil {
		t.Fatal(err)
	}
	if strings.Join(publicEntries, ",") != "ok,ok" {
		t.Errorf("two public requests have these entries: %v", publicEntries)
	}
	// The applicant's token lists the application in its county only;
	// in Lechang it is refused as any unknown token, and nothing is
	// written there.
	holding := map[string]any{"token": receipt.Token}
	if r := call(t, "POST", pub+"/public/applicant/applications", "", holding); r.status != 200 || !strings.Contains(string(r.body), `"number":"`+receipt.Number+`"`) {
		t.Fatalf("the applicant's list: %d %s", r.status, r.body)
	}
	want(t, "the token in Lechang", call(t, "POST", lcPub+"/public/applicant/applications", "", holding), 404, "applicant_not_found")
	lcItem := maps.Clone(item)
	lcItem["departments"] = []map[string]any{{"unit_id": 1}}
	want(t, "Lechang's admin creates an item", call(t, "POST", lc+"/items", lcadmin, lcItem), 201, "")
	withToken := maps.Clone(application)
	withToken["applicant_token"] = receipt.Token
	want(t, "an application in Lechang with Wengyuan's token", call(t, "POST", lcPub+"/public/applications", "", withToken), 404, "applicant_not_found")
	if r := call(t, "GET", lc+"/applications", lcadmin, nil); r.status != 200 || !strings.Contains(string(r.body), `"applications":[]`) {
		t.Errorf("Lechang's applications after a refused token: %d %s", r.status, r.body)
	}
	// Each county's application is checked against its own item of the
	// code (the module keeps items by county), and an item changed since
	// the module read it is read again before anything is written: the
	// host refuses a submission against the item as it was.
	r = call(t, "POST", lcPub+"/public/applications", "", application)
	want(t, "apply online in Lechang", r, 201, "")
	if r := call(t, "GET", lc+"/applications/"+decode[struct{ ID string }](t, r).ID, lcadmin, nil); r.status != 200 || !strings.Contains(string(r.body), `"unit_id":1`) {
		t.Fatalf("Lechang's application: %d %s", r.status, r.body)
	}
	renamed := maps.Clone(item)
	renamed["version"], renamed["name"] = 1, "企业投资项目备案（变更）"
	want(t, "the county admin renames the item", call(t, "PUT", wy+"/items/XK-001", tokens["wyadmin"], renamed), 200, "")
	r = call(t, "POST", pub+"/public/applications", "", application)
	want(t, "apply online after the rename", r, 201, "")
	if r := call(t, "GET", wy+"/applications/"+decode[struct{ ID string }](t, r).ID, tokens["wyadmin"], nil); r.status != 200 || !strings.Contains(string(r.body), `"item_name":"企业投资项目备案（变更）"`) {
		t.Fatalf("the application after the rename: %d %s", r.status, r.body)
	}
	// handInPDF hands in a PDF of material for the application of a
	// receipt, its bytes sent.
	handInPDF := func(number, code, material string) {
		t.Helper()
		pdf := append([]byte("%PDF-1.4\n"), []byte(material)...)
		r := call(t, "POST", pub+"/public/applications/"+number+"/files", "", map[string]any{"code": code, "material": material,
			"name": material + ".pdf", "content_type": "application/pdf", "size": len(pdf)})
		want(t, "hand in "+material, r, 201, "")
		if status, got := rawCall(t, "PUT", decode[struct{ URL string }](t, r).URL, pdf, nil); status != 200 {
			t.Fatalf("the bytes of %s: %d %s", material, status, got)
		}
	}
	// The application's workflow started at submission, for the lead
	// department: its examination waits, supervised, at an open task;
	// the anonymous caller initiated it, a counter's clerk their own.
	schema := "`" + db.SchemaPrefix + "gd_shaoguan_wengyuan`"
	startedBy := func(id string) (initiator, subject int64) {
		t.Helper()
		if err := db.Server.QueryRow("SELECT i.initiator_id, i.subject_unit_id FROM "+schema+".workflow_instances i JOIN "+schema+
			".workflow_tasks t ON t.instance_id = i.id AND t.step = 'accept' AND t.status = 'open' AND t.due_at IS NOT NULL WHERE i.reference = ?", id).Scan(&initiator, &subject); err != nil {
			t.Fatalf("application %s's workflow waiting at its examination: %v", id, err)
		}
		return initiator, subject
	}
	if initiator, subject := startedBy(receipt.ID); initiator != 0 || subject != 2 {
		t.Errorf("the online application's workflow: initiated by %d for unit %d", initiator, subject)
	}
	r = call(t, "POST", wy+"/applications", tokens["fgclerk"], application)
	want(t, "apply at the counter", r, 201, "")
	if initiator, subject := startedBy(decode[struct{ ID string }](t, r).ID); initiator == 0 || subject != 2 {
		t.Errorf("the counter's application's workflow: initiated by %d for unit %d", initiator, subject)
	}
	want(t, "accept without the materials' files", call(t, "POST", wy+"/applications/"+receipt.ID+"/acceptance", tokens["fgclerk"], map[string]any{"decision": "accept"}), 400, "missing_materials")
	handInPDF(receipt.Number, receipt.Code, "备案申请表")

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

	// The missing licence, as a file through the public route: a real
	// PDF goes up; an oversized file, a type the module does not take and
	// PNG bytes declared a PDF are refused, keeping nothing; the clerk
	// reads it, Lechang does not.
	licence := append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte("营业执照 "), 200)...)
	handIn := func(base, contentType string, size int) apiResult {
		return call(t, "POST", base+"/public/applications/"+receipt.Number+"/files", "", map[string]any{"code": receipt.Code, "material": "营业执照",
			"name": "营业执照.pdf", "content_type": contentType, "size": size})
	}
	want(t, "an oversized file", handIn(pub, "application/pdf", 10<<20+1), 413, "file_too_large")
	want(t, "a file of a type the module does not take", handIn(pub, "text/html", 100), 415, "file_type_refused")
	want(t, "a file in Lechang", handIn(lcPub, "application/pdf", len(licence)), 404, "application_not_found")
	r = handIn(pub, "application/pdf", len(licence))
	want(t, "hand in the licence", r, 201, "")
	up := decode[struct {
		FileID string `json:"file_id"`
		URL    string `json:"url"`
	}](t, r)
	png := append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, len(licence)-8)...)
	if status, got := rawCall(t, "PUT", up.URL, png, nil); status != 415 || !strings.Contains(string(got), "file_wrong_type") {
		t.Errorf("PNG bytes as the PDF: %d %s", status, got)
	}
	if status, got := rawCall(t, "PUT", up.URL, licence, nil); status != 200 {
		t.Fatalf("the licence's bytes: %d %s", status, got)
	}
	// The applicant reads their own file back, proving the code in the
	// body, through a URL of minutes; Lechang, a wrong code and an
	// account are refused.
	ownFile := "/public/applications/" + receipt.Number + "/files/" + up.FileID + "/download"
	want(t, "the applicant's file from Lechang", call(t, "POST", lcPub+ownFile, "", map[string]any{"code": receipt.Code}), 404, "application_not_found")
	want(t, "the applicant's file with a wrong code", call(t, "POST", pub+ownFile, "", map[string]any{"code": "wrong"}), 404, "application_not_found")
	want(t, "the applicant's route by the clerk", call(t, "POST", wy+ownFile, tokens["fgclerk"], map[string]any{"code": receipt.Code}), 403, "forbidden")
	r = call(t, "POST", pub+ownFile, "", map[string]any{"code": receipt.Code})
	want(t, "the applicant downloads their file", r, 200, "")
	if status, got := rawCall(t, "GET", decode[struct{ URL string }](t, r).URL, nil, nil); status != 200 || !bytes.Equal(got, licence) {
		t.Errorf("the applicant's download of the licence: %d, %d bytes", status, len(got))
	}
	want(t, "Lechang reads the file", call(t, "GET", lc+"/applications/"+receipt.ID+"/files/"+up.FileID, lcadmin, nil), 404, "application_not_found")
	r = call(t, "GET", wy+"/applications/"+receipt.ID+"/files/"+up.FileID, tokens["fgclerk"], nil)
	want(t, "the clerk reads the file", r, 200, "")
	if status, got := rawCall(t, "GET", decode[struct{ URL struct{ URL string } }](t, r).URL.URL, nil, nil); status != 200 || !bytes.Equal(got, licence) {
		t.Errorf("the clerk downloads the licence: %d, %d bytes", status, len(got))
	}

	query := "/public/applications/" + receipt.Number + "/query"
	withCode := func(c string) map[string]any { return map[string]any{"code": c} }
	wrong, unknown := call(t, "POST", pub+query, "", withCode("wrong")), call(t, "POST", pub+"/public/applications/2026-999999/query", "", withCode("wrong"))
	want(t, "a wrong code", wrong, 404, "application_not_found")
	want(t, "an unknown number", unknown, 404, "application_not_found")
	if strings.ReplaceAll(string(wrong.body), receipt.Number, "N") != strings.ReplaceAll(string(unknown.body), "2026-999999", "N") {
		t.Errorf("a wrong code %s and an unknown number %s are told apart", wrong.body, unknown.body)
	}
	want(t, "the code in the URL, as before", call(t, "GET", pub+"/public/applications/"+receipt.Number+"?code="+receipt.Code, "", nil), 404, "public_route_not_found")
	want(t, "Lechang's public pages", call(t, "POST", lcPub+query, "", withCode(receipt.Code)), 404, "application_not_found")
	if r := call(t, "POST", pub+query, "", withCode(receipt.Code)); r.status != 200 || !strings.Contains(string(r.body), `"missing":["营业执照"]`) {
		t.Fatalf("the applicant reads: %d %s", r.status, r.body)
	}
	supply := map[string]any{"code": receipt.Code, "materials": []string{"营业执照"}}
	want(t, "supplied in Lechang", call(t, "POST", lcPub+"/public/applications/"+receipt.Number+"/supplements", "", supply), 404, "application_not_found")
	want(t, "supplied", call(t, "POST", pub+"/public/applications/"+receipt.Number+"/supplements", "", supply), 200, "")
	if suspended() != 0 {
		t.Fatal("the application's workflow still waits after the applicant supplied the material")
	}

	// Past the module, through the platform's task API, every step is
	// refused (mandatory: the module keeps the application there).
	openTask := func(step string) string {
		t.Helper()
		var id int64
		if err := db.Server.Get(&id, "SELECT t.id FROM `"+db.SchemaPrefix+"gd_shaoguan_wengyuan`.workflow_tasks t JOIN `"+db.SchemaPrefix+
			"gd_shaoguan_wengyuan`.workflow_instances i ON i.id = t.instance_id WHERE t.status = 'open' AND t.step = ? AND i.reference = ?", step, receipt.ID); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(id)
	}
	taskAPI := url + "/v1/tenants/" + wyCode + "/tasks/"
	want(t, "the clerk accepts through the task API", call(t, "POST", taskAPI+openTask("accept")+"/act", tokens["fgclerk"], map[string]any{"action": "accept"}), 409, "module_step")
	want(t, "the leader decides before acceptance", call(t, "POST", wy+"/applications/"+receipt.ID+"/decision", tokens["fgleader"], map[string]any{"decision": "approve"}), 409, "illegal_transition")
	want(t, "the leader examines without the clerk's role", call(t, "POST", wy+"/applications/"+receipt.ID+"/acceptance", tokens["fgleader"], map[string]any{"decision": "accept"}), 403, "forbidden")
	want(t, "accept", call(t, "POST", wy+"/applications/"+receipt.ID+"/acceptance", tokens["fgclerk"], map[string]any{"decision": "accept"}), 200, "")
	want(t, "the clerk decides without the leader's role", call(t, "POST", wy+"/applications/"+receipt.ID+"/decision", tokens["fgclerk"], map[string]any{"decision": "approve"}), 403, "forbidden")
	want(t, "the leader approves through the task API", call(t, "POST", taskAPI+openTask("decide")+"/act", tokens["fgleader"], map[string]any{"action": "approve"}), 409, "module_step")
	want(t, "approve", call(t, "POST", wy+"/applications/"+receipt.ID+"/decision", tokens["fgleader"], map[string]any{"decision": "approve"}), 200, "")
	if r := call(t, "POST", pub+query, "", withCode(receipt.Code)); r.status != 200 || !strings.Contains(string(r.body), `"status":"approved"`) {
		t.Fatalf("the applicant reads the result: %d %s", r.status, r.body)
	}

	// Materials handed in at the counter after a 补正 request: the lead
	// department's clerk records them, resuming the workflow.
	r = call(t, "POST", pub+"/public/applications", "", application)
	counter := decode[struct{ ID string }](t, r)
	r = call(t, "POST", wy+"/applications/"+counter.ID+"/acceptance", tokens["fgclerk"], map[string]any{"decision": "correct", "missing": []string{"营业执照"}})
	want(t, "补正 again", r, 200, "")
	examined = decode[struct {
		Status     string `json:"status"`
		InstanceID int64  `json:"instance_id"`
	}](t, r)
	handed := map[string]any{"materials": []string{"营业执照"}}
	want(t, "住建局 records them", call(t, "POST", wy+"/applications/"+counter.ID+"/supplements", tokens["jsleader"], handed), 403, "not_your_department")
	want(t, "Lechang records them", call(t, "POST", lc+"/applications/"+counter.ID+"/supplements", lcadmin, handed), 404, "application_not_found")
	if suspended() != 1 {
		t.Fatal("a refused supplement resumed the workflow")
	}
	want(t, "the clerk records them at the counter", call(t, "POST", wy+"/applications/"+counter.ID+"/supplements", tokens["fgclerk"], handed), 200, "")
	if suspended() != 0 {
		t.Fatal("the application's workflow still waits after the counter took the material")
	}

	// A joint item (联合审批): 发改局 leads, 住建局 reviews too, each
	// within its own limit.
	joint := map[string]any{}
	for k, v := range item {
		joint[k] = v
	}
	joint["code"], joint["name"], joint["promised_days"] = "XK-002", "建设项目联合审批", 8
	joint["departments"] = []map[string]any{{"unit_id": 2, "days": 3}, {"unit_id": 3, "days": 5}}
	want(t, "the county admin creates a joint item", call(t, "POST", wy+"/items", tokens["wyadmin"], joint), 201, "")
	applyJoint := func() (id, number, code string) {
		t.Helper()
		application["item_code"] = "XK-002"
		r := call(t, "POST", pub+"/public/applications", "", application)
		want(t, "apply online for a joint item", r, 201, "")
		rc := decode[struct{ ID, Number, Code string }](t, r)
		handInPDF(rc.Number, rc.Code, "备案申请表")
		handInPDF(rc.Number, rc.Code, "营业执照")
		want(t, "accept the joint application", call(t, "POST", wy+"/applications/"+rc.ID+"/acceptance", tokens["fgclerk"], map[string]any{"decision": "accept"}), 200, "")
		return rc.ID, rc.Number, rc.Code
	}
	type review struct {
		UnitID   int64      `json:"unit_id"`
		Status   string     `json:"status"`
		Decision string     `json:"decision"`
		DueAt    *time.Time `json:"due_at"`
	}
	id, number, code := applyJoint()
	reviews := decode[[]review](t, call(t, "GET", wy+"/applications/"+id+"/reviews", tokens["fgclerk"], nil))
	if len(reviews) != 2 || reviews[0].UnitID != 2 || reviews[1].UnitID != 3 || reviews[0].DueAt == nil || reviews[1].DueAt == nil || !reviews[0].DueAt.Before(*reviews[1].DueAt) {
		t.Fatalf("the departments' reviews, each with its own limit: %+v", reviews)
	}
	decideJoint := func(who, decision, reasons string) apiResult {
		return call(t, "POST", wy+"/applications/"+id+"/decision", tokens[who], map[string]any{"decision": decision, "reasons": reasons})
	}
	reviewAs := func(who string, body map[string]any) apiResult {
		return call(t, "POST", wy+"/applications/"+id+"/review", tokens[who], body)
	}
	var reviewTask int64
	if err := db.Server.Get(&reviewTask, "SELECT t.id FROM `"+db.SchemaPrefix+"gd_shaoguan_wengyuan`.workflow_tasks t JOIN `"+db.SchemaPrefix+
		"gd_shaoguan_wengyuan`.workflow_instances i ON i.id = t.instance_id WHERE t.status = 'open' AND t.step = 'review' AND i.subject_unit_id = 3"); err != nil {
		t.Fatal(err)
	}
	want(t, "住建局 reviews through the task API", call(t, "POST", taskAPI+fmt.Sprint(reviewTask)+"/act", tokens["jsleader"], map[string]any{"action": "approve"}), 409, "module_step")
	want(t, "the county admin, of no reviewing department, reviews", reviewAs("wyadmin", map[string]any{"decision": "approve"}), 403, "not_your_department")
	// 住建局 asks for a material: every department's clock stops.
	want(t, "住建局 asks for a material", reviewAs("jsleader", map[string]any{"decision": "correct", "missing": []string{"营业执照"}}), 200, "")
	familySuspended := func() int {
		t.Helper()
		var n int
		if err := db.Server.Get(&n, "SELECT COUNT(*) FROM `"+db.SchemaPrefix+"gd_shaoguan_wengyuan`.workflow_tasks t JOIN `"+db.SchemaPrefix+
			"gd_shaoguan_wengyuan`.workflow_instances i ON i.id = t.instance_id WHERE t.status = 'suspended' AND i.title LIKE '建设项目联合审批%'"); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := familySuspended(); n != 3 {
		t.Fatalf("%d tasks of the joint application wait; want the reply and both reviews", n)
	}
	want(t, "a reply while the applicant is asked", decideJoint("fgleader", "approve", ""), 409, "illegal_transition")
	jointSupply := map[string]any{"code": code, "materials": []string{"营业执照"}}
	want(t, "supplied without a file since the request", call(t, "POST", pub+"/public/applications/"+number+"/supplements", "", jointSupply), 400, "missing_materials")
	handInPDF(number, code, "营业执照")
	want(t, "supplied for the joint application", call(t, "POST", pub+"/public/applications/"+number+"/supplements", "", jointSupply), 200, "")
	if n := familySuspended(); n != 0 {
		t.Fatalf("%d tasks still wait after the applicant supplied the material", n)
	}
	want(t, "a reply before the departments decide", decideJoint("fgleader", "approve", ""), 409, "departments_pending")
	want(t, "发改局 approves", reviewAs("fgleader", map[string]any{"decision": "approve"}), 200, "")
	want(t, "发改局 approves twice", reviewAs("fgleader", map[string]any{"decision": "approve"}), 409, "illegal_transition")
	want(t, "住建局 approves", reviewAs("jsleader", map[string]any{"decision": "approve"}), 200, "")
	want(t, "住建局's leader gives the lead department's reply", decideJoint("jsleader", "approve", ""), 403, "not_your_department")
	want(t, "the one reply", decideJoint("fgleader", "approve", ""), 200, "")
	if r := call(t, "POST", pub+"/public/applications/"+number+"/query", "", map[string]any{"code": code}); r.status != 200 || !strings.Contains(string(r.body), `"status":"approved"`) {
		t.Fatalf("the applicant reads the joint result: %d %s", r.status, r.body)
	}

	// One department refuses: no approval goes out.
	id, number, code = applyJoint()
	want(t, "住建局 refuses", reviewAs("jsleader", map[string]any{"decision": "deny", "reasons": "不符合城乡规划"}), 200, "")
	want(t, "a reply while 发改局 has not decided", decideJoint("fgleader", "approve", ""), 409, "departments_pending")
	want(t, "发改局 approves", reviewAs("fgleader", map[string]any{"decision": "approve"}), 200, "")
	want(t, "an approval after a department refused", decideJoint("fgleader", "approve", ""), 409, "department_denied")
	if r := call(t, "POST", pub+"/public/applications/"+number+"/query", "", map[string]any{"code": code}); !strings.Contains(string(r.body), `"status":"accepted"`) {
		t.Fatalf("an approval went out though a department refused: %s", r.body)
	}
	want(t, "the denial", decideJoint("fgleader", "deny", "住建局：不符合城乡规划"), 200, "")

	// After a department's 补正 on a joint item, the materials handed in
	// at the counter are the lead department's leader's to record: the
	// suspended tasks (the reply, the reviews) are leaders'.
	id, _, _ = applyJoint()
	want(t, "住建局 asks for a material again", reviewAs("jsleader", map[string]any{"decision": "correct", "missing": []string{"营业执照"}}), 200, "")
	handed = map[string]any{"materials": []string{"营业执照"}}
	want(t, "the lead department's clerk records them", call(t, "POST", wy+"/applications/"+id+"/supplements", tokens["fgclerk"], handed), 403, "forbidden")
	want(t, "住建局's leader records them", call(t, "POST", wy+"/applications/"+id+"/supplements", tokens["jsleader"], handed), 403, "not_your_department")
	if n := familySuspended(); n != 3 {
		t.Fatalf("a refused counter supplement changed the joint application's workflow: %d tasks wait", n)
	}
	want(t, "the lead department's leader records them", call(t, "POST", wy+"/applications/"+id+"/supplements", tokens["fgleader"], handed), 200, "")
	if n := familySuspended(); n != 0 {
		t.Fatalf("%d tasks still wait after the counter took the material", n)
	}

	today := measure.Day(time.Now())
	q := "?measure=approval.applications.decided,approval.applications.decided_online,approval.applications.decided_on_time,approval.applications.overdue&from=" + today + "&to=" + today
	report := decode[measure.Report](t, call(t, "GET", url+"/v1/tenants/"+wyCode+"/measures"+q, tokens["wyadmin"], nil))
	// 发改局 counts the applications it replied to; 住建局 its own two
	// reviews (the lead department's reviews are its replies' part).
	if got := figureList(report); got != "approval.applications.decided/2=3 approval.applications.decided/3=2 approval.applications.decided_on_time/2=3 "+
		"approval.applications.decided_on_time/3=2 approval.applications.decided_online/2=3 approval.applications.decided_online/3=2" {
		t.Errorf("Wengyuan's figures: %s", got)
	}
	// The CLI lists a department's applications, its staff their own.
	clerkEnv := map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": tokens["fgclerk"]}
	var listed []struct{ Number, Status string }
	if err := json.Unmarshal([]byte(mustCLI(t, clerkEnv, "approval", "applications", "list", wyCode, "--status", "approved", "-o", "json")), &listed); err != nil {
		t.Fatal(err)
	}
	if len(listed) != 2 || listed[0].Status != "approved" {
		t.Errorf("the clerk's approved applications: %+v", listed)
	}
	if table := mustCLI(t, clerkEnv, "approval", "applications", "list", wyCode); !strings.Contains(table, "受理编号") || !strings.Contains(table, receipt.Number) {
		t.Errorf("the clerk's table:\n%s", table)
	}
	if r := cli(t, clerkEnv, "approval", "applications", "list", wyCode, "--department", "3"); r.code == 0 {
		t.Errorf("发改局's clerk listed 住建局's applications: %s", r.stdout)
	}
	if r := cli(t, map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": lcadmin}, "approval", "applications", "list", wyCode); r.code == 0 {
		t.Errorf("Lechang's admin listed Wengyuan's applications: %s", r.stdout)
	}

	// The CLI's report per department, from the same figures.
	adminEnv := map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": tokens["wyadmin"]}
	var lines []approvalDepartment
	if err := json.Unmarshal([]byte(mustCLI(t, adminEnv, "approval", "report", wyCode, "--from", today, "--to", today, "-o", "json")), &lines); err != nil {
		t.Fatal(err)
	}
	if len(lines) != 2 || lines[0].UnitID != 2 || lines[0].UnitName != "发改局" || lines[1].UnitName != "住建局" || lines[0].Decided != 3 || *lines[0].OnlineRate != 1 || *lines[0].OnTimeRate != 1 || lines[0].AverageWorkingDays == nil ||
		lines[1].UnitID != 3 || lines[1].Decided != 2 || lines[1].Overdue != 0 {
		t.Errorf("the report: %+v", lines)
	}
	if table := mustCLI(t, adminEnv, "approval", "report", wyCode, "--from", today, "--to", today); !strings.Contains(table, "网上办理率") || !strings.Contains(table, "100.0%") ||
		!strings.Contains(table, "发改局") || !strings.Contains(table, "住建局") {
		t.Errorf("the report's table:\n%s", table)
	}
	if r := cli(t, map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": lcadmin}, "approval", "report", wyCode, "--from", today, "--to", today); r.code == 0 {
		t.Errorf("Lechang's admin read Wengyuan's report: %s", r.stdout)
	}
	if r := cli(t, map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": tokens["fgclerk"]}, "approval", "report", wyCode, "--from", today, "--to", today); r.code == 0 {
		t.Errorf("a department's clerk read the county's report: %s", r.stdout)
	}
	if lcReport := decode[measure.Report](t, call(t, "GET", url+"/v1/tenants/"+lcCode+"/measures"+q, lcadmin, nil)); len(lcReport.Figures) != 0 {
		t.Errorf("Lechang's figures: %s", figureList(lcReport))
	}
}
