package measure

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/core/errs"
)

// The platform's own measures, recorded where their events happen, in
// the event's transaction where it has one in the county's schema. Their
// ids are under "platform", which no module may take.
const (
	// Logins counts sign-ins with a password, per the account's unit.
	Logins = "platform.logins"
	// ActiveAccounts counts each account once per day, half-month and
	// month it signed in or renewed its session in, per its unit.
	ActiveAccounts = "platform.accounts.active"
	// Notices delivered, per channel and the recipient's unit: an inbox
	// notice when it is written, in the transaction of what it tells; an
	// e-mail or SMS when the mail server or gateway takes it.
	NoticesInbox = "platform.notices.delivered.inbox"
	NoticesEmail = "platform.notices.delivered.email"
	NoticesSMS   = "platform.notices.delivered.sms"
	// FilesStored counts the files modules stored, for the whole county
	// (a module's file is no unit's), when an upload completes.
	FilesStored = "platform.files.stored"
	// TasksOnTime and TasksLate count the tasks people acted on, by
	// their due time, per the task's unit. A task without a due time is
	// on time.
	TasksOnTime = "platform.tasks.on_time"
	TasksLate   = "platform.tasks.late"

	// completedPrefix and completedHashed name the measures of instances
	// completed per workflow: WorkflowCompleted.
	completedPrefix = WorkflowCompletedPrefix
	completedHashed = "platform.workflow.completed_x.h"
)

// WorkflowCompletedPrefix begins the id of every measure of a
// workflow's instances completed (WorkflowCompleted) whose code is one.
const WorkflowCompletedPrefix = "platform.workflow.completed."

// PlatformMeasures are the platform's own measures but the per-workflow
// ones (WorkflowCompleted), which every county has.
func PlatformMeasures() []Definition {
	text := func(zh, en string) Label { return Label{ZH: zh, EN: en} }
	return []Definition{
		{ID: Logins, Label: text("登录次数", "Logins"), Counts: text("一次用密码登录", "one sign-in with a password")},
		{ID: ActiveAccounts, Label: text("活跃账号数", "Active accounts"),
			Counts: text("当期登录或续用会话的一个账号（每期只计一次）", "one account that signed in or renewed its session in the period (once a period)")},
		{ID: NoticesInbox, Label: text("站内通知送达数", "Inbox notices delivered"), Counts: text("一条送达收件箱的通知", "one notice delivered to an inbox")},
		{ID: NoticesEmail, Label: text("邮件通知送达数", "E-mail notices delivered"), Counts: text("一封邮件服务器接收的通知邮件", "one notice e-mail the mail server accepted")},
		{ID: NoticesSMS, Label: text("短信通知送达数", "SMS notices delivered"), Counts: text("一条短信网关接收的通知短信", "one notice SMS the gateway accepted")},
		{ID: FilesStored, Label: text("存储文件数", "Files stored"), Counts: text("一个上传完成的文件", "one file whose upload completed"), CountyWide: true},
		{ID: TasksOnTime, Label: text("按时办理任务数", "Tasks finished on time"), Counts: text("一项在办理时限内办理的任务", "one task acted on by its due time")},
		{ID: TasksLate, Label: text("超时办理任务数", "Tasks finished late"), Counts: text("一项超过办理时限才办理的任务", "one task acted on after its due time")},
	}
}

// WorkflowCompleted is the measure of the instances of workflow code
// completed, per the instance's subject unit: platform.workflow.completed.
// and the code (platform.workflow.completed.oa.sending). A code that
// cannot be part of a measure's id (a dash, a segment starting with a
// digit) is named by its SHA-256 instead, under
// platform.workflow.completed_x., so that two workflows never share one.
func WorkflowCompleted(code string) string {
	if id := completedPrefix + code; ValidID(id) == nil {
		return id
	}
	sum := sha256.Sum256([]byte(code))
	return completedHashed + hex.EncodeToString(sum[:8])
}

