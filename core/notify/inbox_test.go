package notify_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/countycloud/countycloud/core/notify"
)

func TestAnInboxIsItsAccountsOwn(t *testing.T) {
	t.Parallel()
	w := setup(t)
	ctx := context.Background()
	zhang := w.account(t, wengyuan, 1, "zhang", "", "", "active")
	li := w.account(t, wengyuan, 1, "li", "", "", "active")
	for i := range 5 {
		w.write(t, wengyuan, notify.Message{Account: zhang, Kind: notify.KindTaskAssigned, Subject: fmt.Sprintf("任务%d", i), RefType: "task", RefID: int64(i)})
	}
	w.write(t, wengyuan, notify.Message{Account: li, Kind: notify.KindTaskAssigned, Subject: "李的任务"})

	page, err := w.svc.Inbox(ctx, wengyuan, zhang, notify.InboxFilter{Limit: 2})
	if err != nil || len(page.Notifications) != 2 || page.Notifications[0].Subject != "任务4" || page.Unread != 5 || page.Next != page.Notifications[1].ID {
		t.Fatalf("first page: %+v %v", page, err)
	}
	rest, err := w.svc.Inbox(ctx, wengyuan, zhang, notify.InboxFilter{Before: page.Next})
	if err != nil || len(rest.Notifications) != 3 || rest.Next != 0 || rest.Notifications[2].Subject != "任务0" {
		t.Errorf("the rest: %+v %v", rest, err)
	}
	n, err := w.svc.MarkRead(ctx, wengyuan, zhang, page.Notifications[0].ID)
	if err != nil || n.ReadAt == nil || n.RefType == nil || *n.RefType != "task" {
		t.Errorf("mark read: %+v %v", n, err)
	}
	again, err := w.svc.MarkRead(ctx, wengyuan, zhang, n.ID)
	if err != nil || !again.ReadAt.Equal(*n.ReadAt) {
		t.Errorf("marking it again: %+v %v", again, err)
	}
	unread, err := w.svc.Inbox(ctx, wengyuan, zhang, notify.InboxFilter{Unread: true})
	if err != nil || len(unread.Notifications) != 4 || unread.Unread != 4 {
		t.Errorf("unread: %d of %d (%v)", len(unread.Notifications), unread.Unread, err)
	}

	// Li's notification is not Zhang's to read, here or in Lechang.
	lis, _ := w.svc.Inbox(ctx, wengyuan, li, notify.InboxFilter{})
	if len(lis.Notifications) != 1 || lis.Notifications[0].Subject != "李的任务" {
		t.Fatalf("Li's inbox: %+v", lis)
	}
	_, err = w.svc.MarkRead(ctx, wengyuan, zhang, lis.Notifications[0].ID)
	wantCode(t, "marking another account's notification", err, notify.CodeNotificationNotFound)
	lechanger := w.account(t, lechang, 1, "lc", "", "", "active")
	_, err = w.svc.MarkRead(ctx, lechang, lechanger, lis.Notifications[0].ID)
	wantCode(t, "marking Wengyuan's notification in Lechang", err, notify.CodeNotificationNotFound)
	if lc, err := w.svc.Inbox(ctx, lechang, zhang, notify.InboxFilter{}); err != nil || len(lc.Notifications) != 0 {
		t.Errorf("Zhang's id in Lechang: %+v %v", lc, err)
	}
	for _, r := range w.rows(t, wengyuan) {
		if r.Account == li && r.ReadAt != nil {
			t.Errorf("Li's notification was marked read")
		}
	}
	for _, f := range []notify.InboxFilter{{Limit: -1}, {Limit: notify.MaxLimit + 1}, {Before: -3}} {
		_, err := w.svc.Inbox(ctx, wengyuan, zhang, f)
		wantCode(t, fmt.Sprintf("filter %+v", f), err, notify.CodeInvalidList)
	}
}

