package notify_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/notify"
)

func TestWriteHonoursPreferencesAndTheSMSReminder(t *testing.T) {
	t.Parallel()
	w := setup(t)
	both := w.account(t, wengyuan, 1, "both", "13800138000", "both@wengyuan.gov.cn", "active")
	smsOnly := w.account(t, wengyuan, 1, "smsonly", "13800138001", "smsonly@wengyuan.gov.cn", "active")
	bare := w.account(t, wengyuan, 1, "bare", "", "", "active")
	disabled := w.account(t, wengyuan, 1, "disabled", "13800138002", "disabled@wengyuan.gov.cn", "disabled")
	mobileOnly := w.account(t, wengyuan, 1, "mobileonly", "13800138003", "", "active")
	w.exec(t, wengyuan, fmt.Sprintf("INSERT INTO notification_preferences (account_id, kind, email, sms, updated_at) VALUES (%d, 'task_assigned', FALSE, TRUE, NOW())", smsOnly))

	task := func(account int64, sms bool) notify.Message {
		return notify.Message{Account: account, Kind: notify.KindTaskAssigned, Subject: "请办理：关于兰花节的请示", Body: "限 3 个工作日内办结", RefType: "task", RefID: 7, SMS: sms}
	}
	pending := w.write(t, wengyuan, task(both, false), task(smsOnly, false), task(bare, true), task(disabled, true), task(mobileOnly, true))
	got := map[string]bool{}
	for _, r := range w.rows(t, wengyuan) {
		got[fmt.Sprintf("%d %s %s", r.Account, r.Channel, r.Status)] = true
	}
	want := []string{
		fmt.Sprintf("%d inapp sent", both), fmt.Sprintf("%d email pending", both),
		fmt.Sprintf("%d inapp sent", smsOnly), fmt.Sprintf("%d sms pending", smsOnly),
		fmt.Sprintf("%d inapp sent", bare),
		fmt.Sprintf("%d inapp sent", mobileOnly), fmt.Sprintf("%d sms pending", mobileOnly),
	}
	for _, k := range want {
		if !got[k] {
			t.Errorf("no %s; rows: %v", k, got)
		}
	}
	if len(got) != len(want) || pending != 3 {
		t.Errorf("%d rows, %d pending; want %d and 3: %v", len(got), pending, len(want), got)
	}

	// The reminder overrides a preference against SMS, too.
	w.exec(t, wengyuan, fmt.Sprintf("INSERT INTO notification_preferences (account_id, kind, email, sms, updated_at) VALUES (%d, 'escalation', FALSE, FALSE, NOW())", both))
	if n := w.write(t, wengyuan, notify.Message{Account: both, Kind: notify.KindEscalation, Subject: "督办", SMS: true}); n != 1 {
		t.Errorf("an escalation with the SMS reminder to someone who wants neither: %d pending, want the SMS", n)
	}
	if n := w.write(t, wengyuan, notify.Message{Account: both, Kind: notify.KindEscalation, Subject: "督办"}); n != 0 {
		t.Errorf("an escalation to someone who wants neither channel: %d pending", n)
	}

	before := len(w.rows(t, wengyuan))
	err := w.router.InTenantTx(context.Background(), wengyuan, func(ctx context.Context, tx *sqlx.Tx) error {
		_, err := notify.Write(ctx, tx, w.clock.Now(), task(both, false), notify.Message{Account: both, Kind: "gossip", Subject: "x"})
		return err
	})
	wantCode(t, "an unknown kind", err, notify.CodeInvalidKind)
	if after := len(w.rows(t, wengyuan)); after != before {
		t.Errorf("an unknown kind wrote %d rows", after-before)
	}
	if rows := w.rows(t, lechang); len(rows) != 0 {
		t.Errorf("Lechang got %d rows", len(rows))
	}
}

// TestWriteReachesAWholeCounty writes to more accounts than one statement
// takes placeholders for.
func TestWriteReachesAWholeCounty(t *testing.T) {
	t.Parallel()
	w := setup(t)
	const n = 1500
	w.account(t, wengyuan, 1, "first", "", "", "active")
	var values []string
	for i := range n - 1 {
		values = append(values, fmt.Sprintf("('p%d', '人员', 1, '139%08d', 'p%d@wengyuan.gov.cn', 'active', NOW(), NOW())", i, i, i))
	}
	w.exec(t, wengyuan, "INSERT INTO accounts (login, name, unit_id, mobile, email, status, created_at, updated_at) VALUES "+strings.Join(values, ", "))
	msgs := make([]notify.Message, n)
	for i := range msgs {
		msgs[i] = notify.Message{Account: int64(i + 1), Kind: notify.KindTest, Subject: "系统测试通知", SMS: true}
	}
	if pending := w.write(t, wengyuan, msgs...); pending != 2*(n-1) {
		t.Errorf("%d pending, want %d", pending, 2*(n-1))
	}
	if rows := w.rows(t, wengyuan); len(rows) != n+2*(n-1) {
		t.Errorf("%d rows, want %d", len(rows), n+2*(n-1))
	}
}

// TestWriteReachesTheHoldersOfARoleInAUnit: a message to a unit's
// clerks reaches each active clerk of that unit once, whatever their
// preferences and other roles, and nobody else.
func TestWriteReachesTheHoldersOfARoleInAUnit(t *testing.T) {
	t.Parallel()
	w := setup(t)
	clerk := w.account(t, wengyuan, 1, "clerk", "", "clerk@wengyuan.gov.cn", "active")
	busy := w.account(t, wengyuan, 1, "busy", "13800138000", "", "active")
	w.account(t, wengyuan, 1, "gone", "", "", "disabled")
	w.account(t, wengyuan, 2, "elsewhere", "", "", "active")
	w.account(t, wengyuan, 1, "leader", "", "", "active")
	w.exec(t, wengyuan,
		"INSERT INTO roles (code, name, created_at) VALUES ('clerk', '收发员', NOW()), ('leader', '领导', NOW()) ON DUPLICATE KEY UPDATE name = name",
		"INSERT INTO account_roles (account_id, role_id) SELECT a.id, r.id FROM accounts a JOIN roles r ON r.code = 'clerk' WHERE a.login IN ('clerk', 'busy', 'gone', 'elsewhere')",
		"INSERT INTO account_roles (account_id, role_id) SELECT a.id, r.id FROM accounts a JOIN roles r ON r.code = 'leader' WHERE a.login IN ('busy', 'leader')",
		fmt.Sprintf("INSERT INTO notification_preferences (account_id, kind, email, sms, updated_at) VALUES (%d, 'task_assigned', FALSE, TRUE, NOW()), (%d, 'escalation', TRUE, TRUE, NOW())", busy, busy))
	pending := w.write(t, wengyuan, notify.Message{Unit: 1, Role: "clerk", Kind: notify.KindTaskAssigned, Subject: "待办"})
	got := map[string]int{}
	for _, r := range w.rows(t, wengyuan) {
		got[fmt.Sprintf("%d %s", r.Account, r.Channel)]++
	}
	wantRows := map[string]int{fmt.Sprintf("%d inapp", clerk): 1, fmt.Sprintf("%d email", clerk): 1, fmt.Sprintf("%d inapp", busy): 1, fmt.Sprintf("%d sms", busy): 1}
	if fmt.Sprint(got) != fmt.Sprint(wantRows) || pending != 2 {
		t.Errorf("rows %v, %d pending; want %v and 2", got, pending, wantRows)
	}
}
