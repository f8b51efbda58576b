package oa

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/countycloud/countycloud/plugins/sdk"
	"github.com/countycloud/countycloud/plugins/sdk/sdkfake"
)

func person(login string, id, unit int64, roles ...string) sdk.Caller {
	return sdk.Caller{Kind: sdk.CallerAccount, Login: login, AccountID: id, UnitID: unit, Roles: roles}
}

// The people of the flows: 县政府办 (20) sends, 民政局 (30) and 财政局
// (40) receive.
var (
	gbClerk = person("gbclerk", 21, 20, "clerk")
	gbCheck = person("gbcheck", 22, 20, "business_admin")
	gbLead  = person("gblead", 23, 20, "leader")
	mzClerk = person("mzclerk", 31, 30, "clerk")
	mzCheck = person("mzcheck", 32, 30, "business_admin")
	mzLead  = person("mzlead", 33, 30, "leader")
	czClerk = person("czclerk", 41, 40, "clerk")
)

type actAnswer struct {
	Document documentView `json:"document"`
	Outcome  sdk.Outcome  `json:"outcome"`
}

type receivedAnswer struct {
	Received receivedView `json:"received"`
	Outcome  sdk.Outcome  `json:"outcome"`
}

func draftBody() map[string]any {
	return map[string]any{"title": "关于做好2026年防汛工作的通知", "urgency": "加急", "main_units": []int64{30}, "copy_units": []int64{40},
		"body": "各单位：现将有关事项通知如下。", "paper": true}
}

// ready prepares unit 20's template and seal.
func (tt *tester) ready() {
	tt.t.Helper()
	if status := tt.do(unitAdmin(), "PUT", "/templates/20", "", wengfu(), nil); status != 201 {
		tt.t.Fatalf("template: %d", status)
	}
	tt.host.engine.seals[20] = "active"
}

func (tt *tester) draft(body map[string]any) documentView {
	tt.t.Helper()
	var d documentView
	if status := tt.do(gbClerk, "POST", "/documents", "", body, &d); status != 201 || d.Status != stepDraft || d.InstanceID == 0 {
		tt.t.Fatalf("draft: %d %+v", status, d)
	}
	return d
}

func (tt *tester) act(who sdk.Caller, id, action, want string) actAnswer {
	tt.t.Helper()
	var a actAnswer
	if status := tt.do(who, "POST", "/documents/"+id+"/act", "", map[string]any{"action": action, "comment": "同意"}, &a); status != 200 || a.Document.Status != want {
		tt.t.Fatalf("%s %s: %d %+v", who.Login, action, status, a.Document)
	}
	return a
}

func (tt *tester) actReceived(who sdk.Caller, id, action, want string) receivedAnswer {
	tt.t.Helper()
	var a receivedAnswer
	if status := tt.do(who, "POST", "/received/"+id+"/act", "", map[string]any{"action": action}, &a); status != 200 || a.Received.Status != want {
		tt.t.Fatalf("%s %s: %d %+v", who.Login, action, status, a.Received)
	}
	return a
}

// attach declares a file of the document and delivers its bytes.
func (tt *tester) attach(id, name, kind string) docFile {
	tt.t.Helper()
	var out struct {
		File docFile `json:"file"`
	}
	if status := tt.do(gbClerk, "POST", "/documents/"+id+"/files", "", map[string]any{"name": name, "content_type": "application/pdf", "size": 1024, "kind": kind}, &out); status != 201 {
		tt.t.Fatalf("attach %s: %d", name, status)
	}
	tt.host.Arrive(tt.t, out.File.FileID)
	return out.File
}

// toSeal carries a fresh draft to 用印, its body attached and numbered.
func (tt *tester) toSeal(body map[string]any) documentView {
	tt.t.Helper()
	d := tt.draft(body)
	tt.attach(d.ID, "正文.pdf", fileKindBody)
	tt.act(gbClerk, d.ID, "submit", "check")
	tt.act(gbCheck, d.ID, "pass", "review")
	tt.act(gbLead, d.ID, "pass", "sign")
	tt.act(gbLead, d.ID, "sign", stepRegister)
	tt.act(gbClerk, d.ID, actRegister, "typeset")
	return tt.act(gbClerk, d.ID, "typeset", stepSeal).Document
}

