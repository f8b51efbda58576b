package rollout_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/countycloud/countycloud/core/jobs"
	"github.com/countycloud/countycloud/tenants/rollout"
)

// automation notes what the rollout asked of the platform's services; a
// test makes it fail once.
type automation struct {
	mu    sync.Mutex
	calls []string
	fail  error
	// texted is what TextFirstPasswords answers.
	texted rollout.FirstPasswords
}

func (a *automation) do(call string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if fail := a.fail; fail != nil {
		a.fail = nil
		return fail
	}
	a.calls = append(a.calls, call)
	return nil
}

func (a *automation) EnableModules(_ context.Context, county string, modules []string) error {
	return a.do(fmt.Sprintf("enable %s %v", county, modules))
}

func (a *automation) SendTestNotices(_ context.Context, county string) error {
	return a.do("test notices " + county)
}

func (a *automation) AnnounceTrial(_ context.Context, county, first, last string) error {
	return a.do(fmt.Sprintf("trial %s %s..%s", county, first, last))
}

func (a *automation) TextFirstPasswords(_ context.Context, county string) (rollout.FirstPasswords, error) {
	if err := a.do("first passwords " + county); err != nil {
		return rollout.FirstPasswords{}, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.texted, nil
}

func (a *automation) EndOfTrial(_ context.Context, county, first, last string) error {
	return a.do(fmt.Sprintf("reports %s %s..%s", county, first, last))
}

func (a *automation) PhaseChanged(_ context.Context, c rollout.Change) error {
	return a.do(fmt.Sprintf("told %s %s→%s", c.County, c.From, c.To))
}

func (a *automation) took() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.calls)
}

