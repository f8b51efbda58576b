// Command hotline is an example CountyCloud module: a county's citizens'
// hotline (群众留言). A citizen leaves a message on a public route, in a
// category (民政, 交通 …), and gets a receipt to follow it with. The
// hotline office dispatches it: the module starts its workflow for the
// unit the county's settings name for the category, whose clerks then
// find the task and answer; the answer counts in the measure
// hotline.messages.answered of that unit, and the citizen reads it with
// the receipt. It was written from docs/plugins.md, docs/workflows.md and
// the SDK's documentation alone, as a vendor's module would be.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/countycloud/countycloud/plugins/sdk"
)

// The workflow a message is handled in, by its local code: installed in a
// county as hotline.message. It runs for the unit responsible (its subject
// unit), whose clerks answer.
const workflow = "message"

const messageWorkflow = `{
  "code": "hotline.message",
  "name": "群众留言办理",
  "version": 1,
  "start": "answer",
  "time_limit": {"working_days": 5},
  "steps": [
    {"id": "answer", "name": "承办答复", "assignee": {"role": "clerk", "relative": "subject_unit"},
     "actions": [{"name": "answer", "label": "答复", "to": "end"}]}
  ]
}`

// answered is the measure of messages answered, per unit.
const answered = "hotline.messages.answered"

func manifest() sdk.Manifest {
	return sdk.Manifest{
		ID: "hotline", Name: "群众留言", Vendor: "CountyCloud examples", Version: "1.0.0", Protocol: sdk.ProtocolVersion,
		Collections: map[string]sdk.Collection{"messages": {Indexed: []string{"status", "instance"}}},
		// Which unit answers each category, by the unit's id in the
		// county: {"units": {"民政": 2, "交通": 3}}. The categories a
		// citizen may choose are these.
		Settings: json.RawMessage(`{"type":"object","properties":{"units":{"type":"object",` +
			`"additionalProperties":{"type":"integer","minimum":1},"maxProperties":50}},"additionalProperties":false}`),
		Workflows: map[string]json.RawMessage{workflow: json.RawMessage(messageWorkflow)},
		Measures: []sdk.MeasureDef{{ID: answered, Label: sdk.Text{ZH: "答复留言数", EN: "Messages answered"},
			Counts: sdk.Text{ZH: "一条答复了的群众留言", EN: "one citizen's message answered"}}},
		Public: []sdk.PublicRoute{
			{Method: "POST", Path: "/public/messages"},
			{Method: "POST", Path: "/public/receipts/{number}"},
		},
	}
}

func main() { sdk.Serve(manifest(), hotline{}) }

// Message is a citizen's message and what became of it.
type Message struct {
	Category string    `json:"category"`
	Text     string    `json:"text"`
	Status   string    `json:"status"` // new, dispatched, answered
	At       time.Time `json:"at"`
	// UnitID is the unit responsible, once dispatched; Instance is the
	// id of the workflow instance that handles it (a string, to be
	// queried by).
	UnitID     int64      `json:"unit_id,omitempty"`
	Instance   string     `json:"instance,omitempty"`
	Answer     string     `json:"answer,omitempty"`
	AnsweredBy string     `json:"answered_by,omitempty"`
	AnsweredAt *time.Time `json:"answered_at,omitempty"`
}

// settings are a county's: the unit answering each category.
type settings struct {
	Units map[string]int64 `json:"units"`
}

type hotline struct{}

