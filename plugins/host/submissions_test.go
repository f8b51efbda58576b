package host_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/audit"
	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/plugins/host"
	"github.com/countycloud/countycloud/plugins/sdk"
	"github.com/countycloud/countycloud/plugins/sdk/proto/pluginv1"
	"github.com/countycloud/countycloud/tenants/registry"
)

// The inbox module is the test plugin of the Submissions service: POST
// /submit/{id} hands in the sdk.Submission of its body as letter id,
// POST /twice/{id} two of them in one request, GET /lookup/{number}/{code}
// finds a receipt's record, POST /retry/{id} hands the submission in
// again without its unchanged records if they changed, GET /county says what the host told of the
// request's county and features (409 answers sdk.ErrStale); PUT /letters/{id}, POST /receipts/{id} and
// DELETE /letters/{id} keep, give a receipt to and drop a letter by the
// separate calls, and POST /separate/{id} submits by them (Put,
// IssueReceipt, Put with the number) as a module did before Submit.
var inboxManifest = sdk.Manifest{ID: "inbox", Name: "来信受理", Vendor: "CountyCloud tests", Version: "1.0.0", Protocol: sdk.ProtocolVersion,
	Collections: map[string]sdk.Collection{"letters": {Indexed: []string{"number", "status"}}},
	Workflows: map[string]json.RawMessage{
		"letter":  json.RawMessage(`{"name":"来信","version":1,"steps":[]}`),
		"license": json.RawMessage(`{"name":"许可","version":1,"steps":[]}`),
	},
	PublicStart: []string{"letter"},
	Public: []sdk.PublicRoute{{Method: "POST", Path: "/submit/{id}"}, {Method: "POST", Path: "/twice/{id}"}, {Method: "POST", Path: "/separate/{id}"},
		{Method: "POST", Path: "/retry/{id}"}}}

func init() {
	if os.Getenv(pluginEnv) == "inbox" {
		sdk.Serve(inboxManifest, &inbox{})
		os.Exit(0)
	}
}

type inbox struct {
	mu   sync.Mutex
	kept *sdk.Host
}

func (m *inbox) Handle(ctx context.Context, r *sdk.Request) (*sdk.Response, error) {
	parts := strings.Split(strings.Trim(r.Path, "/"), "/")
	// The document as the body gives it, not decoded and encoded again.
	var in struct {
		sdk.Submission
		Document json.RawMessage
	}
	_ = json.Unmarshal(r.Body, &in)
	s := in.Submission
	s.Collection, s.ID, s.Document = "letters", parts[len(parts)-1], in.Document
	var (
		out any
		err error
	)
	switch {
	case r.Method == "POST" && parts[0] == "submit":
		out, err = r.Host.Submit(ctx, s)
	case r.Method == "POST" && parts[0] == "twice":
		if _, err = r.Host.Submit(ctx, s); err == nil {
			s.ID += "-2"
			out, err = r.Host.Submit(ctx, s)
		}
	case r.Method == "POST" && parts[0] == "retry":
		if out, err = r.Host.Submit(ctx, s); errors.Is(err, sdk.ErrStale) {
			s.Unchanged = nil
			out, err = r.Host.Submit(ctx, s)
		}
	case r.Method == "POST" && parts[0] == "separate":
		out, err = separately(ctx, r.Host, s)
	case r.Method == "POST" && parts[0] == "keep":
		m.mu.Lock()
		m.kept = r.Host
		m.mu.Unlock()
	case r.Method == "POST" && parts[0] == "replay":
		m.mu.Lock()
		kept := m.kept
		m.mu.Unlock()
		out, err = kept.Submit(ctx, s)
	case r.Method == "GET" && parts[0] == "county":
		out = map[string]any{"county": r.County, "checks_unchanged": r.Host.ChecksUnchanged()}
	case r.Method == "GET" && parts[0] == "lookup":
		out, err = r.Host.LookupReceipt(ctx, parts[1], parts[2])
	case r.Method == "PUT":
		out, err = r.Host.Put(ctx, "letters", s.ID, 0, json.RawMessage(`{}`))
	case r.Method == "POST" && parts[0] == "receipts":
		out, err = r.Host.IssueReceipt(ctx, "letters", s.ID)
	case r.Method == "DELETE":
		err = r.Host.Delete(ctx, "letters", s.ID, 1)
	default:
		return &sdk.Response{Status: 404}, nil
	}
	if errors.Is(err, sdk.ErrStale) {
		return &sdk.Response{Status: 409, Body: []byte(err.Error())}, nil
	}
	if err != nil {
		return &sdk.Response{Status: 400, Body: []byte(err.Error())}, nil
	}
	body, err := json.Marshal(out)
	return &sdk.Response{Body: body}, err
}

