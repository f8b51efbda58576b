package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/core/classified"
	"github.com/countycloud/countycloud/core/config"
	"github.com/countycloud/countycloud/core/measure"
	"github.com/countycloud/countycloud/plugins/convenience"
	"github.com/countycloud/countycloud/plugins/sdk"
	"github.com/countycloud/countycloud/tenants/supervision"
)

// TestACitizensMessageIsRoutedAnsweredLatePublishedAndRated is the
// convenience module end to end, through HTTP, the real plugin process,
// the engine, supervision and MariaDB: a citizen leaves a complaint
// without an account (a classified one is refused), which the county's
// rule routes to 民政局 as it is left, its workflow started from 县信息中心;
// supervision, swept at instants the test chooses, turns its reply task
// yellow, then red and escalates it to 县监察局; 民政局 replies late,
// 县信息中心 accepts and publishes it, masked; the citizen follows it with
// the code in the body, and rates it 不满意, once, which reopens it; the
// measures and the oversight report (API and CLI) say so for 民政局 and
// today; a suggestion left before the county had a rule for it is routed
// to 住建局 by route-by-rule once the settings add one. On the way the
// wrong ones try: 住建局's clerk, a wrong query code (answered as an
// unknown number, and rate-limited), the code in the URL, 乐昌's admin
// and public pages.
func TestACitizensMessageIsRoutedAnsweredLatePublishedAndRated(t *testing.T) {
	t.Parallel()
	db, p, base, env := twoCounties(t, map[string]string{"wyadmin": auth.RoleCountyAdmin, "xxzx": auth.RoleClerk}, func(c *config.Server) {
		c.PublicRate = 1
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")}
	})
	const wy, lc = "gd.shaoguan.wengyuan", "gd.shaoguan.lechang"
	operator := env["COUNTYCLOUD_TOKEN"]
	wyEnv := map[string]string{"COUNTYCLOUD_ADDR": base, "COUNTYCLOUD_TOKEN": operator, "COUNTYCLOUD_TENANT": wy}
	lcEnv := map[string]string{"COUNTYCLOUD_ADDR": base, "COUNTYCLOUD_TOKEN": operator, "COUNTYCLOUD_TENANT": lc}
	// Units: 1 县信息中心 (the IT office), 2 县信访局, 3 民政局, 4 住建局, 5 县监察局.
	for _, u := range [][2]string{{"县信访局", "XFJ"}, {"民政局", "MZJ"}, {"住建局", "ZJJ"}, {"县监察局", "JCJ"}} {
		mustCLI(t, wyEnv, "org", "units", "create", "--name", u[0], "--code", u[1])
	}
	for _, a := range [][3]string{{"xfj", "2", auth.RoleClerk}, {"mzclerk", "3", auth.RoleClerk}, {"zjclerk", "4", auth.RoleClerk}, {"jcj", "5", auth.RoleSupervisor}} {
		mustCLI(t, wyEnv, "org", "accounts", "create", "--login", a[0], "--name", "人员"+a[0], "--unit", a[1], "--role", a[2])
	}
	settings := `{"it_office_unit_id": 1, "letters_unit_id": 2, "supervising_unit_id": 5, "routes": {"投诉": 3}}`
	// Settings naming a unit the county lacks are refused: Wengyuan's
	// next unit, Lechang's naming Wengyuan's 民政局.
	for _, c := range []struct {
		env      map[string]string
		settings string
	}{{wyEnv, `{"it_office_unit_id": 1, "routes": {"投诉": 6}}`}, {lcEnv, `{"it_office_unit_id": 1, "letters_unit_id": 3}`}} {
		if r := cli(t, c.env, "plugin", "enable", "convenience", "--settings", c.settings); r.code == 0 || !strings.Contains(r.stderr, "invalid_module_settings") {
			t.Fatalf("enabled with settings %s naming a unit the county lacks: %d %s", c.settings, r.code, r.stderr)
		}
	}
	mustCLI(t, wyEnv, "plugin", "enable", "convenience", "--settings", settings)
	mustCLI(t, lcEnv, "plugin", "enable", "convenience", "--settings", `{"it_office_unit_id": 1}`)
	tokens := loginAs(t, db, base, operator, wy)
	lcTokens := loginAs(t, db, base, operator, lc)
	want(t, "the supervising unit", call(t, "PUT", base+"/v1/tenants/"+wy+"/supervision/settings", tokens["wyadmin"], map[string]any{"supervising_unit": "JCJ"}), 200, "")
	mod := base + "/v1/tenants/" + wy + "/modules/convenience"
	proxy := publicClient("127.0.0.2")
	citizen := 0
	// public calls a public route as a citizen of an address of their own.
	public := func(county, method, path string, body any) apiResult {
		t.Helper()
		citizen++
		var b []byte
		if body != nil {
			b, _ = json.Marshal(body)
		}
		return publicCall(t, proxy, method, base+"/v1/public/"+county+"/modules/convenience"+path, fmt.Sprintf("198.51.100.%d", citizen), b)
	}

	// A citizen leaves a complaint; a classified one is refused.
	content := "我叫王小明，电话13812345678，住城关镇人民路12号3栋501室，身份证440229199001011234，低保申请三个月没有答复。"
	msg := map[string]any{"category": "投诉", "content": content, "contact": map[string]any{"name": "王小明", "phone": "13812345678"}, "publishable": true}
	want(t, "a classified message", public(wy, "POST", "/public/messages", map[string]any{"category": "投诉", "content": "【机密】请转交领导",
		"contact": map[string]any{"name": "王小明", "phone": "13812345678"}}), 403, classified.CodeRefused)
	want(t, "a message of no category", public(wy, "POST", "/public/messages", map[string]any{"category": "表扬", "content": content,
		"contact": map[string]any{"name": "王小明", "phone": "13812345678"}}), 400, "invalid_message")
	r := public(wy, "POST", "/public/messages", msg)
	want(t, "leave a message", r, 201, "")
	receipt := decode[struct{ Receipt sdk.Receipt }](t, r).Receipt

	// A wrong code is answered as an unknown number, and one address
	// trying codes is soon stopped.
	query := func(code string) []byte {
		b, _ := json.Marshal(map[string]string{"code": code})
		return b
	}
	queryURL := func(number string) string {
		return base + "/v1/public/" + wy + "/modules/convenience/public/messages/" + number + "/query"
	}
	wrong := publicCall(t, proxy, "POST", queryURL(receipt.Number), "203.0.113.7", query("AAAA-BBBB-CCCC-DDDD"))
	unknown := publicCall(t, proxy, "POST", queryURL("2026-999999"), "203.0.113.7", query(receipt.Code))
	want(t, "a wrong code", wrong, 404, "receipt_not_found")
	if string(wrong.body) != string(unknown.body) || unknown.status != 404 {
		t.Errorf("a wrong code (%s) and an unknown number (%d %s) are told apart", wrong.body, unknown.status, unknown.body)
	}
	want(t, "a third guess at once", publicCall(t, proxy, "POST", queryURL(receipt.Number), "203.0.113.7", query("X")), 429, auth.CodeRateLimited)
	want(t, "the receipt in another county", public(lc, "POST", "/public/messages/"+receipt.Number+"/query", map[string]any{"code": receipt.Code}), 404, "receipt_not_found")
	// The code never travels in the URL: the GET is gone, and the query
	// refuses a query string.
	want(t, "the old GET with the code in the URL", public(wy, "GET", "/public/messages/"+receipt.Number+"?code="+url.QueryEscape(receipt.Code), nil), 404, "public_route_not_found")
	want(t, "the code in the query's URL", public(wy, "POST", "/public/messages/"+receipt.Number+"/query?code="+url.QueryEscape(receipt.Code), map[string]any{"code": receipt.Code}), 400, "invalid_query")

	// The county's rule routed it to 民政局 as it was left, in one
	// submission: its workflow runs from 县信息中心, whose clerks review
	// the reply; no one routes it again.
	if status := decode[struct{ Message struct{ Status string } }](t, r).Message.Status; status != "routed" {
		t.Errorf("the citizen is told %s", r.body)
	}
	r = call(t, "GET", mod+"/messages?status=routed&unit_id=3", tokens["xxzx"], nil)
	want(t, "the IT office's list", r, 200, "")
	listed := decode[struct {
		Messages []struct {
			ID         string `json:"id"`
			InstanceID int64  `json:"instance_id"`
		} `json:"messages"`
	}](t, r).Messages
	if len(listed) != 1 || listed[0].InstanceID == 0 {
		t.Fatalf("the IT office lists %s", r.body)
	}
	id := listed[0].ID
	want(t, "routed by 民政局", call(t, "POST", mod+"/messages/"+id+"/route", tokens["mzclerk"], map[string]any{}), 403, "forbidden")
	want(t, "routed again", call(t, "POST", mod+"/messages/"+id+"/route", tokens["xxzx"], map[string]any{}), 409, "illegal_transition")
	r = call(t, "GET", base+"/v1/tenants/"+wy+"/instances/"+fmt.Sprint(listed[0].InstanceID), tokens["wyadmin"], nil)
	if want(t, "its instance", r, 200, ""); !strings.Contains(string(r.body), `"initiator_unit_id":1`) || !strings.Contains(string(r.body), `"subject_unit_id":3`) {
		t.Errorf("its instance: %s", r.body)
	}
	want(t, "住建局 reads it", call(t, "GET", mod+"/messages/"+id, tokens["zjclerk"], nil), 404, "message_not_found")
	want(t, "信访局 reads it", call(t, "GET", mod+"/messages/"+id, tokens["xfj"], nil), 200, "")
	for _, c := range [][3]string{{"GET", "/messages/" + id}, {"GET", "/messages"}, {"POST", "/messages/" + id + "/reply", `{"reply":"您好，已核实处理。"}`},
		{"POST", "/messages/" + id + "/review", `{"decision":"accept"}`}, {"POST", "/messages/route-by-rule"}, {"GET", "/oversight?from=2026-01-01&to=2026-01-31"}} {
		var body any
		if c[2] != "" {
			body = json.RawMessage(c[2])
		}
		want(t, "乐昌's admin: "+c[0]+" "+c[1], call(t, c[0], mod+c[1], lcTokens["lcadmin"], body), 404, "tenant_not_found")
	}
	want(t, "乐昌's admin reads it in 乐昌", call(t, "GET", base+"/v1/tenants/"+lc+"/modules/convenience/messages/"+id, lcTokens["lcadmin"], nil), 404, "message_not_found")

	// Supervision, swept at the task's warning and past its deadline.
	task := func() sdk.Task {
		t.Helper()
		r := call(t, "GET", mod+"/messages/"+id, tokens["mzclerk"], nil)
		want(t, "民政局 reads it", r, 200, "")
		tasks := decode[struct {
			Tasks []sdk.Task `json:"tasks"`
		}](t, r).Tasks
		if len(tasks) != 1 || tasks[0].Step != "reply" || tasks[0].UnitID != 3 || tasks[0].WarnAt == nil || tasks[0].DueAt == nil {
			t.Fatalf("the open tasks: %s", r.body)
		}
		return tasks[0]
	}
	open := task()
	if open.Level != 0 {
		t.Fatalf("a fresh task is level %d", open.Level)
	}
	// Routed as it was left, the message kept the reply's deadline from
	// its submission's own transaction (the oversight's overdue counts
	// go by it).
	r = call(t, "GET", mod+"/messages/"+id, tokens["xxzx"], nil)
	if due := decode[struct {
		Message struct {
			DueAt *time.Time `json:"due_at"`
		} `json:"message"`
	}](t, r).Message.DueAt; due == nil || !due.Equal(*open.DueAt) {
		t.Fatalf("the routed message's deadline is %v, its reply task's %v: %s", due, open.DueAt, r.body)
	}
	for _, step := range []struct {
		at    time.Time
		level int
	}{{open.WarnAt.Add(time.Second), 1}, {open.DueAt.Add(time.Second), 2}} {
		if _, err := p.supervision.Sweep(context.Background(), wy, step.at); err != nil {
			t.Fatal(err)
		}
		if got := task(); got.Level != step.level {
			t.Fatalf("swept at %s: level %d, want %d", step.at, got.Level, step.level)
		}
	}
	r = call(t, "GET", base+"/v1/tenants/"+wy+"/supervision/events?task_id="+fmt.Sprint(open.ID), tokens["wyadmin"], nil)
	want(t, "supervision's events", r, 200, "")
	var kinds []string
	for _, e := range decode[supervision.EventPage](t, r).Events {
		kinds = append(kinds, e.Kind)
	}
	if got := strings.Join(kinds, ","); !strings.Contains(got, "escalated") || !strings.Contains(got, "warning") {
		t.Errorf("supervision's events of the reply task: %s", got)
	}

	// 民政局 replies, late; 住建局 and the IT office cannot.
	reply := map[string]any{"reply": "王小明同志您好：经核查，您的低保申请材料缺少户口簿复印件，请补充后到城关镇民政办办理，电话0751-2812345。"}
	want(t, "住建局 replies", call(t, "POST", mod+"/messages/"+id+"/reply", tokens["zjclerk"], reply), 404, "message_not_found")
	want(t, "the IT office replies", call(t, "POST", mod+"/messages/"+id+"/reply", tokens["xxzx"], reply), 403, "not_your_task")
	// Past the module, through the platform's task API, the reply step
	// (mandatory: the module keeps the reply there) is refused.
	want(t, "民政局 replies through the task API", call(t, "POST", base+"/v1/tenants/"+wy+"/tasks/"+fmt.Sprint(open.ID)+"/act", tokens["mzclerk"],
		map[string]any{"action": "reply"}), 409, "module_step")
	want(t, "reply", call(t, "POST", mod+"/messages/"+id+"/reply", tokens["mzclerk"], reply), 200, "")
	want(t, "民政局 accepts its own reply", call(t, "POST", mod+"/messages/"+id+"/review", tokens["mzclerk"], map[string]any{"decision": "accept"}), 403, "not_your_task")
	want(t, "accept and publish", call(t, "POST", mod+"/messages/"+id+"/review", tokens["xxzx"], map[string]any{"decision": "accept", "publish": true}), 200, "")

	// Published, masked, in Wengyuan only.
	r = public(wy, "GET", "/public/replies", nil)
	want(t, "the public replies", r, 200, "")
	if !strings.Contains(string(r.body), "低保申请三个月没有答复") || !strings.Contains(string(r.body), "民政局") {
		t.Errorf("the public replies: %s", r.body)
	}
	for _, secret := range []string{"王小明", "13812345678", "440229199001011234", "12号", "501室", "2812345", receipt.Number} {
		if strings.Contains(string(r.body), secret) {
			t.Errorf("the public replies show %q: %s", secret, r.body)
		}
	}
	r = public(lc, "GET", "/public/replies", nil)
	if want(t, "乐昌's public replies", r, 200, ""); strings.Contains(string(r.body), "低保") {
		t.Errorf("乐昌 lists Wengyuan's reply: %s", r.body)
	}

	// Rated once: 不满意 reopens it.
	rating := func(code, kind string) apiResult {
		return public(wy, "POST", "/public/messages/"+receipt.Number+"/rating", map[string]any{"code": code, "rating": kind})
	}
	want(t, "a rating with a wrong code", rating("AAAA-BBBB-CCCC-DDDD", "满意"), 404, "receipt_not_found")
	want(t, "a rating in another county", public(lc, "POST", "/public/messages/"+receipt.Number+"/rating", map[string]any{"code": receipt.Code, "rating": "满意"}), 404, "receipt_not_found")
	want(t, "rate", rating(receipt.Code, "不满意"), 200, "")
	want(t, "rate twice", rating(strings.ToLower(receipt.Code), "满意"), 409, "already_rated")
	r = public(wy, "POST", "/public/messages/"+receipt.Number+"/query", map[string]any{"code": receipt.Code})
	if want(t, "follow", r, 200, ""); !strings.Contains(string(r.body), `"rating":"不满意"`) || !strings.Contains(string(r.body), "户口簿") {
		t.Errorf("the citizen reads %s", r.body)
	}

	// The measures: each once, for 民政局, today.
	today := time.Now().In(time.FixedZone("CST", 8*3600)).Format(time.DateOnly)
	r = call(t, "GET", base+"/v1/tenants/"+wy+"/measures?measure=convenience.messages.received,convenience.messages.answered,"+
		"convenience.messages.answered_late,convenience.ratings.satisfied,convenience.ratings.basically_satisfied,"+
		"convenience.ratings.unsatisfied,convenience.messages.reopened&from="+today+"&to="+today+"&by=day", tokens["wyadmin"], nil)
	want(t, "measures", r, 200, "")
	report := decode[measure.Report](t, r)
	figures := map[string]int64{}
	for _, f := range report.Figures {
		figures[fmt.Sprintf("%s %d %s", f.Measure, f.Unit, f.Period)] += f.Value
	}
	wanted := map[string]int64{}
	for _, m := range []string{"received", "answered", "answered_late", "reopened"} {
		wanted["convenience.messages."+m+" 3 "+today] = 1
	}
	wanted["convenience.ratings.unsatisfied 3 "+today] = 1
	if !maps.Equal(figures, wanted) {
		t.Errorf("measures %v,\nwant %v", figures, wanted)
	}
	if len(report.Measures) != 7 || report.Measures[0].Label.ZH == "" {
		t.Errorf("the measures' definitions: %+v", report.Measures)
	}

	// The oversight report, through the CLI: the supervising unit's and
	// the IT office's, not 民政局's nor 乐昌's.
	as := func(token string) map[string]string {
		return map[string]string{"COUNTYCLOUD_ADDR": base, "COUNTYCLOUD_TOKEN": token}
	}
	out := mustCLI(t, as(tokens["jcj"]), "convenience", "oversight", wy, "--from", today, "--to", today)
	if !strings.Contains(out, "民政局 (3)") || !strings.Contains(out, "满意率") || !strings.Contains(out, receipt.Number) {
		t.Errorf("the oversight table:\n%s", out)
	}
	var rep convenience.Report
	if err := json.Unmarshal([]byte(mustCLI(t, as(tokens["xxzx"]), "convenience", "oversight", wy, "--from", today, "--to", today, "-o", "json")), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Units) != 1 || rep.Units[0].UnitID != 3 || rep.Units[0].Received != 1 || rep.Units[0].AnsweredLate != 1 || rep.Units[0].Unsatisfied != 1 || len(rep.Reopened) != 1 {
		t.Errorf("the oversight report: %+v", rep)
	}
	if r := cli(t, as(tokens["mzclerk"]), "convenience", "oversight", wy); r.code == 0 || !strings.Contains(r.stderr, "forbidden") {
		t.Errorf("民政局's oversight: exit %d %s", r.code, r.stderr)
	}
	if r := cli(t, as(lcTokens["lcadmin"]), "convenience", "oversight", wy); r.code == 0 || !strings.Contains(r.stderr, "tenant_not_found") {
		t.Errorf("乐昌's oversight of Wengyuan: exit %d %s", r.code, r.stderr)
	}

	// A suggestion left before the county had a rule for it waits; once
	// the rule sends suggestions to 住建局, route-by-rule routes it there.
	r = public(wy, "POST", "/public/messages", map[string]any{"category": "建议", "content": "建议在人民路增设公交站。", "contact": map[string]any{"name": "李雷", "phone": "13800138000"}})
	if want(t, "leave a suggestion", r, 201, ""); !strings.Contains(string(r.body), `"status":"new"`) {
		t.Errorf("a suggestion no rule routes: %s", r.body)
	}
	mustCLI(t, wyEnv, "plugin", "enable", "convenience", "--settings", `{"it_office_unit_id": 1, "letters_unit_id": 2, "supervising_unit_id": 5, "routes": {"投诉": 3, "建议": 4}}`)
	r = call(t, "POST", mod+"/messages/route-by-rule", tokens["xxzx"], nil)
	if want(t, "route by rule", r, 200, ""); !strings.Contains(string(r.body), `"unit_id":4`) || strings.Contains(string(r.body), id) {
		t.Errorf("route-by-rule: %s", r.body)
	}
}
