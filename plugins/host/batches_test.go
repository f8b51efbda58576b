package host_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"unsafe"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/audit"
	"github.com/countycloud/countycloud/plugins/host"
	"github.com/countycloud/countycloud/plugins/sdk"
	"github.com/countycloud/countycloud/plugins/sdk/proto/pluginv1"
)

// The ledger module writes batches of records as its requests say, from
// a real plugin process: POST /batch {"puts":[…],"capability":"…"}
// answers the records written, GET /entries/{id} reads one, GET
// /entries?unit=N queries the index.
var ledgerManifest = sdk.Manifest{ID: "ledger", Name: "台账", Vendor: "CountyCloud tests", Version: "1.0.0", Protocol: sdk.ProtocolVersion,
	Collections: map[string]sdk.Collection{"entries": {Indexed: []string{"unit"}}, "notes": {}}}

func init() {
	if os.Getenv(pluginEnv) == "ledger" {
		m := ledgerManifest
		if id := os.Getenv(pluginIDEnv); id != "" {
			m.ID = id
		}
		sdk.Serve(m, ledger{})
		os.Exit(0)
	}
}

type ledger struct{}

type ledgerPut struct {
	Collection string          `json:"collection"`
	ID         string          `json:"id"`
	Version    int64           `json:"version"`
	Document   json.RawMessage `json:"document"`
}

type ledgerBatch struct {
	Puts []ledgerPut `json:"puts"`
	// Capability, if set, is one the plugin got hold of, used in place
	// of its request's.
	Capability string `json:"capability"`
	// Brief writes the batch with PutRecordsBrief.
	Brief bool `json:"brief"`
}

func (ledger) Handle(ctx context.Context, r *sdk.Request) (*sdk.Response, error) {
	var (
		out any
		err error
	)
	switch {
	case r.Method == "POST" && r.Path == "/batch":
		var in ledgerBatch
		if err := json.Unmarshal(r.Body, &in); err != nil {
			return nil, err
		}
		h := r.Host
		if in.Capability != "" {
			forged := *r.Host
			field := reflect.ValueOf(&forged).Elem().FieldByName("capability")
			reflect.NewAt(field.Type(), unsafe.Pointer(field.UnsafeAddr())).Elem().SetString(in.Capability)
			h = &forged
		}
		puts := make([]sdk.RecordPut, len(in.Puts))
		for i, p := range in.Puts {
			puts[i] = sdk.RecordPut{Collection: p.Collection, ID: p.ID, Version: p.Version, Document: p.Document}
		}
		if in.Brief {
			out, err = h.PutRecordsBrief(ctx, puts)
		} else {
			out, err = h.PutRecords(ctx, puts)
		}
	case r.Method == "GET" && r.Path == "/entries":
		var page sdk.Page
		page, err = r.Host.Query(ctx, "entries", sdk.Query{Where: map[string]string{"unit": strings.TrimPrefix(r.Query, "unit=")}, Limit: 200})
		out = page.Records
	case r.Method == "GET":
		out, err = r.Host.Get(ctx, "entries", strings.TrimPrefix(r.Path, "/entries/"))
	}
	for _, e := range []struct {
		kind   error
		status int
	}{{sdk.ErrInvalid, 400}, {sdk.ErrDenied, 403}, {sdk.ErrNotFound, 404}, {sdk.ErrConflict, 409}, {sdk.ErrBusy, 503}} {
		if errors.Is(err, e.kind) {
			return &sdk.Response{Status: e.status, Body: []byte(err.Error())}, nil
		}
	}
	if err != nil {
		return nil, err
	}
	body, _ := json.Marshal(out)
	return &sdk.Response{Body: body}, nil
}

// ledgerWorld is the ledger module, and another plugin of its code, on a
// host that knows its requests' callers.
type ledgerWorld struct {
	fixture
	p, other *host.Process
	callers  *callers
	requests int
}

