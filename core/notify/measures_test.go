package notify_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/measure"
	"github.com/countycloud/countycloud/core/notify"
)

// figures are tenant's stored figures by day, measure/unit=value, once
// the counts pending are folded into them.
func (w *world) figures(t *testing.T, tenant string) string {
	t.Helper()
	var list []string
	err := w.router.InTenant(context.Background(), tenant, func(ctx context.Context, conn *sqlx.Conn) error {
		if err := measure.Fold(ctx, conn); err != nil {
			return err
		}
		return conn.SelectContext(ctx, &list, "SELECT CONCAT(measure, '/', unit_id, '=', value) FROM measure_values WHERE grain = 'd' AND period_start = ? ORDER BY measure, unit_id",
			measure.Day(w.clock.Now()))
	})
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(list, " ")
}

// TestNoticesDeliveredAreCountedPerChannelAndUnit: an inbox notice counts
// when it is written and with it, not if its transaction rolls back; an
// e-mail or SMS when the server or gateway takes it, not while the
// channel is down, and once however many drains run; per the recipient's
// unit, in the recipient's county only.
func TestNoticesDeliveredAreCountedPerChannelAndUnit(t *testing.T) {
	t.Parallel()
	w := setup(t)
	// The figures are kept by the day in China, and the test moves its
	// clock an hour and a minute on: it starts where that stays within
	// one day, not at 23:30 (CI ran it at 15:25 UTC).
	if h := w.clock.Now().In(time.FixedZone("CST", 8*60*60)).Hour(); h >= 22 {
		w.clock.Advance(3 * time.Hour)
	}
	w.setGateway(t, wengyuan)
	a := w.account(t, wengyuan, 1, "a", "13800138000", "a@wengyuan.gov.cn", "active")
	b := w.account(t, wengyuan, 2, "b", "", "b@wengyuan.gov.cn", "active")
	gone := w.account(t, wengyuan, 1, "gone", "13800138001", "gone@wengyuan.gov.cn", "disabled")

	// What a notice tells rolls back, and the notice with it.
	err := w.router.InTenantTx(context.Background(), wengyuan, func(ctx context.Context, tx *sqlx.Tx) error {
		if _, err := notify.Write(ctx, tx, w.clock.Now(), notify.Message{Account: a, Kind: notify.KindTaskAssigned, Subject: "撤销的待办"}); err != nil {
			return err
		}
		return errors.New("the task was not opened after all")
	})
	if err == nil {
		t.Fatal("the transaction committed")
	}
	if got := w.figures(t, wengyuan); got != "" {
		t.Fatalf("a rolled-back notice counted: %s", got)
	}

	w.write(t, wengyuan,
		notify.Message{Account: a, Kind: notify.KindTaskAssigned, Subject: "待办", SMS: true},
		notify.Message{Account: b, Kind: notify.KindTaskAssigned, Subject: "待办"},
		notify.Message{Account: gone, Kind: notify.KindTaskAssigned, Subject: "待办", SMS: true})
	if got, want := w.figures(t, wengyuan), "platform.notices.delivered.inbox/1=1 platform.notices.delivered.inbox/2=1"; got != want {
		t.Errorf("after writing: %s, want %s", got, want)
	}
	w.gateway.Fail(http.StatusServiceUnavailable)
	w.smtp.SetDown(true)
	w.drain(t, wengyuan)
	if got, want := w.figures(t, wengyuan), "platform.notices.delivered.inbox/1=1 platform.notices.delivered.inbox/2=1"; got != want {
		t.Errorf("with both channels down: %s, want %s", got, want)
	}
	w.clock.Advance(time.Minute)
	w.gateway.Fail(0)
	w.smtp.SetDown(false)
	if r := w.drain(t, wengyuan); r.Sent != 3 {
		t.Fatalf("drain: %+v, want 3 sent", r)
	}
	w.clock.Advance(time.Hour)
	w.drain(t, wengyuan)
	want := "platform.notices.delivered.email/1=1 platform.notices.delivered.email/2=1 platform.notices.delivered.inbox/1=1 platform.notices.delivered.inbox/2=1 platform.notices.delivered.sms/1=1"
	if got := w.figures(t, wengyuan); got != want {
		t.Errorf("after delivery:\n got %s\nwant %s", got, want)
	}
	if got := w.figures(t, lechang); got != "" {
		t.Errorf("Lechang counted %s", got)
	}
	if n := len(w.smtp.Mails()); n != 2 {
		t.Errorf("%d mails, want 2", n)
	}
}