// separately hands s in by the calls a module made before Submit: the
// record, its receipt, the record again with the receipt's number.
func separately(ctx context.Context, h *sdk.Host, s sdk.Submission) (sdk.Submitted, error) {
	doc := map[string]any{}
	raw, _ := json.Marshal(s.Document)
	_ = json.Unmarshal(raw, &doc)
	rec, err := h.Put(ctx, s.Collection, s.ID, 0, doc)
	if err != nil {
		return sdk.Submitted{}, err
	}
	receipt, err := h.IssueReceipt(ctx, s.Collection, s.ID)
	if err != nil {
		return sdk.Submitted{}, err
	}
	doc[s.NumberField] = receipt.Number
	rec, err = h.Put(ctx, s.Collection, s.ID, rec.Version, doc)
	return sdk.Submitted{Record: rec, Receipt: receipt}, err
}

// startsInTx stands for the workflow engine's start: it runs the host's
// hook in a real transaction of the county, as the engine does after
// writing the instance, and then fails with fail if set, as a start
// failing late in its transaction would.
type startsInTx struct {
	host.Workflows
	router host.Router
	last   atomic.Int64
	mu     sync.Mutex
	fail   error
	got    []host.StartFor
}

func (e *startsInTx) StartFor(ctx context.Context, c host.Capability, code string, in host.StartFor) (json.RawMessage, error) {
	e.mu.Lock()
	e.got = append(e.got, in)
	fail := e.fail
	e.mu.Unlock()
	id := e.last.Add(1)
	err := e.router.InTenantTx(ctx, c.County, func(ctx context.Context, tx *sqlx.Tx) error {
		if in.Alongside != nil {
			if err := in.Alongside(ctx, tx, host.Started{Instance: id}); err != nil {
				return err
			}
		}
		return fail
	})
	if err != nil {
		return nil, err
	}
	return json.Marshal(sdk.Outcome{Instance: sdk.Instance{ID: id, Workflow: code, Title: in.Title, SubjectUnitID: in.SubjectUnit, InitiatorUnitID: in.InitiatorUnit,
		Status: "running"}, Opened: []sdk.Task{}})
}

// starts are the starts the engine was asked for.
func (e *startsInTx) starts() []host.StartFor {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.got
}

// failing has the starts that follow fail with err (none if nil).
func (e *startsInTx) failing(err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.fail = err
}

// inboxWorld is the inbox plugin in a process of its own, with the
// engine's stand-in, and what tests read of a county's tables.
type inboxWorld struct {
	f      fixture
	p      *host.Process
	engine *startsInTx
}

func newInboxWorld(t testing.TB) *inboxWorld {
	t.Helper()
	f := setup(t)
	engine := &startsInTx{router: f.deps.Router}
	f.deps.Workflows, f.deps.Callers = engine, host.CapabilityCallers{}
	f.bin.Manifest, f.bin.Env = inboxManifest, []string{pluginEnv + "=inbox"}
	p, err := host.Launch(context.Background(), f.bin, f.deps)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return &inboxWorld{f: f, p: p, engine: engine}
}

var citizenCaller = &pluginv1.Caller{Kind: host.CallerAnonymous, Login: host.CallerAnonymous, Address: "198.51.100.7"}

// do is one request of caller to the inbox module in county.
func (w *inboxWorld) do(t testing.TB, county string, caller *pluginv1.Caller, method, path string, body any) reply {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := w.p.Handle(context.Background(), county, &pluginv1.HandleRequest{Method: method, Path: path, Body: b, Caller: caller, RequestId: "r-" + path})
	if err != nil {
		t.Fatal(err)
	}
	return reply{int(resp.GetStatus()), string(resp.GetBody())}
}

// reply is the module's answer to a request.
type reply struct {
	status int
	body   string
}

