package measure

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
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
	// FirstLogins counts each account once ever, on the first day it was
	// active (signed in, or renewed a session), per its unit then. Its
	// recording is keyed AccountKeyPrefix and the account's id, which is
	// how the census finds the accounts that ever signed in.
	FirstLogins = "platform.accounts.first_login"

	// The census's measures: levels (Definition.Level) recorded by the
	// census of the county's organisation (tenants/census) every hour
	// and before a rollout's gates are judged, as they stand then. The
	// per-unit ones count a unit's active accounts only.
	//
	// OrgUnits is the units of the organisation, county-wide.
	OrgUnits = "platform.org.units"
	// OrgAccounts is a unit's active accounts; OrgAccountsMobile those
	// of them with a mobile number; OrgAccountsSignedIn those that ever
	// signed in (FirstLogins).
	OrgAccounts         = "platform.org.accounts"
	OrgAccountsMobile   = "platform.org.accounts.mobile"
	OrgAccountsSignedIn = "platform.org.accounts.signed_in"
	// OrgCredentialsIssued is a unit's active accounts that were given a
	// password (a credential sheet, a reissue or a reset).
	OrgCredentialsIssued = "platform.org.credentials.issued"
	// OrgLeaders and OrgClerks are a unit's active accounts holding the
	// leader's (领导) and the document clerk's (收发员) role.
	OrgLeaders = "platform.org.leaders"
	OrgClerks  = "platform.org.clerks"
	// OrgOverQuota is how many active accounts a unit has beyond its
	// account quota: 0 within it, or without one.
	OrgOverQuota = "platform.org.over_quota"
	// SealsActive is a unit's electronic seals in use: neither
	// superseded nor revoked.
	SealsActive = "platform.seals.active"

	// AccountKeyPrefix and an account's id are the key of its
	// FirstLogins recording.
	AccountKeyPrefix = "account:"

	// completedPrefix and completedHashed name the measures of instances
	// completed per workflow: WorkflowCompleted.
	completedPrefix = WorkflowCompletedPrefix
	completedHashed = "platform.workflow.completed_x.h"
)

// WorkflowCompletedPrefix begins the id of every measure of a
// workflow's instances completed (WorkflowCompleted) whose code is one.
const WorkflowCompletedPrefix = "platform.workflow.completed."

// PlatformMeasures are the platform's own measures but the per-workflow
// ones (WorkflowCompleted), which every county has: the census's among
// them.
func PlatformMeasures() []Definition {
	text := func(zh, en string) Label { return Label{ZH: zh, EN: en} }
	return append([]Definition{
		{ID: Logins, Label: text("登录次数", "Logins"), Counts: text("一次用密码登录", "one sign-in with a password")},
		{ID: ActiveAccounts, Label: text("活跃账号数", "Active accounts"),
			Counts: text("当期登录或续用会话的一个账号（每期只计一次）", "one account that signed in or renewed its session in the period (once a period)")},
		{ID: NoticesInbox, Label: text("站内通知送达数", "Inbox notices delivered"), Counts: text("一条送达收件箱的通知", "one notice delivered to an inbox")},
		{ID: NoticesEmail, Label: text("邮件通知送达数", "E-mail notices delivered"), Counts: text("一封邮件服务器接收的通知邮件", "one notice e-mail the mail server accepted")},
		{ID: NoticesSMS, Label: text("短信通知送达数", "SMS notices delivered"), Counts: text("一条短信网关接收的通知短信", "one notice SMS the gateway accepted")},
		{ID: FilesStored, Label: text("存储文件数", "Files stored"), Counts: text("一个上传完成的文件", "one file whose upload completed"), CountyWide: true},
		{ID: TasksOnTime, Label: text("按时办理任务数", "Tasks finished on time"), Counts: text("一项在办理时限内办理的任务", "one task acted on by its due time")},
		{ID: TasksLate, Label: text("超时办理任务数", "Tasks finished late"), Counts: text("一项超过办理时限才办理的任务", "one task acted on after its due time")},
		{ID: FirstLogins, Label: text("首次登录账号数", "First logins"),
			Counts: text("一个账号第一次登录或续用会话的当天（只计一次）", "one account on the first day it signed in or renewed its session (once ever)")},
	}, append(CensusMeasures(), feedbackMeasures()...)...)
}