// Handle serves:
//
//	POST /public/messages          {"category", "text"}: anyone leaves a message and gets a receipt
//	POST /public/receipts/{number} {"code": "…"}: anyone with the receipt follows it
//	GET  /messages?status=new      the hotline office's list (business_admin, system_admin)
//	GET  /messages/{id}            one, to the office and to the unit it went to
//	POST /messages/{id}/dispatch   {"version": N}: the office sends it to the category's unit
//	GET  /tasks                    the caller's unit's messages waiting for an answer
//	POST /messages/{id}/answer     {"answer": "…"}: a clerk of the unit answers
func (hotline) Handle(ctx context.Context, r *sdk.Request) (*sdk.Response, error) {
	var cfg settings
	if err := json.Unmarshal(r.Settings, &cfg); err != nil {
		return nil, fmt.Errorf("settings: %w", err)
	}
	parts := strings.Split(strings.Trim(r.Path, "/"), "/")
	switch {
	case r.Method == "POST" && r.Path == "/public/messages":
		return leave(ctx, r, cfg)
	case r.Method == "POST" && len(parts) == 3 && parts[0] == "public" && parts[1] == "receipts":
		return follow(ctx, r, parts[2])
	case r.Caller.Kind == sdk.CallerAnonymous:
		return problem(404, "not_found", "no route %s %s", r.Method, r.Path)
	case r.Method == "GET" && r.Path == "/messages":
		return list(ctx, r)
	case r.Method == "GET" && len(parts) == 2 && parts[0] == "messages":
		return show(ctx, r, parts[1])
	case r.Method == "POST" && len(parts) == 3 && parts[0] == "messages" && parts[2] == "dispatch":
		return dispatch(ctx, r, cfg, parts[1])
	case r.Method == "GET" && r.Path == "/tasks":
		return tasks(ctx, r)
	case r.Method == "POST" && len(parts) == 3 && parts[0] == "messages" && parts[2] == "answer":
		return answer(ctx, r, parts[1])
	}
	return problem(404, "not_found", "no route %s %s", r.Method, r.Path)
}

// office reports whether the caller works in the hotline office: its
// business admins, and the county's admins.
func office(c sdk.Caller) bool {
	return slices.Contains(c.Roles, "business_admin") || slices.Contains(c.Roles, "system_admin")
}

// leave keeps a citizen's message and answers its receipt, whose code is
// shown this once.
func leave(ctx context.Context, r *sdk.Request, cfg settings) (*sdk.Response, error) {
	var in struct {
		Category string `json:"category"`
		Text     string `json:"text"`
	}
	if err := json.Unmarshal(r.Body, &in); err != nil {
		return problem(400, "invalid_json", "the body is not a JSON object with a category and a text")
	}
	if _, ok := cfg.Units[in.Category]; !ok {
		return problem(400, "unknown_category", "category %q is not one this county answers; choose one of %s", in.Category, categories(cfg))
	}
	text := strings.TrimSpace(in.Text)
	if n := utf8.RuneCountInString(text); n == 0 || n > 1000 {
		return problem(400, "invalid_message", "a message has 1 to 1000 characters, not %d", n)
	}
	// The message and its receipt are written together, or neither.
	m := Message{Category: in.Category, Text: text, Status: "new", At: time.Now().UTC()}
	done, err := r.Host.Submit(ctx, sdk.Submission{Collection: "messages", ID: "m-" + strconv.FormatInt(time.Now().UnixNano(), 36), Document: m})
	if err != nil {
		return hostProblem(err)
	}
	return reply(201, map[string]any{"receipt": done.Receipt})
}

func categories(cfg settings) string {
	list := slices.Sorted(maps.Keys(cfg.Units))
	if len(list) == 0 {
		return "none (the county has named no unit for any category)"
	}
	return strings.Join(list, ", ")
}

// follow answers what a citizen may know of the message of a receipt;
// a wrong code and an unknown number get the same 404. The code comes in
// the body, not the query string, which servers and proxies keep in
// their logs.
func follow(ctx context.Context, r *sdk.Request, number string) (*sdk.Response, error) {
	var in struct {
		Code string `json:"code"`
	}
	if err := json.Unmarshal(r.Body, &in); err != nil {
		return problem(400, "invalid_json", "the body is not a JSON object with the receipt's code")
	}
	receipt, err := r.Host.LookupReceipt(ctx, number, in.Code)
	if err != nil {
		return hostProblem(err)
	}
	m, _, err := get(ctx, r, receipt.RecordID)
	if err != nil {
		return hostProblem(err)
	}
	return reply(200, map[string]any{"number": receipt.Number, "category": m.Category, "status": m.Status, "answer": m.Answer, "at": m.At})
}

