package host_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/plugins/host"
	"github.com/countycloud/countycloud/plugins/sdk"
	"github.com/countycloud/countycloud/plugins/sdk/proto/pluginv1"
	"github.com/countycloud/countycloud/tenants/registry"
)

// The docket module is the test plugin of the numbers service: PUT
// /docs/{id}?counter=&field=&version= writes the body as a numbered
// record, GET /docs/{id} reads one, GET /docs?no=N queries the number.
var docketManifest = sdk.Manifest{ID: "docket", Name: "登记簿", Vendor: "CountyCloud tests", Version: "1.0.0", Protocol: sdk.ProtocolVersion,
	Collections: map[string]sdk.Collection{"docs": {Indexed: []string{"no", "unit"}}}}

func init() {
	if os.Getenv(pluginEnv) == "docket" {
		m := docketManifest
		if id := os.Getenv(pluginIDEnv); id != "" {
			m.ID = id
		}
		sdk.Serve(m, docket{})
		os.Exit(0)
	}
}

type docket struct{}

// numberedAnswer is what the docket module answers a numbered put with.
type numberedAnswer struct {
	Record sdk.Record `json:"record"`
	Number int64      `json:"number"`
}

func (docket) Handle(ctx context.Context, r *sdk.Request) (*sdk.Response, error) {
	id := strings.TrimPrefix(r.Path, "/docs/")
	q, _ := url.ParseQuery(r.Query)
	var (
		out any
		err error
	)
	switch {
	case r.Method == "PUT":
		version, _ := strconv.ParseInt(q.Get("version"), 10, 64)
		var a numberedAnswer
		a.Record, a.Number, err = r.Host.PutNumbered(ctx, "docs", id, version, json.RawMessage(r.Body), sdk.Numbering{Counter: q.Get("counter"), Field: q.Get("field")})
		out = a
	case r.Method == "GET" && r.Path == "/docs":
		var page sdk.Page
		page, err = r.Host.Query(ctx, "docs", sdk.Query{Where: map[string]string{"no": q.Get("no")}})
		out = page.Records
	case r.Method == "GET":
		out, err = r.Host.Get(ctx, "docs", id)
	}
	if errors.Is(err, sdk.ErrBusy) {
		return &sdk.Response{Status: 503, Body: []byte(err.Error())}, nil
	}
	if err != nil {
		return &sdk.Response{Status: 400, Body: []byte(err.Error())}, nil
	}
	body, _ := json.Marshal(out)
	return &sdk.Response{Body: body}, nil
}

// docketPut asks the docket module of p to write doc as record id,
// numbered from counter into field "no", and retries while the host is
// busy (it serves a plugin four calls at once; a refused call takes no
// number).
func docketPut(t *testing.T, p *host.Process, county string, caller *pluginv1.Caller, id, counter string, version int64, doc string) answered {
	t.Helper()
	query := url.Values{"counter": {counter}, "field": {"no"}, "version": {strconv.FormatInt(version, 10)}}.Encode()
	for {
		resp, err := p.Handle(context.Background(), county, &pluginv1.HandleRequest{Method: "PUT", Path: "/docs/" + id, Query: query, Body: []byte(doc), Caller: caller, RequestId: "put " + id})
		if err != nil {
			t.Errorf("put %s in %s: %v", id, county, err)
			return answered{}
		}
		if resp.GetStatus() != 503 {
			return answered{int(resp.GetStatus()), string(resp.GetBody())}
		}
	}
}

// answered is the docket module's answer.
type answered struct {
	status int
	body   string
}

// docketNumber is the number a successful put answered; otherwise the
// test fails (from any goroutine) and it is 0.
func docketNumber(t *testing.T, r answered) int64 {
	t.Helper()
	var a numberedAnswer
	if r.status != 200 || json.Unmarshal([]byte(r.body), &a) != nil {
		t.Errorf("numbered put = %d %s", r.status, r.body)
		return 0
	}
	var doc struct {
		No int64 `json:"no"`
	}
	if err := json.Unmarshal(a.Record.Document, &doc); err != nil || doc.No != a.Number {
		t.Errorf("the record's document %s does not hold its number %d", a.Record.Document, a.Number)
		return 0
	}
	return a.Number
}

