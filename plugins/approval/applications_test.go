package approval

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/countycloud/countycloud/plugins/sdk"
)

func leader() sdk.Caller {
	return sdk.Caller{Kind: sdk.CallerAccount, Login: "lisi", AccountID: 4, UnitID: 20, Roles: []string{"leader"}}
}
func otherClerk() sdk.Caller {
	return sdk.Caller{Kind: sdk.CallerAccount, Login: "wangwu", AccountID: 5, UnitID: 30, Roles: []string{"clerk", "leader"}}
}

// handIn hands in, with receipt's code, a file of each of materials,
// whose bytes arrive, and answers their ids.
func (tt *tester) handIn(receipt receiptView, materials ...string) []string {
	tt.t.Helper()
	ids := tt.handInPending(receipt, materials...)
	for _, id := range ids {
		tt.host.Arrive(tt.t, id)
	}
	return ids
}

// handInPending hands in, with receipt's code, a file of each of
// materials, whose bytes have not arrived, and answers their ids.
func (tt *tester) handInPending(receipt receiptView, materials ...string) []string {
	tt.t.Helper()
	var ids []string
	for _, m := range materials {
		var up sdk.Upload
		if s := tt.do(anonymous(), "POST", "/public/applications/"+receipt.Number+"/files", "", map[string]any{"code": receipt.Code, "material": m,
			"name": m + ".pdf", "content_type": "application/pdf", "size": 1000}, &up); s != http.StatusCreated {
			tt.t.Fatalf("hand in %s: %d", m, s)
		}
		ids = append(ids, up.FileID)
	}
	return ids
}

// applyWithFiles applies online for item XK-001 with a file of each of
// its materials.
func (tt *tester) applyWithFiles() receiptView {
	tt.t.Helper()
	var receipt receiptView
	tt.do(anonymous(), "POST", "/public/applications", "", anApplication("项目备案申请表", "营业执照"), &receipt)
	tt.handIn(receipt, "项目备案申请表", "营业执照")
	return receipt
}

