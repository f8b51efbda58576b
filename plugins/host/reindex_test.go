package host_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/plugins/host"
	"github.com/countycloud/countycloud/plugins/sdk/proto/pluginv1"
)

// indexRows is county's plugin_record_fields, a row a string.
func indexRows(t *testing.T, f fixture, county string) []string {
	t.Helper()
	var rows []string
	err := f.deps.Router.InTenant(context.Background(), county, func(ctx context.Context, conn *sqlx.Conn) error {
		return conn.SelectContext(ctx, &rows, "SELECT CONCAT(plugin, '/', collection, '/', record_id, ' ', field, '=', value) FROM plugin_record_fields ORDER BY 1")
	})
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestMovingToAVersionThatIndexesOtherFieldsReindexesTheCountysRecords(t *testing.T) {
	t.Parallel()
	f := setup(t)
	var out syncBuffer
	f.deps.Log = slog.New(slog.NewTextHandler(&out, nil))
	dir := t.TempDir()
	svc := host.NewService(host.NewMySQLRepository(f.db.Control), anyCounty{}, f.deps, fastOptions(), dir, nil)
	t.Cleanup(svc.Manager().Close)
	ctx := context.Background()
	// 1.0.0 indexes unit, as notesManifest does; 2.0.0 kind instead;
	// 2.1.0 kind too.
	for _, v := range []struct{ version, indexed string }{{"1.0.0", "unit"}, {"2.0.0", "kind"}, {"2.1.0", "kind"}} {
		file, sum := pluginScript(t, dir, v.version, pluginIndexedEnv+"="+v.indexed)
		if _, err := svc.Register(ctx, "operator", host.RegisterInput{File: file, SHA256: sum}); err != nil {
			t.Fatal(err)
		}
	}
	enable := func(county, version string) {
		t.Helper()
		if _, err := svc.Enable(ctx, county, "notes", "admin", host.EnableInput{Version: version}); err != nil {
			t.Fatalf("enable %s in %s: %v", version, county, err)
		}
	}
	serve := func(county, method, path, query, body string) (int, string) {
		t.Helper()
		resp, err := svc.Serve(ctx, county, "notes", &pluginv1.HandleRequest{Method: method, Path: path, Query: query, Body: []byte(body), RequestId: method + path + query})
		if err != nil {
			t.Fatalf("%s %s?%s in %s: %v", method, path, query, county, err)
		}
		return int(resp.GetStatus()), string(resp.GetBody())
	}
	found := func(county, query string, want ...string) {
		t.Helper()
		status, body := serve(county, "GET", "/notes", query, "")
		for _, id := range want {
			if status != 200 || !strings.Contains(body, `"id":"`+id+`"`) {
				t.Errorf("%s in %s = %d %s, want %s", query, county, status, body, id)
			}
		}
	}
	for _, county := range []string{wengyuan, lechang} {
		enable(county, "1.0.0")
	}
	// Under 1.0.0 a kind is not indexed, so none is refused: not n2's
	// object nor n4's string over 255 bytes.
	for id, doc := range map[string]string{
		"n1": `{"unit":"办公室","kind":"建议"}`,
		"n2": `{"unit":"财政局","kind":{"nested":true}}`,
		"n3": `{"unit":"办公室","kind":"投诉"}`,
		"n4": `{"kind":"` + strings.Repeat("长", 100) + `"}`,
	} {
		if status, body := serve(wengyuan, "PUT", "/notes/"+id, "", doc); status != 200 {
			t.Fatalf("put %s = %d %s", id, status, body)
		}
	}
	if status, body := serve(lechang, "PUT", "/notes/l1", "", `{"unit":"办公室","kind":"建议"}`); status != 200 {
		t.Fatalf("put in Lechang = %d %s", status, body)
	}
	// Enough more records, written as 1.0.0 would, that the reindex
	// takes several batches.
	const bulk = 1100
	err := f.deps.Router.InTenantTx(ctx, wengyuan, func(ctx context.Context, tx *sqlx.Tx) error {
		args := make([]any, 0, 4*bulk)
		for i := range bulk {
			args = append(args, fmt.Sprintf("b%04d", i), `{"kind":"批量"}`, time.Now(), time.Now())
		}
		_, err := tx.ExecContext(ctx, "INSERT INTO plugin_records (plugin, collection, record_id, version, document, created_at, updated_at) VALUES "+
			strings.Repeat(", ('notes', 'notes', ?, 1, ?, ?, ?)", bulk)[2:], args...)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	lechangBefore := indexRows(t, f, lechang)
	if len(lechangBefore) != 1 {
		t.Fatalf("Lechang's index: %q", lechangBefore)
	}

	// A county that disabled the module and enables the next version
	// had its records indexed for the version it disabled.
	if _, err := svc.Disable(ctx, wengyuan, "notes", "admin"); err != nil {
		t.Fatal(err)
	}
	enable(wengyuan, "2.0.0")
	found(wengyuan, "kind=建议", "n1")
	found(wengyuan, "kind=投诉", "n3")
	if status, body := serve(wengyuan, "GET", "/notes", "unit=办公室", ""); status != 400 || !strings.Contains(body, "not indexed") {
		t.Errorf("query on unit under 2.0.0 = %d %s, want not indexed", status, body)
	}
	rows := indexRows(t, f, wengyuan)
	var kinds int
	for _, r := range rows {
		switch {
		case strings.Contains(r, " unit="):
			t.Errorf("a row of unit, no longer indexed, is left: %s", r)
		case strings.Contains(r, "/n2 "), strings.Contains(r, "/n4 "):
			t.Errorf("a row of an unindexable value: %s", r)
		case strings.HasSuffix(r, " kind=批量"):
			kinds++
		}
	}
	if kinds != bulk || len(rows) != bulk+2 {
		t.Errorf("%d rows in Wengyuan's index, %d of them the bulk records' of %d", len(rows), kinds, bulk)
	}
	if log := out.String(); !strings.Contains(log, "county="+wengyuan+" plugin=notes version=2.0.0 collection=notes records=1104") ||
		!strings.Contains(log, `unindexable=2 examples="[n2 n4]"`) {
		t.Errorf("the log does not count the records reindexed and those that could not be:\n%s", log)
	}
	// What the reindex passes over, a put refuses.
	if status, body := serve(wengyuan, "PUT", "/notes/n5", "", `{"kind":["建议"]}`); status != 400 || !strings.Contains(body, "must be a string") {
		t.Errorf("put of an unindexable kind under 2.0.0 = %d %s, want refused", status, body)
	}
	// Lechang, still on 1.0.0, is untouched.
	if after := indexRows(t, f, lechang); !slices.Equal(after, lechangBefore) {
		t.Errorf("Lechang's index changed with Wengyuan's version: %q, was %q", after, lechangBefore)
	}
	found(lechang, "unit=办公室", "l1")

	// A version that indexes the same fields leaves the index be.
	before := strings.Count(out.String(), "records reindexed")
	enable(wengyuan, "2.1.0")
	if n := strings.Count(out.String(), "records reindexed"); n != before {
		t.Errorf("moving to a version that indexes the same fields reindexed: %d log lines, were %d", n, before)
	}

	// Going back, while enabled, indexes unit again.
	enable(wengyuan, "1.0.0")
	found(wengyuan, "unit=办公室", "n1", "n3")
	found(wengyuan, "unit=财政局", "n2")
	if rows := indexRows(t, f, wengyuan); len(rows) != 3 {
		t.Errorf("Wengyuan's index under 1.0.0 again: %q", rows)
	}
	if after := indexRows(t, f, lechang); !slices.Equal(after, lechangBefore) {
		t.Errorf("Lechang's index changed with Wengyuan's version: %q, was %q", after, lechangBefore)
	}
}