func launchDocket(t testing.TB, f fixture, id string) *host.Process {
	t.Helper()
	f.bin.Manifest, f.bin.Env = docketManifest, []string{pluginEnv + "=docket"}
	if id != "" {
		f.bin.Manifest.ID = id
		f.bin.Env = append(f.bin.Env, pluginIDEnv+"="+id)
	}
	p, err := host.Launch(context.Background(), f.bin, f.deps)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

func TestTwentyNumberedPutsAtOnceTakeOneToTwentyEachOnce(t *testing.T) {
	t.Parallel()
	f := setup(t)
	p := launchDocket(t, f, "")
	var (
		mu  sync.Mutex
		got = map[int64]string{}
		wg  sync.WaitGroup
	)
	for i := range 20 {
		wg.Go(func() {
			id := fmt.Sprintf("d%02d", i)
			n := docketNumber(t, docketPut(t, p, wengyuan, nil, id, "docno/12/2026", 0, `{"title":"关于印发<通知>的通知","unit":"12"}`))
			mu.Lock()
			defer mu.Unlock()
			if other, ok := got[n]; ok {
				t.Errorf("number %d given to %s and %s", n, other, id)
			}
			got[n] = id
		})
	}
	wg.Wait()
	for n := int64(1); n <= 20; n++ {
		if _, ok := got[n]; !ok {
			t.Errorf("number %d missing from %v", n, got)
		}
	}
	// The number is indexed like any field the manifest indexes, and
	// comes first in the document (the SDK encodes the rest as
	// encoding/json does).
	status, body := call(t, p, wengyuan, "GET", "/docs", "no=7", "")
	var found []sdk.Record
	if status != 200 || json.Unmarshal([]byte(body), &found) != nil || len(found) != 1 || found[0].ID != got[7] {
		t.Fatalf("query number 7 = %d %s, want %s", status, body, got[7])
	}
	if want := `{"no":7,"title":"关于印发\u003c通知\u003e的通知","unit":"12"}`; string(found[0].Document) != want {
		t.Errorf("document = %s, want %s", found[0].Document, want)
	}
	// A replacement numbered again takes the next number, in place of
	// what the field held.
	if n := docketNumber(t, docketPut(t, p, wengyuan, nil, got[7], "docno/12/2026", 1, `{"no":7,"title":"改"}`)); n != 21 {
		t.Errorf("renumbered as %d, want 21", n)
	}
}

func TestANumberedPutThatFailsTakesNoNumber(t *testing.T) {
	t.Parallel()
	f := setup(t)
	p := launchDocket(t, f, "")
	const counter = "docno/3/2026"
	if n := docketNumber(t, docketPut(t, p, wengyuan, nil, "a", counter, 0, `{"title":"一"}`)); n != 1 {
		t.Fatalf("first number %d", n)
	}
	// Under the limit as sent, one byte over it once numbered 2
	// ("no":2, is 7 bytes).
	almost := `{"title":"` + strings.Repeat("x", host.MaxDocumentBytes-len(`{"title":""}`)-6) + `"}`
	for what, c := range map[string]struct {
		id, counter string
		version     int64
		doc, want   string
	}{
		"a record that exists":             {"a", counter, 0, `{}`, "changed meanwhile"},
		"at a version it is not":           {"a", counter, 5, `{}`, "changed meanwhile"},
		"a record that is not there":       {"b", counter, 1, `{}`, "not found"},
		"a document that is no object":     {"b", counter, 0, `[1,2]`, "invalid: document is not a JSON object"},
		"a document that is null":          {"b", counter, 0, `null`, "invalid: document is not a JSON object"},
		"a document over the limit":        {"b", counter, 0, `{"t":"` + strings.Repeat("x", host.MaxDocumentBytes) + `"}`, "invalid: document is"},
		"a document over it with a number": {"b", counter, 0, almost, "invalid: document is 1048577 bytes with its number"},
		"an indexed field it cannot index": {"b", counter, 0, `{"unit":{"id":3}}`, "invalid: indexed field unit"},
		"a counter with a space":           {"b", "docno 3", 0, `{}`, "invalid: counter"},
		"a counter starting with a slash":  {"b", "/docno", 0, `{}`, "invalid: counter"},
		"a counter too long":               {"b", strings.Repeat("c", 129), 0, `{}`, "invalid: counter"},
		"no counter":                       {"b", "", 0, `{}`, "invalid: counter"},
		"a negative version":               {"b", counter, -1, `{}`, "invalid: version"},
		"a record id that is none":         {"b/c", counter, 0, `{}`, "invalid: record id"},
	} {
		if r := docketPut(t, p, wengyuan, nil, c.id, c.counter, c.version, c.doc); r.status != 400 || !strings.HasPrefix(r.body, c.want) {
			t.Errorf("%s: %d %.200s, want %s", what, r.status, r.body, c.want)
		}
	}
	for _, field := range []string{"", "1no", "no.x", "文号", strings.Repeat("f", 65)} {
		query := url.Values{"counter": {counter}, "field": {field}}.Encode()
		resp, err := p.Handle(context.Background(), wengyuan, &pluginv1.HandleRequest{Method: "PUT", Path: "/docs/b", Query: query, Body: []byte(`{}`), RequestId: "r"})
		if err != nil || resp.GetStatus() != 400 || !strings.HasPrefix(string(resp.GetBody()), "invalid: field") {
			t.Errorf("field %q: %v %v", field, resp, err)
		}
	}
	if status, body := call(t, p, wengyuan, "GET", "/docs/b", "", ""); status != 400 || !strings.HasPrefix(body, "not found") {
		t.Errorf("a record of a failed put: %d %s", status, body)
	}
	if n := docketNumber(t, docketPut(t, p, wengyuan, nil, "b", counter, 0, `{"title":"二"}`)); n != 2 {
		t.Errorf("the number after the failures is %d, want 2", n)
	}
}

// TestARefusedNumberedCreateLeavesTheCounterWhereItWas: a create of a
// record that exists, one whose document is over the limit once
// numbered, and one whose index row cannot be written (a row of the
// same key left behind) are refused, each as what it is, and write
// nothing: the counter stays where it was, and the next put takes the
// next number.
func TestARefusedNumberedCreateLeavesTheCounterWhereItWas(t *testing.T) {
	t.Parallel()
	f := setup(t)
	p := launchDocket(t, f, "")
	ctx := context.Background()
	const counter = "docno/5/2026"
	counted := func() int64 {
		t.Helper()
		var value int64
		err := f.deps.Router.InTenant(ctx, wengyuan, func(ctx context.Context, conn *sqlx.Conn) error {
			return conn.GetContext(ctx, &value, "SELECT value FROM plugin_counters WHERE plugin = 'docket' AND counter = ?", counter)
		})
		if err != nil {
			t.Fatal(err)
		}
		return value
	}
	if n := docketNumber(t, docketPut(t, p, wengyuan, nil, "a", counter, 0, `{"title":"一"}`)); n != 1 {
		t.Fatalf("first number %d", n)
	}
	err := f.deps.Router.InTenantTx(ctx, wengyuan, func(ctx context.Context, tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO plugin_record_fields (plugin, collection, record_id, field, value) VALUES ('docket', 'docs', 'orphan', 'unit', '9')")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	almost := `{"title":"` + strings.Repeat("x", host.MaxDocumentBytes-len(`{"title":""}`)-6) + `"}`
	for what, c := range map[string]struct{ id, doc, want string }{
		"a record that exists":                {"a", `{"title":"重复"}`, "changed meanwhile"},
		"a document over the limit numbered":  {"b", almost, "invalid: document is 1048577 bytes with its number"},
		"an index row that cannot be written": {"orphan", `{"unit":"12"}`, "the host could not serve the call"},
	} {
		if r := docketPut(t, p, wengyuan, nil, c.id, counter, 0, c.doc); r.status != 400 || !strings.Contains(r.body, c.want) {
			t.Errorf("%s: %d %.200s, want %s", what, r.status, r.body, c.want)
		}
		if got := counted(); got != 1 {
			t.Errorf("%s: the counter is at %d, want 1", what, got)
		}
	}
	for _, id := range []string{"b", "orphan"} {
		if status, body := call(t, p, wengyuan, "GET", "/docs/"+id, "", ""); status != 400 || !strings.HasPrefix(body, "not found") {
			t.Errorf("the record of a refused create %s: %d %s", id, status, body)
		}
	}
	if n := docketNumber(t, docketPut(t, p, wengyuan, nil, "b", counter, 0, `{"title":"二"}`)); n != 2 || counted() != 2 {
		t.Errorf("the number after the refusals is %d, the counter at %d; want 2", n, counted())
	}
}

func TestCountersAreTheirCountysAndTheirPluginsOwn(t *testing.T) {
	t.Parallel()
	f := setup(t)
	p := launchDocket(t, f, "")
	other := launchDocket(t, f, "docket2")
	const counter = "docno/12/2026"
	for i := range 2 {
		docketNumber(t, docketPut(t, p, wengyuan, nil, fmt.Sprintf("w%d", i), counter, 0, `{"title":"翁源"}`))
	}
	// A citizen on a public route numbers as a clerk does: records are
	// open to anonymous callers, within the county and the module.
	anonymous := &pluginv1.Caller{Kind: host.CallerAnonymous, Login: "anonymous", Address: "198.51.100.1"}
	if n := docketNumber(t, docketPut(t, p, wengyuan, anonymous, "w2", counter, 0, `{}`)); n != 3 {
		t.Errorf("Wengyuan's third number is %d", n)
	}
	if n := docketNumber(t, docketPut(t, p, lechang, nil, "l0", counter, 0, `{}`)); n != 1 {
		t.Errorf("Lechang's first number of the same counter is %d", n)
	}
	if n := docketNumber(t, docketPut(t, other, wengyuan, nil, "w0", counter, 0, `{}`)); n != 1 {
		t.Errorf("another plugin's first number of a counter of the same name is %d", n)
	}
	// Lechang reaches none of Wengyuan's numbered records, and the other
	// plugin none of this one's.
	if status, body := call(t, p, lechang, "GET", "/docs/w1", "", ""); status != 400 || !strings.HasPrefix(body, "not found") {
		t.Errorf("Wengyuan's record from Lechang: %d %s", status, body)
	}
	if status, body := call(t, p, lechang, "GET", "/docs", "no=2", ""); status != 200 || body != "[]" {
		t.Errorf("Wengyuan's number 2 from Lechang: %d %s", status, body)
	}
	if status, body := call(t, other, wengyuan, "GET", "/docs/w1", "", ""); status != 400 || !strings.HasPrefix(body, "not found") {
		t.Errorf("this plugin's record from the other: %d %s", status, body)
	}
	var counters []string
	err := f.deps.Router.InTenant(context.Background(), wengyuan, func(ctx context.Context, conn *sqlx.Conn) error {
		return conn.SelectContext(ctx, &counters, "SELECT CONCAT(plugin, ' ', counter, ' ', value) FROM plugin_counters ORDER BY plugin")
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"docket docno/12/2026 3", "docket2 docno/12/2026 1"}; !slices.Equal(counters, want) {
		t.Errorf("Wengyuan's counters: %q, want %q", counters, want)
	}
}

// A counter's first taker that rolls back, with others waiting for the
// new counter's row, leaves InnoDB to pick deadlock victims among them;
// the host runs a victim's transaction again, and every put is numbered.
func TestNumberedPutsWaitingForANewCounterWhoseFirstTakerRollsBackAreNumbered(t *testing.T) {
	t.Parallel()
	f := setup(t)
	p := launchDocket(t, f, "")
	ctx := context.Background()
	const counter = "docno/1/2027"
	holding, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	t.Cleanup(unblock)
	first := make(chan error, 1)
	go func() {
		first <- f.deps.Router.InTenantTx(ctx, wengyuan, func(ctx context.Context, tx *sqlx.Tx) error {
			if _, err := tx.ExecContext(ctx, "INSERT INTO plugin_counters (plugin, counter, value) VALUES ('docket', ?, 1)", counter); err != nil {
				return err
			}
			close(holding)
			<-release
			return errors.New("rolled back")
		})
	}()
	<-holding
	var (
		mu  sync.Mutex
		got []int64
		wg  sync.WaitGroup
	)
	for i := range 3 {
		wg.Go(func() {
			n := docketNumber(t, docketPut(t, p, wengyuan, nil, fmt.Sprintf("d%d", i), counter, 0, `{}`))
			mu.Lock()
			got = append(got, n)
			mu.Unlock()
		})
	}
	// Once all three wait for the counter's row, the first taker rolls
	// back.
	schema := registry.SchemaName(f.db.SchemaPrefix, wengyuan)
	for waiting := 0; waiting < 3; {
		time.Sleep(10 * time.Millisecond)
		if err := f.db.Server.GetContext(ctx, &waiting, "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE COMMAND = 'Query' AND INFO LIKE CONCAT('INSERT INTO `', ?, '`.plugin_counters%')", schema); err != nil {
			t.Fatal(err)
		}
	}
	unblock()
	if err := <-first; err == nil || err.Error() != "rolled back" {
		t.Fatalf("the first taker: %v", err)
	}
	wg.Wait()
	slices.Sort(got)
	if !slices.Equal(got, []int64{1, 2, 3}) {
		t.Errorf("numbers %v, want 1, 2, 3", got)
	}
}
