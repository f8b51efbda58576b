package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/audits"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/chromedp"

	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/core/config"
	"github.com/countycloud/countycloud/core/notify/notifytest"
	"github.com/countycloud/countycloud/core/web"
	"github.com/countycloud/countycloud/core/web/webtest"
	"github.com/countycloud/countycloud/tenants/rollout"
)

// e2eTemplate is a province's template with the system-testing checks of
// DOMAIN.md on the key units of oa, scaled to one document each way.
const e2eTemplate = `{"id":"gd.e2e","name":{"zh-CN":"韶关市推广计划","en":"Shaoguan rollout"},"phases":[
{"phase":"preparation","days":30,"tasks":[
 {"id":"modules.enable","name":{"zh-CN":"开通模块","en":"Enable the modules"},"owner":"province","due_days":0,"kind":"automatic","action":"enable_modules"},
 {"id":"roles.leaders","name":{"zh-CN":"重点单位配置领导","en":"Leaders"},"owner":"county","due_days":20,"kind":"evidence","modules":["oa"],"check":{"measure":"platform.org.leaders","scope":"key_units","at_least":1}},
 {"id":"roles.clerks","name":{"zh-CN":"重点单位配置收发员","en":"Clerks"},"owner":"county","due_days":20,"kind":"evidence","modules":["oa"],"check":{"measure":"platform.org.clerks","scope":"key_units","at_least":1}},
 {"id":"seals.configured","name":{"zh-CN":"重点单位配置电子印章","en":"Seals"},"owner":"county","due_days":20,"kind":"evidence","modules":["oa"],"check":{"measure":"platform.seals.active","scope":"key_units","at_least":1}},
 {"id":"credentials.issued","name":{"zh-CN":"发放账号口令","en":"Credentials"},"owner":"county","due_days":20,"kind":"evidence","check":{"measure":"platform.org.credentials.issued","scope":"accounts","at_least":1,"since":"ever"}}],
 "gate":["roles.leaders","roles.clerks","seals.configured","credentials.issued"]},
{"phase":"testing","days":14,"tasks":[
 {"id":"notices.test_sent","name":{"zh-CN":"发送测试通知","en":"Test notices"},"owner":"province","due_days":0,"kind":"automatic","action":"send_test_notices"},
 {"id":"oa.sending_tested","name":{"zh-CN":"发文测试","en":"Send test"},"owner":"unit","due_days":10,"kind":"evidence","modules":["oa"],"check":{"measure":"platform.workflow.completed.oa.sending","scope":"key_units","at_least":1}},
 {"id":"oa.receiving_tested","name":{"zh-CN":"收文测试","en":"Receive test"},"owner":"unit","due_days":10,"kind":"evidence","modules":["oa"],"check":{"measure":"platform.workflow.completed.oa.receiving","scope":"key_units","at_least":1}},
 {"id":"notices.read","name":{"zh-CN":"阅读测试通知","en":"Notices read"},"owner":"unit","due_days":10,"kind":"evidence","modules":["oa"],"check":{"measure":"oa.notices.read","scope":"key_units","at_least":1}},
 {"id":"mail.sent","name":{"zh-CN":"发送测试邮件","en":"Mail sent"},"owner":"unit","due_days":10,"kind":"evidence","modules":["oa"],"check":{"measure":"oa.mail.sent","scope":"key_units","at_least":1}},
 {"id":"accounts.mobile","name":{"zh-CN":"登记手机号码","en":"Mobiles"},"owner":"county","due_days":10,"kind":"evidence","check":{"measure":"platform.org.accounts.mobile","scope":"accounts","at_least":1,"since":"ever"}},
 {"id":"sms.delivered","name":{"zh-CN":"短信提醒送达","en":"SMS delivered"},"owner":"county","due_days":12,"kind":"evidence","modules":["oa"],"check":{"measure":"platform.notices.delivered.sms","scope":"key_units","at_least":1}}],
 "gate":["oa.sending_tested","oa.receiving_tested","notices.read","mail.sent","accounts.mobile","sms.delivered"]},
{"phase":"trial","days":30,"tasks":[
 {"id":"trial.window","name":{"zh-CN":"公布试运行时间","en":"Announce the trial"},"owner":"province","due_days":0,"kind":"automatic","action":"set_trial_window"},
 {"id":"usage_reports.handed_in","name":{"zh-CN":"提交用户使用报告","en":"Usage reports"},"owner":"unit","due_days":30,"kind":"manual"}],
 "gate":["usage_reports.handed_in"]},
{"phase":"formal","tasks":[{"id":"review.done","name":{"zh-CN":"四个月复查","en":"Review"},"owner":"province","due_days":120,"kind":"manual"}],"gate":["review.done"]},
{"phase":"expansion","tasks":[]}]}`

