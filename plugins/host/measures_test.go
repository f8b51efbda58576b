package host_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/audit"
	"github.com/countycloud/countycloud/plugins/host"
	"github.com/countycloud/countycloud/plugins/sdk"
)

// The meter module records the measures its manifest declares, as its
// requests say, from a real plugin process.
var meterManifest = sdk.Manifest{ID: "meter", Name: "计量", Vendor: "CountyCloud tests", Version: "1.0.0", Protocol: sdk.ProtocolVersion,
	Measures: []sdk.MeasureDef{
		{ID: "meter.readings", Label: sdk.Text{ZH: "抄表数", EN: "Readings"}, Counts: sdk.Text{ZH: "一次抄表", EN: "one reading"}},
		{ID: "meter.days", Label: sdk.Text{ZH: "运行天数", EN: "Days run"}, Counts: sdk.Text{ZH: "一天", EN: "one day"}, CountyWide: true},
	}}

func init() {
	if os.Getenv(pluginEnv) == "meter" {
		sdk.Serve(meterManifest, &meter{})
		os.Exit(0)
	}
}

type meter struct {
	mu   sync.Mutex
	kept *sdk.Host
}

// meterCall is what a request to the meter asks: record M, with the
// host services of this request, those kept from an earlier one
// (Kept), or a capability it got hold of (Capability).
type meterCall struct {
	M          sdk.Measure
	Kept       bool
	Capability string
}

func (m *meter) Handle(ctx context.Context, r *sdk.Request) (*sdk.Response, error) {
	switch r.Path {
	case "/keep":
		m.mu.Lock()
		m.kept = r.Host
		m.mu.Unlock()
		return &sdk.Response{Status: 204}, nil
	case "/record":
		var in meterCall
		if err := json.Unmarshal(r.Body, &in); err != nil {
			return nil, err
		}
		h := r.Host
		if in.Kept {
			m.mu.Lock()
			h = m.kept
			m.mu.Unlock()
		}
		if in.Capability != "" {
			forged := *r.Host
			field := reflect.ValueOf(&forged).Elem().FieldByName("capability")
			reflect.NewAt(field.Type(), unsafe.Pointer(field.UnsafeAddr())).Elem().SetString(in.Capability)
			h = &forged
		}
		counted, err := h.RecordMeasure(ctx, in.M)
		switch {
		case errors.Is(err, sdk.ErrInvalid):
			return &sdk.Response{Status: 400, Body: []byte("invalid: " + err.Error())}, nil
		case errors.Is(err, sdk.ErrConflict):
			return &sdk.Response{Status: 409, Body: []byte("conflict: " + err.Error())}, nil
		case errors.Is(err, sdk.ErrDenied):
			return &sdk.Response{Status: 403, Body: []byte("denied: " + err.Error())}, nil
		case err != nil:
			return nil, err
		}
		if counted {
			return &sdk.Response{Body: []byte("counted")}, nil
		}
		return &sdk.Response{Body: []byte("already")}, nil
	}
	return &sdk.Response{Status: 404}, nil
}

