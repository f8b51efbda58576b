package oa

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/countycloud/countycloud/plugins/sdk"
)

// Error codes of the flows.
const (
	codeNotYourTask       = "not_your_task"
	codeTaskClosed        = "task_already_closed"
	codeActionNotAllowed  = "action_not_allowed"
	codeFlowFinished      = "flow_finished"
	codeWorkflowRefused   = "workflow_refused"
	codeRecipientsRefused = "recipients_refused"
	codeNotRegistered     = "document_not_registered"
	codeNoFiles           = "document_has_no_files"
	codeSealUnavailable   = "seal_unavailable"
	codeSealRefused       = "seal_refused"
	codeNotSealed         = "document_not_sealed"
)

func flowRoutes() []route {
	return []route{
		{http.MethodPost, "/documents/{id}/act", (*call).actOnDocument},
		{http.MethodGet, "/documents/{id}/tasks", (*call).documentTasks},
		{http.MethodGet, "/documents/{id}/seal", (*call).documentSeal},
	}
}

// actInput is the body of an action on a document's or a received
// document's flow.
type actInput struct {
	Action  string `json:"action"`
	Comment string `json:"comment"`
	// SMSReminder also texts the assignees of the steps the action opens
	// (短信提醒): at 分发, every recipient unit's clerks.
	SMSReminder bool `json:"sms_reminder"`
}

func (in *actInput) check() error {
	in.Action = strings.TrimSpace(in.Action)
	if in.Action == "" || len(in.Action) > 32 {
		return badRequest(codeActionNotAllowed, "action names one of the step's actions (submit, pass, sign, register, seal, distribute …)")
	}
	if n := len([]rune(in.Comment)); n > 2000 {
		return badRequest(codeInvalidJSON, "comment has %d characters; at most 2000", n)
	}
	return nil
}

// fromEngine turns the workflow engine's refusals into answers.
func fromEngine(err error, what string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sdk.ErrDenied):
		return newError(http.StatusForbidden, codeNotYourTask, "%s: %v", what, err)
	case errors.Is(err, sdk.ErrConflict):
		return newError(http.StatusConflict, codeTaskClosed, "%s: someone acted first or the task was cancelled: %v", what, err)
	case errors.Is(err, sdk.ErrInvalid):
		return badRequest(codeWorkflowRefused, "%s: %v", what, err)
	}
	return fromHost(err, what)
}

// statusOf is where a flow waits after an outcome: the step of the
// first task it opened, done once it ended, or as it was (a fork's
// branch that waits for the others).
func statusOf(out sdk.Outcome, was string) string {
	switch {
	case out.Instance.Status != "running":
		return statusDone
	case len(out.Opened) > 0:
		return out.Opened[0].Step
	}
	return was
}

// mayAct reports whether the caller is the task's assignee: the named
// account, or a holder of its role in its unit. The engine decides
// again; asking first keeps a refused action from taking a number or a
// seal.
func (c *call) mayAct(t sdk.Task) bool {
	if !c.who.staff() {
		return false
	}
	if t.AccountID != nil {
		return *t.AccountID == c.who.account
	}
	return t.Role != nil && c.who.has(*t.Role) && t.UnitID == c.who.unit
}

// openTasks lists the open tasks of instance.
func (c *call) openTasks(workflow string, instance int64) ([]sdk.Task, error) {
	tasks, err := c.host.ListWorkflowTasks(c.ctx, sdk.WorkflowQuery{Workflow: workflow, InstanceID: instance, Status: "open"})
	if err != nil {
		return nil, fromHost(err, "the flow's tasks")
	}
	return tasks, nil
}

// flowStatus is where a flow with these open tasks waits, given the
// status recorded: the recorded one while a task of that step is open
// (a fork's branches), the first open task's step otherwise, or done.
func flowStatus(tasks []sdk.Task, recorded string) string {
	switch {
	case len(tasks) == 0:
		return statusDone
	case slices.ContainsFunc(tasks, func(t sdk.Task) bool { return t.Step == recorded }):
		return recorded
	}
	return tasks[0].Step
}

