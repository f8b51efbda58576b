package rollout

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/audit"
	"github.com/countycloud/countycloud/core/jobs"
	"github.com/countycloud/countycloud/core/measure"
	"github.com/countycloud/countycloud/core/store"
)

// Automation does what a phase's automatic tasks ask. A call may be
// repeated after a crash (the sweep does a task again until it has
// recorded it done), so each must do no harm twice: enabling an enabled
// module is nothing.
type Automation interface {
	// EnableModules enables the modules for the county.
	EnableModules(ctx context.Context, county string, modules []string) error
	// SendTestNotices sends the IT office's test notices to every unit.
	SendTestNotices(ctx context.Context, county string) error
	// AnnounceTrial tells every unit the trial's first and last days.
	AnnounceTrial(ctx context.Context, county, first, last string) error
	// TextFirstPasswords texts a first password to every active account
	// with a mobile and none yet.
	TextFirstPasswords(ctx context.Context, county string) (FirstPasswords, error)
}

// FirstPasswords is what one TextFirstPasswords did.
type FirstPasswords struct {
	Texted   int
	NoMobile int
	Failed   int
	// Problem is why texts failed (the county has no SMS gateway, the
	// gateway refused).
	Problem string
}

// note says it in the task's note, zh-CN as the IT office reads it.
func (f FirstPasswords) note() string {
	note := fmt.Sprintf("已短信发送初始口令 %d 个账号；无手机号 %d 个（请用口令单发放）", f.Texted, f.NoMobile)
	if f.Failed > 0 {
		note += fmt.Sprintf("；发送失败 %d 个，将于下一小时重试：%s", f.Failed, f.Problem)
	}
	return note
}

// Listener hears a county's phase changes (billing starts paid billing
// at formal operation). It hears each change at least once: after a
// crash, again, with the same Change.ID.
type Listener interface {
	PhaseChanged(ctx context.Context, c Change) error
}

// DatesListener hears that an edit moved a county's planned phase dates
// (billing moves the trial's end with the formal start), in the edit's
// transaction: what it writes there is committed with the edit or not at
// all, and an error refuses the edit.
type DatesListener interface {
	PlanDatesChanged(ctx context.Context, tx *sqlx.Tx, d PlanDates) error
}

// PlanDates are the planned first days of a county's phases after an
// edit of its plan, which made Version.
type PlanDates struct {
	County  string
	Version int64
	// Starts are the phases' first days, by phase.
	Starts map[string]string
}

// TrialReports makes the end-of-trial usage report (用户使用报告) of each
// key unit of a county, over the trial's days; making it again for the
// same days is the same report.
type TrialReports interface {
	EndOfTrial(ctx context.Context, county, first, last string) error
}

// Census takes a county's census now: its organisation's facts
// (accounts, mobiles, roles, credentials, quotas, seals) recorded as the
// level measures its checks read, which otherwise stand as of the last
// hourly census.
type Census interface {
	Census(ctx context.Context, county string) error
}

// Options are what the rollout drives beside its own tables; any may be
// nil (no listener, nothing automated, no reports made, no census taken
// before a gate is judged).
type Options struct {
	Automation Automation
	Listeners  []Listener
	// DatesListeners hear a plan's dates moved by an edit.
	DatesListeners []DatesListener
	Reports        TrialReports
	Census         Census
}

// JobSweep is the kind of the job that carries counties through what
// happens on its own: the automatic tasks of the phases they entered,
// their phase changes told to listeners, trials ending on their dates.
const JobSweep = "rollout.sweep"

// SweepEvery is how often the sweep runs: an automatic task is done, and
// a listener told, within it.
const SweepEvery = 30 * time.Second

// JobFirstPasswords is the kind of the job that texts first passwords,
// in the counties whose current phase hands them out, to the accounts
// created since the phase started or the job last ran.
const JobFirstPasswords = "rollout.first_passwords"

// FirstPasswordsEvery is how often it runs: an account imported now has
// its first password within the hour, and a text that failed (no
// gateway yet, the gateway down) is tried again an hour later, not at
// every sweep.
const FirstPasswordsEvery = time.Hour