func TestPreferencesAreSetAllOrNothing(t *testing.T) {
	t.Parallel()
	w := setup(t)
	ctx := context.Background()
	zhang := w.account(t, wengyuan, 1, "zhang", "13800138000", "zhang@wengyuan.gov.cn", "active")
	p, err := w.svc.Preferences(ctx, wengyuan, zhang)
	if err != nil || len(p.Preferences) != len(notify.Kinds()) || !p.Preferences[0].Email || p.Preferences[0].SMS {
		t.Fatalf("defaults: %+v %v", p, err)
	}
	p, err = w.svc.SetPreferences(ctx, wengyuan, zhang, notify.PreferencesInput{Preferences: []notify.PreferenceInput{
		{Kind: notify.KindTaskOverdue, Email: ptr(false), SMS: ptr(true)},
	}})
	if err != nil || p.Preferences[2] != (notify.Preference{Kind: notify.KindTaskOverdue, Email: false, SMS: true}) || !p.Preferences[0].Email {
		t.Fatalf("set: %+v %v", p, err)
	}
	if n := w.write(t, wengyuan, notify.Message{Account: zhang, Kind: notify.KindTaskOverdue, Subject: "已超期"}); n != 1 {
		t.Errorf("an overdue task after choosing SMS only: %d pending", n)
	}
	for what, in := range map[string][]notify.PreferenceInput{
		"an unknown kind":  {{Kind: notify.KindEscalation, Email: ptr(false), SMS: ptr(false)}, {Kind: "gossip", Email: ptr(true), SMS: ptr(true)}},
		"a kind twice":     {{Kind: notify.KindEscalation, Email: ptr(false), SMS: ptr(false)}, {Kind: notify.KindEscalation, Email: ptr(true), SMS: ptr(true)}},
		"a channel unsaid": {{Kind: notify.KindEscalation, Email: ptr(false)}},
		"nothing":          nil,
	} {
		_, err := w.svc.SetPreferences(ctx, wengyuan, zhang, notify.PreferencesInput{Preferences: in})
		wantCode(t, what, err, notify.CodeInvalidPreferences)
	}
	after, _ := w.svc.Preferences(ctx, wengyuan, zhang)
	if fmt.Sprint(after) != fmt.Sprint(p) {
		t.Errorf("refused changes changed the preferences: %+v, was %+v", after, p)
	}
	var trail int
	if err := w.db.Server.Get(&trail, "SELECT COUNT(*) FROM `"+w.schemas[wengyuan]+"`.audit_log WHERE action = 'notifications.preferences.set'"); err != nil || trail != 1 {
		t.Errorf("%d preference changes in the trail (%v), want 1", trail, err)
	}
}

func TestTheSMSGatewayIsCheckedAndItsTokenNeverShown(t *testing.T) {
	t.Parallel()
	w := setup(t)
	ctx := context.Background()
	if v, err := w.svc.Gateway(ctx, wengyuan); err != nil || v.Configured {
		t.Errorf("a new county's gateway: %+v %v", v, err)
	}
	w.setGateway(t, wengyuan)
	for _, url := range []string{"", "ftp://sms.example/send", "https://", "sms.example/send", "http://user:pw@sms.example/send", "https://sms.example/send#x", "https://sms.example/ send", "https://sms.example/" + strings.Repeat("x", 500)} {
		_, err := w.svc.SetGateway(ctx, wengyuan, notify.GatewayInput{URL: url})
		wantCode(t, "url "+url, err, notify.CodeInvalidGateway)
	}
	_, err := w.svc.SetGateway(ctx, wengyuan, notify.GatewayInput{URL: "https://sms.example/send", Token: ptr("two words")})
	wantCode(t, "a token with a space", err, notify.CodeInvalidGateway)
	_, err = w.svc.SetGateway(ctx, wengyuan, notify.GatewayInput{URL: "https://sms.example/send", Sign: ptr("一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一二三")})
	wantCode(t, "a long sign", err, notify.CodeInvalidGateway)
	v, err := w.svc.Gateway(ctx, wengyuan)
	if err != nil || v.URL != w.gateway.URL || !v.TokenSet || v.Sign != "翁源县政务服务" {
		t.Errorf("refused changes changed the gateway: %+v %v", v, err)
	}
	// A new URL keeps the token; "" removes it.
	v, err = w.svc.SetGateway(ctx, wengyuan, notify.GatewayInput{URL: "https://sms2.example/send"})
	if err != nil || !v.TokenSet || v.Sign != "翁源县政务服务" {
		t.Errorf("a new URL: %+v %v", v, err)
	}
	b, _ := json.Marshal(v)
	if strings.Contains(string(b), gatewayToken) {
		t.Errorf("the view shows the token: %s", b)
	}
	v, err = w.svc.SetGateway(ctx, wengyuan, notify.GatewayInput{URL: "https://sms2.example/send", Token: ptr("")})
	if err != nil || v.TokenSet {
		t.Errorf("removing the token: %+v %v", v, err)
	}
	if v, _ := w.svc.Gateway(ctx, lechang); v.Configured {
		t.Errorf("Lechang got Wengyuan's gateway: %+v", v)
	}
	var trail int
	if err := w.db.Server.Get(&trail, "SELECT COUNT(*) FROM `"+w.schemas[wengyuan]+"`.audit_log WHERE action = 'notifications.sms_gateway.set'"); err != nil || trail != 3 {
		t.Errorf("%d gateway changes in the trail (%v), want 3", trail, err)
	}
}

