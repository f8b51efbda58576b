package notify_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/countycloud/countycloud/core/jobs"
	"github.com/countycloud/countycloud/core/notify"
)

func TestADrainDeliversEmailAndSMS(t *testing.T) {
	t.Parallel()
	w := setup(t)
	w.setGateway(t, wengyuan)
	zhang := w.account(t, wengyuan, 1, "zhangsan", "13800138000", "zhangsan@wengyuan.gov.cn", "active")
	subject := "请办理：关于翁源县兰花节期间政务服务安排的请示（第二稿，请各单位于本周五前反馈意见）"
	w.write(t, wengyuan, notify.Message{Account: zhang, Kind: notify.KindTaskAssigned, Subject: subject, Body: "限 3 个工作日内办结。\n承办：县政务服务中心", SMS: true})

	if r := w.drain(t, wengyuan); r != (notify.DrainReport{Sent: 2}) {
		t.Errorf("drain: %+v; want 2 sent", r)
	}
	mails := w.smtp.Mails()
	if len(mails) != 1 {
		t.Fatalf("%d mails received", len(mails))
	}
	m := mails[0]
	if len(m.To) != 1 || m.To[0] != "zhangsan@wengyuan.gov.cn" || m.From != "noreply@wengyuan.gov.cn" || !m.TLS || m.User != "notifier" {
		t.Errorf("envelope: from %s to %v, TLS %v, user %q", m.From, m.To, m.TLS, m.User)
	}
	if got, err := m.Subject(); err != nil || got != subject {
		t.Errorf("subject %q (%v); want %q", got, err, subject)
	}
	if body, err := m.Body(); err != nil || body != "限 3 个工作日内办结。\r\n承办：县政务服务中心\r\n" && body != "限 3 个工作日内办结。\r\n承办：县政务服务中心" {
		t.Errorf("body %q (%v)", body, err)
	}
	for _, line := range strings.Split(string(m.Data), "\r\n") {
		if len(line) > 998 {
			t.Errorf("a line of %d bytes: %.80s…", len(line), line)
		}
	}
	if h, _ := m.Header(); !strings.Contains(h.Get("From"), "noreply@wengyuan.gov.cn") || !strings.HasPrefix(h.Get("Message-Id"), "<notify.") {
		t.Errorf("headers: %v", h)
	}

	sms := w.gateway.Accepted()
	if len(sms) != 1 {
		t.Fatalf("%d SMS accepted", len(sms))
	}
	s := sms[0]
	if s.To != "+8613800138000" || s.Sign != "翁源县政务服务" || s.Authorization != "Bearer "+gatewayToken || !strings.HasPrefix(s.Text, subject+"：限 3 个工作日内办结") || s.ID != wengyuan+"/3" {
		t.Errorf("SMS: %+v", s)
	}
	for _, r := range w.rows(t, wengyuan) {
		switch r.Channel {
		case notify.ChannelEmail:
			if r.Status != notify.StatusSent || r.Attempts != 1 || r.SentAt == nil || r.ProviderRef == nil || !strings.HasPrefix(*r.ProviderRef, "<notify.") {
				t.Errorf("e-mail row: %+v", r)
			}
		case notify.ChannelSMS:
			if r.Status != notify.StatusSent || r.ProviderRef == nil || *r.ProviderRef != s.MessageID || r.NextAttempt != nil {
				t.Errorf("SMS row: %+v", r)
			}
		}
	}
	if r := w.drain(t, wengyuan); r != (notify.DrainReport{}) || len(w.smtp.Mails()) != 1 || len(w.gateway.Accepted()) != 1 {
		t.Errorf("a second drain: %+v, %d mails, %d SMS", r, len(w.smtp.Mails()), len(w.gateway.Accepted()))
	}
}

