package measure_test

import (
	"context"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/core/measure"
)

var china = time.FixedZone("CST", 8*60*60)

// workflowCode is a workflow's code as core/workflow takes it.
var workflowCode = regexp.MustCompile(`^[a-z][a-z0-9_.-]{0,63}$`)

// TestEveryWorkflowHasAMeasureOfItsOwn: a code that can be part of an id
// is, under platform.workflow.completed.; one that cannot (a dash, a
// segment starting with a digit, an empty one) is named by its hash,
// elsewhere, so that no two workflows of a county share a measure.
func TestEveryWorkflowHasAMeasureOfItsOwn(t *testing.T) {
	t.Parallel()
	seen := map[string]string{}
	for code, want := range map[string]string{
		"oa.sending":            "platform.workflow.completed.oa.sending",
		"hotline.message":       "platform.workflow.completed.hotline.message",
		"leave_request":         "platform.workflow.completed.leave_request",
		"leave-request":         "platform.workflow.completed_x.h",
		"a.1st":                 "platform.workflow.completed_x.h",
		"a..b":                  "platform.workflow.completed_x.h",
		"a.":                    "platform.workflow.completed_x.h",
		strings.Repeat("a", 64): "platform.workflow.completed." + strings.Repeat("a", 64),
	} {
		id := measure.WorkflowCompleted(code)
		if !strings.HasPrefix(id, want) || (!strings.HasSuffix(want, ".h") && id != want) {
			t.Errorf("%s: %s, want %s…", code, id, want)
		}
		if err := measure.ValidID(id); err != nil {
			t.Errorf("%s: %v", code, err)
		}
		if other, ok := seen[id]; ok {
			t.Errorf("%s and %s share %s", code, other, id)
		}
		seen[id] = code
	}
	def := measure.WorkflowCompletedDef("oa.sending", "发文办理")
	if def.ID != "platform.workflow.completed.oa.sending" || def.Label.ZH != "办结数：发文办理" || def.Label.EN != "Completed: 发文办理" || def.Module != "" {
		t.Errorf("definition %+v", def)
	}
}

// FuzzWorkflowCompleted: every workflow code has a valid measure id, and
// only a code that is part of it verbatim is named without its hash.
func FuzzWorkflowCompleted(f *testing.F) {
	for _, code := range []string{"oa.sending", "leave-request", "a.1", "a..b", "x"} {
		f.Add(code)
	}
	f.Fuzz(func(t *testing.T, code string) {
		if !workflowCode.MatchString(code) {
			return
		}
		id := measure.WorkflowCompleted(code)
		if err := measure.ValidID(id); err != nil {
			t.Fatalf("%q: %v", code, err)
		}
		if verbatim := strings.TrimPrefix(id, "platform.workflow.completed."); verbatim != id && verbatim != code {
			t.Fatalf("%q named %s", code, id)
		}
	})
}

// TestSignInsCountLoginsAndEachAccountOncePerPeriod: a login counts once
// however often its count is retried; an account is active once a day,
// once a half-month and once a month, however many logins and renewals
// it makes; the other county counts none of it.
func TestSignInsCountLoginsAndEachAccountOncePerPeriod(t *testing.T) {
	t.Parallel()
	w := setup(t)
	ctx := context.Background()
	signIns := measure.NewSignIns(w.router)
	june := func(day, hour int) time.Time { return time.Date(2026, 6, day, hour, 0, 0, 0, china) }
	zhang := auth.Principal{Kind: auth.KindAccount, ID: 7, Tenant: wengyuan, Unit: 2}
	li := auth.Principal{Kind: auth.KindAccount, ID: 8, Tenant: wengyuan, Unit: 3}
	for _, step := range []struct {
		p       auth.Principal
		session string
		at      time.Time
		login   bool
	}{
		{zhang, "s-1", june(1, 9), true},
		{zhang, "s-1", june(1, 9), true}, // the same login's count, retried
		{zhang, "s-1", june(1, 11), false},
		{zhang, "s-2", june(1, 23), true}, // 23:00 in China, still the 1st
		{zhang, "s-2", june(2, 0), false}, // the 2nd in China (16:00 UTC the 1st)
		{zhang, "s-3", june(16, 9), true},
		{li, "s-9", june(16, 10), false},
	} {
		step.p.Session = step.session
		var err error
		if step.login {
			err = signIns.SignedIn(ctx, step.p, step.at)
		} else {
			err = signIns.Renewed(ctx, step.p, step.at)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	svc := measure.NewService(w.router, catalog{})
	for _, tc := range []struct{ query, want string }{
		{"measure=platform.logins,platform.accounts.active&from=2026-06-01&to=2026-06-30",
			"platform.accounts.active/2/2026-06-01=1 platform.accounts.active/2/2026-06-02=1 platform.accounts.active/2/2026-06-16=1 platform.accounts.active/3/2026-06-16=1 " +
				"platform.logins/2/2026-06-01=2 platform.logins/2/2026-06-16=1"},
		{"measure=platform.accounts.active&from=2026-06-01&to=2026-06-30&by=half_month",
			"platform.accounts.active/2/2026-06-01=1 platform.accounts.active/2/2026-06-16=1 platform.accounts.active/3/2026-06-16=1"},
		{"measure=platform.accounts.active,platform.logins&from=2026-06-01&to=2026-06-30&by=month",
			"platform.accounts.active/2/2026-06-01=1 platform.accounts.active/3/2026-06-01=1 platform.logins/2/2026-06-01=3"},
	} {
		v, err := url.ParseQuery(tc.query)
		if err != nil {
			t.Fatal(err)
		}
		q, err := measure.ParseQuery(v)
		if err != nil {
			t.Fatal(err)
		}
		report, err := svc.Read(admin, wengyuan, q)
		if err != nil {
			t.Fatal(err)
		}
		if got := figures(report); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.query, got, tc.want)
		}
		if report, err = svc.Read(admin, lechang, q); err != nil || len(report.Figures) != 0 {
			t.Errorf("Lechang's %s: %s %v", tc.query, figures(report), err)
		}
	}
	if err := signIns.SignedIn(ctx, auth.Principal{Kind: auth.KindAccount, ID: 7, Tenant: "gd.nowhere", Unit: 2, Session: "s-4"}, june(3, 9)); err == nil {
		t.Error("a login counted in a county that does not exist")
	}
}

