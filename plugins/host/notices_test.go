package host_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/audit"
	"github.com/countycloud/countycloud/core/egress"
	"github.com/countycloud/countycloud/core/notify"
	"github.com/countycloud/countycloud/core/notify/notifytest"
	"github.com/countycloud/countycloud/plugins/sdk/proto/pluginv1"
)

type auditRow struct {
	ActorKind  string  `db:"actor_kind"`
	ActorID    *int64  `db:"actor_id"`
	ActorLogin string  `db:"actor_login"`
	UnitID     *int64  `db:"unit_id"`
	Action     string  `db:"action"`
	ObjectType string  `db:"object_type"`
	ObjectID   string  `db:"object_id"`
	Before     *string `db:"before_digest"`
	After      *string `db:"after_digest"`
	RequestID  string  `db:"request_id"`
	Source     string  `db:"source"`
}

func (w *world) trail(t *testing.T, county string) []auditRow {
	t.Helper()
	var rows []auditRow
	w.inTenant(t, county, func(ctx context.Context, conn *sqlx.Conn) error {
		return conn.SelectContext(ctx, &rows, `SELECT actor_kind, actor_id, actor_login, unit_id, action, object_type, object_id,
before_digest, after_digest, request_id, source FROM audit_log ORDER BY id`)
	})
	return rows
}

func TestAPluginAuditsInItsOwnNamespaceAsTheCaller(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	entry := map[string]any{"action": "video.update", "object_type": "video", "object_id": "v-1",
		"before": map[string]any{"title": "旧", "views": 12345678901234567}, "after": map[string]any{"views": 12345678901234567, "title": "新"}}
	if status, body := w.call(t, wengyuan, zhang, "POST", "/audit", "", entry); status != 200 {
		t.Fatalf("audit = %d %s", status, body)
	}
	rows := w.trail(t, wengyuan)
	if len(rows) != 1 {
		t.Fatalf("trail = %+v", rows)
	}
	e := rows[0]
	if e.Action != "media.video.update" || e.ObjectType != "video" || e.ObjectID != "v-1" || e.Source != "plugin:media" || !strings.HasPrefix(e.RequestID, "req-") {
		t.Errorf("entry = %+v", e)
	}
	if e.ActorKind != "account" || e.ActorLogin != "zhang" || e.ActorID == nil || *e.ActorID != 7 || e.UnitID == nil || *e.UnitID != 3 {
		t.Errorf("actor of the entry = %+v, want zhang's", e)
	}
	// The digests are of the values, however the plugin wrote them, and
	// keep large numbers whole.
	if e.Before == nil || e.After == nil || *e.Before == *e.After {
		t.Fatalf("digests = %v %v", e.Before, e.After)
	}
	reordered := `{ "views" : 12345678901234567 , "title":"新" }`
	if want := audit.Digest(map[string]any{"title": "新", "views": 12345678901234567}); *want != *e.After {
		t.Errorf("after digest = %s, want audit.Digest's %s", *e.After, *want)
	}
	w.call(t, wengyuan, zhang, "POST", "/audit", "", map[string]any{"action": "video.update", "object_type": "video", "object_id": "v-1", "after": rawJSON(reordered)})
	if rows := w.trail(t, wengyuan); len(rows) != 2 || rows[1].After == nil || *rows[1].After != *e.After || rows[1].Before != nil {
		t.Errorf("the same object written otherwise: %+v", rows[1])
	}
	// A plugin cannot write one of the platform's actions.
	w.call(t, wengyuan, zhang, "POST", "/audit", "", map[string]any{"action": "notifications.test", "object_type": "test_notice", "object_id": "1"})
	if rows := w.trail(t, wengyuan); rows[len(rows)-1].Action != "media.notifications.test" {
		t.Errorf("a platform action from a plugin was written as %s", rows[len(rows)-1].Action)
	}
	if rows := w.trail(t, lechang); len(rows) != 0 {
		t.Errorf("Lechang's trail got Wengyuan's entries: %+v", rows)
	}

	for what, bad := range map[string]map[string]any{
		"no action":          {"action": "", "object_type": "video", "object_id": "v-1"},
		"a capital":          {"action": "Video.create", "object_type": "video", "object_id": "v-1"},
		"a path":             {"action": "../video", "object_type": "video", "object_id": "v-1"},
		"too many words":     {"action": "a.b.c.d.e", "object_type": "video", "object_id": "v-1"},
		"too long":           {"action": strings.Repeat("a", 60), "object_type": "video", "object_id": "v-1"},
		"no object type":     {"action": "video.create", "object_type": "", "object_id": "v-1"},
		"a spaced object id": {"action": "video.create", "object_type": "video", "object_id": "v 1"},
	} {
		if status, body := w.call(t, wengyuan, zhang, "POST", "/audit", "", bad); status != 400 || !strings.HasPrefix(body, "invalid") {
			t.Errorf("%s: audit = %d %s, want invalid", what, status, body)
		}
	}

	// A request whose caller the host does not know writes nothing.
	resp, err := w.p.Handle(context.Background(), wengyuan, &pluginv1.HandleRequest{Method: "POST", Path: "/audit", RequestId: "nobody",
		Body: []byte(`{"action":"video.create","object_type":"video","object_id":"v-2"}`)})
	if err != nil || resp.GetStatus() != 400 || !strings.HasPrefix(string(resp.GetBody()), "denied") {
		t.Errorf("an entry of an unknown caller = %v %s, want denied", err, resp.GetBody())
	}
	if rows := w.trail(t, wengyuan); len(rows) != 3 {
		t.Errorf("%d entries, want the 3 good ones", len(rows))
	}
}