func TestADocumentIsSentAndReceived(t *testing.T) {
	tt := newTester(t)
	tt.ready()
	d := tt.draft(draftBody())
	if tt.host.Measured(measureDrafted, 20, "") != 1 {
		t.Fatal("drafted is not counted")
	}
	// 民政局 sees nothing before the distribution.
	tt.fails(mzClerk, "GET", "/documents/"+d.ID, "", nil, 404, codeDocumentNotFound)
	tt.attach(d.ID, "正文.pdf", fileKindBody)
	tt.attach(d.ID, "附件1.pdf", fileKindAttachment)
	tt.fails(gbClerk, "GET", "/documents/"+d.ID+"/seal", "", nil, 409, codeNotSealed)
	tt.act(gbClerk, d.ID, "submit", "check")
	tt.act(gbCheck, d.ID, "pass", "review")
	tt.act(gbLead, d.ID, "pass", "sign")
	tt.act(gbLead, d.ID, "sign", stepRegister)
	a := tt.act(gbClerk, d.ID, actRegister, "typeset")
	if a.Document.Number != "翁府〔2026〕1号" || a.Document.Year != 2026 || a.Document.Sequence != 1 || a.Document.Template.Header != "翁源县人民政府文件" {
		t.Fatalf("registered: %+v", a.Document)
	}
	tt.act(gbClerk, d.ID, "typeset", stepSeal)
	a = tt.act(gbClerk, d.ID, actSeal, stepDistribute)
	if a.Document.Seal == nil || len(a.Document.Seal.Files) != 2 || a.Document.Files[0].SHA256 == "" || tt.host.Measured(measureSealed, 20, "") != 1 {
		t.Fatalf("sealed: %+v", a.Document)
	}
	var sealed struct {
		Seal  json.RawMessage  `json:"seal"`
		Files []sealedFileView `json:"files"`
	}
	if status := tt.do(gbClerk, "GET", "/documents/"+d.ID+"/seal", "", nil, &sealed); status != 200 || len(sealed.Seal) == 0 || len(sealed.Files) != 2 ||
		sealed.Files[1].Name != "附件1.pdf" || sealed.Files[1].SM3 == "" || sealed.Files[1].URL.URL == "" {
		t.Fatalf("the seal: %d %+v", status, sealed)
	}
	// Once sealed, the files are fixed.
	tt.fails(gbClerk, "POST", "/documents/"+d.ID+"/files", "", map[string]any{"name": "x.pdf", "content_type": "application/pdf", "size": 1}, 409, codeNotEditable)
	// An SMS reminder only where the county allows them.
	tt.fails(gbClerk, "POST", "/documents/"+d.ID+"/act", "", map[string]any{"action": actDistribute, "sms_reminder": true}, 403, codeSMSRemindersOff)
	tt.settings = []byte(`{"sms_reminders": true}`)
	if status := tt.do(gbClerk, "POST", "/documents/"+d.ID+"/act", "", map[string]any{"action": actDistribute, "sms_reminder": true}, &a); status != 200 ||
		!tt.host.engine.lastAct.SMSReminder || len(tt.host.engine.lastAct.RecipientUnitIDs) != 2 {
		t.Fatalf("distribute: %d %+v", status, tt.host.engine.lastAct)
	}
	if len(a.Outcome.Distributed) != 2 || a.Document.DistributedAt == nil || tt.host.Measured(measurePaper, 20, "") != 1 {
		t.Fatalf("distributed: %+v", a)
	}

	var receipts struct {
		Receipts []deliveryReceipt `json:"receipts"`
	}
	if status := tt.do(gbClerk, "GET", "/documents/"+d.ID+"/receipts", "", nil, &receipts); status != 200 || len(receipts.Receipts) != 2 ||
		receipts.Receipts[0].SignedIn || receipts.Receipts[0].UnitName != "民政局" || !receipts.Receipts[1].Copy {
		t.Fatalf("receipts before sign-in: %d %+v", status, receipts)
	}
	// 民政局 reads it now, and carries it through its receiving flow.
	if status := tt.do(mzClerk, "GET", "/documents/"+d.ID, "", nil, nil); status != 200 {
		t.Fatalf("the recipient reads: %d", status)
	}
	var tasks struct {
		Tasks []myTask `json:"tasks"`
	}
	if status := tt.do(mzClerk, "GET", "/tasks", "", nil, &tasks); status != 200 || len(tasks.Tasks) != 1 || tasks.Tasks[0].Step != stepSignIn ||
		tasks.Tasks[0].ReceivedID != receivedID(d.ID, 30) || tasks.Tasks[0].Number != "翁府〔2026〕1号" {
		t.Fatalf("民政局's tasks: %d %+v", status, tasks)
	}
	mz := receivedID(d.ID, 30)
	if r := tt.actReceived(mzClerk, mz, actSignIn, "propose"); r.Received.SignedInAt == nil || r.Received.SignedInBy != "mzclerk" {
		t.Fatalf("signed in: %+v", r.Received)
	}
	if status := tt.do(gbClerk, "GET", "/documents/"+d.ID+"/receipts", "", nil, &receipts); status != 200 || !receipts.Receipts[0].SignedIn ||
		receipts.Receipts[0].SignedInAt == nil || receipts.Receipts[1].SignedIn {
		t.Fatalf("receipts after 民政局's sign-in: %+v", receipts)
	}
	tt.actReceived(mzCheck, mz, "propose", "instruct")
	tt.actReceived(mzLead, mz, "instruct", "handle")
	tt.actReceived(mzCheck, mz, "done", "circulate")
	tt.actReceived(mzLead, mz, "read", "archive")
	tt.actReceived(mzClerk, mz, "archive", statusDone)
	if tt.host.Measured(measureReceived, 30, "") != 1 || tt.host.Measured(measureReceived, 40, "") != 0 {
		t.Fatal("received is not counted per unit")
	}
	tt.fails(mzClerk, "POST", "/received/"+mz+"/act", "", map[string]any{"action": "archive"}, 409, codeFlowFinished)
	// 财政局 sees its own only.
	tt.fails(czClerk, "GET", "/received/"+mz, "", nil, 404, codeReceivedNotFound)

	tt.act(gbClerk, d.ID, "archive", statusDone)
	if tt.host.Measured(measureSent, 20, "") != 1 {
		t.Fatal("sent is not counted")
	}
}

