package rollout

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/core/jobs"
	"github.com/countycloud/countycloud/core/measure"
	"github.com/countycloud/countycloud/core/notify"
)

// JobFeedbackSweep is the kind of the job that tells the next actor of
// each feedback step that turned red.
const JobFeedbackSweep = "rollout.feedback.sweep"

// FeedbackSweepEvery is how often it runs: a step is told at most this
// long after it turned red.
const FeedbackSweepEvery = time.Minute

// refFeedback is the notifications' reference type for a feedback item.
const refFeedback = "rollout_feedback"

// SweepJob is the handler of JobFeedbackSweep.
func (s *Feedback) SweepJob(ctx context.Context, _ jobs.Job) error {
	return s.Sweep(ctx, s.now())
}

// Sweep goes over the counties with a rollout plan and, in each, counts
// every step that ran past its time limit by now as overdue and tells
// whom it waits on: the IT office (the county's admins) for an item to
// assign or a vendor late to answer, the reporter for an answer to
// confirm. Each step is told once; the counties' failures are joined.
func (s *Feedback) Sweep(ctx context.Context, now time.Time) error {
	var counties []string
	if err := s.control.SelectContext(ctx, &counties, "SELECT county FROM rollout_plans ORDER BY county"); err != nil {
		return fmt.Errorf("list the counties in rollout: %w", err)
	}
	var errList []error
	for _, c := range counties {
		if err := s.router.InTenantTx(ctx, c, func(ctx context.Context, tx *sqlx.Tx) error { return sweepFeedback(ctx, tx, now.UTC()) }); err != nil {
			errList = append(errList, fmt.Errorf("feedback of %s: %w", c, err))
		}
	}
	return errors.Join(errList...)
}

func sweepFeedback(ctx context.Context, tx *sqlx.Tx, now time.Time) error {
	var late []FeedbackItem
	if err := tx.SelectContext(ctx, &late, "SELECT "+feedbackColumns+` FROM rollout_feedback f
WHERE f.due_at <= ? AND f.red_noticed < f.step ORDER BY f.id LIMIT 500 FOR UPDATE SKIP LOCKED`, now); err != nil {
		return fmt.Errorf("read the late feedback: %w", err)
	}
	if len(late) == 0 {
		return nil
	}
	var admins []int64
	err := tx.SelectContext(ctx, &admins, `SELECT a.id FROM accounts a JOIN account_roles ar ON ar.account_id = a.id JOIN roles r ON r.id = ar.role_id
WHERE r.code = ? AND a.status = 'active' ORDER BY a.id`, auth.RoleCountyAdmin)
	if err != nil {
		return fmt.Errorf("read the IT office: %w", err)
	}
	var msgs []notify.Message
	counts := make([]measure.Count, 0, len(late))
	for _, f := range late {
		if _, err := tx.ExecContext(ctx, "UPDATE rollout_feedback SET red_noticed = step WHERE id = ?", f.ID); err != nil {
			return fmt.Errorf("mark feedback %d told: %w", f.ID, err)
		}
		counts = append(counts, measure.Count{Measure: measure.FeedbackOverdue, Unit: f.UnitID})
		due := f.DueAt.In(chinaTime).Format("2006-01-02 15:04")
		tell := func(account int64, body string) {
			msgs = append(msgs, notify.Message{Account: account, Kind: notify.KindTaskOverdue, RefType: refFeedback, RefID: f.ID,
				Subject: fmt.Sprintf("【红牌警告】试运行问题反馈：%s", f.Title), Body: body})
		}
		switch f.Status {
		case FeedbackReported:
			for _, a := range admins {
				tell(a, fmt.Sprintf("%s反馈的「%s」（%s）应于 %s 前分派给厂商，已超过时限。", f.UnitName, f.Title, f.Module, due))
			}
		case FeedbackAssigned, FeedbackReopened:
			for _, a := range admins {
				tell(a, fmt.Sprintf("厂商应于 %s 前答复%s反馈的「%s」（%s），已超过时限，请督促。", due, f.UnitName, f.Title, f.Module))
			}
		case FeedbackAnswered:
			tell(f.ReporterID, fmt.Sprintf("厂商已答复您反馈的「%s」，应于 %s 前确认或退回，已超过时限。", f.Title, due))
		}
	}
	if err := measure.Add(ctx, tx, now, counts...); err != nil {
		return err
	}
	_, err = notify.Write(ctx, tx, now, msgs...)
	return err
}

// chinaTime is the time zone the notices give times in.
var chinaTime = time.FixedZone("CST", 8*60*60)