func TestWhatHappensOnItsOwnHappensOnceEvenAfterAFailure(t *testing.T) {
	a := &automation{}
	w := newWorld(t, rollout.Options{Automation: a, Listeners: []rollout.Listener{a}, Reports: a})
	ctx := operator(context.Background())
	if _, err := w.svc.CreatePlan(ctx, wengyuan, rollout.PlanInput{Start: "2026-09-01", Trial: "2026-11-13", KeyUnits: keyUnits()}); err != nil {
		t.Fatal(err)
	}
	// The first sweep fails enabling the modules: nothing is marked, the
	// listeners hear nothing, and the next sweep does it, once.
	a.fail = errors.New("the plugin host is restarting")
	if err := w.svc.Sweep(context.Background()); err == nil {
		t.Fatal("a failed automatic task went unnoticed")
	}
	for range 2 {
		if err := w.svc.Sweep(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"enable " + wengyuan + " [approval disclosure oa]", "first passwords " + wengyuan, "told " + wengyuan + " →preparation"}
	if got := a.took(); !slices.Equal(got, want) {
		t.Errorf("preparation: %q, want %q", got, want)
	}
	st, err := w.svc.Status(ctx, wengyuan)
	if err != nil {
		t.Fatal(err)
	}
	if st.Proposed != "" {
		t.Errorf("proposed %q", st.Proposed)
	}

	// Testing and trial, let through by waivers: each phase's automatic
	// task is done when the sweep finds the county entered it.
	for _, phase := range []string{rollout.Preparation, rollout.Testing} {
		st, err := w.svc.Status(ctx, wengyuan)
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range st.Gate {
			if !g.Passed() {
				if _, err := w.svc.Waive(ctx, wengyuan, g.Task, "测试用豁免"); err != nil {
					t.Fatal(err)
				}
			}
		}
		if _, err := w.svc.Advance(ctx, wengyuan, phase); err != nil {
			t.Fatal(err)
		}
		if err := w.svc.Sweep(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	got := a.took()[3:]
	want = []string{"test notices " + wengyuan, "told " + wengyuan + " preparation→testing", "trial " + wengyuan + " 2026-11-13..2026-12-12", "told " + wengyuan + " testing→trial"}
	if !slices.Equal(got, want) {
		t.Errorf("testing and trial: %q, want %q", got, want)
	}

	// The trial ends on its date: not before its last day is over, then
	// once, its first try failing half-way.
	w.now = w.now.AddDate(0, 3, 11) // 2026-12-12, the trial's last day
	if err := w.svc.Sweep(context.Background()); err != nil || len(a.took()) != 7 {
		t.Fatalf("on the trial's last day: %v %q", err, a.took())
	}
	w.now = w.now.AddDate(0, 0, 1)
	a.fail = errors.New("the process was killed")
	if err := w.svc.Sweep(context.Background()); err == nil {
		t.Fatal("the killed sweep succeeded")
	}
	if st, _ := w.svc.Status(ctx, wengyuan); st.Proposed != "" || st.Phase != rollout.Trial {
		t.Errorf("after the kill: %+v", st)
	}
	for range 2 {
		if err := w.svc.Sweep(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if got := a.took()[7:]; !slices.Equal(got, []string{"reports " + wengyuan + " 2026-09-01..2026-12-12"}) {
		t.Errorf("the trial's end: %q", got)
	}
	st, err = w.svc.Status(ctx, wengyuan)
	if err != nil || st.Phase != rollout.Trial || st.Proposed != rollout.Formal {
		t.Fatalf("after the trial: %+v %v", st, err)
	}

	// An operator takes the proposal; formal operation sets the review's
	// day four months on.
	if _, err := w.svc.MarkDone(ctx, wengyuan, "usage_reports.handed_in", "13 份报告已归档"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.Advance(ctx, wengyuan, rollout.Trial); err != nil {
		t.Fatal(err)
	}
	if err := w.svc.Sweep(context.Background()); err != nil {
		t.Fatal(err)
	}
	st, err = w.svc.Status(ctx, wengyuan)
	if err != nil || st.Phase != rollout.Formal || st.Proposed != "" || st.ReviewOn != "2027-04-13" {
		t.Errorf("formal operation: %+v %v", st, err)
	}
	if got := a.took()[8:]; !slices.Equal(got, []string{"told " + wengyuan + " trial→formal"}) {
		t.Errorf("formal: %q", got)
	}
}

// A county imports its accounts after preparation started: the hourly job
// texts their first passwords while the county is in preparation, notes
// what it did, and leaves counties past that phase alone.
func TestFirstPasswordsAreTextedHourlyWhileThePhaseLasts(t *testing.T) {
	a := &automation{texted: rollout.FirstPasswords{Texted: 40, NoMobile: 3, Failed: 2, Problem: "SMS gateway: 503"}}
	w := newWorld(t, rollout.Options{Automation: a})
	ctx := operator(context.Background())
	if _, err := w.svc.CreatePlan(ctx, wengyuan, rollout.PlanInput{Start: "2026-09-01", Trial: "2026-11-13", KeyUnits: keyUnits()}); err != nil {
		t.Fatal(err)
	}
	if err := w.svc.FirstPasswordsJob(context.Background(), jobs.Job{}); err != nil {
		t.Fatal(err)
	}
	if got := a.took(); !slices.Equal(got, []string{"first passwords " + wengyuan}) {
		t.Errorf("in preparation: %q", got)
	}
	var note string
	if err := w.db.Control.Get(&note, "SELECT note FROM rollout_tasks_done WHERE county = ? AND task_id = 'credentials.texted'", wengyuan); err != nil {
		t.Fatal(err)
	}
	for _, says := range []string{"40", "无手机号 3", "失败 2", "SMS gateway: 503"} {
		if !strings.Contains(note, says) {
			t.Errorf("the task's note %q does not say %q", note, says)
		}
	}

	a.fail = errors.New("the county's schema is being migrated")
	if err := w.svc.FirstPasswordsJob(context.Background(), jobs.Job{}); err == nil {
		t.Error("a county that failed went unnoticed")
	}

	st, err := w.svc.Status(ctx, wengyuan)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range st.Gate {
		if !g.Passed() {
			if _, err := w.svc.Waive(ctx, wengyuan, g.Task, "测试用豁免"); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := w.svc.Advance(ctx, wengyuan, rollout.Preparation); err != nil {
		t.Fatal(err)
	}
	before := len(a.took())
	if err := w.svc.FirstPasswordsJob(context.Background(), jobs.Job{}); err != nil {
		t.Fatal(err)
	}
	if got := a.took()[before:]; len(got) != 0 {
		t.Errorf("in testing, which does not hand out passwords: %q", got)
	}
}