func TestRefusalsLeaveNothingBehind(t *testing.T) {
	tt := newTester(t)
	// Classified content, an unknown unit, bad fields: nothing is made.
	classified := draftBody()
	classified["classification"] = "机密"
	tt.fails(gbClerk, "POST", "/documents", "", classified, 403, codeClassified)
	unknown := draftBody()
	unknown["copy_units"] = []int64{40, 99}
	tt.fails(gbClerk, "POST", "/documents", "", unknown, 400, codeUnknownUnit)
	for field, v := range map[string]any{"urgency": "急件", "classification": "内部", "title": "", "main_units": []int64{}, "copy_units": []int64{30}} {
		bad := draftBody()
		bad[field] = v
		tt.fails(gbClerk, "POST", "/documents", "", bad, 400, codeInvalidDocument)
	}
	tt.fails(operator(), "POST", "/documents", "", draftBody(), 403, codeForbidden)
	if n := tt.host.Count(collDocuments); n != 0 || len(tt.host.engine.instances) != 0 {
		t.Fatalf("refused drafts left %d documents, %d instances", n, len(tt.host.engine.instances))
	}

	d := tt.draft(draftBody())
	// Files over the limit or of a refused type.
	tt.settings = []byte(`{"max_attachment_bytes": 2048}`)
	tt.fails(gbClerk, "POST", "/documents/"+d.ID+"/files", "", map[string]any{"name": "大.pdf", "content_type": "application/pdf", "size": 4096}, 413, codeFileTooLarge)
	tt.fails(gbClerk, "POST", "/documents/"+d.ID+"/files", "", map[string]any{"name": "a.exe", "content_type": "application/x-msdownload", "size": 10}, 415, codeFileTypeRefused)
	tt.fails(mzClerk, "POST", "/documents/"+d.ID+"/files", "", map[string]any{"name": "a.pdf", "content_type": "application/pdf", "size": 10}, 404, codeDocumentNotFound)
	if len(tt.host.Files()) != 0 {
		t.Fatal("a refused file was declared")
	}
	tt.settings = nil

	// Acting without the role, an illegal transition: the flow stays.
	tt.fails(gbCheck, "POST", "/documents/"+d.ID+"/act", "", map[string]any{"action": "submit"}, 403, codeNotYourTask)
	tt.fails(gbClerk, "POST", "/documents/"+d.ID+"/act", "", map[string]any{"action": "sign"}, 400, codeActionNotAllowed)
	tt.fails(gbClerk, "POST", "/documents/"+d.ID+"/act", "", map[string]any{"action": ""}, 400, codeActionNotAllowed)
	tt.act(gbClerk, d.ID, "submit", "check")
	tt.fails(gbClerk, "POST", "/documents/"+d.ID+"/act", "", map[string]any{"action": "pass"}, 403, codeNotYourTask)
	tt.fails(gbClerk, "PATCH", "/documents/"+d.ID, "", map[string]any{"version": 3, "title": "改"}, 409, codeNotEditable)
	// Sent back, the draft changes again.
	tt.act(gbCheck, d.ID, "send_back", stepDraft)
	var got documentView
	tt.do(gbClerk, "GET", "/documents/"+d.ID, "", nil, &got)
	tt.fails(gbClerk, "PATCH", "/documents/"+d.ID, "", map[string]any{"version": got.Version, "classification": "秘密"}, 403, codeClassified)
	tt.fails(gbClerk, "PATCH", "/documents/"+d.ID, "", map[string]any{"version": got.Version, "main_units": []int64{77}}, 400, codeUnknownUnit)
	if status := tt.do(gbClerk, "PATCH", "/documents/"+d.ID, "", map[string]any{"version": got.Version, "title": "关于做好防汛工作的通知（修改）"}, &got); status != 200 || got.Title != "关于做好防汛工作的通知（修改）" {
		t.Fatalf("patch: %d %+v", status, got)
	}
}