// FirstPasswordsJob is the handler of JobFirstPasswords. A county that
// fails does not keep the others from their passwords.
func (s *Service) FirstPasswordsJob(ctx context.Context, _ jobs.Job) error {
	if s.opts.Automation == nil {
		return nil
	}
	var rows []planRow
	if err := s.control.SelectContext(ctx, &rows, "SELECT "+planColumns+" FROM rollout_plans"); err != nil {
		return fmt.Errorf("read the plans: %w", err)
	}
	ctx = audit.WithActor(ctx, audit.Actor{Kind: "system", Login: "rollout"})
	var failed []error
	for _, r := range rows {
		plan, err := r.plan()
		if err != nil {
			return err
		}
		ph, _ := plan.phase(plan.Phase)
		for _, t := range ph.Tasks {
			if t.Kind != KindAutomatic || t.Action != ActionTextFirstPasswords {
				continue
			}
			if err := s.textFirstPasswords(ctx, plan, t); err != nil {
				failed = append(failed, fmt.Errorf("%s: %w", plan.County, err))
			}
		}
	}
	return errors.Join(failed...)
}

// textFirstPasswords does t again, and notes what it did this time when
// it did anything.
func (s *Service) textFirstPasswords(ctx context.Context, plan Plan, t Task) error {
	texted, err := s.opts.Automation.TextFirstPasswords(ctx, plan.County)
	if err != nil || texted.Texted+texted.Failed == 0 {
		return err
	}
	return s.markAutomated(ctx, s.control, plan.County, t.ID, texted.note())
}

// markAutomated marks the automatic task done by the platform, with what
// it did last.
func (s *Service) markAutomated(ctx context.Context, q sqlx.ExecerContext, county, task, note string) error {
	if _, err := q.ExecContext(ctx, "INSERT INTO rollout_tasks_done (county, task_id, done_by, note, done_at) VALUES (?, ?, 'platform', ?, ?) ON DUPLICATE KEY UPDATE note = VALUES(note)",
		county, task, note, s.now().UTC()); err != nil {
		return fmt.Errorf("mark task %s done: %w", task, err)
	}
	return nil
}

// ReviewAfter is how long into formal operation the county is reviewed.
const ReviewAfter = 4

// SweepJob is the handler of JobSweep.
func (s *Service) SweepJob(ctx context.Context, _ jobs.Job) error { return s.Sweep(ctx) }

// Sweep delivers every phase change not yet delivered, oldest first,
// then ends the trials whose last day has passed. It stops at the first
// failure, which the job's retry takes up.
func (s *Service) Sweep(ctx context.Context) error {
	for {
		more, err := s.deliverOne(ctx)
		if err != nil || !more {
			if err != nil {
				return err
			}
			break
		}
	}
	return s.endTrials(ctx)
}

// deliverOne takes the oldest undelivered phase change no other replica
// holds, does its phase's automatic tasks and tells the listeners, and
// marks it delivered; false when there was none.
func (s *Service) deliverOne(ctx context.Context) (bool, error) {
	found := false
	err := store.InTx(ctx, s.control, nil, func(tx *sqlx.Tx) error {
		var row struct {
			Change
			Waived string `db:"waived"`
		}
		err := tx.GetContext(ctx, &row, "SELECT id, county, from_phase, to_phase, changed_by, waived, at FROM rollout_events WHERE delivered_at IS NULL ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED")
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("take a phase change: %w", err)
		}
		found = true
		change := row.Change
		if err := json.Unmarshal([]byte(row.Waived), &change.Waived); err != nil {
			return fmt.Errorf("a phase change's waivers: %w", err)
		}
		if err := s.started(ctx, tx, change); err != nil {
			return fmt.Errorf("%s entering %s: %w", change.County, change.To, err)
		}
		for _, l := range s.opts.Listeners {
			if err := l.PhaseChanged(ctx, change); err != nil {
				return fmt.Errorf("tell of %s entering %s: %w", change.County, change.To, err)
			}
		}
		_, err = tx.ExecContext(ctx, "UPDATE rollout_events SET delivered_at = ? WHERE id = ?", s.now().UTC(), change.ID)
		return err
	})
	return found, err
}