// state is what a refused submission must leave as it was: the
// county's letters, their index rows, receipts and numbers taken.
func (w *inboxWorld) state(t testing.TB, county string) string {
	t.Helper()
	schema := "`" + registry.SchemaName(w.f.db.SchemaPrefix, county) + "`."
	var n [5]int
	for i, q := range []string{"SELECT COUNT(*) FROM " + schema + "plugin_records", "SELECT COUNT(*) FROM " + schema + "plugin_record_fields",
		"SELECT COUNT(*) FROM " + schema + "receipts", "SELECT COALESCE(SUM(last_seq), 0) FROM " + schema + "receipt_counters",
		"SELECT COUNT(*) FROM " + schema + "audit_log WHERE source = 'plugin:inbox'"} {
		if err := w.f.db.Server.Get(&n[i], q); err != nil {
			t.Fatal(err)
		}
	}
	return fmt.Sprintf("%d records, %d index rows, %d receipts, %d numbers, %d audit entries", n[0], n[1], n[2], n[3], n[4])
}

func decodeAs[T any](t testing.TB, r reply) T {
	t.Helper()
	var v T
	if r.status != 200 || json.Unmarshal([]byte(r.body), &v) != nil {
		t.Fatalf("%d %s", r.status, r.body)
	}
	return v
}

// TestASubmissionIsWrittenNumberedAndStartedInOneCall: a citizen's
// letter is written with its receipt's number and its instance's id in
// it, indexed as Put indexes, its receipt found with its code, and its
// workflow started from the office the module names; without a
// workflow, the record and its receipt alone; without members to set,
// the document as the module wrote it.
func TestASubmissionIsWrittenNumberedAndStartedInOneCall(t *testing.T) {
	t.Parallel()
	w := newInboxWorld(t)
	letter := sdk.Submission{Document: map[string]any{"status": "received", "text": "路灯不亮 <3>"}, NumberField: "number", Workflow: "letter",
		InstanceField: "instance_id", Start: sdk.StartOptions{Title: "群众来信", SubjectUnitID: 3, InitiatorUnitID: 4}}
	got := decodeAs[sdk.Submitted](t, w.do(t, wengyuan, citizenCaller, "POST", "/submit/L1", letter))
	var doc struct {
		Number, Status, Text string
		InstanceID           int64 `json:"instance_id"`
	}
	if err := json.Unmarshal(got.Record.Document, &doc); err != nil || got.Record.Version != 1 {
		t.Fatalf("the record %+v: %v", got.Record, err)
	}
	if got.Outcome == nil || doc.Number != got.Receipt.Number || got.Receipt.Code == "" || doc.InstanceID != got.Outcome.Instance.ID || doc.Text != "路灯不亮 <3>" {
		t.Fatalf("submitted %+v, its document %+v", got, doc)
	}
	if s := w.engine.starts()[0]; !s.Public || s.SubjectUnit != 3 || s.InitiatorUnit != 4 || s.Title != "群众来信" {
		t.Errorf("the engine was asked %+v", s)
	}
	found := decodeAs[sdk.ReceiptRecord](t, w.do(t, wengyuan, citizenCaller, "GET", "/lookup/"+got.Receipt.Number+"/"+got.Receipt.Code, nil))
	if found.RecordID != "L1" || found.Collection != "letters" {
		t.Errorf("the receipt's code finds %+v", found)
	}
	schema := "`" + registry.SchemaName(w.f.db.SchemaPrefix, wengyuan) + "`."
	var indexed []string
	if err := w.f.db.Server.Select(&indexed, "SELECT CONCAT(field, '=', value) FROM "+schema+"plugin_record_fields WHERE plugin = 'inbox' AND record_id = 'L1' ORDER BY field"); err != nil {
		t.Fatal(err)
	}
	if strings.Join(indexed, ",") != "number="+got.Receipt.Number+",status=received" {
		t.Errorf("the letter is indexed as %v", indexed)
	}

	plain := decodeAs[sdk.Submitted](t, w.do(t, wengyuan, citizenCaller, "POST", "/submit/L2", sdk.Submission{Document: map[string]any{"status": "received"}, NumberField: "number"}))
	if plain.Outcome != nil || !strings.Contains(string(plain.Record.Document), `"number":"`+plain.Receipt.Number+`"`) || len(w.engine.starts()) != 1 {
		t.Errorf("a submission without a workflow: %+v", plain)
	}
	if plain.Receipt.Number == got.Receipt.Number {
		t.Errorf("two submissions numbered %s", plain.Receipt.Number)
	}
	asWritten := decodeAs[sdk.Submitted](t, w.do(t, wengyuan, citizenCaller, "POST", "/submit/L3", sdk.Submission{Document: json.RawMessage(`{"text": "原样", "status":"received"}`)}))
	if string(asWritten.Record.Document) != `{"text":"原样","status":"received"}` {
		t.Errorf("a submission whose members the host sets none of is kept as %s", asWritten.Record.Document)
	}
}