func TestRegistrationNumbersEachUnitsYearOnce(t *testing.T) {
	tt := newTester(t)
	// Without a template, registration is refused and takes no number.
	tt.host.engine.seals[20] = "active"
	d := tt.draft(draftBody())
	tt.attach(d.ID, "正文.pdf", fileKindBody)
	for _, s := range [][2]any{{gbClerk, "submit"}, {gbCheck, "pass"}, {gbLead, "pass"}, {gbLead, "sign"}} {
		tt.do(s[0].(sdk.Caller), "POST", "/documents/"+d.ID+"/act", "", map[string]any{"action": s[1]}, nil)
	}
	tt.fails(gbClerk, "POST", "/documents/"+d.ID+"/act", "", map[string]any{"action": actRegister}, 409, codeTemplateNotFound)
	if len(tt.host.Counters()) != 0 {
		t.Fatalf("a refused registration took a number: %v", tt.host.Counters())
	}
	tt.do(unitAdmin(), "PUT", "/templates/20", "", wengfu(), nil)
	// Numbered, then the engine fails the action: the retry keeps the
	// number.
	tt.host.SetFail(sdkfake.Nth(1, errors.New("the engine's database went away"), sdkfake.Match("ActOnTaskWith", "", "")))
	if resp, err := tt.m.serve(t.Context(), &sdk.Request{Method: "POST", Path: "/documents/" + d.ID + "/act", Body: []byte(`{"action":"register"}`), Caller: gbClerk}, tt.host); err == nil {
		t.Fatalf("a failed action answered %d", resp.Status)
	}
	a := tt.act(gbClerk, d.ID, actRegister, "typeset")
	if a.Document.Sequence != 1 || tt.host.Counters()["docno/20/2026"] != 1 {
		t.Fatalf("after a retry: %+v %v", a.Document, tt.host.Counters())
	}
	second := tt.toSeal(draftBody())
	if second.Number != "翁府〔2026〕2号" {
		t.Fatalf("the second document: %s", second.Number)
	}
	// The next year starts again at 1.
	tt.mu.Lock()
	tt.now = tt.now.AddDate(1, 0, 0)
	tt.mu.Unlock()
	if third := tt.toSeal(draftBody()); third.Number != "翁府〔2027〕1号" {
		t.Fatalf("the next year's: %s", third.Number)
	}
}