// pickTask finds the open task the caller may act on: a flow ended is
// flow_finished, one that waits for others not_your_task.
func (c *call) pickTask(tasks []sdk.Task) (sdk.Task, error) {
	if len(tasks) == 0 {
		return sdk.Task{}, newError(http.StatusConflict, codeFlowFinished, "the flow has ended: no task is open")
	}
	for _, t := range tasks {
		if c.mayAct(t) {
			return t, nil
		}
	}
	steps := make([]string, 0, len(tasks))
	for _, t := range tasks {
		who := "its assignee"
		if t.Role != nil {
			who = fmt.Sprintf("%s of unit %d", *t.Role, t.UnitID)
		}
		steps = append(steps, fmt.Sprintf("%s (%s) waits for %s", t.StepName, t.Step, who))
	}
	return sdk.Task{}, newError(http.StatusForbidden, codeNotYourTask, "%s", strings.Join(steps, "; "))
}

// replayOr answers refused, unless the request is one whose answer its
// caller never had: the flow's last action is the caller's and this one
// (an earlier request had the engine act and stopped before answering,
// or its answer was lost on the way). That request retried is done
// already, and gets the document as the flow has it now.
func (c *call) replayOr(refused error, r sdk.Record, d document, action string, open []sdk.Task) (int, any, error) {
	done, err := c.host.ListWorkflowTasks(c.ctx, sdk.WorkflowQuery{Workflow: wfSending, InstanceID: d.InstanceID, Status: "done", Limit: 500})
	if err != nil {
		return 0, nil, fromHost(err, "the flow's tasks")
	}
	var last *sdk.Task
	for i, t := range done {
		if t.ActedAt != nil && (last == nil || t.ActedAt.After(*last.ActedAt) || t.ActedAt.Equal(*last.ActedAt) && t.ID > last.ID) {
			last = &done[i]
		}
	}
	if last == nil || last.Action == nil || *last.Action != action || last.ActedBy == nil || *last.ActedBy != c.who.account {
		return 0, nil, refused
	}
	return http.StatusOK, struct {
		Document documentView `json:"document"`
		Outcome  sdk.Outcome  `json:"outcome"`
	}{viewOf(r.ID, r, d), sdk.Outcome{Acted: last, Opened: open}}, nil
}

// syncDocument records where the sending flow is when an earlier request
// had the engine act and stopped before recording it (a crash between
// the two), and counts a flow that ended so.
func (c *call) syncDocument(r sdk.Record, d document, tasks []sdk.Task) (sdk.Record, document, error) {
	status := flowStatus(tasks, d.Status)
	if status == d.Status {
		return r, d, nil
	}
	if status == statusDone {
		c.count(measureSent, d.UnitID, "sent:"+r.ID)
		d.FinishedAt = timePtr(c.now)
	}
	d.Status = status
	r, err := c.saveDocument(r, d)
	return r, d, err
}

// documentTasks: GET /documents/{id}/tasks lists the sending flow's
// tasks, open and done: where the document is and who acted.
func (c *call) documentTasks(p params) (int, any, error) {
	if _, err := parseQuery(c.req.Query); err != nil {
		return 0, nil, err
	}
	_, d, err := c.loadDocument(p["id"])
	if err != nil {
		return 0, nil, err
	}
	return c.flowTasks(wfSending, d.InstanceID)
}

// flowTasks answers the tasks of instance of workflow, open and done. A
// draft whose flow never started (a stop between the two) has no
// instance and no tasks: an instance id of 0 would name none, not every
// one.
func (c *call) flowTasks(workflow string, instance int64) (int, any, error) {
	tasks := []sdk.Task{}
	if instance > 0 {
		var err error
		if tasks, err = c.host.ListWorkflowTasks(c.ctx, sdk.WorkflowQuery{Workflow: workflow, InstanceID: instance, Limit: 500}); err != nil {
			return 0, nil, fromHost(err, "the flow's tasks")
		}
	}
	return http.StatusOK, struct {
		Tasks []sdk.Task `json:"tasks"`
	}{tasks}, nil
}

// readAct reads an action's body: an action with its comment, and an
// SMS reminder only where the county allows them.
func (c *call) readAct() (actInput, error) {
	var in actInput
	if err := decodeBody(c.req.Body, &in); err != nil {
		return in, err
	}
	if err := in.check(); err != nil {
		return in, err
	}
	return in, c.checkSMSReminder(in.SMSReminder)
}