// submittedBefore is an application with its files, as submitted before
// its workflow started at submission: without an instance (the one the
// fake started for it is forgotten).
func (tt *tester) submittedBefore() string {
	tt.t.Helper()
	id := tt.applyWithFiles().ID
	r, err := tt.host.Get(context.Background(), collApplications, id)
	if err != nil {
		tt.t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(r.Document, &doc); err != nil {
		tt.t.Fatal(err)
	}
	instance := int64(doc["instance_id"].(float64))
	delete(doc, "instance_id")
	tt.host.mu.Lock()
	tt.host.flow.refs[instance], tt.host.flow.open[instance] = "", ""
	tt.host.mu.Unlock()
	if _, err := tt.host.Put(context.Background(), collApplications, id, r.Version, doc); err != nil {
		tt.t.Fatal(err)
	}
	return id
}

// anApplication is a complete online application for item XK-001.
func anApplication(materials ...string) map[string]any {
	return map[string]any{"item_code": "XK-001", "materials": materials,
		"applicant": map[string]any{"name": "翁源县宏达建材有限公司", "id_type": "统一社会信用代码", "id_number": "91440229MA4UJ1234X", "contact": "13800138000"}}
}

// TestAnOnlineApplicationIsExaminedCorrectedDecidedAndQueried: a citizen
// applies online and gets a receipt; the department's clerk asks for a
// missing material (补正: the instance is suspended); the applicant
// supplies it with the query code (resumed); the clerk accepts, the
// leader approves, the figures count it (and the working time it took)
// for the department, and the
// applicant reads the result. Everything refused on the way changes
// nothing.
func TestAnOnlineApplicationIsExaminedCorrectedDecidedAndQueried(t *testing.T) {
	tt := newTester(t)
	tt.do(countyAdmin(), "POST", "/items", "", completeItem("XK-001"), nil)

	before := tt.host.Count(collApplications)
	tt.refused(anonymous(), "POST", "/public/applications", "", anApplication("项目备案申请表"), http.StatusBadRequest, codeMissingMaterials)
	tt.refused(anonymous(), "POST", "/public/applications", "", anApplication("项目备案申请表", "营业执照", "营业执照"), http.StatusBadRequest, codeInvalidApplication)
	bad := anApplication("项目备案申请表", "营业执照")
	bad["applicant"].(map[string]any)["id_type"] = "学生证"
	tt.refused(anonymous(), "POST", "/public/applications", "", bad, http.StatusBadRequest, codeInvalidApplication)
	wrongItem := anApplication("项目备案申请表", "营业执照")
	wrongItem["item_code"] = "XK-404"
	tt.refused(anonymous(), "POST", "/public/applications", "", wrongItem, http.StatusNotFound, codeItemNotFound)
	if n := tt.host.Count(collApplications); n != before {
		t.Fatalf("refused applications wrote %d records", n-before)
	}

	// The code is the host's: 16 characters of base32 (80 bits), in
	// groups of four.
	var receipt receiptView
	if s := tt.do(anonymous(), "POST", "/public/applications", "", anApplication("项目备案申请表", "营业执照"), &receipt); s != http.StatusCreated || receipt.Number == "" || len(strings.ReplaceAll(receipt.Code, "-", "")) < 16 {
		t.Fatalf("apply online: %d %+v", s, receipt)
	}
	id := receipt.ID
	tt.handIn(receipt, "项目备案申请表", "营业执照")

	// Another department, a leader before acceptance, the wrong step.
	tt.refused(otherClerk(), "POST", "/applications/"+id+"/acceptance", "", map[string]any{"decision": "accept"}, http.StatusForbidden, codeNotYourDepartment)
	tt.refused(otherClerk(), "GET", "/applications/"+id, "", nil, http.StatusNotFound, codeApplicationNotFound)
	tt.refused(anonymous(), "POST", "/applications/"+id+"/acceptance", "", map[string]any{"decision": "accept"}, http.StatusForbidden, codeForbidden)
	tt.refused(leader(), "POST", "/applications/"+id+"/decision", "", map[string]any{"decision": "approve"}, http.StatusConflict, codeIllegalTransition)
	tt.refused(clerk(), "POST", "/applications/"+id+"/acceptance", "", map[string]any{"decision": "reject"}, http.StatusBadRequest, codeInvalidApplication)
	tt.refused(clerk(), "POST", "/applications/"+id+"/acceptance", "", map[string]any{"decision": "correct", "missing": []string{"户口簿"}}, http.StatusBadRequest, codeInvalidApplication)

	var got loaded
	if s := tt.do(clerk(), "POST", "/applications/"+id+"/acceptance", "", map[string]any{"decision": "correct", "missing": []string{"营业执照"}}, &got); s != http.StatusOK ||
		got.Status != statusCorrecting || got.InstanceID == 0 {
		t.Fatalf("补正: %d %+v", s, got)
	}
	tt.refused(clerk(), "POST", "/applications/"+id+"/acceptance", "", map[string]any{"decision": "accept"}, http.StatusConflict, codeIllegalTransition)

	// The applicant: a wrong code is answered as an unknown number.
	wrong := tt.refused(anonymous(), "POST", "/public/applications/"+receipt.Number+"/query", "", map[string]any{"code": "wrong"}, http.StatusNotFound, codeApplicationNotFound)
	unknown := tt.refused(anonymous(), "POST", "/public/applications/2026-999999/query", "", map[string]any{"code": "wrong"}, http.StatusNotFound, codeApplicationNotFound)
	if strings.ReplaceAll(wrong.Error.Message, receipt.Number, "N") != strings.ReplaceAll(unknown.Error.Message, "2026-999999", "N") {
		t.Errorf("a wrong code %q and an unknown number %q are told apart", wrong.Error.Message, unknown.Error.Message)
	}
	// The code goes in the body, never in a URL: the old query string
	// reaches no route, and a body that is not the query's is refused.
	tt.refused(anonymous(), "GET", "/public/applications/"+receipt.Number, "code="+receipt.Code, nil, http.StatusNotFound, codeRouteNotFound)
	tt.refused(anonymous(), "POST", "/public/applications/"+receipt.Number+"/query", "code="+receipt.Code, nil, http.StatusBadRequest, codeInvalidJSON)
	tt.refused(anonymous(), "POST", "/public/applications/"+receipt.Number+"/query", "", map[string]any{"code": receipt.Code, "number": receipt.Number}, http.StatusBadRequest, codeInvalidJSON)
	var seen publicView
	if tt.do(anonymous(), "POST", "/public/applications/"+receipt.Number+"/query", "", map[string]any{"code": receipt.Code}, &seen); seen.Status != statusCorrecting || !slices.Equal(seen.Missing, []string{"营业执照"}) {
		t.Fatalf("the applicant reads %+v", seen)
	}
	tt.refused(anonymous(), "POST", "/public/applications/"+receipt.Number+"/supplements", "", map[string]any{"code": "wrong", "materials": []string{"营业执照"}}, http.StatusNotFound, codeApplicationNotFound)
	tt.refused(anonymous(), "POST", "/public/applications/"+receipt.Number+"/supplements", "", map[string]any{"code": receipt.Code, "materials": []string{}}, http.StatusBadRequest, codeMissingMaterials)
	tt.handIn(receipt, "营业执照")
	if s := tt.do(anonymous(), "POST", "/public/applications/"+receipt.Number+"/supplements", "", map[string]any{"code": receipt.Code, "materials": []string{"营业执照"}}, &seen); s != http.StatusOK || seen.Status != statusSubmitted {
		t.Fatalf("supplied: %d %+v", s, seen)
	}
	tt.refused(anonymous(), "POST", "/public/applications/"+receipt.Number+"/supplements", "", map[string]any{"code": receipt.Code, "materials": []string{"营业执照"}}, http.StatusConflict, codeIllegalTransition)

	tt.do(clerk(), "POST", "/applications/"+id+"/acceptance", "", map[string]any{"decision": "accept"}, &got)
	tt.refused(otherClerk(), "POST", "/applications/"+id+"/decision", "", map[string]any{"decision": "approve"}, http.StatusForbidden, codeNotYourDepartment)
	tt.refused(leader(), "POST", "/applications/"+id+"/decision", "", map[string]any{"decision": "deny"}, http.StatusBadRequest, codeInvalidApplication)
	tt.host.flow.denied = true
	tt.refused(clerk(), "POST", "/applications/"+id+"/decision", "", map[string]any{"decision": "approve"}, http.StatusForbidden, codeForbidden)
	tt.host.flow.denied = false
	if s := tt.do(leader(), "POST", "/applications/"+id+"/decision", "", map[string]any{"decision": "approve"}, &got); s != http.StatusOK || got.Status != statusApproved || got.OnTime == nil || !*got.OnTime {
		t.Fatalf("approved: %d %+v", s, got)
	}
	// Started with the item's promised limit, in its lead department.
	if want := []string{"start application for 20 in 3 days", "suspend 补正：营业执照", "resume", "accept at accept", "approve at decide"}; !slices.Equal(tt.host.flow.calls, want) {
		t.Errorf("the workflow was asked %q, want %q", tt.host.flow.calls, want)
	}
	for _, m := range []string{measureDecided, measureDecidedOnline, measureDecidedOnTime} {
		if f, ok := tt.host.measure(m + ":" + id); !ok || f.UnitID != 20 || f.Day != "2026-06-05" {
			t.Errorf("measure %s: %+v", m, f)
		}
	}
	if _, ok := tt.host.measure(measureOverdue + ":" + id); ok {
		t.Error("an application decided on time counted overdue")
	}
	if f, _ := tt.host.measure(measureHandling + ":" + id); f.UnitID != 20 || f.Delta != 125 {
		t.Errorf("the handling time of 1.25 working days counted %+v", f)
	}
	tt.do(anonymous(), "POST", "/public/applications/"+receipt.Number+"/query", "", map[string]any{"code": receipt.Code}, &seen)
	if seen.Status != statusApproved || seen.DecidedAt == nil {
		t.Errorf("the applicant reads %+v", seen)
	}
}

// TestAnApplicationAtTheCounterIsTheDepartmentsAndRefusedWithReasons: the
// counter records applications of its own department's items only; a
// refusal to accept gives its reasons, and the applicant reads them.
func TestAnApplicationAtTheCounterIsTheDepartmentsAndRefusedWithReasons(t *testing.T) {
	tt := newTester(t)
	tt.do(countyAdmin(), "POST", "/items", "", completeItem("XK-001"), nil)
	body := anApplication("项目备案申请表", "营业执照")
	tt.refused(otherClerk(), "POST", "/applications", "", body, http.StatusForbidden, codeNotYourDepartment)
	tt.refused(operator(), "POST", "/applications", "", body, http.StatusForbidden, codeForbidden)
	var receipt receiptView
	if s := tt.do(clerk(), "POST", "/applications", "", body, &receipt); s != http.StatusCreated || receipt.Channel != channelCounter {
		t.Fatalf("at the counter: %d %+v", s, receipt)
	}
	var got loaded
	tt.do(clerk(), "POST", "/applications/"+receipt.ID+"/acceptance", "", map[string]any{"decision": "reject", "reasons": "不属于本部门职权范围"}, &got)
	if got.Status != statusRejected || got.Reasons != "不属于本部门职权范围" {
		t.Fatalf("不予受理: %+v", got)
	}
	tt.refused(leader(), "POST", "/applications/"+receipt.ID+"/decision", "", map[string]any{"decision": "approve"}, http.StatusConflict, codeIllegalTransition)
	// Reviews are for joint items' departments.
	tt.refused(otherClerk(), "POST", "/applications/"+receipt.ID+"/review", "", map[string]any{"decision": "approve"}, http.StatusForbidden, codeNotYourDepartment)
	tt.refused(leader(), "POST", "/applications/"+receipt.ID+"/review", "", map[string]any{"decision": "approve"}, http.StatusConflict, codeIllegalTransition)
	tt.refused(otherClerk(), "GET", "/applications/"+receipt.ID+"/reviews", "", nil, http.StatusNotFound, codeApplicationNotFound)
	var seen publicView
	tt.do(anonymous(), "POST", "/public/applications/"+receipt.Number+"/query", "", map[string]any{"code": receipt.Code}, &seen)
	if seen.Status != statusRejected || seen.Reasons != "不属于本部门职权范围" || seen.Channel != channelCounter {
		t.Errorf("the applicant reads %+v", seen)
	}
}

// FuzzApplication: whatever body an anonymous caller sends to the public
// route, the module answers a receipt (201) or a refusal with a code,
// never fails, and a refusal writes no application.
func FuzzApplication(f *testing.F) {
	for _, seed := range []string{
		`{"item_code":"XK-001","materials":["项目备案申请表","营业执照"],"applicant":{"name":"张三","id_type":"居民身份证","id_number":"440229199001011234","contact":"13800138000"}}`,
		`{"item_code":"XK-001","materials":["营业执照","营业执照"]}`, `{"applicant":{"name":"\u0000"}}`, `[]`, `{"item_code":"../x"}`, ``,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		tt := newTester(t)
		tt.do(countyAdmin(), "POST", "/items", "", completeItem("XK-001"), nil)
		resp := tt.serve(anonymous(), "POST", "/public/applications", "", body)
		written := tt.host.Count(collApplications)
		switch {
		case resp.Status == http.StatusCreated && written == 1:
		case resp.Status >= 400 && resp.Status < 500 && written == 0 && strings.Contains(string(resp.Body), `"code":`):
		default:
			t.Fatalf("%q: %d %s, %d applications written", body, resp.Status, resp.Body, written)
		}
	})
}