// rawJSON sends text as it is in a request body built with json.Marshal.
type rawJSON string

func (r rawJSON) MarshalJSON() ([]byte, error) { return []byte(r), nil }

type notificationRow struct {
	Account int64  `db:"account_id"`
	Channel string `db:"channel"`
	Kind    string `db:"kind"`
	Subject string `db:"subject"`
	Body    string `db:"body"`
}

func (w *world) notifications(t *testing.T, county string) []notificationRow {
	t.Helper()
	var rows []notificationRow
	w.inTenant(t, county, func(ctx context.Context, conn *sqlx.Conn) error {
		return conn.SelectContext(ctx, &rows, "SELECT account_id, channel, kind, subject, body FROM notifications ORDER BY account_id, channel")
	})
	return rows
}

// people adds a unit to county and accounts in it: the first active
// with an e-mail address, the second active and its admin, the third
// its admin but disabled. It returns the unit's and the accounts' ids.
func (w *world) people(t *testing.T, county string) (unit int64, accounts [3]int64) {
	t.Helper()
	w.inTenant(t, county, func(ctx context.Context, conn *sqlx.Conn) error {
		now := time.Now().UTC()
		res, err := conn.ExecContext(ctx, "INSERT INTO units (name, created_at, updated_at) VALUES ('办公室', ?, ?)", now, now)
		if err != nil {
			return err
		}
		if unit, err = res.LastInsertId(); err != nil {
			return err
		}
		for i, a := range []struct{ login, email, status string }{{"wang", "wang@example.gov.cn", "active"}, {"li", "", "active"}, {"zhao", "", "disabled"}} {
			res, err := conn.ExecContext(ctx, "INSERT INTO accounts (login, name, unit_id, email, status, created_at, updated_at) VALUES (?, ?, ?, NULLIF(?, ''), ?, ?, ?)",
				a.login, "人员"+a.login, unit, a.email, a.status, now, now)
			if err != nil {
				return err
			}
			if accounts[i], err = res.LastInsertId(); err != nil {
				return err
			}
		}
		_, err = conn.ExecContext(ctx, "INSERT INTO account_roles (account_id, role_id) SELECT a.id, r.id FROM accounts a, roles r WHERE a.login IN ('li', 'zhao') AND r.code = 'unit_admin'")
		return err
	})
	return unit, accounts
}