// actOnDocument: POST /documents/{id}/act does an action of the sending
// flow's open task, as its assignee; at 登记 it numbers the document, at
// 用印 it seals it, at 分发 it starts a receiving flow in every recipient
// unit. Every refusal leaves the document and the flow as they were.
func (c *call) actOnDocument(p params) (int, any, error) {
	if _, err := parseQuery(c.req.Query); err != nil {
		return 0, nil, err
	}
	r, d, err := c.loadDocument(p["id"])
	if err != nil {
		return 0, nil, err
	}
	in, err := c.readAct()
	if err != nil {
		return 0, nil, err
	}
	if r, d, err = c.startFlow(r, d); err != nil {
		return 0, nil, err
	}
	if r, d, err = c.catchUp(r, d); err != nil {
		return 0, nil, err
	}
	tasks, err := c.openTasks(wfSending, d.InstanceID)
	if err != nil {
		return 0, nil, err
	}
	if r, d, err = c.syncDocument(r, d, tasks); err != nil {
		return 0, nil, err
	}
	t, err := c.pickTask(tasks)
	if err != nil {
		return c.replayOr(err, r, d, in.Action, tasks)
	}
	opts := sdk.ActOptions{Comment: in.Comment, SMSReminder: in.SMSReminder}
	switch {
	case t.Step == stepRegister && in.Action == actRegister:
		if r, d, err = c.register(r, d); err != nil {
			return 0, nil, err
		}
	case t.Step == stepSeal && in.Action == actSeal:
		if r, d, err = c.seal(r, d); err != nil {
			return 0, nil, err
		}
	case t.Step == stepDistribute && in.Action == actDistribute:
		opts.RecipientUnitIDs = d.recipients()
	}
	out, err := c.host.ActOnTaskWith(c.ctx, t.ID, in.Action, opts)
	switch {
	case errors.Is(err, sdk.ErrInvalid) && len(opts.RecipientUnitIDs) > 0:
		return 0, nil, badRequest(codeRecipientsRefused, "the distribution started no receiving flow: %v", err)
	case errors.Is(err, sdk.ErrInvalid):
		return c.replayOr(badRequest(codeActionNotAllowed, "%s (%s) takes no action %q: %v", t.StepName, t.Step, in.Action, err), r, d, in.Action, tasks)
	case err != nil:
		return 0, nil, fromEngine(err, "the action")
	}
	// What the action did is counted as soon as the engine has done it,
	// before the module records it: a stop between the two loses no
	// count, and the keys keep a retry from counting twice.
	d.Status = statusOf(out, d.Status)
	if len(out.Distributed) > 0 && d.Paper {
		c.count(measurePaper, d.UnitID, "paper:"+r.ID)
	}
	if d.Status == statusDone {
		c.count(measureSent, d.UnitID, "sent:"+r.ID)
		d.FinishedAt = timePtr(c.now)
	}
	if len(out.Distributed) > 0 {
		// What each unit received is written before the document says it
		// is distributed, which is what a catch-up goes by: a stop
		// between the two is caught up whole.
		if err := c.received(r.ID, d, out.Distributed); err != nil {
			return 0, nil, err
		}
		d.DistributedAt = timePtr(c.now)
	}
	if r, d, err = c.saveProgress(r, d); err != nil {
		return 0, nil, err
	}
	// The engine's trail has the action (workflow.act.…, source
	// plugin:oa, the caller); the module's own entries are for what it
	// did besides: the number, the seal.
	return http.StatusOK, struct {
		Document documentView `json:"document"`
		Outcome  sdk.Outcome  `json:"outcome"`
	}{viewOf(r.ID, r, d), out}, nil
}

