package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/core/config"
	"github.com/countycloud/countycloud/core/notify"
	"github.com/countycloud/countycloud/core/notify/notifytest"
)

// TestNotificationsThroughTheAPI follows a county's notifications over
// HTTP and the CLI, with a real mail server and SMS gateway: the admin
// sets the gateway and sends a test notice, accounts read their inboxes,
// a wrong number fails and is retried once corrected, the gateway goes
// down and comes back, and nothing crosses between counties.
func TestNotificationsThroughTheAPI(t *testing.T) {
	t.Parallel()
	mailServer := notifytest.NewSMTPServer(t, notifytest.SMTPOptions{})
	gateway := notifytest.NewGateway(t, "gw-token")
	roles := map[string]string{"wyadmin": auth.RoleCountyAdmin, "wyclerk": auth.RoleClerk, "wystaff": ""}
	db, p, url, env := twoCounties(t, roles, func(c *config.Server) {
		c.SMTP = config.SMTP{Addr: mailServer.Addr, From: "翁源县政务云 <noreply@wengyuan.gov.cn>"}
		// The gateway listens on loopback, which only the operator's allow opens.
		c.OutboundAllow = notifytest.Loopback()
	})
	op := env["COUNTYCLOUD_TOKEN"]
	tokens := loginAs(t, db, url, op, "gd.shaoguan.wengyuan")
	lcadmin := loginAs(t, db, url, op, "gd.shaoguan.lechang")["lcadmin"]
	const wy, lc = "/v1/tenants/gd.shaoguan.wengyuan/notifications", "/v1/tenants/gd.shaoguan.lechang/notifications"
	ctx := context.Background()
	ids := map[string]string{}
	for login, token := range tokens {
		ids[login] = itoa(decode[auth.Principal](t, call(t, "GET", url+"/v1/auth/me", token, nil)).ID)
	}
	cliWY := map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": op, "COUNTYCLOUD_TENANT": "gd.shaoguan.wengyuan"}
	mustCLI(t, cliWY, "org", "accounts", "update", ids["wyclerk"], "--mobile", "13800138000", "--email", "clerk@wengyuan.gov.cn")
	mustCLI(t, cliWY, "org", "accounts", "update", ids["wystaff"], "--mobile", "13800138001")

	// The admin sets the gateway; a bad one changes nothing, and the token is never shown.
	admin := tokens["wyadmin"]
	gw := map[string]any{"url": gateway.URL, "token": "gw-token", "sign": "翁源县政务服务"}
	want(t, "set the gateway", call(t, "PUT", url+wy+"/sms-gateway", admin, gw), 200, "")
	for what, body := range map[string]any{
		"an ftp URL":    map[string]any{"url": "ftp://sms.example/send"},
		"no URL":        map[string]any{"token": "x"},
		"unknown field": map[string]any{"url": gateway.URL, "password": "x"},
		// Loopback is allowed here; other internal networks are not.
		"a private address":    map[string]any{"url": "http://10.0.0.7/send"},
		"the metadata service": map[string]any{"url": "http://169.254.169.254/latest/meta-data/"},
	} {
		want(t, what, call(t, "PUT", url+wy+"/sms-gateway", admin, body), 400, "")
	}
	want(t, "a clerk setting the gateway", call(t, "PUT", url+wy+"/sms-gateway", tokens["wyclerk"], gw), 403, auth.CodeForbidden)
	if out := mustCLI(t, cliWY, "notify", "sms-gateway", "show"); !strings.Contains(out, gateway.URL) || !strings.Contains(out, "token set:") || strings.Contains(out, "gw-token") {
		t.Errorf("sms-gateway show: %s", out)
	}
	if r := call(t, "GET", url+wy+"/sms-gateway", admin, nil); strings.Contains(string(r.body), "gw-token") || !strings.Contains(string(r.body), `"token_set":true`) {
		t.Errorf("GET sms-gateway: %s", r.body)
	}

	// The clerk wants no e-mail for tests; a test notice with SMS reaches everyone anyway.
	want(t, "an unknown kind", call(t, "PUT", url+wy+"/preferences", tokens["wyclerk"], map[string]any{"preferences": []map[string]any{{"kind": "gossip", "email": false, "sms": false}}}), 400, notify.CodeInvalidPreferences)
	want(t, "preferences", call(t, "PUT", url+wy+"/preferences", tokens["wyclerk"], map[string]any{"preferences": []map[string]any{{"kind": "test", "email": false, "sms": false}}}), 200, "")
	prefs := decode[notify.Preferences](t, call(t, "GET", url+wy+"/preferences", tokens["wyclerk"], nil))
	if len(prefs.Preferences) != len(notify.Kinds()) || prefs.Preferences[4] != (notify.Preference{Kind: "test"}) {
		t.Errorf("preferences: %+v", prefs)
	}
	want(t, "an operator's preferences", call(t, "GET", url+wy+"/preferences", op, nil), 404, notify.CodeNoInbox)
	out := mustCLI(t, cliWY, "notify", "test", "--unit", "1", "--subject", "系统测试通知", "--body", "请回复“收到”。", "--sms")
	if !strings.Contains(out, "accounts:") || !strings.Contains(out, "3") || !strings.Contains(out, "人员wyadmin") {
		t.Errorf("notify test: %s", out)
	}
	if _, err := p.notify.Drain(ctx, "gd.shaoguan.wengyuan"); err != nil {
		t.Fatal(err)
	}
	sms := gateway.Accepted()
	if len(sms) != 2 || sms[0].Authorization != "Bearer gw-token" || sms[0].Sign != "翁源县政务服务" || !strings.HasPrefix(sms[0].Text, "系统测试通知") {
		t.Errorf("SMS: %+v", sms)
	}
	if mails := mailServer.Mails(); len(mails) != 0 {
		t.Errorf("%d mails; the only address belongs to the clerk, who wants none for tests", len(mails))
	}

	// Inboxes are their accounts' own.
	inbox := decode[notify.InboxPage](t, call(t, "GET", url+wy+"?unread=true", tokens["wyclerk"], nil))
	if len(inbox.Notifications) != 1 || inbox.Unread != 1 || inbox.Notifications[0].Subject != "系统测试通知" {
		t.Fatalf("the clerk's inbox: %+v", inbox)
	}
	clerksID := itoa(inbox.Notifications[0].ID)
	staffs := decode[notify.InboxPage](t, call(t, "GET", url+wy, tokens["wystaff"], nil))
	if len(staffs.Notifications) != 1 {
		t.Fatalf("the staff's inbox: %+v", staffs)
	}
	want(t, "someone else's notification", call(t, "POST", url+wy+"/"+clerksID+"/read", tokens["wystaff"], nil), 404, notify.CodeNotificationNotFound)
	want(t, "Lechang's admin in Wengyuan", call(t, "POST", url+wy+"/"+clerksID+"/read", lcadmin, nil), 404, "tenant_not_found")
	want(t, "Lechang's admin with Wengyuan's id", call(t, "POST", url+lc+"/"+clerksID+"/read", lcadmin, nil), 404, notify.CodeNotificationNotFound)
	want(t, "an operator's inbox", call(t, "GET", url+wy, op, nil), 404, notify.CodeNoInbox)
	if again := decode[notify.InboxPage](t, call(t, "GET", url+wy, tokens["wyclerk"], nil)); again.Unread != 1 {
		t.Errorf("refused reads marked the clerk's notification: %+v", again)
	}
	clerkCLI := map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": tokens["wyclerk"], "COUNTYCLOUD_TENANT": "gd.shaoguan.wengyuan"}
	mustCLI(t, clerkCLI, "notify", "read", clerksID)
	if out := mustCLI(t, clerkCLI, "notify", "inbox"); !strings.Contains(out, "系统测试通知") || !strings.Contains(out, "0 unread") {
		t.Errorf("notify inbox: %s", out)
	}

	// A wrong number fails at once; corrected and retried, it arrives.
	gateway.Invalid("+8613800138001")
	want(t, "a notice to the staff", call(t, "POST", url+wy+"/test", admin, map[string]any{"unit_id": 1, "subject": "第二次测试", "sms": true}), 200, "")
	if _, err := p.notify.Drain(ctx, "gd.shaoguan.wengyuan"); err != nil {
		t.Fatal(err)
	}
	var failed notify.OutboxPage
	if err := json.Unmarshal([]byte(mustCLI(t, cliWY, "notify", "outbox", "--status", "failed", "-o", "json")), &failed); err != nil || len(failed.Deliveries) != 1 ||
		failed.Deliveries[0].Address != "13800138001" || !strings.Contains(*failed.Deliveries[0].LastError, "invalid_number") {
		t.Fatalf("failed deliveries: %+v %v", failed, err)
	}
	wrong := itoa(failed.Deliveries[0].ID)
	want(t, "Wengyuan's admin at Lechang's outbox", call(t, "GET", url+lc+"/outbox", admin, nil), 404, "tenant_not_found")
	want(t, "Lechang's admin retrying Wengyuan's", call(t, "POST", url+lc+"/outbox/"+wrong+"/retry", lcadmin, nil), 404, notify.CodeNotificationNotFound)
	if page := decode[notify.OutboxPage](t, call(t, "GET", url+lc+"/outbox", lcadmin, nil)); len(page.Deliveries) != 0 {
		t.Errorf("Lechang's outbox shows %d deliveries", len(page.Deliveries))
	}
	mustCLI(t, cliWY, "org", "accounts", "update", ids["wystaff"], "--mobile", "13900139001")
	gateway.Fail(http.StatusServiceUnavailable)
	if out := mustCLI(t, cliWY, "notify", "retry", wrong); !strings.Contains(out, "pending") || !strings.Contains(out, "13900139001") {
		t.Errorf("notify retry: %s", out)
	}
	if r := cli(t, cliWY, "notify", "retry", wrong); r.code != exitFailed || !strings.Contains(r.stderr, notify.CodeNotFailed) {
		t.Errorf("retrying a pending one: exit %d %s", r.code, r.stderr)
	}
	if _, err := p.notify.Drain(ctx, "gd.shaoguan.wengyuan"); err != nil {
		t.Fatal(err)
	}
	pending := decode[notify.OutboxPage](t, call(t, "GET", url+wy+"/outbox?status=pending&channel=sms", admin, nil))
	if len(pending.Deliveries) != 1 || pending.Deliveries[0].Attempts != 1 || !strings.Contains(*pending.Deliveries[0].LastError, "503") {
		t.Fatalf("while the gateway is down: %+v", pending)
	}

	// The gateway comes back; the worker's sweep and drains deliver it once.
	gateway.Fail(0)
	if _, err := db.Server.Exec("UPDATE `" + db.SchemaPrefix + "gd_shaoguan_wengyuan`.notifications SET next_attempt_at = UTC_TIMESTAMP(6) WHERE status = 'pending'"); err != nil {
		t.Fatal(err)
	}
	if n, err := p.notify.Sweep(ctx); err != nil || n != 1 {
		t.Errorf("sweep kicked %d (%v), want Wengyuan", n, err)
	}
	workerCtx, stopWorker := context.WithCancel(ctx)
	stopped := make(chan struct{})
	go func() { p.worker().Run(workerCtx); close(stopped) }()
	defer func() { stopWorker(); <-stopped }()
	deadline := time.Now().Add(15 * time.Second)
	for len(gateway.Accepted()) < 4 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if sms := gateway.Accepted(); len(sms) != 4 || sms[3].To != "+8613900139001" {
		t.Errorf("after the gateway came back: %+v", sms)
	}
	trail := call(t, "GET", url+"/v1/tenants/gd.shaoguan.wengyuan/audit?object_type=notification", admin, nil)
	if !strings.Contains(string(trail.body), `"action":"notifications.outbox.retry"`) {
		t.Errorf("the retry is not in the trail: %s", trail.body)
	}
	if r := cli(t, nil, "server", "--help"); !strings.Contains(r.stdout, "--smtp-addr") || !strings.Contains(r.stdout, "--smtp-password") {
		t.Errorf("server --help does not show the SMTP flags:\n%s", r.stdout)
	}
}