func TestSealingRefusals(t *testing.T) {
	tt := newTester(t)
	tt.ready()
	d := tt.toSeal(draftBody())
	// A revoked seal, or none: refused, nothing recorded.
	tt.host.engine.seals[20] = "revoked"
	tt.fails(gbClerk, "POST", "/documents/"+d.ID+"/act", "", map[string]any{"action": actSeal}, 409, codeSealUnavailable)
	// Another unit's clerk cannot reach the step, let alone the seal.
	tt.fails(mzClerk, "POST", "/documents/"+d.ID+"/act", "", map[string]any{"action": actSeal}, 404, codeDocumentNotFound)
	var got documentView
	tt.do(gbClerk, "GET", "/documents/"+d.ID, "", nil, &got)
	if got.Seal != nil || got.Status != stepSeal || tt.host.Measured(measureSealed, 20, "") != 0 {
		t.Fatalf("a refused seal left %+v", got)
	}
	// The host refuses the unit's seal to whoever is not its account.
	tt.host.engine.seals[20] = "active"
	tt.host.engine.caller = mzClerk
	c := &call{ctx: t.Context(), host: tt.host, log: tt.m.log, req: &sdk.Request{}, who: accessOf(mzClerk), now: tt.now}
	r, _ := tt.host.Get(t.Context(), collDocuments, d.ID)
	if _, _, err := c.seal(r, got.document); apiCode(err) != codeSealRefused {
		t.Fatalf("another unit's seal: %v", err)
	}
	// A pending file is not sealed.
	tt.host.SetFail(sdkfake.Nth(1, fmt.Errorf("%w: a file is pending", sdk.ErrNotReady), sdkfake.Match("SealDocument", "", "")))
	tt.fails(gbClerk, "POST", "/documents/"+d.ID+"/act", "", map[string]any{"action": actSeal}, 409, codeFileNotReady)
}

func apiCode(err error) string {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.code
	}
	return fmt.Sprint(err)
}

func TestADistributionRefusedStartsNone(t *testing.T) {
	tt := newTester(t)
	tt.ready()
	d := tt.toSeal(draftBody())
	tt.act(gbClerk, d.ID, actSeal, stepDistribute)
	// 财政局 is gone from the county by the time of the distribution.
	tt.host.RemoveUnits(40)
	tt.fails(gbClerk, "POST", "/documents/"+d.ID+"/act", "", map[string]any{"action": actDistribute}, 400, codeRecipientsRefused)
	if len(tt.host.engine.instances) != 1 || tt.host.Count(collReceived) != 0 {
		t.Fatalf("a refused distribution left %d instances, %d received", len(tt.host.engine.instances), tt.host.Count(collReceived))
	}
	tt.host.AddUnits(sdk.Unit{ID: 40, Name: "财政局"})
	tt.act(gbClerk, d.ID, actDistribute, "archive")
	if tt.host.Count(collReceived) != 2 {
		t.Fatal("the distribution did not record both units")
	}
}