// WorkflowCompletedDef is the definition of WorkflowCompleted(code), for
// the workflow named name.
func WorkflowCompletedDef(code, name string) Definition {
	return Definition{
		ID:     WorkflowCompleted(code),
		Label:  Label{ZH: "办结数：" + name, EN: "Completed: " + name},
		Counts: Label{ZH: fmt.Sprintf("一件办结的“%s”（%s）", name, code), EN: fmt.Sprintf("one instance of %s (%s) completed", name, code)},
	}
}

// Catalogs are catalogs read one after the other: the workflows' and the
// modules' measures.
type Catalogs []Catalog

// Measures are the measures of every catalog of c.
func (c Catalogs) Measures(ctx context.Context, county string) ([]Definition, error) {
	var out []Definition
	for _, cat := range c {
		defs, err := cat.Measures(ctx, county)
		if err != nil {
			return nil, err
		}
		out = append(out, defs...)
	}
	return out, nil
}

// SignIns counts accounts' logins and active days (auth.Activity), each
// in a transaction of its own in the account's county: a login's session
// is kept elsewhere (the control plane), so no transaction holds both.
// Each is keyed, so that a retried count adds nothing: a login by its
// session, an active account by its id and period.
type SignIns struct{ router Router }

// NewSignIns counts in the counties behind router.
func NewSignIns(router Router) *SignIns { return &SignIns{router: router} }

// SignedIn counts p's login and p active on at's day.
func (s *SignIns) SignedIn(ctx context.Context, p auth.Principal, at time.Time) error {
	return s.router.InTenantTx(ctx, p.Tenant, func(ctx context.Context, tx *sqlx.Tx) error {
		if _, err := Record(ctx, tx, Recording{Measure: Logins, Unit: p.Unit, Day: Day(at), Delta: 1, Key: "session:" + p.Session}); err != nil {
			return err
		}
		return CountOnce(ctx, tx, ActiveAccounts, p.Unit, "account:"+strconv.FormatInt(p.ID, 10), at)
	})
}

// Renewed counts p active on at's day.
func (s *SignIns) Renewed(ctx context.Context, p auth.Principal, at time.Time) error {
	return s.router.InTenantTx(ctx, p.Tenant, func(ctx context.Context, tx *sqlx.Tx) error {
		return CountOnce(ctx, tx, ActiveAccounts, p.Unit, "account:"+strconv.FormatInt(p.ID, 10), at)
	})
}

// CountOnce counts who (an account, say) once in each day, half-month
// and month of at's day in China: measure's value of a month is how many
// were counted in it, not the sum of its days. It runs in tx, the
// caller's, and costs one statement when who was counted that day
// already.
func CountOnce(ctx context.Context, tx *sqlx.Tx, measure string, unit int64, who string, at time.Time) error {
	day, err := parseDay(Day(at))
	if err != nil {
		return errs.Invalid(CodeInvalidRecording, "day: %v", err)
	}
	for _, grain := range []string{ByDay, ByHalfMonth, ByMonth} {
		start := periodStart(grain, day).Format(time.DateOnly)
		key := who + "@" + grainCode[grain] + start
		if _, err := (Recording{Measure: measure, Unit: unit, Day: start, Delta: 1, Key: key}).check(); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO measure_records (measure, idempotency_key, unit_id, day, delta, recorded_at)
VALUES (?, ?, ?, ?, 1, ?) ON DUPLICATE KEY UPDATE measure = measure`, measure, key, unit, start, time.Now().UTC().Truncate(time.Microsecond))
		if err != nil {
			return fmt.Errorf("count %s once: %w", measure, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("count %s once: %w", measure, err)
		} else if n == 0 {
			// Counted in this period, so in the longer ones too.
			return nil
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO measure_values (measure, unit_id, grain, period_start, value) VALUES (?, ?, ?, ?, 1)
ON DUPLICATE KEY UPDATE value = value + 1`, measure, unit, grainCode[grain], start); err != nil {
			return fmt.Errorf("count %s once: %w", measure, err)
		}
	}
	return nil
}