// TestAPluginRecordsItsDeclaredMeasuresOnceInTheCountyOfItsRequest: a
// recording counts once however often it is retried; an undeclared
// measure, another module's, a unit of another county, another plugin's
// capability and a capability of another county's request are refused
// and change nothing.
func TestAPluginRecordsItsDeclaredMeasuresOnceInTheCountyOfItsRequest(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.bin.Manifest, f.bin.Env = meterManifest, []string{pluginEnv + "=meter"}
	ctx := context.Background()
	now := time.Now().UTC()
	for county, units := range map[string]string{wengyuan: "(1, '县政务服务中心', 'ZWZX', 1, ?, ?), (2, '县民政局', 'MZJ', 2, ?, ?)", lechang: "(5, '乐昌市民政局', 'MZJ', 1, ?, ?)"} {
		args := []any{now, now}
		if county == wengyuan {
			args = append(args, now, now)
		}
		if err := f.deps.Router.InTenant(ctx, county, func(ctx context.Context, conn *sqlx.Conn) error {
			_, err := conn.ExecContext(ctx, "INSERT INTO units (id, name, code, sort_order, created_at, updated_at) VALUES "+units, args...)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	p := launch(t, f)
	record := func(county string, in meterCall) (int, string) {
		t.Helper()
		body, _ := json.Marshal(in)
		return call(t, p, county, "POST", "/record", "", string(body))
	}
	reading := sdk.Measure{ID: "meter.readings", UnitID: 2, Day: "2026-06-05", Delta: 3, Key: "reading-1"}
	for i, want := range []string{"counted", "already", "already"} {
		if status, body := record(wengyuan, meterCall{M: reading}); status != 200 || body != want {
			t.Fatalf("recording %d: %d %s, want %s", i+1, status, body, want)
		}
	}
	if status, body := record(wengyuan, meterCall{M: sdk.Measure{ID: "meter.days", Key: "today"}}); status != 200 || body != "counted" {
		t.Fatalf("a county-wide measure, today, one: %d %s", status, body)
	}
	call(t, p, wengyuan, "POST", "/keep", "", "")
	notes, revoke := f.deps.Capabilities.Issue(wengyuan, "notes", "notes-request", audit.Actor{Kind: "account", Login: "clerk"})
	defer revoke()
	for _, tc := range []struct {
		what   string
		county string
		in     meterCall
		status int
		says   string
	}{
		{"an undeclared measure", wengyuan, meterCall{M: sdk.Measure{ID: "meter.other", UnitID: 1, Key: "k"}}, 400, "not one plugin meter's manifest declares"},
		{"another module's measure", wengyuan, meterCall{M: sdk.Measure{ID: "oa.documents.sent", UnitID: 1, Key: "k"}}, 400, "not one plugin meter's manifest declares"},
		{"a unit of another county", wengyuan, meterCall{M: sdk.Measure{ID: "meter.readings", UnitID: 5, Key: "k"}}, 400, "unknown_unit"},
		{"a county-wide measure for a unit", wengyuan, meterCall{M: sdk.Measure{ID: "meter.days", UnitID: 1, Key: "k"}}, 400, "whole county"},
		{"a per-unit measure without a unit", wengyuan, meterCall{M: sdk.Measure{ID: "meter.readings", Key: "k"}}, 400, "per unit"},
		{"no key", wengyuan, meterCall{M: sdk.Measure{ID: "meter.readings", UnitID: 1}}, 400, "idempotency key"},
		{"a key too long", wengyuan, meterCall{M: sdk.Measure{ID: "meter.readings", UnitID: 1, Key: strings.Repeat("k", 129)}}, 400, "idempotency key"},
		{"a negative delta", wengyuan, meterCall{M: sdk.Measure{ID: "meter.readings", UnitID: 1, Delta: -1, Key: "k"}}, 400, "delta"},
		{"a delta too large", wengyuan, meterCall{M: sdk.Measure{ID: "meter.readings", UnitID: 1, Delta: 1_000_001, Key: "k"}}, 400, "delta"},
		{"not a day", wengyuan, meterCall{M: sdk.Measure{ID: "meter.readings", UnitID: 1, Day: "2026-13-01", Key: "k"}}, 400, "day"},
		{"the key again with other figures", wengyuan, meterCall{M: sdk.Measure{ID: "meter.readings", UnitID: 1, Day: "2026-06-05", Delta: 3, Key: "reading-1"}}, 409, "idempotency_key_reused"},
		{"another plugin's capability", wengyuan, meterCall{M: sdk.Measure{ID: "meter.readings", UnitID: 1, Key: "k"}, Capability: notes}, 403, "not meter"},
		{"Wengyuan's capability in Lechang's request", lechang, meterCall{M: sdk.Measure{ID: "meter.readings", UnitID: 1, Key: "k"}, Kept: true}, 403, "denied"},
	} {
		if status, body := record(tc.county, tc.in); status != tc.status || !strings.Contains(body, tc.says) {
			t.Errorf("%s: %d %s, want %d saying %q", tc.what, status, body, tc.status, tc.says)
		}
	}
	figures := func(county string) string {
		var rows []string
		if err := f.deps.Router.InTenant(ctx, county, func(ctx context.Context, conn *sqlx.Conn) error {
			return conn.SelectContext(ctx, &rows, "SELECT CONCAT(measure, '/', unit_id, '/', grain, '=', value) FROM measure_values WHERE measure = 'meter.readings' ORDER BY grain")
		}); err != nil {
			t.Fatal(err)
		}
		return strings.Join(rows, " ")
	}
	if got, want := figures(wengyuan), "meter.readings/2/d=3 meter.readings/2/h=3 meter.readings/2/m=3"; got != want {
		t.Errorf("Wengyuan's readings: %s, want %s", got, want)
	}
	if got := figures(lechang); got != "" {
		t.Errorf("Lechang's readings: %s, want none", got)
	}
}

// TestACountyReadsTheMeasuresOfItsModulesWithTheirLabels: the measures
// of a module a county enabled are its own, with their labels, and stay
// readable once it disables the module; another county has none of them.
func TestACountyReadsTheMeasuresOfItsModulesWithTheirLabels(t *testing.T) {
	t.Parallel()
	f := setup(t)
	dir := t.TempDir()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	script := "#!/bin/sh\n" + pluginEnv + "=meter exec '" + self + "'\n"
	if err := os.WriteFile(filepath.Join(dir, "meter"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	sum, err := host.FileSHA256(filepath.Join(dir, "meter"))
	if err != nil {
		t.Fatal(err)
	}
	svc := host.NewService(host.NewMySQLRepository(f.db.Control), anyCounty{}, f.deps, fastOptions(), dir, nil)
	t.Cleanup(svc.Manager().Close)
	ctx := context.Background()
	if _, err := svc.Register(ctx, "operator", host.RegisterInput{File: "meter", SHA256: hex.EncodeToString(sum)}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Enable(ctx, wengyuan, "meter", "admin", host.EnableInput{}); err != nil {
		t.Fatal(err)
	}
	want := "meter.readings 抄表数/Readings 一次抄表/one reading per unit; meter.days 运行天数/Days run 一天/one day county-wide"
	show := func(county string) string {
		t.Helper()
		defs, err := svc.Measures(ctx, county)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, d := range defs {
			scope := "per unit"
			if d.CountyWide {
				scope = "county-wide"
			}
			if d.Module != "meter" {
				t.Errorf("%s is declared by %q", d.ID, d.Module)
			}
			out = append(out, d.ID+" "+d.Label.ZH+"/"+d.Label.EN+" "+d.Counts.ZH+"/"+d.Counts.EN+" "+scope)
		}
		return strings.Join(out, "; ")
	}
	if got := show(wengyuan); got != want {
		t.Errorf("Wengyuan's measures:\n got %s\nwant %s", got, want)
	}
	if got := show(lechang); got != "" {
		t.Errorf("Lechang, which enabled nothing, has measures: %s", got)
	}
	if _, err := svc.Disable(ctx, wengyuan, "meter", "admin"); err != nil {
		t.Fatal(err)
	}
	if got := show(wengyuan); got != want {
		t.Errorf("Wengyuan's measures once it disabled the module:\n got %s\nwant %s", got, want)
	}
}