// catchUp brings a document to where its flow is when an earlier request
// had the engine distribute it and stopped before recording that (a
// crash between the two): the distribution is recorded with what each
// unit received, and the document's status is the flow's.
func (c *call) catchUp(r sdk.Record, d document) (sdk.Record, document, error) {
	if d.DistributedAt != nil || d.Status != stepDistribute {
		return r, d, nil
	}
	started, err := c.host.ListWorkflowInstances(c.ctx, sdk.WorkflowQuery{Workflow: wfReceiving, ParentID: d.InstanceID, Limit: 500})
	if err != nil {
		return r, d, fromHost(err, "the distributed flows")
	}
	if len(started) == 0 {
		return r, d, nil
	}
	open, err := c.host.ListWorkflowTasks(c.ctx, sdk.WorkflowQuery{Workflow: wfSending, InstanceID: d.InstanceID, Status: "open"})
	if err != nil {
		return r, d, fromHost(err, "the flow's tasks")
	}
	if d.Paper {
		c.count(measurePaper, d.UnitID, "paper:"+r.ID)
	}
	if err := c.received(r.ID, d, started); err != nil {
		return r, d, err
	}
	d.DistributedAt, d.Status = timePtr(started[0].StartedAt), statusDone
	if len(open) > 0 {
		d.Status = open[0].Step
	}
	r, err = c.saveDocument(r, d)
	return r, d, err
}

// startFlow starts the sending flow of a draft whose flow never started
// (the server stopped between writing the draft and starting it), for an
// account of the issuing unit, before anything is done to it.
func (c *call) startFlow(r sdk.Record, d document) (sdk.Record, document, error) {
	if d.InstanceID > 0 {
		return r, d, nil
	}
	if !c.mayEdit(d) {
		return r, d, newError(http.StatusConflict, codeFlowFinished, "the document's flow has not started; an account of the issuing unit starts it by acting on it")
	}
	out, err := c.host.StartWorkflowFor(c.ctx, wfSending, sdk.StartOptions{Title: d.Title, Reference: r.ID, SubjectUnitID: d.UnitID})
	if err != nil {
		return r, d, fromEngine(err, "the sending flow")
	}
	d.InstanceID, d.Status = out.Instance.ID, statusOf(out, d.Status)
	nr, err := c.saveDocument(r, d)
	return nr, d, err
}

// saveDocument writes d over r. Only the module writes a document, at
// the version it read; the flow's task guards against two actions at
// once, so a conflict here is an edit of the draft meanwhile.
func (c *call) saveDocument(r sdk.Record, d document) (sdk.Record, error) {
	nr, err := c.host.Put(c.ctx, collDocuments, r.ID, r.Version, d)
	if err != nil {
		return r, fromHost(err, "the document")
	}
	return nr, nil
}

// saveProgress records where the flow went after an action the engine
// has done. The draft may have been edited meanwhile (an action at 拟稿
// races its author's last change): the progress then goes over the
// edited document, which keeps its edits.
func (c *call) saveProgress(r sdk.Record, d document) (sdk.Record, document, error) {
	nr, err := c.host.Put(c.ctx, collDocuments, r.ID, r.Version, d)
	if !errors.Is(err, sdk.ErrConflict) {
		if err != nil {
			return r, d, fromHost(err, "the document")
		}
		return nr, d, nil
	}
	cur, err := c.host.Get(c.ctx, collDocuments, r.ID)
	if err != nil {
		return r, d, fromHost(err, "the document")
	}
	var edited document
	if err := json.Unmarshal(cur.Document, &edited); err != nil {
		return r, d, fmt.Errorf("read document %s: %w", r.ID, err)
	}
	edited.Status, edited.DistributedAt, edited.FinishedAt = d.Status, d.DistributedAt, d.FinishedAt
	if nr, err = c.host.Put(c.ctx, collDocuments, r.ID, cur.Version, edited); err != nil {
		return r, d, fromHost(err, "the document")
	}
	return nr, edited, nil
}

func timePtr(t time.Time) *time.Time {
	u := t.UTC()
	return &u
}