// started does what entering c.To sets off: its automatic tasks not yet
// done, and in formal operation the review's day.
func (s *Service) started(ctx context.Context, tx *sqlx.Tx, c Change) error {
	plan, err := s.Plan(ctx, c.County)
	if err != nil {
		return err
	}
	ph, _ := plan.phase(c.To)
	marks, _, err := s.marksAndWaivers(ctx, c.County)
	if err != nil {
		return err
	}
	ctx = audit.WithActor(ctx, audit.Actor{Kind: "system", Login: "rollout"})
	for _, t := range ph.Tasks {
		if t.Kind != KindAutomatic {
			continue
		}
		if _, done := marks[t.ID]; done {
			continue
		}
		note, err := s.automate(ctx, plan, t)
		if err != nil {
			return fmt.Errorf("task %s: %w", t.ID, err)
		}
		if err := s.markAutomated(ctx, tx, c.County, t.ID, note); err != nil {
			return err
		}
	}
	if c.To == Formal {
		start, err := time.Parse(time.DateOnly, measure.Day(c.At))
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE rollout_plans SET review_on = ? WHERE county = ?", start.AddDate(0, ReviewAfter, 0).Format(time.DateOnly), c.County); err != nil {
			return fmt.Errorf("set the review's day: %w", err)
		}
	}
	return nil
}

// automate does the automatic task t of plan, and says what it did.
func (s *Service) automate(ctx context.Context, plan Plan, t Task) (string, error) {
	a := s.opts.Automation
	if a == nil {
		return "", errors.New("nothing automates the rollout's tasks here")
	}
	switch t.Action {
	case ActionEnableModules:
		modules := t.Modules
		if len(modules) == 0 {
			modules = slices.Sorted(maps.Keys(plan.KeyUnits))
		}
		return "enabled " + strings.Join(modules, ", "), a.EnableModules(ctx, plan.County, modules)
	case ActionSendTestNotices:
		return "test notices sent to every unit", a.SendTestNotices(ctx, plan.County)
	case ActionSetTrialWindow:
		first, last := trialWindow(plan)
		return fmt.Sprintf("trial %s to %s announced", first, last), a.AnnounceTrial(ctx, plan.County, first, last)
	case ActionTextFirstPasswords:
		texted, err := a.TextFirstPasswords(ctx, plan.County)
		return texted.note(), err
	}
	return "", fmt.Errorf("unknown action %q", t.Action)
}

// trialWindow is the trial's first and last planned days: from its start
// to the day before formal operation is planned to start.
func trialWindow(plan Plan) (first, last string) {
	trial, _ := plan.phase(Trial)
	formal, _ := plan.phase(Formal)
	end, err := time.Parse(time.DateOnly, formal.Start)
	if err != nil {
		return trial.Start, formal.Start
	}
	return trial.Start, end.AddDate(0, 0, -1).Format(time.DateOnly)
}

// endTrials ends every trial whose last day has passed: the key units'
// end-of-trial usage reports made, formal operation proposed, awaiting
// an operator's advance. A county proposed once is not again.
func (s *Service) endTrials(ctx context.Context) error {
	var rows []planRow
	if err := s.control.SelectContext(ctx, &rows, "SELECT "+planColumns+" FROM rollout_plans WHERE phase = ? AND proposed IS NULL", Trial); err != nil {
		return fmt.Errorf("read the counties in trial: %w", err)
	}
	today := measure.Day(s.now())
	ctx = audit.WithActor(ctx, audit.Actor{Kind: "system", Login: "rollout"})
	for _, r := range rows {
		plan, err := r.plan()
		if err != nil {
			return err
		}
		_, last := trialWindow(plan)
		if today <= last {
			continue
		}
		if s.opts.Reports != nil {
			if err := s.opts.Reports.EndOfTrial(ctx, plan.County, plan.PhaseStarted, last); err != nil {
				return fmt.Errorf("the end-of-trial reports of %s: %w", plan.County, err)
			}
		}
		err = store.InTx(ctx, s.control, nil, func(tx *sqlx.Tx) error {
			res, err := tx.ExecContext(ctx, "UPDATE rollout_plans SET proposed = ?, updated_at = ? WHERE county = ? AND phase = ? AND proposed IS NULL", Formal, s.now().UTC(), plan.County, Trial)
			if err != nil {
				return fmt.Errorf("propose formal operation: %w", err)
			}
			if n, err := res.RowsAffected(); err != nil || n == 0 {
				return err
			}
			return audit.Write(ctx, tx, audit.New(ctx, "rollout.trial.ended", "county", plan.County, nil, map[string]string{"last_day": last, "proposed": Formal}))
		})
		if err != nil {
			return err
		}
	}
	return nil
}