// TestAChannelThatIsDownDelaysAndLosesNothing takes the gateway and the
// mail server down, then brings them back: every message arrives once.
func TestAChannelThatIsDownDelaysAndLosesNothing(t *testing.T) {
	t.Parallel()
	w := setup(t)
	w.setGateway(t, wengyuan)
	var msgs []notify.Message
	for i, login := range []string{"a", "b", "c"} {
		id := w.account(t, wengyuan, 1, login, "1380013800"+string(rune('0'+i)), login+"@wengyuan.gov.cn", "active")
		msgs = append(msgs, notify.Message{Account: id, Kind: notify.KindTaskOverdue, Subject: "已超期", SMS: true})
	}
	w.write(t, wengyuan, msgs...)
	w.gateway.Fail(http.StatusServiceUnavailable)
	w.smtp.SetDown(true)

	r := w.drain(t, wengyuan)
	if r.Sent != 0 || r.Retrying != 2 || r.Deferred != 4 || r.Failed != 0 {
		t.Errorf("drain with both channels down: %+v; want one try per channel, the other four deferred", r)
	}
	if n := w.gateway.Requests(); n != 1 {
		t.Errorf("the gateway got %d requests while down; one tells it is", n)
	}
	tried := map[string]int{}
	for _, r := range w.rows(t, wengyuan) {
		if r.Channel == notify.ChannelInApp {
			continue
		}
		if r.Status != notify.StatusPending || r.LastError == nil || r.NextAttempt == nil || !r.NextAttempt.Equal(w.clock.Now().Truncate(time.Microsecond).Add(30*time.Second)) {
			t.Errorf("row while down: %+v (last error %v)", r, deref(r.LastError))
		}
		tried[r.Channel] += r.Attempts
		if r.Attempts == 1 && r.Channel == notify.ChannelSMS && !strings.Contains(*r.LastError, "503") {
			t.Errorf("the SMS tried says %q", *r.LastError)
		}
		if r.Attempts == 0 && !strings.HasPrefix(*r.LastError, "not tried") {
			t.Errorf("a deferred row says %q", *r.LastError)
		}
	}
	if tried[notify.ChannelEmail] != 1 || tried[notify.ChannelSMS] != 1 {
		t.Errorf("attempts: %v", tried)
	}
	// The drain asked for another at the retry.
	followUps, err := w.queue.List(context.Background(), jobs.Filter{Kind: notify.JobDrain, Tenant: wengyuan})
	if err != nil || len(followUps) != 1 || followUps[0].RunAt.Before(w.clock.Now().Add(30*time.Second)) {
		t.Errorf("follow-up drains: %+v (%v)", followUps, err)
	}

	if r := w.drain(t, wengyuan); r != (notify.DrainReport{}) {
		t.Errorf("a drain before the retry is due: %+v", r)
	}
	w.clock.Advance(31 * time.Second)
	w.gateway.Fail(0)
	w.gateway.Drop(true)
	if r := w.drain(t, wengyuan); r.Sent != 0 || r.Retrying != 2 {
		t.Errorf("drain with the gateway closing connections: %+v", r)
	}
	w.clock.Advance(61 * time.Second)
	w.gateway.Drop(false)
	w.smtp.SetDown(false)
	if r := w.drain(t, wengyuan); r.Sent != 6 || r.Retrying+r.Failed+r.Deferred != 0 {
		t.Errorf("drain once both are back: %+v", r)
	}
	w.clock.Advance(time.Hour)
	w.drain(t, wengyuan)
	seen := map[string]bool{}
	for _, s := range w.gateway.Accepted() {
		if seen[s.ID] {
			t.Errorf("SMS %s sent twice", s.ID)
		}
		seen[s.ID] = true
	}
	if len(seen) != 3 || len(w.smtp.Mails()) != 3 {
		t.Errorf("%d SMS and %d mails arrived; want 3 of each", len(seen), len(w.smtp.Mails()))
	}
	for _, r := range w.rows(t, wengyuan) {
		if r.Status != notify.StatusSent || r.LastError != nil {
			t.Errorf("after recovery: %+v", r)
		}
	}
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

// TestAttemptsRunOutThenAnAdminRetries fails a message until it has no
// attempts left, then an admin retries it once the gateway is back.
func TestAttemptsRunOutThenAnAdminRetries(t *testing.T) {
	t.Parallel()
	w := setup(t, func(o *notify.Options) {
		o.MaxAttempts = 3
		o.Backoff = func(int) time.Duration { return time.Second }
	})
	w.setGateway(t, wengyuan)
	li := w.account(t, wengyuan, 1, "lisi", "13900139000", "", "active")
	w.write(t, wengyuan, notify.Message{Account: li, Kind: notify.KindEscalation, Subject: "督办提醒", SMS: true})
	w.gateway.Fail(http.StatusBadGateway)
	for range 3 {
		w.drain(t, wengyuan)
		w.clock.Advance(2 * time.Second)
	}
	var sms row
	for _, r := range w.rows(t, wengyuan) {
		if r.Channel == notify.ChannelSMS {
			sms = r
		}
	}
	if sms.Status != notify.StatusFailed || sms.Attempts != 3 || sms.NextAttempt != nil || !strings.Contains(deref(sms.LastError), "502") {
		t.Fatalf("after 3 attempts: %+v (%s)", sms, deref(sms.LastError))
	}
	if r := w.drain(t, wengyuan); r != (notify.DrainReport{}) || w.gateway.Requests() != 3 {
		t.Errorf("a failed message was tried again: %+v, %d requests", r, w.gateway.Requests())
	}

	ctx := context.Background()
	w.gateway.Fail(0)
	d, err := w.svc.Retry(ctx, wengyuan, sms.ID)
	if err != nil || d.Status != notify.StatusPending || d.Attempts != 0 || d.Address != "13900139000" {
		t.Fatalf("retry: %+v %v", d, err)
	}
	kicks, err := w.queue.List(ctx, jobs.Filter{Kind: notify.JobDrain, Tenant: wengyuan})
	if err != nil || len(kicks) == 0 {
		t.Errorf("the retry kicked no drain: %v", err)
	}
	if r := w.drain(t, wengyuan); r.Sent != 1 || len(w.gateway.Accepted()) != 1 {
		t.Errorf("drain after the retry: %+v", r)
	}
	_, err = w.svc.Retry(ctx, wengyuan, sms.ID)
	wantCode(t, "retrying a sent message", err, notify.CodeNotFailed)
	_, err = w.svc.Retry(ctx, wengyuan, sms.ID-1)
	wantCode(t, "retrying an inbox row", err, notify.CodeNotificationNotFound)
	_, err = w.svc.Retry(ctx, lechang, sms.ID)
	wantCode(t, "retrying Wengyuan's message in Lechang", err, notify.CodeNotificationNotFound)
	var trail int
	if err := w.db.Server.Get(&trail, "SELECT COUNT(*) FROM `"+w.schemas[wengyuan]+"`.audit_log WHERE action = 'notifications.outbox.retry' AND object_id = ?", sms.ID); err != nil || trail != 1 {
		t.Errorf("%d retries in the trail (%v), want 1", trail, err)
	}
}

// TestWhatNoRetryFixesFailsAtOnce: a number the gateway calls invalid, a
// mailbox the server refuses, a county without a gateway, a platform
// without a mail server.
func TestWhatNoRetryFixesFailsAtOnce(t *testing.T) {
	t.Parallel()
	w := setup(t)
	w.setGateway(t, wengyuan)
	w.gateway.Invalid("+8613700137000")
	w.smtp.Reject("gone@wengyuan.gov.cn", "550 5.1.1 no such mailbox")
	w.smtp.Reject("full@wengyuan.gov.cn", "452 4.2.2 mailbox full")
	wrong := w.account(t, wengyuan, 1, "wrong", "13700137000", "gone@wengyuan.gov.cn", "active")
	full := w.account(t, wengyuan, 1, "full", "", "full@wengyuan.gov.cn", "active")
	right := w.account(t, wengyuan, 1, "right", "13700137001", "right@wengyuan.gov.cn", "active")
	w.write(t, wengyuan,
		notify.Message{Account: wrong, Kind: notify.KindTest, Subject: "测试", SMS: true},
		notify.Message{Account: full, Kind: notify.KindTest, Subject: "测试"},
		notify.Message{Account: right, Kind: notify.KindTest, Subject: "测试", SMS: true})
	r := w.drain(t, wengyuan)
	if r.Sent != 2 || r.Failed != 2 || r.Retrying != 1 || r.Deferred != 0 {
		t.Errorf("drain: %+v; want the two right ones sent, the invalid number and the missing mailbox failed, the full mailbox retrying", r)
	}
	for _, row := range w.rows(t, wengyuan) {
		switch deref(row.Address) {
		case "13700137000":
			if row.Status != notify.StatusFailed || row.Attempts != 1 || !strings.Contains(deref(row.LastError), "invalid_number") {
				t.Errorf("invalid number: %+v %s", row, deref(row.LastError))
			}
		case "gone@wengyuan.gov.cn":
			if row.Status != notify.StatusFailed || !strings.Contains(deref(row.LastError), "550") {
				t.Errorf("missing mailbox: %+v %s", row, deref(row.LastError))
			}
		case "full@wengyuan.gov.cn":
			if row.Status != notify.StatusPending || row.Attempts != 1 || !strings.Contains(deref(row.LastError), "452") {
				t.Errorf("full mailbox: %+v %s", row, deref(row.LastError))
			}
		}
	}

	// Lechang has no gateway, and this platform no mail server.
	bare := notify.New(w.router, w.queue, counties{lechang}, nil, notify.Options{Now: w.clock.Now}, quiet)
	someone := w.account(t, lechang, 1, "someone", "13600136000", "someone@lechang.gov.cn", "active")
	w.write(t, lechang, notify.Message{Account: someone, Kind: notify.KindTest, Subject: "测试", SMS: true})
	if r, err := bare.Drain(context.Background(), lechang); err != nil || r.Failed != 2 {
		t.Errorf("drain without channels: %+v %v", r, err)
	}
	for _, row := range w.rows(t, lechang) {
		want := map[string]string{notify.ChannelEmail: "no SMTP server configured", notify.ChannelSMS: "no SMS gateway configured"}[row.Channel]
		if row.Channel != notify.ChannelInApp && (row.Status != notify.StatusFailed || !strings.Contains(deref(row.LastError), want)) {
			t.Errorf("%s without a channel: %+v %s", row.Channel, row, deref(row.LastError))
		}
	}
}

// TestASubjectCannotAddHeaders: line breaks in a subject are not header
// breaks.
func TestASubjectCannotAddHeaders(t *testing.T) {
	t.Parallel()
	w := setup(t)
	id := w.account(t, wengyuan, 1, "victim", "", "victim@wengyuan.gov.cn", "active")
	w.write(t, wengyuan, notify.Message{Account: id, Kind: notify.KindTest, Subject: "hello\r\nBcc: spy@example.com\r\n\r\nbody"})
	w.drain(t, wengyuan)
	mails := w.smtp.Mails()
	if len(mails) != 1 {
		t.Fatalf("%d mails", len(mails))
	}
	h, err := mails[0].Header()
	if err != nil || h.Get("Bcc") != "" || len(mails[0].To) != 1 {
		t.Errorf("headers %v (%v), recipients %v", h, err, mails[0].To)
	}
	if s, _ := mails[0].Subject(); s != "hello Bcc: spy@example.com body" {
		t.Errorf("subject %q", s)
	}
}

// TestKicksCoalesceAndTheSweepFindsWhatWaits: kicks in one window share a
// drain due at the window's end; the sweep kicks the counties with due
// messages and only those; a worker running the jobs delivers.
func TestKicksCoalesceAndTheSweepFindsWhatWaits(t *testing.T) {
	t.Parallel()
	w := setup(t, func(o *notify.Options) { o.Coalesce = time.Hour })
	ctx := context.Background()
	for range 3 {
		if err := w.svc.Kick(ctx, wengyuan); err != nil {
			t.Fatal(err)
		}
	}
	list, err := w.queue.List(ctx, jobs.Filter{Kind: notify.JobDrain})
	window := w.clock.Now().Truncate(time.Hour)
	if err != nil || len(list) != 1 || !list[0].RunAt.Equal(window.Add(time.Hour)) || list[0].Tenant != wengyuan {
		t.Fatalf("three kicks in one window: %+v (%v)", list, err)
	}

	id := w.account(t, wengyuan, 1, "wang", "", "wang@wengyuan.gov.cn", "active")
	w.write(t, wengyuan, notify.Message{Account: id, Kind: notify.KindTaskWarning, Subject: "即将超期"})
	w.clock.Advance(time.Hour)
	n, err := w.svc.Sweep(ctx)
	if err != nil || n != 1 {
		t.Errorf("sweep kicked %d (%v), want Wengyuan only", n, err)
	}
	list, _ = w.queue.List(ctx, jobs.Filter{Kind: notify.JobDrain, Tenant: lechang})
	if len(list) != 0 {
		t.Errorf("the sweep kicked Lechang, which has nothing due: %+v", list)
	}
}

// TestTheWorkerDeliversWhatIsKicked runs drains as jobs on the real
// clock: Write, commit, Kick, and the mail arrives.
func TestTheWorkerDeliversWhatIsKicked(t *testing.T) {
	t.Parallel()
	w := setup(t, func(o *notify.Options) {
		o.Now = nil
		o.Coalesce = 20 * time.Millisecond
	})
	ctx, cancel := context.WithCancel(context.Background())
	worker := jobs.NewWorker(w.queue, map[string]jobs.Handler{notify.JobDrain: w.svc.DrainJob, notify.JobSweep: w.svc.SweepJob},
		jobs.Options{Poll: 20 * time.Millisecond}, quiet)
	done := make(chan struct{})
	go func() { worker.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	id := w.account(t, wengyuan, 1, "zhao", "", "zhao@wengyuan.gov.cn", "active")
	for i := range 3 {
		pending := w.write(t, wengyuan, notify.Message{Account: id, Kind: notify.KindTaskAssigned, Subject: "新任务 " + string(rune('一'+i))})
		if pending != 1 {
			t.Fatalf("%d pending", pending)
		}
		if err := w.svc.Kick(context.Background(), wengyuan); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(w.smtp.Mails()) < 3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := len(w.smtp.Mails()); n != 3 {
		t.Errorf("%d mails arrived, want 3", n)
	}
}