// TestADistributionCaughtUp: the server stopped after the engine
// distributed and before the module recorded it; the recipient's read and
// the sender's next action record it, once.
func TestADistributionCaughtUp(t *testing.T) {
	tt := newTester(t)
	tt.ready()
	d := tt.toSeal(draftBody())
	tt.act(gbClerk, d.ID, actSeal, stepDistribute)
	// The engine's distribution, without the module.
	tt.host.mu.Lock()
	tt.host.engine.caller = gbClerk
	tt.host.mu.Unlock()
	tasks, _ := tt.host.ListWorkflowTasks(t.Context(), sdk.WorkflowQuery{InstanceID: d.InstanceID, Status: "open"})
	if _, err := tt.host.ActOnTaskWith(t.Context(), tasks[0].ID, actDistribute, sdk.ActOptions{RecipientUnitIDs: []int64{30, 40}}); err != nil {
		t.Fatal(err)
	}
	if status := tt.do(mzClerk, "GET", "/received/"+receivedID(d.ID, 30), "", nil, nil); status != http.StatusOK {
		t.Fatalf("the recipient's read: %d", status)
	}
	a := tt.act(gbClerk, d.ID, "archive", statusDone)
	if a.Document.DistributedAt == nil || tt.host.Count(collReceived) != 2 {
		t.Fatalf("caught up: %+v, %d received", a.Document, tt.host.Count(collReceived))
	}
}

// TestAnEditRacingTheSubmitKeepsBoth: the author's last change lands
// between the engine's action and the module's record of it.
func TestAnEditRacingTheSubmitKeepsBoth(t *testing.T) {
	tt := newTester(t)
	d := tt.draft(draftBody())
	tt.host.engine.afterAct = func() {
		r, _ := tt.host.Get(t.Context(), collDocuments, d.ID)
		edited := d.document
		edited.Title = "关于做好防汛工作的通知（终稿）"
		if _, err := tt.host.Put(t.Context(), collDocuments, d.ID, r.Version, edited); err != nil {
			t.Error(err)
		}
	}
	a := tt.act(gbClerk, d.ID, "submit", "check")
	if a.Document.Title != "关于做好防汛工作的通知（终稿）" {
		t.Fatalf("the edit is lost: %+v", a.Document)
	}
}

func TestDraftFiles(t *testing.T) {
	tt := newTester(t)
	tt.settings = []byte(`{"max_attachments": 2}`)
	d := tt.draft(draftBody())
	body := tt.attach(d.ID, "正文.pdf", fileKindBody)
	tt.fails(gbClerk, "POST", "/documents/"+d.ID+"/files", "", map[string]any{"name": "正文2.pdf", "content_type": "application/pdf", "size": 10, "kind": "body"}, 409, codeInvalidFile)
	tt.fails(gbClerk, "POST", "/documents/"+d.ID+"/files", "", map[string]any{"name": "正文.pdf", "content_type": "application/pdf", "size": 10}, 409, codeInvalidFile)
	tt.attach(d.ID, "附件.pdf", fileKindAttachment)
	tt.fails(gbClerk, "POST", "/documents/"+d.ID+"/files", "", map[string]any{"name": "附件2.pdf", "content_type": "application/pdf", "size": 10}, 409, codeTooManyFiles)
	var dl struct {
		Download sdk.SignedURL `json:"download"`
	}
	if status := tt.do(gbLead, "GET", "/documents/"+d.ID+"/files/"+body.FileID, "", nil, &dl); status != 200 || dl.Download.URL == "" {
		t.Fatalf("download: %d %+v", status, dl)
	}
	tt.fails(mzClerk, "GET", "/documents/"+d.ID+"/files/"+body.FileID, "", nil, 404, codeDocumentNotFound)
	tt.fails(gbClerk, "GET", "/documents/"+d.ID+"/files/nope", "", nil, 404, codeFileNotFound)
	var got documentView
	tt.do(gbClerk, "GET", "/documents/"+d.ID, "", nil, &got)
	tt.fails(gbClerk, "DELETE", "/documents/"+d.ID+"/files/"+body.FileID, "version=1", nil, 409, codeVersionConflict)
	tt.fails(mzClerk, "DELETE", "/documents/"+d.ID+"/files/"+body.FileID, fmt.Sprintf("version=%d", got.Version), nil, 404, codeDocumentNotFound)
	if status := tt.do(gbClerk, "DELETE", "/documents/"+d.ID+"/files/"+body.FileID, fmt.Sprintf("version=%d", got.Version), nil, &got); status != 200 || len(got.Files) != 1 {
		t.Fatalf("remove: %d %+v", status, got)
	}
	if _, err := tt.host.File(t.Context(), body.FileID); !errors.Is(err, sdk.ErrNotFound) {
		t.Fatalf("a removed file's bytes stay: %v", err)
	}
}