func newLedgerWorld(t *testing.T) *ledgerWorld {
	t.Helper()
	w := &ledgerWorld{fixture: setup(t), callers: &callers{by: map[string]audit.Actor{}}}
	w.deps.Callers = w.callers
	w.bin.Manifest, w.bin.Env = ledgerManifest, []string{pluginEnv + "=ledger"}
	w.p = launch(t, w.fixture)
	w.bin.Manifest.ID, w.bin.Env = "ledger2", append(w.bin.Env, pluginIDEnv+"=ledger2")
	w.other = launch(t, w.fixture)
	return w
}

// call makes clerk's request in county to p.
func (w *ledgerWorld) call(t *testing.T, p *host.Process, county, method, path, query string, body any) (int, string) {
	t.Helper()
	data, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	w.requests++
	id := fmt.Sprintf("req-%d", w.requests)
	w.callers.set(county, id, zhang)
	resp, err := p.Handle(context.Background(), county, &pluginv1.HandleRequest{Method: method, Path: path, Query: query, Body: data, RequestId: id})
	if err != nil {
		t.Fatalf("%s %s in %s: %v", method, path, county, err)
	}
	return int(resp.GetStatus()), string(resp.GetBody())
}

func (w *ledgerWorld) batch(t *testing.T, p *host.Process, county string, b ledgerBatch) (int, string) {
	t.Helper()
	return w.call(t, p, county, "POST", "/batch", "", b)
}

// entries are the plugin's records of county whose ids start with
// prefix as "collection/id@version document", in order.
func (w *ledgerWorld) entries(t *testing.T, county, plugin, prefix string) []string {
	t.Helper()
	var rows []string
	if err := w.deps.Router.InTenant(context.Background(), county, func(ctx context.Context, conn *sqlx.Conn) error {
		return conn.SelectContext(ctx, &rows, "SELECT CONCAT(collection, '/', record_id, '@', version, ' ', document) FROM plugin_records WHERE plugin = ? AND record_id LIKE CONCAT(?, '%') ORDER BY collection, record_id", plugin, prefix)
	}); err != nil {
		t.Fatal(err)
	}
	return rows
}

func put(collection, id string, version int64, doc string) ledgerPut {
	return ledgerPut{Collection: collection, ID: id, Version: version, Document: json.RawMessage(doc)}
}

// TestBatchesOfRecords runs the batched writes' tests on one plugin
// process of the ledger and one of another plugin, each test on records
// of its own.
func TestBatchesOfRecords(t *testing.T) {
	t.Parallel()
	w := newLedgerWorld(t)
	// The first test reads the whole trail and every record of unit 3.
	t.Run("WrittenWholeInOneCallIndexedAndAudited", func(t *testing.T) { aBatchIsWrittenWholeInOneCallIndexedAndAudited(t, w) })
	t.Run("OneRecordRefusedWritesNothing", func(t *testing.T) { aBatchWithOneRecordRefusedWritesNothing(t, w) })
	t.Run("TheirCountysAndTheirPluginsOwn", func(t *testing.T) { batchesAreTheirCountysAndTheirPluginsOwn(t, w) })
	t.Run("OpenToAnonymousCallers", func(t *testing.T) { aBatchOfAnAnonymousCallerIsAuditedAgainstThem(t, w) })
}