// seal has the host seal the document's files with the issuing unit's
// seal at 用印, once, and keeps the seal and each file's digest with it.
func (c *call) seal(r sdk.Record, d document) (sdk.Record, document, error) {
	if d.Seal != nil {
		return r, d, nil
	}
	if d.Sequence == 0 {
		return r, d, newError(http.StatusConflict, codeNotRegistered, "the document has no number: it is sealed after its registration (登记)")
	}
	if len(d.Files) == 0 {
		return r, d, newError(http.StatusConflict, codeNoFiles, "the document has no files to seal: upload its typeset body (正文) first")
	}
	ids := make([]string, 0, len(d.Files))
	for _, f := range d.Files {
		ids = append(ids, f.FileID)
	}
	s, err := c.host.SealDocument(c.ctx, d.UnitID, ids...)
	switch {
	case errors.Is(err, sdk.ErrConflict):
		return r, d, newError(http.StatusConflict, codeSealUnavailable, "unit %d has no seal in use (none yet, or revoked): %v", d.UnitID, err)
	case errors.Is(err, sdk.ErrDenied):
		return r, d, newError(http.StatusForbidden, codeSealRefused, "the host refused unit %d's seal to %s: %v", d.UnitID, c.who.login, err)
	case errors.Is(err, sdk.ErrNotReady):
		return r, d, newError(http.StatusConflict, codeFileNotReady, "a file's bytes have not all arrived: %v", err)
	case errors.Is(err, sdk.ErrNotFound):
		return r, d, newError(http.StatusConflict, codeFileNotFound, "a file of the document is gone: %v", err)
	case err != nil:
		return r, d, fromHost(err, "the seal")
	}
	for i, f := range d.Files {
		hf, err := c.host.File(c.ctx, f.FileID)
		if err != nil {
			return r, d, fromHost(err, "the document's file")
		}
		d.Files[i].SHA256 = hf.SHA256
	}
	d.Seal = &sealInfo{JSON: s.JSON, SealID: s.SealID, UnitName: s.UnitName, SealedAt: s.SealedAt, SealedBy: c.who.login, Files: s.Files}
	c.count(measureSealed, d.UnitID, "sealed:"+r.ID)
	nr, err := c.saveDocument(r, d)
	if err != nil {
		return r, d, err
	}
	c.audit("document.seal", "document", r.ID, nil, map[string]any{"seal_id": s.SealID, "files": s.Files})
	return nr, d, nil
}

// sealInfo is a document's electronic seal: the host's seal, kept byte
// for byte (what anyone verifies the files with at POST
// /v1/seals/verify), and what it says.
type sealInfo struct {
	JSON     json.RawMessage  `json:"seal"`
	SealID   int64            `json:"seal_id"`
	UnitName string           `json:"unit_name"`
	SealedAt time.Time        `json:"sealed_at"`
	SealedBy string           `json:"sealed_by"`
	Files    []sdk.SealedFile `json:"files"`
}

// sealedFileView is a sealed file: its name, its digests and where its
// bytes are, for whoever verifies the document.
type sealedFileView struct {
	FileID string        `json:"file_id"`
	Name   string        `json:"name"`
	SM3    string        `json:"sm3"`
	SHA256 string        `json:"sha256"`
	URL    sdk.SignedURL `json:"download"`
}

// documentSeal: GET /documents/{id}/seal answers the document's seal as
// the host made it, byte for byte, and its files: what anyone verifies
// the document with at POST /v1/seals/verify (or `countycloud seals
// verify FILES... --seal seal.json`), without a token.
func (c *call) documentSeal(p params) (int, any, error) {
	if _, err := parseQuery(c.req.Query); err != nil {
		return 0, nil, err
	}
	_, d, err := c.loadDocument(p["id"])
	if err != nil {
		return 0, nil, err
	}
	if d.Seal == nil {
		return 0, nil, newError(http.StatusConflict, codeNotSealed, "the document is not sealed yet")
	}
	out := struct {
		Seal     json.RawMessage  `json:"seal"`
		SealedAt time.Time        `json:"sealed_at"`
		SealedBy string           `json:"sealed_by"`
		UnitName string           `json:"unit_name"`
		Files    []sealedFileView `json:"files"`
	}{Seal: d.Seal.JSON, SealedAt: d.Seal.SealedAt, SealedBy: d.Seal.SealedBy, UnitName: d.Seal.UnitName, Files: []sealedFileView{}}
	for _, f := range d.Files {
		v := sealedFileView{FileID: f.FileID, Name: f.Name, SHA256: f.SHA256}
		if i := slices.IndexFunc(d.Seal.Files, func(s sdk.SealedFile) bool { return s.Name == f.Name }); i >= 0 {
			v.SM3 = d.Seal.Files[i].SM3
		}
		if v.URL, err = c.host.DownloadURL(c.ctx, f.FileID, time.Hour); err != nil {
			return 0, nil, fromHost(err, "the file "+f.Name)
		}
		out.Files = append(out.Files, v)
	}
	return http.StatusOK, out, nil
}