// TestAnExaminationTheHostFailedInIsFinishedByTheSameClerksRetry: an
// examination the engine refuses leaves the application to anyone; the
// host fails after the examination claimed the application — of one
// submitted before its workflow started at submission, before the
// instance it started is written into it; after the engine accepted;
// after it suspended (补正). Another clerk of the department is refused; the
// same clerk's retry finishes it, keeping the instance found by its
// reference and what the engine did, starting, acting and suspending
// once; a retry with another decision than the engine's is refused.
func TestAnExaminationTheHostFailedInIsFinishedByTheSameClerksRetry(t *testing.T) {
	tt := newTester(t)
	tt.do(countyAdmin(), "POST", "/items", "", completeItem("XK-001"), nil)
	colleague := sdk.Caller{Kind: sdk.CallerAccount, Login: "zhaoliu", AccountID: 6, UnitID: 20, Roles: []string{"clerk"}}
	apply := func() string {
		t.Helper()
		return tt.applyWithFiles().ID
	}
	examine := func(who sdk.Caller, id, decision string, failPut int) (application, refusal) {
		t.Helper()
		tt.host.failPutIn(failPut)
		var r refusal
		tt.do(who, "POST", "/applications/"+id+"/acceptance", "", map[string]any{"decision": decision, "missing": []string{"营业执照"}}, &r)
		var a application
		tt.do(clerk(), "GET", "/applications/"+id, "", nil, &a)
		return a, r
	}
	count := tt.host.flowCalls

	// What the engine refuses gives the claim back: the colleague
	// examines after a refused one.
	id := apply()
	tt.host.mu.Lock()
	tt.host.flow.denied = true
	tt.host.mu.Unlock()
	tt.refused(clerk(), "POST", "/applications/"+id+"/acceptance", "", map[string]any{"decision": "accept"}, http.StatusForbidden, codeForbidden)
	tt.host.mu.Lock()
	tt.host.flow.denied = false
	tt.host.mu.Unlock()
	if a, r := examine(colleague, id, "accept", 0); r.Error.Code != "" || a.Status != statusAccepted || count("start") != 1 {
		t.Fatalf("the colleague after a refused examination: %s, %+v", r.Error.Code, a)
	}

	// Submitted before the workflow started at submission: the host
	// fails before the instance its examination started is written.
	id = tt.submittedBefore()
	a, r := examine(clerk(), id, "accept", 2)
	if r.Error.Code != codeBusy || a.Status != statusSubmitted || a.InstanceID != 0 || a.ExaminedBy != "zhangsan" || count("start") != 3 {
		t.Fatalf("after the failure: %s, %+v, %d starts", r.Error.Code, a, count("start"))
	}
	tt.refused(colleague, "POST", "/applications/"+id+"/acceptance", "", map[string]any{"decision": "accept"}, http.StatusConflict, codeIllegalTransition)
	a, r = examine(clerk(), id, "accept", 0)
	if r.Error.Code != "" || a.Status != statusAccepted || a.InstanceID != 3 || a.ExaminedBy != "" || count("start") != 3 || count("accept at accept") != 2 {
		t.Fatalf("the retry: %s, %+v, calls %v", r.Error.Code, a, tt.host.flow.calls)
	}

	// The host fails after the engine accepted: a rejection is refused,
	// the acceptance finished without acting again.
	id = apply()
	if _, r = examine(clerk(), id, "accept", 2); r.Error.Code != codeBusy || count("accept at accept") != 3 {
		t.Fatalf("the failure after the engine accepted: %s, calls %v", r.Error.Code, tt.host.flow.calls)
	}
	tt.refused(clerk(), "POST", "/applications/"+id+"/acceptance", "", map[string]any{"decision": "reject", "reasons": "不符合条件"}, http.StatusConflict, codeIllegalTransition)
	if a, r = examine(clerk(), id, "accept", 0); r.Error.Code != "" || a.Status != statusAccepted || count("accept at accept") != 3 || count("start") != 4 {
		t.Fatalf("the retry after the engine accepted: %s, %+v, calls %v", r.Error.Code, a, tt.host.flow.calls)
	}
	tt.do(leader(), "POST", "/applications/"+id+"/decision", "", map[string]any{"decision": "approve"}, nil)

	// The host fails after the engine suspended the instance (补正).
	id = apply()
	if _, r = examine(clerk(), id, "correct", 2); r.Error.Code != codeBusy || count("suspend") != 1 {
		t.Fatalf("the failure after the suspension: %s, calls %v", r.Error.Code, tt.host.flow.calls)
	}
	if a, r = examine(clerk(), id, "correct", 0); r.Error.Code != "" || a.Status != statusCorrecting || count("suspend") != 1 || a.ExaminedBy != "" {
		t.Fatalf("the retry after the suspension: %s, %+v, calls %v", r.Error.Code, a, tt.host.flow.calls)
	}
}