// TestASubmissionWritesItsFurtherRecordsAndItsAuditEntry: a submission's
// further records are created or replaced at their versions, and its
// audit entry is the caller's, its after the record as written, all in
// its transaction.
func TestASubmissionWritesItsFurtherRecordsAndItsAuditEntry(t *testing.T) {
	t.Parallel()
	w := newInboxWorld(t)
	clerk := &pluginv1.Caller{Kind: "account", Login: "clerk", AccountId: 7, UnitId: 3, Roles: []string{"clerk"}}
	if r := w.do(t, wengyuan, clerk, "PUT", "/letters/list", nil); r.status != 200 {
		t.Fatalf("the list: %d %s", r.status, r.body)
	}
	got := decodeAs[sdk.Submitted](t, w.do(t, wengyuan, citizenCaller, "POST", "/submit/L1", sdk.Submission{Document: map[string]any{"status": "received"},
		NumberField: "number", Also: []sdk.RecordPut{{Collection: "letters", ID: "list", Version: 1, Document: map[string]any{"letters": []string{"L1"}}},
			{Collection: "letters", ID: "copy", Document: map[string]any{"status": "copied"}}},
		Audit: &sdk.AuditEntry{Action: "letter.submit", ObjectType: "letter", ObjectID: "L1"}}))
	schema := "`" + registry.SchemaName(w.f.db.SchemaPrefix, wengyuan) + "`."
	var written []string
	if err := w.f.db.Server.Select(&written, "SELECT CONCAT(record_id, '@', version, '=', document) FROM "+schema+"plugin_records WHERE plugin = 'inbox' ORDER BY record_id"); err != nil {
		t.Fatal(err)
	}
	if want := []string{"L1@1=" + string(got.Record.Document), `copy@1={"status":"copied"}`, `list@2={"letters":["L1"]}`}; !slices.Equal(written, want) {
		t.Errorf("the records are %q, want %q", written, want)
	}
	var entry struct {
		Kind   string  `db:"actor_kind"`
		Action string  `db:"action"`
		Object string  `db:"object_id"`
		Before *string `db:"before_digest"`
		After  *string `db:"after_digest"`
	}
	if err := w.f.db.Server.Get(&entry, "SELECT actor_kind, action, object_id, before_digest, after_digest FROM "+schema+"audit_log WHERE source = 'plugin:inbox'"); err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(strings.NewReader(string(got.Record.Document)))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if want := audit.Digest(doc); entry.Kind != host.CallerAnonymous || entry.Action != "inbox.letter.submit" || entry.Object != "L1" || entry.Before != nil ||
		entry.After == nil || *entry.After != *want {
		t.Errorf("the audit entry %+v, want after %s", entry, *want)
	}
}