// TestADraftWhoseFlowNeverStarted: the server stopped between writing the
// draft and starting its flow. Its tasks are none (not every one), and
// its author's first action starts the flow.
func TestADraftWhoseFlowNeverStarted(t *testing.T) {
	tt := newTester(t)
	other := tt.draft(draftBody())
	id := sdk.NewestFirstID(tt.now)
	d := document{UnitID: 20, Title: "关于防汛的通知", Urgency: "平件", Classification: unclassified, MainUnits: []int64{30}, CopyUnits: []int64{},
		Files: []docFile{}, Status: stepDraft, DraftedBy: "gbclerk", DraftedAt: tt.now}
	if _, err := tt.host.Put(t.Context(), collDocuments, id, 0, d); err != nil {
		t.Fatal(err)
	}
	var tasks struct {
		Tasks []sdk.Task `json:"tasks"`
	}
	if status := tt.do(gbClerk, "GET", "/documents/"+id+"/tasks", "", nil, &tasks); status != 200 || len(tasks.Tasks) != 0 {
		t.Fatalf("tasks of a draft without a flow: %d %+v", status, tasks)
	}
	tt.fails(countyAdmin(), "POST", "/documents/"+id+"/act", "", map[string]any{"action": "submit"}, 409, codeFlowFinished)
	a := tt.act(gbClerk, id, "submit", "check")
	if a.Document.InstanceID == 0 || a.Document.InstanceID == other.InstanceID {
		t.Fatalf("the flow started: %+v", a.Document)
	}
}

// TestADistributionStoppedHalfWay: the host went away while the module
// wrote what each unit received, after the engine distributed: the
// document does not say it is distributed, so the next read of either
// unit catches up both, once, and the paper copy is counted once.
func TestADistributionStoppedHalfWay(t *testing.T) {
	tt := newTester(t)
	tt.ready()
	d := tt.toSeal(draftBody())
	tt.act(gbClerk, d.ID, actSeal, stepDistribute)
	tt.host.SetFail(sdkfake.Nth(1, sdkfake.ErrGone, sdkfake.Match("Put", collReceived, receivedID(d.ID, 40))))
	if resp, err := tt.m.serve(t.Context(), &sdk.Request{Method: "POST", Path: "/documents/" + d.ID + "/act", Body: []byte(`{"action":"distribute"}`), Caller: gbClerk}, tt.host); err == nil {
		t.Fatalf("a distribution half recorded answered %d", resp.Status)
	}
	if tt.host.Count(collReceived) != 1 || tt.host.Measured(measurePaper, 20, "") != 1 {
		t.Fatalf("half way: %d received, %d paper", tt.host.Count(collReceived), tt.host.Measured(measurePaper, 20, ""))
	}
	if status := tt.do(czClerk, "GET", "/received/"+receivedID(d.ID, 40), "", nil, nil); status != http.StatusOK {
		t.Fatalf("财政局's read: %d", status)
	}
	var got documentView
	tt.do(gbClerk, "GET", "/documents/"+d.ID, "", nil, &got)
	if got.DistributedAt == nil || got.Status != "archive" || tt.host.Count(collReceived) != 2 || tt.host.Measured(measurePaper, 20, "") != 1 {
		t.Fatalf("caught up: %+v, %d received", got.document, tt.host.Count(collReceived))
	}
}