// TestMaterialsHandedInAtTheCounterAreRecordedByTheLeadDepartment: after
// a 补正 request, the lead department's clerk records the materials the
// applicant brought to the counter, resuming the workflow; another
// department, an account of the department without the role, the
// public's caller and materials short of those asked are refused with
// nothing changed; a retry after the host failed to save finds the
// workflow resumed and saves, resuming once.
func TestMaterialsHandedInAtTheCounterAreRecordedByTheLeadDepartment(t *testing.T) {
	tt := newTester(t)
	tt.do(countyAdmin(), "POST", "/items", "", completeItem("XK-001"), nil)
	var receipt receiptView
	tt.do(anonymous(), "POST", "/public/applications", "", anApplication("项目备案申请表", "营业执照"), &receipt)
	id := receipt.ID
	path := "/applications/" + id + "/supplements"
	body := map[string]any{"materials": []string{"营业执照"}}
	tt.refused(clerk(), "POST", path, "", body, http.StatusConflict, codeIllegalTransition)
	tt.do(clerk(), "POST", "/applications/"+id+"/acceptance", "", map[string]any{"decision": "correct", "missing": []string{"营业执照"}}, nil)

	noRole := sdk.Caller{Kind: sdk.CallerAccount, Login: "qianqi", AccountID: 7, UnitID: 20, Roles: []string{"staff"}}
	tt.refused(otherClerk(), "POST", path, "", body, http.StatusForbidden, codeNotYourDepartment)
	tt.refused(noRole, "POST", path, "", body, http.StatusForbidden, codeForbidden)
	tt.refused(anonymous(), "POST", path, "", body, http.StatusForbidden, codeForbidden)
	tt.refused(clerk(), "POST", path, "", map[string]any{"materials": []string{"项目备案申请表"}}, http.StatusBadRequest, codeMissingMaterials)
	tt.refused(clerk(), "POST", path, "", map[string]any{"materials": []string{"营业执照"}, "code": "x"}, http.StatusBadRequest, "invalid_json")
	var a application
	if tt.do(clerk(), "GET", "/applications/"+id, "", nil, &a); a.Status != statusCorrecting || slices.Contains(tt.host.flow.calls, "resume") {
		t.Fatalf("refused supplements changed the application: %+v, calls %v", a, tt.host.flow.calls)
	}

	tt.host.failPutIn(1)
	tt.refused(clerk(), "POST", path, "", body, http.StatusServiceUnavailable, codeBusy)
	a = application{}
	if s := tt.do(clerk(), "POST", path, "", body, &a); s != http.StatusOK || a.Status != statusSubmitted || a.UpdatedBy != "zhangsan" || len(a.Missing) != 0 {
		t.Fatalf("the clerk records the materials: %d %+v", s, a)
	}
	resumes := 0
	for _, c := range tt.host.flow.calls {
		if c == "resume" {
			resumes++
		}
	}
	if resumes != 1 {
		t.Fatalf("%d resumptions: %v", resumes, tt.host.flow.calls)
	}
	tt.refused(clerk(), "POST", path, "", body, http.StatusConflict, codeIllegalTransition)
}