// TestARefusedSubmissionWritesNothingAndTakesNoNumber: whatever refuses a
// submission — its start, its record, its receipt, or a failure late in
// its transaction — leaves no record, no index row, no receipt and no
// number taken, in its county or the other; the next submission takes
// the next number.
func TestARefusedSubmissionWritesNothingAndTakesNoNumber(t *testing.T) {
	t.Parallel()
	w := newInboxWorld(t)
	clerk := &pluginv1.Caller{Kind: "account", Login: "clerk", AccountId: 7, UnitId: 3, Roles: []string{"clerk"}}
	first := decodeAs[sdk.Submitted](t, w.do(t, wengyuan, citizenCaller, "POST", "/submit/L1", sdk.Submission{Document: map[string]any{}, NumberField: "number"}))
	// A receipt outlives its record: a letter deleted keeps its id's
	// receipt, so handing the id in again fails at the receipt, after
	// the record and the number.
	for _, step := range [][2]string{{"PUT", "/letters/gone"}, {"POST", "/receipts/gone"}, {"DELETE", "/letters/gone"}} {
		if r := w.do(t, wengyuan, clerk, step[0], step[1], nil); r.status != 200 {
			t.Fatalf("%s %s: %d %s", step[0], step[1], r.status, r.body)
		}
	}
	before, lechangBefore := w.state(t, wengyuan), w.state(t, lechang)
	letter := func(id string, change func(*sdk.Submission)) sdk.Submission {
		s := sdk.Submission{Document: map[string]any{"status": "received"}, NumberField: "number", Workflow: "letter", InstanceField: "instance_id",
			Start: sdk.StartOptions{Title: "群众来信", SubjectUnitID: 3}}
		if change != nil {
			change(&s)
		}
		return s
	}
	for _, bad := range []struct {
		what   string
		path   string
		caller *pluginv1.Caller
		s      sdk.Submission
		want   string
	}{
		{"a workflow public_start does not list", "/submit/x", citizenCaller, letter("x", func(s *sdk.Submission) { s.Workflow = "license" }), "denied"},
		{"a workflow the manifest lacks", "/submit/x", citizenCaller, letter("x", func(s *sdk.Submission) { s.Workflow = "nosuch" }), "not found"},
		{"a public start without a subject unit", "/submit/x", citizenCaller, letter("x", func(s *sdk.Submission) { s.Start.SubjectUnitID = 0 }), "invalid"},
		{"an SMS reminder the county has not allowed", "/submit/x", clerk, letter("x", func(s *sdk.Submission) { s.Start.SMSReminder = true }), "denied"},
		{"an id that is taken", "/submit/L1", citizenCaller, letter("L1", nil), "changed meanwhile"},
		{"an id whose receipt outlived its record", "/submit/gone", citizenCaller, letter("gone", nil), "changed meanwhile"},
		{"a document that is no object", "/submit/x", citizenCaller, letter("x", func(s *sdk.Submission) { s.Document = []int{1} }), "invalid"},
		{"an indexed member that cannot be indexed", "/submit/x", citizenCaller, letter("x", func(s *sdk.Submission) { s.Document = map[string]any{"status": []int{1}} }), "invalid"},
		{"a member the host cannot set", "/submit/x", citizenCaller, letter("x", func(s *sdk.Submission) { s.NumberField = "no.such" }), "invalid"},
		{"the number and the instance in one member", "/submit/x", citizenCaller, letter("x", func(s *sdk.Submission) { s.InstanceField = "number" }), "invalid"},
		{"an instance's member without a workflow", "/submit/x", citizenCaller, letter("x", func(s *sdk.Submission) { s.Workflow, s.Start = "", sdk.StartOptions{} }), "invalid"},
		{"a start's options without a workflow", "/submit/x", citizenCaller, letter("x", func(s *sdk.Submission) { s.Workflow, s.InstanceField = "", "" }), "invalid"},
		{"a deadline's member without its step", "/submit/x", citizenCaller, letter("x", func(s *sdk.Submission) { s.DueField = "due_at" }), "invalid"},
		{"a deadline's step without its member", "/submit/x", citizenCaller, letter("x", func(s *sdk.Submission) { s.DueStep = "reply" }), "invalid"},
		{"the instance and the deadline in one member", "/submit/x", citizenCaller, letter("x", func(s *sdk.Submission) { s.DueField, s.DueStep = "instance_id", "reply" }), "invalid"},
		{"a deadline's member the host cannot set", "/submit/x", citizenCaller, letter("x", func(s *sdk.Submission) { s.DueField, s.DueStep = "due at", "reply" }), "invalid"},
		{"a deadline's member without a workflow", "/submit/x", citizenCaller, letter("x", func(s *sdk.Submission) {
			s.Workflow, s.Start, s.InstanceField, s.DueField, s.DueStep = "", sdk.StartOptions{}, "", "due_at", "reply"
		}), "invalid"},
		{"a further record that exists", "/submit/x", citizenCaller, letter("x", func(s *sdk.Submission) {
			s.Also = []sdk.RecordPut{{Collection: "letters", ID: "new", Document: map[string]any{}}, {Collection: "letters", ID: "L1", Document: map[string]any{}}}
		}), "changed meanwhile"},
		{"a further record at another version", "/submit/x", citizenCaller, letter("x", func(s *sdk.Submission) {
			s.Also = []sdk.RecordPut{{Collection: "letters", ID: "L1", Version: 7, Document: map[string]any{}}}
		}), "changed meanwhile"},
		{"a further record that is gone", "/submit/x", citizenCaller, letter("x", func(s *sdk.Submission) {
			s.Also = []sdk.RecordPut{{Collection: "letters", ID: "gone", Version: 1, Document: map[string]any{}}}
		}), "not found"},
		{"the submission's record again among the further", "/submit/x", citizenCaller, letter("x", func(s *sdk.Submission) {
			s.Also = []sdk.RecordPut{{Collection: "letters", ID: "x", Document: map[string]any{}}}
		}), "invalid"},
		{"more further records than a submission takes", "/submit/x", citizenCaller, letter("x", func(s *sdk.Submission) {
			for i := range sdk.MaxSubmissionAlso + 1 {
				s.Also = append(s.Also, sdk.RecordPut{Collection: "letters", ID: fmt.Sprint("y", i), Document: map[string]any{}})
			}
		}), "invalid"},
		{"an audit entry of an action that cannot be", "/submit/x", citizenCaller, letter("x", func(s *sdk.Submission) {
			s.Audit = &sdk.AuditEntry{Action: "Letter Submit", ObjectType: "letter", ObjectID: "x"}
		}), "invalid"},
		{"an audit entry without its object", "/submit/x", citizenCaller, letter("x", func(s *sdk.Submission) {
			s.Audit = &sdk.AuditEntry{Action: "letter.submit", ObjectType: "letter"}
		}), "invalid"},
		{"a second start in one public request", "/twice/x", citizenCaller, letter("x", nil), "denied"},
	} {
		if r := w.do(t, wengyuan, bad.caller, "POST", bad.path, bad.s); r.status != 400 || !strings.HasPrefix(r.body, bad.want) {
			t.Errorf("%s: %d %s, want %s", bad.what, r.status, r.body, bad.want)
		}
		if bad.path == "/twice/x" {
			// Its first submission stands; the second wrote nothing.
			if r := w.do(t, wengyuan, clerk, "DELETE", "/letters/x", nil); r.status != 200 {
				t.Fatalf("drop the first of two: %d %s", r.status, r.body)
			}
			continue
		}
		if after := w.state(t, wengyuan); after != before {
			t.Fatalf("%s left %s, was %s", bad.what, after, before)
		}
	}

	// A start failing late in its transaction takes the record and the
	// receipt with it.
	before = w.state(t, wengyuan)
	w.engine.failing(errs.Invalid("refused", "the start failed after the record was written"))
	if r := w.do(t, wengyuan, citizenCaller, "POST", "/submit/late", letter("late", nil)); r.status != 400 || !strings.HasPrefix(r.body, "invalid") {
		t.Errorf("a start failing after the hook: %d %s", r.status, r.body)
	}
	if after := w.state(t, wengyuan); after != before {
		t.Fatalf("a start failing after the hook left %s, was %s", after, before)
	}
	w.engine.failing(nil)

	// Wengyuan's request's services, kept by the plugin, reach nothing
	// in Lechang's request.
	w.do(t, wengyuan, citizenCaller, "POST", "/keep/x", nil)
	if r := w.do(t, lechang, citizenCaller, "POST", "/replay/x", letter("x", nil)); r.status != 400 || !strings.HasPrefix(r.body, "denied") {
		t.Errorf("a kept capability of Wengyuan: %d %s", r.status, r.body)
	}
	if after := w.state(t, wengyuan); after != before || w.state(t, lechang) != lechangBefore {
		t.Fatalf("refused submissions changed the counties: %s and %s", after, w.state(t, lechang))
	}

	next := decodeAs[sdk.Submitted](t, w.do(t, wengyuan, citizenCaller, "POST", "/submit/L9", letter("L9", nil)))
	year, seq, _ := strings.Cut(first.Receipt.Number, "-")
	var n int
	fmt.Sscan(seq, &n)
	// L1 took the first number, the receipt of "gone" the second, the
	// twice-submitted letter's first the third.
	if want := fmt.Sprintf("%s-%06d", year, n+3); next.Receipt.Number != want {
		t.Errorf("the next submission is numbered %s, want %s", next.Receipt.Number, want)
	}
}