// TestAnActionRecordedAfterAStop: the host went away after the engine
// registered the document and before the module recorded where its flow
// went, so the caller never had its answer; the retry finds 排版 open,
// records it, and answers the registration as done: the same caller's
// same action while it is the flow's last, not another's, and not once
// the flow went on. The flow's end is recorded and counted so too.
func TestAnActionRecordedAfterAStop(t *testing.T) {
	tt := newTester(t)
	tt.ready()
	d := tt.draft(draftBody())
	tt.attach(d.ID, "正文.pdf", fileKindBody)
	for _, s := range [][2]any{{gbClerk, "submit"}, {gbCheck, "pass"}, {gbLead, "pass"}, {gbLead, "sign"}} {
		tt.do(s[0].(sdk.Caller), "POST", "/documents/"+d.ID+"/act", "", map[string]any{"action": s[1]}, nil)
	}
	stop := func(action string) {
		t.Helper()
		tt.host.engine.caller = gbClerk
		tt.host.engine.afterAct = func() {
			tt.host.SetFail(sdkfake.Nth(1, sdkfake.ErrGone, sdkfake.Match("Put", collDocuments, d.ID)))
		}
		if resp, err := tt.m.serve(t.Context(), &sdk.Request{Method: "POST", Path: "/documents/" + d.ID + "/act", Body: []byte(`{"action":"` + action + `"}`), Caller: gbClerk}, tt.host); err == nil {
			t.Fatalf("%s unrecorded answered %d", action, resp.Status)
		}
	}
	stop(actRegister)
	var retried struct {
		Document documentView `json:"document"`
		Outcome  sdk.Outcome  `json:"outcome"`
	}
	if status := tt.do(gbClerk, "POST", "/documents/"+d.ID+"/act", "", map[string]any{"action": actRegister}, &retried); status != 200 ||
		retried.Document.Status != "typeset" || retried.Outcome.Acted == nil || *retried.Outcome.Acted.Action != actRegister {
		t.Fatalf("the registration retried: %d %+v", status, retried)
	}
	tt.fails(gbLead, "POST", "/documents/"+d.ID+"/act", "", map[string]any{"action": actRegister}, 403, codeNotYourTask)
	var got documentView
	if tt.do(gbClerk, "GET", "/documents/"+d.ID, "", nil, &got); got.Status != "typeset" || got.Sequence != 1 {
		t.Fatalf("after the retry: %+v", got.document)
	}
	tt.act(gbClerk, d.ID, "typeset", stepSeal)
	tt.fails(gbClerk, "POST", "/documents/"+d.ID+"/act", "", map[string]any{"action": actRegister}, 400, codeActionNotAllowed)
	tt.act(gbClerk, d.ID, actSeal, stepDistribute)
	tt.act(gbClerk, d.ID, actDistribute, "archive")
	tt.host.SetFail(nil)
	stop("archive")
	if tt.host.Measured(measureSent, 20, "") != 1 {
		t.Fatal("a flow ended unrecorded is not counted")
	}
	tt.fails(gbCheck, "POST", "/documents/"+d.ID+"/act", "", map[string]any{"action": "archive"}, 409, codeFlowFinished)
	if status := tt.do(gbClerk, "POST", "/documents/"+d.ID+"/act", "", map[string]any{"action": "archive"}, &retried); status != 200 || retried.Document.Status != statusDone {
		t.Fatalf("the archiving retried: %d %+v", status, retried)
	}
	tt.fails(gbClerk, "POST", "/documents/"+d.ID+"/act", "", map[string]any{"action": actDistribute}, 409, codeFlowFinished)
	if tt.do(gbClerk, "GET", "/documents/"+d.ID, "", nil, &got); got.Status != statusDone || got.FinishedAt == nil || tt.host.Measured(measureSent, 20, "") != 1 {
		t.Fatalf("the end recorded: %+v", got.document)
	}
}
