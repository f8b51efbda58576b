package rollout_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/countycloud/countycloud/core/audit"
	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/core/store/storetest"
	"github.com/countycloud/countycloud/plugins/host"
	"github.com/countycloud/countycloud/tenants/calendar"
	"github.com/countycloud/countycloud/tenants/org"
	"github.com/countycloud/countycloud/tenants/provision/provisiontest"
	"github.com/countycloud/countycloud/tenants/registry"
	"github.com/countycloud/countycloud/tenants/rollout"
	"github.com/countycloud/countycloud/tenants/supervision"
)

// feedbackWorld is Wengyuan with a unit, its staff member and the OA
// module enabled, and a feedback tracker on a clock the test sets.
type feedbackWorld struct {
	tracker   *rollout.Feedback
	calendars *calendar.Service
	now       time.Time
	reporter  context.Context
}

func newFeedbackWorld(t *testing.T) *feedbackWorld {
	t.Helper()
	db := storetest.New(t)
	provisiontest.Registry(t, db, registry.CreateRequest{Code: wengyuan, Name: "翁源县"})
	router := provisiontest.Router(db, 0)
	calendars, err := calendar.NewService(router)
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		"INSERT INTO plugin_namespaces (name, owner, vendor, claimed_at, claimed_by) VALUES ('oa', 'plugin', 'CountyCloud', NOW(6), 'test')",
		"INSERT INTO tenant_modules (tenant_code, plugin_id, version, enabled, settings, updated_at, updated_by) VALUES ('" + wengyuan + "', 'oa', '1.0.0', TRUE, '{}', NOW(6), 'test')",
	} {
		if _, err := db.Control.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	units := org.NewService(router)
	ctx := operator(context.Background())
	unit, err := units.CreateUnit(ctx, wengyuan, org.UnitInput{Name: "发改局", Code: "FGJ"})
	if err != nil {
		t.Fatal(err)
	}
	staff, err := units.CreateAccount(ctx, wengyuan, org.AccountInput{Login: "fgstaff", Name: "发改局人员", UnitID: unit.ID})
	if err != nil {
		t.Fatal(err)
	}
	w := &feedbackWorld{calendars: calendars, now: time.Date(2026, 9, 4, 15, 0, 0, 0, time.FixedZone("CST", 8*3600))}
	sup := supervision.New(router, calendars, nil, nil, supervision.Options{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	w.tracker = rollout.NewFeedback(db.Control, router, host.NewMySQLRepository(db.Control), calendars, sup, rollout.DefaultFeedbackLimits(), func() time.Time { return w.now })
	p := auth.Principal{Kind: auth.KindAccount, ID: staff.ID, Login: "fgstaff", Tenant: wengyuan, Unit: unit.ID}
	w.reporter = audit.WithActor(auth.WithPrincipal(context.Background(), p), audit.Actor{Kind: string(auth.KindAccount), ID: staff.ID, Login: "fgstaff", Unit: unit.ID})
	return w
}

func day(t *time.Time) string {
	if t == nil {
		return "none"
	}
	return t.In(time.FixedZone("CST", 8*3600)).Format(time.DateOnly)
}

// TestAFeedbackStepsTimeLimitIsInTheCountysWorkingDays: reported on a
// Friday afternoon, an item is the IT office's to assign by the close of
// the second working day after; a Monday the county takes off moves that
// a day on. It turns yellow at the warn share of its working time and red
// when the time is up, and only then is it listed as overdue.
func TestAFeedbackStepsTimeLimitIsInTheCountysWorkingDays(t *testing.T) {
	t.Parallel()
	w := newFeedbackWorld(t)
	report := rollout.ReportInput{Module: "oa", Title: "收文无法登记", Description: "点击登记后提示错误"}
	item, err := w.tracker.Report(w.reporter, wengyuan, report)
	if err != nil {
		t.Fatal(err)
	}
	if day(item.DueAt) != "2026-09-08" || item.Level != supervision.Green {
		t.Errorf("reported on Friday 2026-09-04: due %s, %s", day(item.DueAt), item.Level)
	}
	off := false
	if _, err := w.calendars.SetOverride(operator(context.Background()), wengyuan, "2026-09-07", calendar.OverrideInput{Working: &off, Note: "调休"}); err != nil {
		t.Fatal(err)
	}
	later, err := w.tracker.Report(w.reporter, wengyuan, report)
	if err != nil {
		t.Fatal(err)
	}
	if day(later.DueAt) != "2026-09-09" {
		t.Errorf("with Monday off: due %s", day(later.DueAt))
	}
	for _, c := range []struct {
		at      time.Time
		level   supervision.Level
		overdue int
	}{
		{item.WarnAt.Add(-time.Minute), supervision.Green, 0},
		{*item.WarnAt, supervision.Yellow, 0},
		{*item.DueAt, supervision.Red, 1},
	} {
		w.now = c.at
		got, err := w.tracker.Get(w.reporter, wengyuan, item.ID)
		if err != nil {
			t.Fatal(err)
		}
		yes := true
		overdue, err := w.tracker.List(w.reporter, wengyuan, rollout.FeedbackFilter{Overdue: &yes, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if got.Level != c.level || len(overdue) != c.overdue {
			t.Errorf("at %s: %s, %d overdue; want %s, %d", c.at, got.Level, len(overdue), c.level, c.overdue)
		}
	}
}