func list(ctx context.Context, r *sdk.Request) (*sdk.Response, error) {
	if !office(r.Caller) {
		return problem(403, "forbidden", "only the hotline office lists the messages")
	}
	q, err := url.ParseQuery(r.Query)
	if err != nil {
		return problem(400, "invalid_query", "the query string is not valid")
	}
	where := map[string]string{}
	if status := q.Get("status"); status != "" {
		if !slices.Contains([]string{"new", "dispatched", "answered"}, status) {
			return problem(400, "invalid_query", "status is new, dispatched or answered, not %q", status)
		}
		where["status"] = status
	}
	page, err := r.Host.Query(ctx, "messages", sdk.Query{Where: where, After: q.Get("after")})
	if err != nil {
		return hostProblem(err)
	}
	return reply(200, map[string]any{"messages": page.Records, "next_after": page.Next})
}

func show(ctx context.Context, r *sdk.Request, id string) (*sdk.Response, error) {
	m, rec, err := get(ctx, r, id)
	if err != nil {
		return hostProblem(err)
	}
	if !office(r.Caller) && (m.UnitID == 0 || m.UnitID != r.Caller.UnitID) {
		return problem(404, "not_found", "no message %s", id)
	}
	return reply(200, rec)
}

// dispatch sends a new message to the unit its category names: the
// message is claimed first (its version), so that two dispatchers never
// start two instances, then its workflow is started for that unit.
func dispatch(ctx context.Context, r *sdk.Request, cfg settings, id string) (*sdk.Response, error) {
	if !office(r.Caller) {
		return problem(403, "forbidden", "only the hotline office dispatches messages")
	}
	var in struct {
		Version int64 `json:"version"`
	}
	if err := json.Unmarshal(r.Body, &in); err != nil || in.Version < 1 {
		return problem(400, "invalid_dispatch", "send {\"version\": N} with the version you read")
	}
	m, _, err := get(ctx, r, id)
	if err != nil {
		return hostProblem(err)
	}
	if m.Status != "new" {
		return problem(409, "conflict", "message %s was dispatched already", id)
	}
	unit, ok := cfg.Units[m.Category]
	if !ok {
		return problem(409, "unknown_category", "the county names no unit for category %q any more; set it in the module's settings", m.Category)
	}
	m.Status, m.UnitID = "dispatched", unit
	claimed, err := r.Host.Put(ctx, "messages", id, in.Version, m)
	if err != nil {
		return hostProblem(err)
	}
	started, err := r.Host.StartWorkflowFor(ctx, workflow, sdk.StartOptions{Title: title(m), Reference: id, SubjectUnitID: unit})
	if err != nil {
		// Give the message back to the office, as it was.
		m.Status, m.UnitID = "new", 0
		if _, undo := r.Host.Put(ctx, "messages", id, claimed.Version, m); undo != nil {
			return nil, fmt.Errorf("start the workflow of %s: %w; and give it back: %w", id, err, undo)
		}
		return hostProblem(err)
	}
	m.Instance = strconv.FormatInt(started.Instance.ID, 10)
	saved, err := r.Host.Put(ctx, "messages", id, claimed.Version, m)
	if err != nil {
		return hostProblem(err)
	}
	return reply(200, map[string]any{"message": saved, "instance": started.Instance, "opened": started.Opened})
}

// title is a message's title in the unit's task list: its category and
// its first words.
func title(m Message) string {
	text := []rune(m.Text)
	if len(text) > 40 {
		text = append(text[:40], '…')
	}
	return "【" + m.Category + "】" + string(text)
}