// TestAnAccountsFirstLoginCountsOnceEver: Zhang's first day active is
// his first login, and no later login or renewal counts another; Li,
// whose only activity here is a renewal (his login came before first
// logins were counted), has his on that day. The other county counts
// none of it.
func TestAnAccountsFirstLoginCountsOnceEver(t *testing.T) {
	t.Parallel()
	w := setup(t)
	ctx := context.Background()
	signIns := measure.NewSignIns(w.router)
	at := func(month time.Month, day int) time.Time { return time.Date(2026, month, day, 9, 0, 0, 0, china) }
	zhang := auth.Principal{Kind: auth.KindAccount, ID: 7, Tenant: wengyuan, Unit: 2, Session: "s-1"}
	li := auth.Principal{Kind: auth.KindAccount, ID: 8, Tenant: wengyuan, Unit: 3, Session: "s-9"}
	for _, step := range []func() error{
		func() error { return signIns.SignedIn(ctx, zhang, at(6, 1)) },
		func() error { return signIns.SignedIn(ctx, zhang, at(6, 1)) },
		func() error { return signIns.Renewed(ctx, zhang, at(6, 2)) },
		func() error { return signIns.Renewed(ctx, li, at(6, 16)) },
		func() error { zhang.Session = "s-2"; return signIns.SignedIn(ctx, zhang, at(7, 1)) },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	w.wantFigures(t, map[string]string{
		"measure=platform.accounts.first_login&from=2026-06-01&to=2026-07-31":          "platform.accounts.first_login/2/2026-06-01=1 platform.accounts.first_login/3/2026-06-16=1",
		"measure=platform.accounts.first_login&from=2026-06-01&to=2026-07-31&by=month": "platform.accounts.first_login/2/2026-06-01=1 platform.accounts.first_login/3/2026-06-01=1",
	})
	if got := figures(w.read(t, admin, lechang, "measure=platform.accounts.first_login&from=2026-06-01&to=2026-07-31&by=month")); got != "" {
		t.Errorf("Lechang counts Wengyuan's first logins: %s", got)
	}
}

// FuzzAppendUnitValues: a report's list of "unit:value" pairs either
// reads as the numbers it spells, each pair a figure, or is refused;
// nothing panics.
func FuzzAppendUnitValues(f *testing.F) {
	for _, seed := range []string{"1:5,2:7,100:12", "3:1", "", "1:", ":1", "1:2,", "1:2,,3:4", "99999999999999999999:1", "1:-2", "1:2:3"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, list string) {
		figures, err := measure.AppendUnitValues(nil, measure.Figure{Measure: "a.b", Period: "2026-01-01"}, []byte(list))
		if err != nil {
			return
		}
		var b []string
		for _, fig := range figures {
			if fig.Unit < 0 || fig.Value < 0 || fig.Measure != "a.b" {
				t.Fatalf("%q: %+v", list, fig)
			}
			b = append(b, strconv.FormatInt(fig.Unit, 10)+":"+strconv.FormatInt(fig.Value, 10))
		}
		// Only leading zeros may differ from what was read.
		if again := strings.Join(b, ","); len(again) > len(list) || strings.Count(list, ",") != max(len(figures)-1, 0) {
			t.Fatalf("%q read as %q", list, again)
		}
	})
}

// TestAReportListReadsAsItsFigures: the server's list of a period reads
// as one figure per unit, and a list cut short or malformed is refused.
func TestAReportListReadsAsItsFigures(t *testing.T) {
	t.Parallel()
	base := measure.Figure{Measure: "a.b", Period: "2026-01-01"}
	figures, err := measure.AppendUnitValues(nil, base, []byte("1:5,2:7,100:12"))
	if err != nil || len(figures) != 3 || figures[2].Unit != 100 || figures[2].Value != 12 || figures[0].Period != "2026-01-01" {
		t.Fatalf("%+v %v", figures, err)
	}
	for _, bad := range []string{"1:", ":1", "1:2,", "1:2,,3:4", "1234567890123456789:1", "1:-2", "1:2:3", "1"} {
		if _, err := measure.AppendUnitValues(nil, base, []byte(bad)); err == nil {
			t.Errorf("%q was read", bad)
		}
	}
}
