package main

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/core/config"
	"github.com/countycloud/countycloud/core/jobs"
	"github.com/countycloud/countycloud/core/notify"
	"github.com/countycloud/countycloud/core/notify/notifytest"
	"github.com/countycloud/countycloud/tenants/rollout"
)

// textsTemplate's preparation is the default template's first
// passwords, alone.
const textsTemplate = `{"id":"gd.texts","name":{"zh-CN":"初始口令","en":"First passwords"},"phases":[
{"phase":"preparation","days":30,"tasks":[
 {"id":"credentials.texted","name":{"zh-CN":"短信发送初始口令","en":"Text first passwords"},"owner":"province","due_days":0,"kind":"automatic","action":"text_first_passwords"}],"gate":[]},
{"phase":"testing","days":14,"tasks":[]},{"phase":"trial","days":30,"tasks":[]},{"phase":"formal","tasks":[]},{"phase":"expansion","tasks":[]}]}`

// TestTheRolloutTextsFirstPasswordsToTheirHoldersOnly: preparation's
// automatic task texts each account with a mobile its first password
// (the default template's credentials.texted). While the gateway is down
// no account gets a password nobody was told; once it is back the hourly
// job texts it, once. The account without a mobile is left for the
// credential sheet, Lechang (no rollout) is texted nothing, and the
// password is kept nowhere but in the SMS.
func TestTheRolloutTextsFirstPasswordsToTheirHoldersOnly(t *testing.T) {
	t.Parallel()
	gateway := notifytest.NewGateway(t, "")
	// wyadmin alone, so that it is account 1; wyclerk, without a mobile, comes after.
	db, p, url, env := twoCounties(t, map[string]string{"wyadmin": auth.RoleCountyAdmin}, func(c *config.Server) {
		c.OutboundAllow = notifytest.Loopback()
	})
	op := env["COUNTYCLOUD_TOKEN"]
	const county, lechang = "gd.shaoguan.wengyuan", "gd.shaoguan.lechang"
	base := url + "/v1/tenants/" + county
	wyEnv := map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": op, "COUNTYCLOUD_TENANT": county}
	lcEnv := map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": op, "COUNTYCLOUD_TENANT": lechang}
	mustCLI(t, wyEnv, "org", "units", "create", "--name", "县政府办", "--code", "XZF")
	mustCLI(t, wyEnv, "org", "accounts", "create", "--login", "wyclerk", "--name", "人员wyclerk", "--unit", "1", "--role", auth.RoleClerk)
	mustCLI(t, wyEnv, "org", "accounts", "update", "1", "--mobile", "13800138000")
	mustCLI(t, lcEnv, "org", "accounts", "update", "1", "--mobile", "13800138009")
	for _, c := range []string{county, lechang} {
		want(t, "the gateway of "+c, call(t, "PUT", url+"/v1/tenants/"+c+"/notifications/sms-gateway", op, map[string]any{"url": gateway.URL, "sign": "政务云"}), 200, "")
	}

	gateway.Fail(503)
	want(t, "the template", call(t, "PUT", url+"/v1/rollout/templates", op, json.RawMessage(textsTemplate)), 200, "")
	want(t, "the plan", call(t, "POST", base+"/rollout/plan", op, rollout.PlanInput{Template: "gd.texts", KeyUnits: map[string][]string{"oa": {"XZF"}}}), 200, "")
	if err := p.rollout.Sweep(context.Background()); err != nil {
		t.Fatal(err)
	}
	note := func() string {
		t.Helper()
		var note string
		if err := db.Control.Get(&note, "SELECT note FROM rollout_tasks_done WHERE county = ? AND task_id = 'credentials.texted'", county); err != nil {
			t.Fatal(err)
		}
		return note
	}
	if n := note(); !strings.Contains(n, "发送失败 1") || !strings.Contains(n, "无手机号 1") {
		t.Errorf("the task's note with the gateway down: %s", n)
	}
	login := func(password string) apiResult {
		return call(t, "POST", base+"/auth/login", "", auth.Credentials{Login: "wyadmin", Password: password})
	}

	gateway.Fail(0)
	for range 2 {
		if err := p.rollout.FirstPasswordsJob(context.Background(), jobs.Job{}); err != nil {
			t.Fatal(err)
		}
	}
	sent := gateway.Accepted()
	if len(sent) != 1 || sent[0].To != "+8613800138000" {
		t.Fatalf("texts: %+v", sent)
	}
	password := regexp.MustCompile(`wyadmin 的初始口令是 (\S+)，首次登录后须修改`).FindStringSubmatch(sent[0].Text)
	if password == nil {
		t.Fatalf("the text: %s", sent[0].Text)
	}
	r := login(password[1])
	want(t, "the texted password", r, 200, "")
	if !decode[auth.Tokens](t, r).Principal.MustChange {
		t.Error("a texted password need not be changed")
	}
	if n := note(); !strings.Contains(n, "已短信发送初始口令 1 个账号") {
		t.Errorf("the task's note: %s", n)
	}

	sheet := decode[[]auth.IssuedCredential](t, call(t, "POST", base+"/credentials?format=json", op, auth.IssueRequest{}))
	if len(sheet) != 1 || sheet[0].Login != "wyclerk" {
		t.Errorf("the credential sheet after the texts: %+v", sheet)
	}
	outbox, err := p.notify.Outbox(context.Background(), county, notify.OutboxFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range outbox.Deliveries {
		if strings.Contains(d.Subject, password[1]) {
			t.Errorf("the outbox keeps the password: %+v", d)
		}
	}
}