func TestAPluginNotifiesAccountsOfTheCountyOfItsRequest(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	unit, people := w.people(t, wengyuan)
	w.people(t, lechang)
	notice := map[string]any{"AccountIDs": []int64{people[0]}, "Audiences": []map[string]any{{"UnitID": unit, "Role": "unit_admin"}},
		"Subject": "新的培训视频", "Body": "《公文写作》已上线。"}
	if status, body := w.call(t, wengyuan, zhang, "POST", "/notify", "", notice); status != 200 {
		t.Fatalf("notify = %d %s", status, body)
	}
	got := w.notifications(t, wengyuan)
	want := []notificationRow{
		{people[0], "email", "module", "新的培训视频", "《公文写作》已上线。"},
		{people[0], "inapp", "module", "新的培训视频", "《公文写作》已上线。"},
		{people[1], "inapp", "module", "新的培训视频", "《公文写作》已上线。"},
	}
	if len(got) != len(want) {
		t.Fatalf("notifications = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("notification %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if k := w.kicks.list(); len(k) != 1 || k[0] != wengyuan {
		t.Errorf("kicks = %v, want Wengyuan's drain once", k)
	}
	// Lechang has accounts of the same ids; they heard nothing.
	if rows := w.notifications(t, lechang); len(rows) != 0 {
		t.Errorf("Lechang got %+v", rows)
	}

	w.call(t, wengyuan, zhang, "POST", "/notify", "", map[string]any{"AccountIDs": []int64{people[1]}, "Kind": "task_overdue", "Subject": "审核超期"})
	if rows := w.notifications(t, wengyuan); len(rows) != 4 || rows[3].Kind != "task_overdue" {
		t.Errorf("a task notice = %+v", rows)
	}
	if k := w.kicks.list(); len(k) != 1 {
		t.Errorf("a notice with nothing to deliver kicked the drain: %v", k)
	}
	for what, bad := range map[string]map[string]any{
		"no one":             {"Subject": "x"},
		"an escalation":      {"AccountIDs": []int64{people[0]}, "Kind": "escalation", "Subject": "x"},
		"a test notice":      {"AccountIDs": []int64{people[0]}, "Kind": "test", "Subject": "x"},
		"an unknown kind":    {"AccountIDs": []int64{people[0]}, "Kind": "gossip", "Subject": "x"},
		"no subject":         {"AccountIDs": []int64{people[0]}, "Subject": " "},
		"a control char":     {"AccountIDs": []int64{people[0]}, "Subject": "x", "Body": "a\x07b"},
		"a long body":        {"AccountIDs": []int64{people[0]}, "Subject": "x", "Body": strings.Repeat("长", 2001)},
		"a zero account":     {"AccountIDs": []int64{0}, "Subject": "x"},
		"too many accounts":  {"AccountIDs": make([]int64, 1001), "Subject": "x"},
		"a role not a code":  {"Audiences": []map[string]any{{"UnitID": unit, "Role": "Unit Admin"}}, "Subject": "x"},
		"no unit":            {"Audiences": []map[string]any{{"UnitID": 0, "Role": "unit_admin"}}, "Subject": "x"},
		"a subject too long": {"AccountIDs": []int64{people[0]}, "Subject": strings.Repeat("长", 201)},
	} {
		if status, body := w.call(t, wengyuan, zhang, "POST", "/notify", "", bad); status != 400 || !strings.HasPrefix(body, "invalid") {
			t.Errorf("%s: notify = %d %s, want invalid", what, status, body)
		}
	}
	if rows := w.notifications(t, wengyuan); len(rows) != 4 {
		t.Errorf("refused notices wrote %d rows, want the 4 before", len(rows))
	}
}

// callWith is call with the county's settings of the module.
func (w *world) callWith(t *testing.T, county string, who audit.Actor, settings, method, path string, body any) (int, string) {
	t.Helper()
	data, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	id := fmt.Sprintf("req-%d", w.calls.Add(1))
	w.callers.set(county, id, who)
	resp, err := w.p.Handle(context.Background(), county, &pluginv1.HandleRequest{Method: method, Path: path, Body: data, RequestId: id, Settings: []byte(settings)})
	if err != nil {
		t.Fatalf("%s %s in %s: %v", method, path, county, err)
	}
	return int(resp.GetStatus()), string(resp.GetBody())
}

func TestASendersSMSReminderReachesTheGatewayWhereTheCountyAllowsIt(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	unit, people := w.people(t, wengyuan)
	gateway := notifytest.NewGateway(t, "")
	w.inTenant(t, wengyuan, func(ctx context.Context, conn *sqlx.Conn) error {
		for i, mobile := range []string{"13800138000", "13900139000", "13700137000"} {
			if _, err := conn.ExecContext(ctx, "UPDATE accounts SET mobile = ? WHERE id = ?", mobile, people[i]); err != nil {
				return err
			}
		}
		_, err := conn.ExecContext(ctx, "INSERT INTO sms_gateway (id, url, token, sign, updated_at) VALUES (1, ?, '', '翁源县', ?)", gateway.URL, time.Now().UTC())
		return err
	})
	drain := func() {
		t.Helper()
		svc := notify.New(w.deps.Router, nil, nil, nil, notify.Options{Outbound: egress.NewPolicy(notifytest.Loopback()...)}, quiet)
		if _, err := svc.Drain(context.Background(), wengyuan); err != nil {
			t.Fatal(err)
		}
	}
	sms := func() (n int) {
		for _, r := range w.notifications(t, wengyuan) {
			if r.Channel == "sms" {
				n++
			}
		}
		return n
	}
	notice := map[string]any{"AccountIDs": []int64{people[0]}, "Audiences": []map[string]any{{"UnitID": unit, "Role": "unit_admin"}},
		"Subject": "关于开展系统测试的通知", "Body": "请于周五前完成收发文测试。", "SMSReminder": true}

	// The county has not allowed the module's SMS reminders: the notice is
	// refused whole, and nothing is written.
	for _, settings := range []string{"", "{}", `{"sms_reminders": false}`, `{"sms_reminders": "true"}`} {
		if status, body := w.callWith(t, wengyuan, zhang, settings, "POST", "/notify", notice); status != 400 || !strings.HasPrefix(body, "denied") || !strings.Contains(body, "sms_reminders") {
			t.Errorf("settings %q: notify with an SMS reminder = %d %s, want denied", settings, status, body)
		}
	}
	if rows := w.notifications(t, wengyuan); len(rows) != 0 {
		t.Fatalf("a refused SMS reminder wrote %+v", rows)
	}

	// Allowed, but not ticked: the accounts' preferences rule, and they
	// want no SMS by default.
	allowed := `{"sms_reminders": true, "max_attachment_mb": 20}`
	plain := map[string]any{"AccountIDs": []int64{people[0], people[1]}, "Subject": "普通通知"}
	if status, body := w.callWith(t, wengyuan, zhang, allowed, "POST", "/notify", plain); status != 200 {
		t.Fatalf("notify = %d %s", status, body)
	}
	drain()
	if n, got := sms(), gateway.Accepted(); n != 0 || len(got) != 0 {
		t.Fatalf("a notice without the reminder wrote %d SMS rows and the gateway got %+v", n, got)
	}

	// Ticked and allowed: every active recipient with a mobile number is
	// texted, the disabled one is not.
	if status, body := w.callWith(t, wengyuan, zhang, allowed, "POST", "/notify", notice); status != 200 {
		t.Fatalf("notify with an SMS reminder = %d %s", status, body)
	}
	drain()
	got := gateway.Accepted()
	to := []string{}
	for _, m := range got {
		to = append(to, m.To)
		if !strings.Contains(m.Text, "关于开展系统测试的通知") {
			t.Errorf("SMS text = %q", m.Text)
		}
	}
	slices.Sort(to)
	if want := []string{"+8613800138000", "+8613900139000"}; !slices.Equal(to, want) {
		t.Errorf("the gateway texted %v, want %v", to, want)
	}
}