// CensusMeasures are the measures the census of a county's organisation
// records (tenants/census): levels, each a figure standing at the time of
// the last census.
func CensusMeasures() []Definition {
	text := func(zh, en string) Label { return Label{ZH: zh, EN: en} }
	level := func(id string, label, counts Label) Definition {
		return Definition{ID: id, Label: label, Counts: counts, Level: true}
	}
	units := level(OrgUnits, text("单位数", "Units"), text("组织机构中的一个单位", "one unit of the county's organisation"))
	units.CountyWide = true
	return []Definition{
		units,
		level(OrgAccounts, text("账号数", "Accounts"), text("单位的一个在用账号", "one active account of the unit")),
		level(OrgAccountsMobile, text("登记手机号的账号数", "Accounts with a mobile number"),
			text("单位的一个登记了手机号码的在用账号", "one active account of the unit with a mobile number")),
		level(OrgAccountsSignedIn, text("登录过的账号数", "Accounts signed in"),
			text("单位的一个至少登录过一次的在用账号", "one active account of the unit that has signed in at least once")),
		level(OrgCredentialsIssued, text("已发放密码的账号数", "Accounts with credentials issued"),
			text("单位的一个已发放密码的在用账号", "one active account of the unit that was given its password")),
		level(OrgLeaders, text("领导账号数", "Leaders"), text("单位的一个持有“领导”角色的在用账号", "one active account of the unit holding the leader's role")),
		level(OrgClerks, text("收发员账号数", "Document clerks"), text("单位的一个持有“收发员”角色的在用账号", "one active account of the unit holding the document clerk's role")),
		level(OrgOverQuota, text("超出限额的账号数", "Accounts over quota"),
			text("单位超出账号限额的一个在用账号（未超出为0）", "one active account of the unit beyond its account quota (0 within it)")),
		level(SealsActive, text("在用电子印章数", "Seals in use"), text("单位的一枚在用（未替换、未吊销）的电子印章", "one electronic seal of the unit in use (neither superseded nor revoked)")),
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

// SignIns counts accounts' logins, active days (auth.Activity) and first
// logins, each in a transaction of its own in the account's county: a
// login's session is kept elsewhere (the control plane), so no
// transaction holds both. Each is keyed, so that a retried count adds
// nothing: a login by its session, an active account by its id and
// period, a first login by the account's id.
type SignIns struct{ router Router }

// NewSignIns counts in the counties behind router.
func NewSignIns(router Router) *SignIns { return &SignIns{router: router} }

// SignedIn counts p's login and p active on at's day.
func (s *SignIns) SignedIn(ctx context.Context, p auth.Principal, at time.Time) error {
	return s.router.InTenantTx(ctx, p.Tenant, func(ctx context.Context, tx *sqlx.Tx) error {
		if _, err := Record(ctx, tx, Recording{Measure: Logins, Unit: p.Unit, Day: Day(at), Delta: 1, Key: "session:" + p.Session}); err != nil {
			return err
		}
		return countActive(ctx, tx, p, at)
	})
}

// Renewed counts p active on at's day.
func (s *SignIns) Renewed(ctx context.Context, p auth.Principal, at time.Time) error {
	return s.router.InTenantTx(ctx, p.Tenant, func(ctx context.Context, tx *sqlx.Tx) error {
		return countActive(ctx, tx, p, at)
	})
}

// countActive counts p active on at's day and, on the first day p is
// active ever, its first login. The first login is looked for once a
// day, on the day's first count, so that an account that signed in
// before FirstLogins was counted has it on its next day at work.
func countActive(ctx context.Context, tx *sqlx.Tx, p auth.Principal, at time.Time) error {
	who := AccountKeyPrefix + strconv.FormatInt(p.ID, 10)
	firstToday, err := countOnce(ctx, tx, ActiveAccounts, p.Unit, who, at)
	if err != nil || !firstToday {
		return err
	}
	day, err := parseDay(Day(at))
	if err != nil {
		return errs.Invalid(CodeInvalidRecording, "day: %v", err)
	}
	_, err = countKey(ctx, tx, FirstLogins, p.Unit, who, day, ByDay, ByHalfMonth, ByMonth)
	return err
}

// CountOnce counts who (an account, say) once in each day, half-month
// and month of at's day in China: measure's value of a month is how many
// were counted in it, not the sum of its days. It runs in tx, the
// caller's, and costs one statement when who was counted that day
// already.
func CountOnce(ctx context.Context, tx *sqlx.Tx, measure string, unit int64, who string, at time.Time) error {
	_, err := countOnce(ctx, tx, measure, unit, who, at)
	return err
}

// countOnce is CountOnce; it reports whether who was counted on at's day
// now, not before.
func countOnce(ctx context.Context, tx *sqlx.Tx, measure string, unit int64, who string, at time.Time) (bool, error) {
	day, err := parseDay(Day(at))
	if err != nil {
		return false, errs.Invalid(CodeInvalidRecording, "day: %v", err)
	}
	for i, grain := range []string{ByDay, ByHalfMonth, ByMonth} {
		start := periodStart(grain, day)
		key := who + "@" + grainCode[grain] + start.Format(time.DateOnly)
		if _, err := (Recording{Measure: measure, Unit: unit, Day: start.Format(time.DateOnly), Delta: 1, Key: key}).check(); err != nil {
			return false, err
		}
		counted, err := countKey(ctx, tx, measure, unit, key, start, grain)
		if err != nil || !counted {
			// Counted in this period, so in the longer ones too.
			return i > 0, err
		}
	}
	return true, nil
}

// countKey records key of measure for unit on day, once: the first time,
// it adds 1 to the unit's value of day's period of each of grains and
// reports true; with the key recorded before, on whatever day, it adds
// nothing.
func countKey(ctx context.Context, tx *sqlx.Tx, measure string, unit int64, key string, day time.Time, grains ...string) (bool, error) {
	res, err := tx.ExecContext(ctx, `INSERT INTO measure_records (measure, idempotency_key, unit_id, day, delta, recorded_at)
VALUES (?, ?, ?, ?, 1, ?) ON DUPLICATE KEY UPDATE measure = measure`, measure, key, unit, day.Format(time.DateOnly), time.Now().UTC().Truncate(time.Microsecond))
	if err != nil {
		return false, fmt.Errorf("count %s once: %w", measure, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return false, fmt.Errorf("count %s once: %w", measure, err)
	} else if n == 0 {
		return false, nil
	}
	args := make([]any, 0, 4*len(grains))
	for _, grain := range grains {
		args = append(args, measure, unit, grainCode[grain], periodStart(grain, day).Format(time.DateOnly))
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO measure_values (measure, unit_id, grain, period_start, value) VALUES (?, ?, ?, ?, 1)`+
		strings.Repeat(", (?, ?, ?, ?, 1)", len(grains)-1)+` ON DUPLICATE KEY UPDATE value = value + 1`, args...); err != nil {
		return false, fmt.Errorf("count %s once: %w", measure, err)
	}
	return true, nil
}