// aBatchOfAnAnonymousCallerIsAuditedAgainstThem: a public route's
// request writes a batch as it writes a record, and the trail names the
// anonymous caller.
func aBatchOfAnAnonymousCallerIsAuditedAgainstThem(t *testing.T, w *ledgerWorld) {
	anonymous := audit.Actor{Kind: host.CallerAnonymous, Login: host.CallerAnonymous}
	w.callers.set(wengyuan, "public-1", anonymous)
	body, _ := json.Marshal(ledgerBatch{Puts: []ledgerPut{put("entries", "p-1", 0, `{"unit":"9"}`), put("entries", "p-2", 0, `{"unit":"9"}`)}})
	resp, err := w.p.Handle(context.Background(), wengyuan, &pluginv1.HandleRequest{Method: "POST", Path: "/batch", Body: body, RequestId: "public-1",
		Caller: &pluginv1.Caller{Kind: host.CallerAnonymous, Login: host.CallerAnonymous, Address: "198.51.100.1"}})
	if err != nil || resp.GetStatus() != 200 {
		t.Fatalf("an anonymous caller's batch: %v %v", resp, err)
	}
	if got := w.entries(t, wengyuan, "ledger", "p-"); len(got) != 2 {
		t.Fatalf("records: %q", got)
	}
	var last string
	if err := w.deps.Router.InTenant(context.Background(), wengyuan, func(ctx context.Context, conn *sqlx.Conn) error {
		return conn.GetContext(ctx, &last, "SELECT CONCAT(actor_kind, ' ', actor_login, ' ', action, ' ', request_id) FROM audit_log WHERE action LIKE 'ledger.%' ORDER BY id DESC LIMIT 1")
	}); err != nil {
		t.Fatal(err)
	}
	if want := "anonymous anonymous ledger.records.batch public-1"; last != want {
		t.Errorf("the trail's entry %q, want %q", last, want)
	}
}

// aBatchIsWrittenWholeInOneCallIndexedAndAudited: a batch creates and
// replaces records of two collections at once; the index answers for
// them; the trail holds one entry per batch, against the caller.
func aBatchIsWrittenWholeInOneCallIndexedAndAudited(t *testing.T, w *ledgerWorld) {
	status, body := w.batch(t, w.p, wengyuan, ledgerBatch{Puts: []ledgerPut{
		put("entries", "a", 0, `{"unit":"3","name":"甲"}`), put("entries", "b", 0, `{"unit":"3","name":"乙"}`), put("notes", "a", 0, `{"text":"注"}`),
	}})
	var written []sdk.Record
	if status != 200 || json.Unmarshal([]byte(body), &written) != nil || len(written) != 3 || written[1].ID != "b" || written[1].Version != 1 || written[2].Collection != "notes" {
		t.Fatalf("first batch: %d %s", status, body)
	}
	status, body = w.batch(t, w.p, wengyuan, ledgerBatch{Puts: []ledgerPut{
		put("entries", "b", 1, `{"unit":"4","name":"乙改"}`), put("entries", "c", 0, `{"unit":"4","name":"丙"}`),
	}})
	if status != 200 || json.Unmarshal([]byte(body), &written) != nil || written[0].Version != 2 || !written[0].CreatedAt.Before(written[0].UpdatedAt) && !written[0].CreatedAt.Equal(written[0].UpdatedAt) {
		t.Fatalf("second batch: %d %s", status, body)
	}
	if written[0].Document == nil || written[1].Document == nil {
		t.Fatalf("a batch's records came back without their documents: %s", body)
	}
	status, body = w.batch(t, w.p, wengyuan, ledgerBatch{Brief: true, Puts: []ledgerPut{
		put("notes", "a", 1, `{"text":"注改"}`), put("notes", "b", 0, `{"text":"注二"}`),
	}})
	var brief []sdk.Record
	if status != 200 || json.Unmarshal([]byte(body), &brief) != nil || len(brief) != 2 || brief[0].Version != 2 || brief[1].Version != 1 ||
		strings.Count(body, `"document":null`) != 2 || brief[1].CreatedAt.IsZero() || !brief[1].UpdatedAt.Equal(brief[1].CreatedAt) {
		t.Fatalf("a brief batch: %d %s", status, body)
	}
	want := []string{`entries/a@1 {"unit":"3","name":"甲"}`, `entries/b@2 {"unit":"4","name":"乙改"}`, `entries/c@1 {"unit":"4","name":"丙"}`, `notes/a@2 {"text":"注改"}`, `notes/b@1 {"text":"注二"}`}
	if got := w.entries(t, wengyuan, "ledger", ""); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("records:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for unit, ids := range map[string]string{"3": "a", "4": "b c"} {
		_, body := w.call(t, w.p, wengyuan, "GET", "/entries", "unit="+unit, nil)
		var found []sdk.Record
		if err := json.Unmarshal([]byte(body), &found); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range found {
			got = append(got, r.ID)
		}
		if strings.Join(got, " ") != ids {
			t.Errorf("unit %s: %v, want %s", unit, got, ids)
		}
	}
	var trail []string
	if err := w.deps.Router.InTenant(context.Background(), wengyuan, func(ctx context.Context, conn *sqlx.Conn) error {
		return conn.SelectContext(ctx, &trail, "SELECT CONCAT(actor_login, ' ', action, ' ', object_type, ' ', object_id, ' ', source) FROM audit_log WHERE action LIKE 'ledger.%' ORDER BY id")
	}); err != nil {
		t.Fatal(err)
	}
	if want := []string{"zhang ledger.records.batch records collections plugin:ledger", "zhang ledger.records.batch records entries plugin:ledger", "zhang ledger.records.batch records notes plugin:ledger"}; strings.Join(trail, "\n") != strings.Join(want, "\n") {
		t.Errorf("trail %q, want %q", trail, want)
	}
}