// TestSubmissionsAtOnceTakeEveryNumberOnce: citizens submitting at once,
// eight at a time, get consecutive numbers, none twice, each in its
// record. Each also creates a further record beside the others': records
// created at once never make deadlock victims (a read locking the gap
// where each goes would, until the retries ran out).
func TestSubmissionsAtOnceTakeEveryNumberOnce(t *testing.T) {
	t.Parallel()
	w := newInboxWorld(t)
	var (
		mu      sync.Mutex
		numbers = map[string]bool{}
		wg      sync.WaitGroup
	)
	for worker := range 8 {
		wg.Go(func() {
			for i := range 10 {
				id := fmt.Sprintf("w%d-%d", worker, i)
				r := w.do(t, wengyuan, citizenCaller, "POST", "/submit/"+id, sdk.Submission{Document: map[string]any{}, NumberField: "number",
					Workflow: "letter", Start: sdk.StartOptions{Title: "来信", SubjectUnitID: 3},
					Also: []sdk.RecordPut{{Collection: "letters", ID: "copy-" + id, Document: map[string]any{}}}})
				var got sdk.Submitted
				if r.status != 200 || json.Unmarshal([]byte(r.body), &got) != nil {
					t.Errorf("%s: %d %s", id, r.status, r.body)
					return
				}
				mu.Lock()
				numbers[got.Receipt.Number] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(numbers) != 80 {
		t.Errorf("80 submissions took %d numbers", len(numbers))
	}
	if s := w.state(t, wengyuan); s != "160 records, 80 index rows, 80 receipts, 80 numbers, 0 audit entries" {
		t.Errorf("after 80 submissions: %s", s)
	}
}

// The year's first receipt inserts its counter's row: if that
// transaction rolls back with other submissions waiting for the row,
// InnoDB picks deadlock victims among them; the host runs a victim's
// transaction again, and every submission is numbered.
func TestSubmissionsWaitingForTheYearsFirstNumberWhoseTakerRollsBackAreNumbered(t *testing.T) {
	t.Parallel()
	w := newInboxWorld(t)
	ctx := context.Background()
	year := time.Now().In(time.FixedZone("CST", 8*60*60)).Year()
	holding, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	t.Cleanup(unblock)
	first := make(chan error, 1)
	go func() {
		first <- w.f.deps.Router.InTenantTx(ctx, wengyuan, func(ctx context.Context, tx *sqlx.Tx) error {
			if _, err := tx.ExecContext(ctx, "INSERT INTO receipt_counters (year, last_seq) VALUES (?, 1)", year); err != nil {
				return err
			}
			close(holding)
			<-release
			return errors.New("rolled back")
		})
	}()
	select {
	case <-holding:
	case err := <-first:
		t.Fatalf("the first taker never held the counter: %v", err)
	}
	var (
		mu  sync.Mutex
		got []string
		wg  sync.WaitGroup
	)
	for i := range 3 {
		wg.Go(func() {
			workflow := map[bool]string{true: "letter"}[i == 0]
			s := sdk.Submission{Document: map[string]any{}, NumberField: "number", Workflow: workflow}
			if workflow != "" {
				s.Start = sdk.StartOptions{Title: "来信", SubjectUnitID: 3}
			}
			r := w.do(t, wengyuan, citizenCaller, "POST", fmt.Sprintf("/submit/l%d", i), s)
			var out sdk.Submitted
			if r.status != 200 || json.Unmarshal([]byte(r.body), &out) != nil {
				t.Errorf("submission %d: %d %s", i, r.status, r.body)
				return
			}
			mu.Lock()
			got = append(got, out.Receipt.Number)
			mu.Unlock()
		})
	}
	// Once all three wait for the counter's row, the first taker rolls
	// back.
	schema := registry.SchemaName(w.f.db.SchemaPrefix, wengyuan)
	for waiting := 0; waiting < 3; {
		time.Sleep(10 * time.Millisecond)
		if err := w.f.db.Server.GetContext(ctx, &waiting, "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB = ? AND COMMAND = 'Query' AND INFO LIKE 'INSERT INTO receipt_counters%'", schema); err != nil {
			t.Fatal(err)
		}
	}
	unblock()
	if err := <-first; err == nil || err.Error() != "rolled back" {
		t.Fatalf("the first taker: %v", err)
	}
	wg.Wait()
	slices.Sort(got)
	if want := []string{fmt.Sprintf("%d-000001", year), fmt.Sprintf("%d-000002", year), fmt.Sprintf("%d-000003", year)}; !slices.Equal(got, want) {
		t.Errorf("numbers %v, want %v", got, want)
	}
}

// TestASubmissionIsWrittenOnlyAgainstRecordsAsRead: a submission made
// against a record as read is written while the record is as read, and
// refused whole (sdk.ErrStale) once it changed, was deleted and created
// again at the same version, or is another county's record of the same
// id and version; the host names the feature and gives each county a
// key of its own, the same from one request to the next.
func TestASubmissionIsWrittenOnlyAgainstRecordsAsRead(t *testing.T) {
	t.Parallel()
	w := newInboxWorld(t)
	type told struct {
		County          string `json:"county"`
		ChecksUnchanged bool   `json:"checks_unchanged"`
	}
	first, again := decodeAs[told](t, w.do(t, wengyuan, citizenCaller, "GET", "/county", nil)), decodeAs[told](t, w.do(t, wengyuan, citizenCaller, "GET", "/county", nil))
	other := decodeAs[told](t, w.do(t, lechang, citizenCaller, "GET", "/county", nil))
	if !first.ChecksUnchanged || first.County == "" || first != again || other.County == first.County || strings.Contains(first.County, "wengyuan") {
		t.Fatalf("the host told %+v, then %+v, and %+v in another county", first, again, other)
	}
	clerk := &pluginv1.Caller{Kind: "account", Login: "clerk", AccountId: 7, UnitId: 3, Roles: []string{"clerk"}}
	rules := decodeAs[sdk.Record](t, w.do(t, wengyuan, clerk, "PUT", "/letters/rules", nil))
	theirs := decodeAs[sdk.Record](t, w.do(t, lechang, clerk, "PUT", "/letters/rules", nil))
	if rules.Version != 1 || theirs.Version != 1 {
		t.Fatalf("the rules %+v and %+v", rules, theirs)
	}
	against := func(r sdk.Record, workflow string) sdk.Submission {
		s := sdk.Submission{Document: map[string]any{"status": "received"}, NumberField: "number", Unchanged: []sdk.RecordVersion{sdk.VersionOf(r)}}
		if workflow != "" {
			s.Workflow, s.InstanceField, s.Start = workflow, "instance_id", sdk.StartOptions{Title: "群众来信", SubjectUnitID: 3}
		}
		return s
	}
	for _, flow := range []string{"", "letter"} {
		got := decodeAs[sdk.Submitted](t, w.do(t, wengyuan, citizenCaller, "POST", "/submit/L-"+flow, against(rules, flow)))
		if got.Receipt.Number == "" {
			t.Fatalf("a submission against the rules as read: %+v", got)
		}
	}
	refused := func(county, id string, s sdk.Submission, status int) {
		t.Helper()
		before := w.state(t, county)
		if r := w.do(t, county, citizenCaller, "POST", "/submit/"+id, s); r.status != status {
			t.Errorf("%s in %s: %d %s, want %d", id, county, r.status, r.body, status)
		}
		if after := w.state(t, county); after != before {
			t.Errorf("%s in %s left %s, was %s", id, county, after, before)
		}
	}
	// Another county's record of the same id and version is not the one read.
	refused(lechang, "L2", against(rules, ""), 409)
	refused(lechang, "L2", against(rules, "letter"), 409)
	if r := w.do(t, wengyuan, clerk, "DELETE", "/letters/rules", nil); r.status != 200 {
		t.Fatalf("delete the rules: %d %s", r.status, r.body)
	}
	refused(wengyuan, "L3", against(rules, ""), 409)
	again1 := decodeAs[sdk.Record](t, w.do(t, wengyuan, clerk, "PUT", "/letters/rules", nil))
	if again1.Version != rules.Version {
		t.Fatalf("the rules created again at version %d", again1.Version)
	}
	refused(wengyuan, "L3", against(rules, ""), 409)
	refused(wengyuan, "L3", against(rules, "letter"), 409)
	decodeAs[sdk.Submitted](t, w.do(t, wengyuan, citizenCaller, "POST", "/submit/L3", against(again1, "letter")))
	// A public request's start refused with its submission is given
	// back: the request hands it in again and starts its one workflow.
	starts := len(w.engine.starts())
	if again := decodeAs[sdk.Submitted](t, w.do(t, wengyuan, citizenCaller, "POST", "/retry/L5", against(rules, "letter"))); again.Outcome == nil ||
		len(w.engine.starts()) != starts+2 {
		t.Fatalf("handed in again: %+v after %d starts asked", again, len(w.engine.starts())-starts)
	}
	own := against(again1, "")
	own.Unchanged[0].ID = "L4"
	refused(wengyuan, "L4", own, 400)
	stale := against(again1, "")
	stale.Unchanged[0].Version = 0
	refused(wengyuan, "L4", stale, 400)
}