// tasks lists the messages waiting for an answer from the caller's unit,
// each with the task its clerks act on.
func tasks(ctx context.Context, r *sdk.Request) (*sdk.Response, error) {
	open, err := r.Host.ListWorkflowTasks(ctx, sdk.WorkflowQuery{Workflow: workflow, Status: "open", UnitID: r.Caller.UnitID})
	if err != nil {
		return hostProblem(err)
	}
	type waiting struct {
		Message string   `json:"message"`
		Task    sdk.Task `json:"task"`
	}
	out := []waiting{}
	for _, t := range open {
		page, err := r.Host.Query(ctx, "messages", sdk.Query{Where: map[string]string{"instance": strconv.FormatInt(t.InstanceID, 10)}, Limit: 1})
		if err != nil {
			return hostProblem(err)
		}
		if len(page.Records) == 1 {
			out = append(out, waiting{Message: page.Records[0].ID, Task: t})
		}
	}
	return reply(200, map[string]any{"tasks": out})
}

// answer acts on the message's open task as the caller, whom the engine
// checks is its assignee (a clerk of the unit), keeps the answer and
// counts it for that unit.
func answer(ctx context.Context, r *sdk.Request, id string) (*sdk.Response, error) {
	var in struct {
		Answer string `json:"answer"`
	}
	if err := json.Unmarshal(r.Body, &in); err != nil || strings.TrimSpace(in.Answer) == "" {
		return problem(400, "invalid_answer", "send {\"answer\": \"…\"}")
	}
	m, rec, err := get(ctx, r, id)
	if err != nil {
		return hostProblem(err)
	}
	if m.Status != "dispatched" {
		return problem(409, "conflict", "message %s is %s, not waiting for an answer", id, m.Status)
	}
	instance, _ := strconv.ParseInt(m.Instance, 10, 64)
	open, err := r.Host.ListWorkflowTasks(ctx, sdk.WorkflowQuery{Workflow: workflow, InstanceID: instance, Status: "open"})
	if err != nil {
		return hostProblem(err)
	}
	if len(open) == 0 {
		return problem(409, "conflict", "message %s has no task waiting", id)
	}
	acted, err := r.Host.ActOnTaskWith(ctx, open[0].ID, "answer", sdk.ActOptions{Comment: strings.TrimSpace(in.Answer)})
	if err != nil {
		return hostProblem(err)
	}
	now := time.Now().UTC()
	m.Status, m.Answer, m.AnsweredBy, m.AnsweredAt = "answered", strings.TrimSpace(in.Answer), r.Caller.Login, &now
	saved, err := r.Host.Put(ctx, "messages", id, rec.Version, m)
	if err != nil {
		return hostProblem(err)
	}
	// The key is the message's: a retried answer never counts twice.
	if _, err := r.Host.RecordMeasure(ctx, sdk.Measure{ID: answered, UnitID: acted.Instance.SubjectUnitID, Key: "answered:" + id}); err != nil {
		return nil, fmt.Errorf("count the answer of %s: %w", id, err)
	}
	return reply(200, saved)
}

func get(ctx context.Context, r *sdk.Request, id string) (Message, sdk.Record, error) {
	rec, err := r.Host.Get(ctx, "messages", id)
	if err != nil {
		return Message{}, sdk.Record{}, err
	}
	var m Message
	if err := json.Unmarshal(rec.Document, &m); err != nil {
		return Message{}, sdk.Record{}, fmt.Errorf("message %s: %w", id, err)
	}
	return m, rec, nil
}

func reply(status int, v any) (*sdk.Response, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return &sdk.Response{Status: status, Header: map[string]string{"Content-Type": "application/json"}, Body: body}, nil
}

// hostProblem answers with what the host said of a call, as the
// platform's errors look.
func hostProblem(err error) (*sdk.Response, error) {
	switch {
	case errors.Is(err, sdk.ErrNotFound):
		return problem(404, "not_found", "%v", err)
	case errors.Is(err, sdk.ErrConflict):
		return problem(409, "conflict", "%v", err)
	case errors.Is(err, sdk.ErrInvalid):
		return problem(400, "invalid", "%v", err)
	case errors.Is(err, sdk.ErrDenied):
		return problem(403, "forbidden", "%v", err)
	}
	return nil, err
}

func problem(status int, code, format string, args ...any) (*sdk.Response, error) {
	return reply(status, map[string]any{"error": map[string]string{"code": code, "message": fmt.Sprintf(format, args...)}})
}