// aBatchWithOneRecordRefusedWritesNothing: whichever record of a batch
// the host refuses, and whatever the batch's size or caller, none of the
// batch is written, and the message names the record.
func aBatchWithOneRecordRefusedWritesNothing(t *testing.T, w *ledgerWorld) {
	if status, body := w.batch(t, w.p, wengyuan, ledgerBatch{Puts: []ledgerPut{put("entries", "r-a", 0, `{"unit":"5"}`)}}); status != 200 {
		t.Fatalf("setup: %d %s", status, body)
	}
	before := w.entries(t, wengyuan, "ledger", "r-")
	fresh := put("entries", "r-new", 0, `{"unit":"5"}`)
	many := make([]ledgerPut, host.MaxBatchRecords+1)
	for i := range many {
		many[i] = put("entries", fmt.Sprintf("r-m%04d", i), 0, `{}`)
	}
	big := `{"text":"` + strings.Repeat("x", host.MaxDocumentBytes-20) + `"}`
	bigs := []ledgerPut{put("notes", "r-1", 0, big), put("notes", "r-2", 0, big), put("notes", "r-3", 0, `{"text":"one byte too many"}`)}
	notes, revoke := w.deps.Capabilities.Issue(wengyuan, "notes", "notes-request", audit.Actor{Kind: "account", Login: "clerk"})
	defer revoke()
	lechangs, revokeLechang := w.deps.Capabilities.Issue(lechang, "ledger", "lechang-request", audit.Actor{Kind: "account", Login: "clerk"})
	defer revokeLechang()
	w.callers.set(lechang, "lechang-request", zhang)
	for _, tc := range []struct {
		what   string
		batch  ledgerBatch
		status int
		says   string
	}{
		{"a record that exists", ledgerBatch{Puts: []ledgerPut{fresh, put("entries", "r-a", 0, `{}`)}}, 409, "record entries/r-a exists"},
		{"a stale version", ledgerBatch{Puts: []ledgerPut{fresh, put("entries", "r-a", 2, `{}`)}}, 409, "at version 1, not 2"},
		{"a record that is not there", ledgerBatch{Puts: []ledgerPut{fresh, put("entries", "r-z", 1, `{}`)}}, 404, "no record entries/r-z"},
		{"the same record twice", ledgerBatch{Puts: []ledgerPut{fresh, fresh}}, 400, "record 1 (entries/r-new): the batch holds the record twice"},
		{"a document that is no object", ledgerBatch{Puts: []ledgerPut{fresh, put("entries", "r-x", 0, `[1]`)}}, 400, "record 1 (entries/r-x): document is not a JSON object"},
		{"an indexed field it cannot index", ledgerBatch{Puts: []ledgerPut{fresh, put("entries", "r-x", 0, `{"unit":{"id":1}}`)}}, 400, "indexed field unit"},
		{"a bad record id", ledgerBatch{Puts: []ledgerPut{fresh, put("entries", "r-x/y", 0, `{}`)}}, 400, "record id"},
		{"a negative version", ledgerBatch{Puts: []ledgerPut{fresh, put("entries", "r-x", -1, `{}`)}}, 400, "negative"},
		{"too many records", ledgerBatch{Puts: many}, 400, "at most 1000 records"},
		{"documents over the limit together", ledgerBatch{Puts: bigs}, 400, "over 2097152 bytes together"},
		{"no record", ledgerBatch{}, 400, "at least one record"},
		{"another plugin's capability", ledgerBatch{Puts: []ledgerPut{fresh}, Capability: notes}, 403, "not ledger"},
		{"another county's capability", ledgerBatch{Puts: []ledgerPut{fresh}, Capability: lechangs}, 200, ""},
	} {
		status, body := w.batch(t, w.p, wengyuan, tc.batch)
		if status != tc.status || !strings.Contains(body, tc.says) {
			t.Errorf("%s: %d %.300s, want %d saying %q", tc.what, status, body, tc.status, tc.says)
		}
	}
	if got := w.entries(t, wengyuan, "ledger", "r-"); strings.Join(got, "\n") != strings.Join(before, "\n") {
		t.Errorf("Wengyuan's records after the refusals:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(before, "\n"))
	}
	// A capability of Lechang's request writes in Lechang, never in
	// Wengyuan, whichever county's request carried it.
	if got := w.entries(t, lechang, "ledger", "r-"); len(got) != 1 || !strings.HasPrefix(got[0], "entries/r-new@1") {
		t.Errorf("Lechang's records: %q", got)
	}
	// A host that cannot name the caller of a request writes no batch.
	resp, err := w.p.Handle(context.Background(), wengyuan, &pluginv1.HandleRequest{Method: "POST", Path: "/batch", Body: []byte(`{"puts":[{"collection":"entries","id":"r-q","document":{}}]}`), RequestId: "unknown"})
	if err != nil || resp.GetStatus() != 403 || !strings.Contains(string(resp.GetBody()), "no caller") {
		t.Errorf("an unknown caller's batch: %v %v", resp, err)
	}
}

// batchesAreTheirCountysAndTheirPluginsOwn: the same ids written by
// another county and by another plugin are records of their own; neither
// reads nor replaces this one's.
func batchesAreTheirCountysAndTheirPluginsOwn(t *testing.T, w *ledgerWorld) {
	b := ledgerBatch{Puts: []ledgerPut{put("entries", "i-a", 0, `{"unit":"1","of":"翁源"}`)}}
	for _, c := range []struct {
		p      *host.Process
		county string
	}{{w.p, wengyuan}, {w.p, lechang}, {w.other, wengyuan}} {
		if status, body := w.batch(t, c.p, c.county, b); status != 200 {
			t.Fatalf("a first batch: %d %s", status, body)
		}
	}
	// Lechang's replacement at version 1 replaces Lechang's record only.
	if status, body := w.batch(t, w.p, lechang, ledgerBatch{Puts: []ledgerPut{put("entries", "i-a", 1, `{"unit":"1","of":"乐昌"}`)}}); status != 200 {
		t.Fatalf("Lechang's replacement: %d %s", status, body)
	}
	if got := w.entries(t, wengyuan, "ledger", "i-"); len(got) != 1 || got[0] != `entries/i-a@1 {"unit":"1","of":"翁源"}` {
		t.Errorf("Wengyuan's record: %q", got)
	}
	if got := w.entries(t, lechang, "ledger", "i-"); len(got) != 1 || got[0] != `entries/i-a@2 {"unit":"1","of":"乐昌"}` {
		t.Errorf("Lechang's record: %q", got)
	}
	if got := w.entries(t, wengyuan, "ledger2", "i-"); len(got) != 1 || got[0] != `entries/i-a@1 {"unit":"1","of":"翁源"}` {
		t.Errorf("the other plugin's record: %q", got)
	}
}