// TestACountyGoesFromCreationToFormalOperationOnItsOwnEvidence takes
// Wengyuan through its rollout by the API alone: its plan from the
// province's template; preparation refused while its key units (县政府办
// and 民政局) lack seals and its accounts credentials, with the units
// named; testing passed on real evidence — a document each way through
// the whole sending and receiving flows, the IT office's test notice
// read, mail sent, an SMS reminder delivered to a local gateway; the
// trial ended by the rollout's job on a clock the test moves, with the
// key units' usage reports archived; formal operation with its review
// day; and the province's overview, in the API and on the console's
// first page in Chromium, showing it there.
func TestACountyGoesFromCreationToFormalOperationOnItsOwnEvidence(t *testing.T) {
	t.Parallel()
	gateway := notifytest.NewGateway(t, "")
	db, p, url, env := twoCounties(t, map[string]string{"wyadmin": auth.RoleCountyAdmin}, func(c *config.Server) {
		c.OutboundAllow = notifytest.Loopback()
	})
	const county = "gd.shaoguan.wengyuan"
	op := env["COUNTYCLOUD_TOKEN"]
	wyEnv := map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": op, "COUNTYCLOUD_TENANT": county}
	base := url + "/v1/tenants/" + county
	// Units: 1 县信息中心 (the IT office), 2 县政府办 and 3 民政局, the key
	// units; every account with a mobile number.
	mustCLI(t, wyEnv, "org", "units", "create", "--name", "县政府办", "--code", "XZF")
	mustCLI(t, wyEnv, "org", "units", "create", "--name", "民政局", "--code", "MZJ")
	n := 0
	for _, unit := range []struct{ prefix, id string }{{"gb", "2"}, {"mz", "3"}} {
		for role, suffix := range map[string]string{"clerk": "clerk", "business_admin": "check", "leader": "lead"} {
			n++
			mustCLI(t, wyEnv, "org", "accounts", "create", "--login", unit.prefix+suffix, "--name", "人员"+unit.prefix+suffix, "--unit", unit.id,
				"--role", role, "--mobile", fmt.Sprintf("1380013%04d", n))
		}
	}
	mustCLI(t, wyEnv, "org", "accounts", "update", "1", "--mobile", "13800139999")

	// The province's template and Wengyuan's plan; entering preparation
	// enables oa.
	want(t, "the template", call(t, "PUT", url+"/v1/rollout/templates", op, json.RawMessage(e2eTemplate)), 200, "")
	want(t, "the plan", call(t, "POST", base+"/rollout/plan", op, rollout.PlanInput{Template: "gd.e2e", KeyUnits: map[string][]string{"oa": {"XZF", "MZJ"}}}), 200, "")
	sweep := func() {
		t.Helper()
		if err := p.rollout.Sweep(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	sweep()
	mustCLI(t, wyEnv, "plugin", "enable", "oa", "--settings", `{"sms_reminders": true}`)

	// Preparation: refused while the key units have no seal and no
	// account has its credentials, naming them.
	advance := func(from string) apiResult {
		t.Helper()
		return call(t, "POST", base+"/rollout/advance", op, rollout.AdvanceInput{From: from})
	}
	r := advance(rollout.Preparation)
	want(t, "preparation without seals or credentials", r, 409, rollout.CodeGateClosed)
	if body := string(r.body); !strings.Contains(body, "seals.configured (县政府办、民政局)") || !strings.Contains(body, "credentials.issued") || strings.Contains(body, "roles.leaders") {
		t.Errorf("the refusal: %s", body)
	}
	want(t, "县政府办's seal", call(t, "POST", base+"/seals", op, map[string]any{"unit_id": 2}), 201, "")
	r = advance(rollout.Preparation)
	if want(t, "preparation with one seal", r, 409, rollout.CodeGateClosed); !strings.Contains(string(r.body), "seals.configured (民政局)") {
		t.Errorf("the refusal: %s", r.body)
	}
	want(t, "民政局's seal", call(t, "POST", base+"/seals", op, map[string]any{"unit_id": 3}), 201, "")
	tokens := loginAs(t, db, url, op, county)
	want(t, "preparation done", advance(rollout.Preparation), 200, "")
	sweep()

	// System testing: refused before the units did anything.
	r = advance(rollout.Testing)
	want(t, "testing before any test", r, 409, rollout.CodeGateClosed)
	if !strings.Contains(string(r.body), "oa.sending_tested (县政府办、民政局)") || strings.Contains(string(r.body), "accounts.mobile") {
		t.Errorf("the refusal: %s", r.body)
	}
	wy := base + "/modules/oa"
	want(t, "the SMS gateway", call(t, "PUT", base+"/notifications/sms-gateway", tokens["wyadmin"], map[string]any{"url": gateway.URL, "token": "", "sign": "翁源县"}), 200, "")
	for unit, prefix := range map[string]string{"2": "翁府办", "3": "翁民"} {
		want(t, "a template", call(t, "PUT", wy+"/templates/"+unit, tokens["wyadmin"], map[string]any{"header": "翁源县文件", "prefix": prefix, "signature": "翁源县"}), 201, "")
	}
	// A document each way: 县政府办 to 民政局, 民政局 to 县政府办.
	for _, d := range []struct {
		from, to, title string
		toID            int64
	}{{"gb", "mz", "关于开展系统测试的通知", 3}, {"mz", "gb", "关于系统测试情况的报告", 2}} {
		r := call(t, "POST", wy+"/documents", tokens[d.from+"clerk"], map[string]any{"title": d.title, "main_units": []int64{d.toID}})
		want(t, "draft", r, 201, "")
		id := decode[struct {
			ID string `json:"id"`
		}](t, r).ID
		oaActs(t, wy, "/documents/"+id, tokens, [3]string{d.from + "clerk", "submit", "check"}, [3]string{d.from + "check", "pass", "review"},
			[3]string{d.from + "lead", "pass", "sign"}, [3]string{d.from + "lead", "sign", "register"}, [3]string{d.from + "clerk", "register", "typeset"})
		oaAttach(t, oaPlatform{tokens: map[string]string{"gbclerk": tokens[d.from+"clerk"]}, wy: wy}, id)
		oaActs(t, wy, "/documents/"+id, tokens, [3]string{d.from + "clerk", "typeset", "seal"}, [3]string{d.from + "clerk", "seal", "distribute"},
			[3]string{d.from + "clerk", "distribute", "archive"})
		oaActs(t, wy, fmt.Sprintf("/received/%s.%d", id, d.toID), tokens, [3]string{d.to + "clerk", "sign_in", "propose"}, [3]string{d.to + "check", "propose", "instruct"},
			[3]string{d.to + "lead", "instruct", "handle"}, [3]string{d.to + "check", "done", "circulate"}, [3]string{d.to + "lead", "read", "archive"},
			[3]string{d.to + "clerk", "archive", "done"})
		oaActs(t, wy, "/documents/"+id, tokens, [3]string{d.from + "clerk", "archive", "done"})
	}
	// The IT office's test notice with an SMS reminder, read by each key
	// unit's clerk; each clerk mails the IT office.
	r = call(t, "POST", wy+"/notices", tokens["wyadmin"], map[string]any{"subject": "关于开展系统测试的通知", "body": "请各单位阅读。", "all_units": true, "test": true, "sms_reminder": true})
	want(t, "the test notice", r, 201, "")
	notice := decode[struct {
		ID string `json:"id"`
	}](t, r).ID
	if _, err := p.notify.Drain(context.Background(), county); err != nil {
		t.Fatal(err)
	}
	if len(gateway.Accepted()) == 0 {
		t.Fatal("no SMS reached the gateway")
	}
	admin := decode[auth.Principal](t, call(t, "GET", url+"/v1/auth/me", tokens["wyadmin"], nil)).ID
	for _, clerk := range []string{"gbclerk", "mzclerk"} {
		want(t, clerk+" reads the notice", call(t, "POST", wy+"/notices/"+notice+"/read", tokens[clerk], nil), 200, "")
		want(t, clerk+" mails", call(t, "POST", wy+"/mail", tokens[clerk], map[string]any{"to": []int64{admin}, "subject": "测试邮件", "body": "收到。"}), 201, "")
	}
	if r := advance(rollout.Testing); r.status != 200 {
		t.Fatalf("testing done: %d %s", r.status, r.body)
	}
	sweep()

	// The trial ends on its planned date, by the rollout's job on a clock
	// the test moves: the key units' usage reports archived, formal
	// operation proposed, once.
	plan := decode[rollout.Plan](t, call(t, "GET", base+"/rollout/plan", tokens["wyadmin"], nil))
	formalStart, err := time.Parse(time.DateOnly, plan.Phases[3].Start)
	if err != nil {
		t.Fatal(err)
	}
	clock := func() time.Time { return formalStart.Add(12 * time.Hour) }
	reports := rollout.NewReports(p.db.control, p.tenants, orgUnits{p.org}, p.measures, p.jobs, clock)
	clocked := rollout.New(p.db.control, p.tenants, orgUnits{p.org}, p.measures, clock, rollout.Options{Reports: trialReports{reports}})
	for range 2 {
		if err := clocked.Sweep(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	st := decode[rollout.Status](t, call(t, "GET", base+"/rollout/status", tokens["wyadmin"], nil))
	if st.Phase != rollout.Trial || st.Proposed != rollout.Formal {
		t.Errorf("after the trial's last day: %+v", st)
	}
	listed := decode[rollout.ReportPage](t, call(t, "GET", base+"/rollout/reports?kind="+rollout.KindEndOfTrial, tokens["wyadmin"], nil))
	var units []string
	for _, rep := range listed.Reports {
		units = append(units, rep.UnitCode)
		if len(rep.SHA256) != 64 {
			t.Errorf("report %d without its digest: %+v", rep.ID, rep)
		}
	}
	if strings.Join(units, ",") != "XZF,MZJ" && strings.Join(units, ",") != "MZJ,XZF" {
		t.Errorf("the end-of-trial reports: %+v", listed.Reports)
	}

	// An operator takes the proposal once the reports are handed in.
	want(t, "the reports handed in", call(t, "POST", base+"/rollout/tasks/usage_reports.handed_in/done", tokens["wyadmin"], rollout.DoneInput{Note: "2 份已归档"}), 200, "")
	want(t, "formal operation", advance(rollout.Trial), 200, "")
	sweep()
	st = decode[rollout.Status](t, call(t, "GET", base+"/rollout/status", tokens["wyadmin"], nil))
	if st.Phase != rollout.Formal || st.ReviewOn == "" {
		t.Errorf("formal operation: %+v", st)
	}
	if err := p.rollout.RefreshOverview(context.Background()); err != nil {
		t.Fatal(err)
	}
	overview := decode[rollout.Overview](t, call(t, "GET", url+"/v1/rollout/overview?phase=formal", op, nil))
	if len(overview.Counties) != 1 || overview.Counties[0].County != county || overview.Counties[0].PhaseLabel.ZH != "正式运行" {
		t.Errorf("the overview: %+v", overview)
	}
	consoleShows(t, p, url, county, "正式运行", "0 / 1 项通过", "四个月复查", "近30日发文")
}

// consoleShows logs an operator in to the console in Chromium and reads
// the county's row of the overview, which must say each of want, the
// browser reporting nothing wrong on the way.
func consoleShows(t *testing.T, p *platform, url, county string, want ...string) {
	t.Helper()
	ctx := context.Background()
	const login, password = "zhang.wei", "Shaoguan-2026#ops"
	added, err := p.auth.AddOperator(ctx, auth.OperatorInput{Login: login, Name: "张伟"})
	if err != nil {
		t.Fatal(err)
	}
	first, err := p.auth.Login(ctx, "", auth.Credentials{Login: login, Password: added.Password}, "test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.auth.ChangePassword(ctx, first.Principal, auth.PasswordChange{Current: added.Password, New: password}); err != nil {
		t.Fatal(err)
	}
	browser := webtest.Browser(t)
	if _, err := chromedp.Call(browser, audits.Enable, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	var problems webtest.Problems
	if err := problems.Watch(browser, url, web.ContentSecurityPolicy); err != nil {
		t.Fatal(err)
	}
	browser, cancel := context.WithTimeout(browser, time.Minute)
	defer cancel()
	row := `tr[data-county="` + county + `"]`
	if err := chromedp.Do(browser, chromedp.Navigate(url+"/console/rollout"), chromedp.WaitVisible(chromedp.ID("login-form")),
		chromedp.SendKeys(chromedp.ID("login"), login), chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.ID("login-submit")), chromedp.WaitVisible(chromedp.CSS(row))); err != nil {
		t.Fatalf("the console: %v", err)
	}
	text, err := chromedp.Run(browser, chromedp.Text(chromedp.CSS(row)))
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("the console's row of %s does not say %q: %s", county, w, text)
		}
	}
	if p := problems.String(); p != "" {
		t.Errorf("the browser reported:\n%s", p)
	}
}