// TestADepartmentListsItsOwnApplications: a department's staff list
// their department's applications by status, the county's admins any
// department's; another department's unit, a bad status, the public's
// caller and the province's operator are refused.
func TestADepartmentListsItsOwnApplications(t *testing.T) {
	tt := newTester(t)
	tt.do(countyAdmin(), "POST", "/items", "", completeItem("XK-001"), nil)
	first := tt.applyWithFiles()
	tt.do(anonymous(), "POST", "/public/applications", "", anApplication("项目备案申请表", "营业执照"), nil)
	tt.do(clerk(), "POST", "/applications/"+first.ID+"/acceptance", "", map[string]any{"decision": "accept"}, nil)
	type list struct {
		Applications []struct {
			ID     string `json:"id"`
			UnitID int64  `json:"unit_id"`
			Status string `json:"status"`
		} `json:"applications"`
	}
	count := func(who sdk.Caller, query string) int {
		t.Helper()
		var l list
		if s := tt.do(who, "GET", "/applications", query, nil, &l); s != http.StatusOK {
			t.Fatalf("%s lists %q: %d", who.Login, query, s)
		}
		return len(l.Applications)
	}
	if n, accepted := count(clerk(), ""), count(clerk(), "status=accepted"); n != 2 || accepted != 1 {
		t.Errorf("the department's clerk lists %d, %d accepted", n, accepted)
	}
	if n := count(otherClerk(), ""); n != 0 {
		t.Errorf("another department's clerk lists %d", n)
	}
	if n, of20 := count(countyAdmin(), ""), count(countyAdmin(), "unit_id=20&status=submitted"); n != 2 || of20 != 1 {
		t.Errorf("the county admin lists %d, %d submitted of unit 20", n, of20)
	}
	tt.refused(otherClerk(), "GET", "/applications", "unit_id=20", nil, http.StatusForbidden, codeNotYourDepartment)
	tt.refused(clerk(), "GET", "/applications", "status=lost", nil, http.StatusBadRequest, codeInvalidQuery)
	tt.refused(clerk(), "GET", "/applications", "department=20", nil, http.StatusBadRequest, codeInvalidQuery)
	tt.refused(anonymous(), "GET", "/applications", "", nil, http.StatusForbidden, codeForbidden)
	tt.refused(operator(), "GET", "/applications", "", nil, http.StatusForbidden, codeForbidden)
}