func TestATestNoticeReachesAUnitAndTheUnitsBelow(t *testing.T) {
	t.Parallel()
	w := setup(t)
	ctx := context.Background()
	w.exec(t, wengyuan,
		"INSERT INTO units (id, name, created_at, updated_at) VALUES (1, '县政府办', NOW(), NOW()), (4, '其他单位', NOW(), NOW())",
		"INSERT INTO units (id, name, parent_id, created_at, updated_at) VALUES (2, '秘书股', 1, NOW(), NOW()), (3, '信息股', 2, NOW(), NOW())")
	head := w.account(t, wengyuan, 1, "head", "13800138000", "head@wengyuan.gov.cn", "active")
	w.account(t, wengyuan, 3, "deep", "13800138001", "", "active")
	noMobile := w.account(t, wengyuan, 2, "nomobile", "", "nomobile@wengyuan.gov.cn", "active")
	w.account(t, wengyuan, 2, "gone", "13800138002", "", "disabled")
	other := w.account(t, wengyuan, 4, "other", "13800138003", "", "active")
	// Head wants no SMS for tests; the notice's SMS reminder reaches them anyway.
	w.exec(t, wengyuan, fmt.Sprintf("INSERT INTO notification_preferences (account_id, kind, email, sms, updated_at) VALUES (%d, 'test', FALSE, FALSE, NOW())", head))

	res, err := w.svc.SendTest(ctx, wengyuan, notify.TestNotice{UnitID: 1, Subject: "系统测试通知", Body: "请回复“收到”。", SMS: true})
	if err != nil || res.Accounts != 3 || res.Deliveries != 3 || len(res.WithoutMobile) != 1 || res.WithoutMobile[0].ID != noMobile {
		t.Fatalf("test notice to 县政府办: %+v %v", res, err)
	}
	got := map[string]bool{}
	for _, r := range w.rows(t, wengyuan) {
		if r.Kind != notify.KindTest || r.Account == other {
			t.Errorf("row %+v", r)
		}
		got[r.Channel+" "+deref(r.Address)] = true
	}
	for _, k := range []string{"sms 13800138000", "sms 13800138001", "email nomobile@wengyuan.gov.cn"} {
		if !got[k] {
			t.Errorf("no %s: %v", k, got)
		}
	}
	if got["email head@wengyuan.gov.cn"] {
		t.Errorf("head got an e-mail they opted out of")
	}
	if jobs, _ := w.queue.List(ctx, jobsFilter(wengyuan)); len(jobs) != 1 {
		t.Errorf("the test notice kicked %d drains", len(jobs))
	}

	before := len(w.rows(t, wengyuan))
	for what, in := range map[string]notify.TestNotice{
		"neither unit nor accounts": {Subject: "x"},
		"both":                      {UnitID: 1, AccountIDs: []int64{head}, Subject: "x"},
		"no subject":                {UnitID: 1},
		"a control character":       {UnitID: 1, Subject: "x", Body: "a\x07b"},
		"an account of no one":      {AccountIDs: []int64{head, 999}, Subject: "x"},
		"a negative account":        {AccountIDs: []int64{-1}, Subject: "x"},
	} {
		_, err := w.svc.SendTest(ctx, wengyuan, in)
		wantCode(t, what, err, notify.CodeInvalidTest)
	}
	_, err = w.svc.SendTest(ctx, wengyuan, notify.TestNotice{UnitID: 99, Subject: "x"})
	wantCode(t, "a unit of no one", err, notify.CodeUnitNotFound)
	_, err = w.svc.SendTest(ctx, lechang, notify.TestNotice{AccountIDs: []int64{head}, Subject: "x"})
	wantCode(t, "Wengyuan's account from Lechang", err, notify.CodeInvalidTest)
	if after := len(w.rows(t, wengyuan)); after != before || len(w.rows(t, lechang)) != 0 {
		t.Errorf("refused notices wrote %d rows", after-before)
	}

	res, err = w.svc.SendTest(ctx, wengyuan, notify.TestNotice{AccountIDs: []int64{other, other}, Subject: "单独测试"})
	if err != nil || res.Accounts != 1 || res.Deliveries != 0 || res.WithoutMobile != nil {
		t.Errorf("a notice to one account: %+v %v", res, err)
	}
	var trail int
	if err := w.db.Server.Get(&trail, "SELECT COUNT(*) FROM `"+w.schemas[wengyuan]+"`.audit_log WHERE action = 'notifications.test'"); err != nil || trail != 2 {
		t.Errorf("%d test notices in the trail (%v), want 2", trail, err)
	}
}

func TestModulesNotificationsHaveTheirOwnPreference(t *testing.T) {
	t.Parallel()
	w := setup(t)
	ctx := context.Background()
	zhang := w.account(t, wengyuan, 1, "zhang", "13800138000", "zhang@wengyuan.gov.cn", "active")
	p, err := w.svc.SetPreferences(ctx, wengyuan, zhang, notify.PreferencesInput{Preferences: []notify.PreferenceInput{
		{Kind: notify.KindModule, Email: ptr(false), SMS: ptr(false)},
	}})
	if err != nil || p.Preferences[len(p.Preferences)-1] != (notify.Preference{Kind: notify.KindModule}) {
		t.Fatalf("set: %+v %v", p, err)
	}
	if n := w.write(t, wengyuan, notify.Message{Account: zhang, Kind: notify.KindModule, Subject: "新的培训视频"}); n != 0 {
		t.Errorf("a module's notice with its e-mail turned off: %d pending, want only the inbox", n)
	}
	if n := w.write(t, wengyuan, notify.Message{Account: zhang, Kind: notify.KindTaskAssigned, Subject: "新的待办"}); n != 1 {
		t.Errorf("a task after turning modules' e-mail off: %d pending, want the e-mail", n)
	}
}
