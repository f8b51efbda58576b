package registry_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/store"
	"github.com/countycloud/countycloud/core/store/storetest"
	"github.com/countycloud/countycloud/tenants/registry"
)

// TestAHoldMakesACountyReadOnlyUntilItIsLifted: a hold reaches the
// locator within its interval and refuses Wengyuan's writes while Lechang
// and Wengyuan's reads go on; holding again keeps the first hold, lifting
// restores the writes; each change, and only a change, is in the
// province's trail; bad input and a province are refused and change
// nothing.
func TestAHoldMakesACountyReadOnlyUntilItIsLifted(t *testing.T) {
	t.Parallel()
	db := storetest.New(t)
	svc := newService(db, store.TenantMigrations())
	ctx := context.Background()
	createShaoguan(t, svc)
	wy := mustCreate(t, svc, "gd.shaoguan.wengyuan", "翁源县")
	lc := mustCreate(t, svc, "gd.shaoguan.lechang", "乐昌市")
	src := &countingSource{MySQLRepository: registry.NewMySQLRepository(db.Control)}
	loc := registry.NewLocator(src, time.Minute)
	for range 100 {
		if err := loc.Writable(ctx, wy.Code); err != nil {
			t.Fatalf("before any hold: %v", err)
		}
	}
	if n := src.gets.Load(); n != 1 {
		t.Errorf("%d reads of the tenant for 100 checks, want 1: a write's check must cost no read of the control plane", n)
	}
	loc = registry.NewLocator(src, 50*time.Millisecond)

	held, err := svc.Hold(ctx, wy.Code, "  账户逾期未付（发票 in_1A2B） ")
	if err != nil || held.HeldSince == nil || held.HoldReason != "账户逾期未付（发票 in_1A2B）" || held.Status != registry.StatusReady {
		t.Fatalf("hold = %+v, %v", held, err)
	}
	waitFor(t, "the hold to reach the locator", func() bool { return loc.Writable(ctx, wy.Code) != nil })
	e := errs.As(loc.Writable(ctx, wy.Code))
	if e.Kind != errs.KindConflict || e.Code != registry.CodeBillingSuspended || !strings.HasPrefix(e.Message, "翁源县因账户欠费") || !strings.Contains(e.Message, "read-only") {
		t.Errorf("a held county's write: %+v", e)
	}
	if l, err := loc.Locate(ctx, wy.Code); err != nil || l.Schema != wy.Schema {
		t.Errorf("a held county is still located, to be read: %+v, %v", l, err)
	}
	if err := loc.Writable(ctx, lc.Code); err != nil {
		t.Errorf("another county while Wengyuan is held: %v", err)
	}

	again, err := svc.Hold(ctx, wy.Code, "另一个原因")
	if err != nil || !again.HeldSince.Equal(*held.HeldSince) || again.HoldReason != held.HoldReason {
		t.Errorf("holding again = %+v, %v; want the first hold kept", again, err)
	}
	if got, err := svc.Get(ctx, wy.Code); err != nil || got.HeldSince == nil || !got.HeldSince.Equal(*held.HeldSince) {
		t.Errorf("get a held county = %+v, %v", got, err)
	}

	for _, c := range []struct {
		what, code, reason, want string
	}{
		{"an empty reason", wy.Code, "  ", registry.CodeInvalidHoldReason},
		{"a reason with a control character", lc.Code, "欠费\x00", registry.CodeInvalidHoldReason},
		{"a reason too long", lc.Code, strings.Repeat("欠", registry.MaxHoldReasonLen+1), registry.CodeInvalidHoldReason},
		{"a bad code", "GD;drop", "欠费", registry.CodeInvalidCode},
		{"a county that does not exist", "gd.shaoguan.nowhere", "欠费", registry.CodeTenantNotFound},
		{"a city", "gd.shaoguan", "欠费", registry.CodeNotACounty},
	} {
		if _, err := svc.Hold(ctx, c.code, c.reason); errs.CodeOf(err) != c.want {
			t.Errorf("hold with %s: %v, want %s", c.what, err, c.want)
		}
	}
	if _, err := svc.Unhold(ctx, "gd"); errs.CodeOf(err) != registry.CodeNotACounty {
		t.Errorf("unhold a province: %v", err)
	}
	if got, _ := svc.Get(ctx, lc.Code); got.HeldSince != nil {
		t.Errorf("a refused hold held Lechang: %+v", got)
	}

	lifted, err := svc.Unhold(ctx, wy.Code)
	if err != nil || lifted.HeldSince != nil || lifted.HoldReason != "" {
		t.Fatalf("unhold = %+v, %v", lifted, err)
	}
	waitFor(t, "the lift to reach the locator", func() bool { return loc.Writable(ctx, wy.Code) == nil })
	if _, err := svc.Unhold(ctx, wy.Code); err != nil {
		t.Errorf("lifting again: %v", err)
	}
	for action, want := range map[string]int{"tenant.hold": 1, "tenant.unhold": 1} {
		if n := countRows(t, db, "SELECT COUNT(*) FROM "+db.ControlSchema+".audit_log WHERE action = ? AND object_id = ?", action, wy.Code); n != want {
			t.Errorf("%d %s entries in the province's trail, want %d", n, action, want)
		}
	}
}

// FuzzParseHoldReason: what ParseHoldReason accepts is trimmed and short
// enough; what it refuses it refuses as invalid_hold_reason.
func FuzzParseHoldReason(f *testing.F) {
	for _, s := range []string{"账户逾期未付", " 欠费 ", "", "\u202e欠费", "a\x00b", strings.Repeat("欠", 201)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		reason, err := registry.ParseHoldReason(s)
		if err != nil {
			if errs.CodeOf(err) != registry.CodeInvalidHoldReason {
				t.Fatalf("ParseHoldReason(%q): %v", s, err)
			}
			return
		}
		if reason != strings.TrimSpace(reason) || reason == "" || len([]rune(reason)) > registry.MaxHoldReasonLen {
			t.Fatalf("ParseHoldReason(%q) accepted %q", s, reason)
		}
	})
}