// TestAnAbandonedExaminationOrDecisionIsTakenOver: an examination the
// host failed in after the engine acted stays claimed by its clerk; within
// takeoverAfter the department's other clerks and the county's admin are
// refused, another department's always; then a colleague finishes it as
// the clerk's retry would (the engine's decision, acting once), and the
// county's admin finishes a suspension (补正) likewise. A decision the
// engine took whose saving failed is finished by the same leader at once,
// by another of the department's leaders only after takeoverAfter, with
// the engine's decision, counted once on the day it was taken with the
// handling time the engine kept.
func TestAnAbandonedExaminationOrDecisionIsTakenOver(t *testing.T) {
	tt := newTester(t)
	tt.do(countyAdmin(), "POST", "/items", "", completeItem("XK-001"), nil)
	colleague := sdk.Caller{Kind: sdk.CallerAccount, Login: "zhaoliu", AccountID: 6, UnitID: 20, Roles: []string{"clerk"}}
	deputy := sdk.Caller{Kind: sdk.CallerAccount, Login: "sunba", AccountID: 8, UnitID: 20, Roles: []string{"leader"}}
	failing := tt.host.failPutIn
	count := tt.host.flowCalls
	accept := map[string]any{"decision": "accept"}

	// The clerk's examination fails after the engine accepted.
	id := tt.applyWithFiles().ID
	acceptance := "/applications/" + id + "/acceptance"
	failing(2)
	tt.refused(clerk(), "POST", acceptance, "", accept, http.StatusServiceUnavailable, codeBusy)
	tt.advance(takeoverAfter - time.Minute)
	r := tt.refused(colleague, "POST", acceptance, "", accept, http.StatusConflict, codeIllegalTransition)
	if !strings.Contains(r.Error.Message, "zhangsan") || !strings.Contains(r.Error.Message, "2026-06-05T09:15:00Z") {
		t.Errorf("the refusal does not say whose claim and from when: %s", r.Error.Message)
	}
	tt.refused(countyAdmin(), "POST", acceptance, "", accept, http.StatusForbidden, codeNotYourDepartment)
	tt.advance(time.Minute)
	tt.refused(otherClerk(), "POST", acceptance, "", accept, http.StatusForbidden, codeNotYourDepartment)
	tt.refused(colleague, "POST", acceptance, "", map[string]any{"decision": "reject", "reasons": "不符合条件"}, http.StatusConflict, codeIllegalTransition)
	var a loaded
	if s := tt.do(colleague, "POST", acceptance, "", accept, &a); s != http.StatusOK || a.Status != statusAccepted || a.ExaminedBy != "" || a.ExaminedAt != nil ||
		count("accept at accept") != 1 || count("start") != 1 {
		t.Fatalf("the colleague takes it over: %d %+v, calls %v", s, a, tt.host.flow.calls)
	}

	// The leader's decision fails after the engine approved.
	decision := "/applications/" + id + "/decision"
	failing(1)
	tt.refused(leader(), "POST", decision, "", map[string]any{"decision": "approve"}, http.StatusServiceUnavailable, codeBusy)
	decidedAt := tt.clock()
	tt.advance(time.Minute)
	tt.refused(deputy, "POST", decision, "", map[string]any{"decision": "approve"}, http.StatusConflict, codeIllegalTransition)
	tt.refused(leader(), "POST", decision, "", map[string]any{"decision": "deny", "reasons": "不符合条件"}, http.StatusConflict, codeIllegalTransition)
	tt.advance(takeoverAfter)
	tt.refused(colleague, "POST", decision, "", map[string]any{"decision": "approve"}, http.StatusForbidden, codeForbidden)
	tt.refused(otherClerk(), "POST", decision, "", map[string]any{"decision": "approve"}, http.StatusForbidden, codeNotYourDepartment)
	if s := tt.do(deputy, "POST", decision, "", map[string]any{"decision": "approve"}, &a); s != http.StatusOK || a.Status != statusApproved ||
		!a.DecidedAt.Equal(decidedAt) || count("approve at decide") != 1 {
		t.Fatalf("the deputy finishes the decision: %d %+v, calls %v", s, a, tt.host.flow.calls)
	}
	if f, ok := tt.host.measure(measureDecidedOnTime + ":" + id); !ok || f.Day != "2026-06-05" {
		t.Errorf("the decision finished is not counted on time on its day: %+v", f)
	}
	if f, _ := tt.host.measure(measureHandling + ":" + id); f.Delta != 125 {
		t.Errorf("the decision finished counts the handling time the engine kept as %+v", f)
	}

	// The county's admin finishes a 补正 the clerk left.
	id = tt.applyWithFiles().ID
	failing(2)
	tt.refused(clerk(), "POST", "/applications/"+id+"/acceptance", "", map[string]any{"decision": "correct", "missing": []string{"营业执照"}}, http.StatusServiceUnavailable, codeBusy)
	tt.advance(takeoverAfter)
	if s := tt.do(countyAdmin(), "POST", "/applications/"+id+"/acceptance", "", map[string]any{"decision": "correct", "missing": []string{"营业执照"}}, &a); s != http.StatusOK ||
		a.Status != statusCorrecting || count("suspend") != 1 {
		t.Fatalf("the county's admin finishes the 补正: %d %+v, calls %v", s, a, tt.host.flow.calls)
	}
}
