package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/core/config"
	"github.com/countycloud/countycloud/core/measure"
	"github.com/countycloud/countycloud/core/notify/notifytest"
	"github.com/countycloud/countycloud/tenants/seals"
)

// TestADocumentGoesToThreeUnitsAndTheMeasuresSayItAll is the official
// documents module end to end, through HTTP, the real oa plugin process,
// the engine, seals, numbering, notifications and MariaDB: 县政府办
// drafts a document, which is checked, signed, numbered, sealed and
// distributed to 民政局, 财政局 and 教育局, each of which signs it in,
// handles and archives it; the sealed file changed by one byte fails its
// verification, which names it; the IT office sends a test notice with
// an SMS reminder to a local gateway, read by two units, the sender
// seeing who read it; and the measures read back are what all this did,
// each once.
func TestADocumentGoesToThreeUnitsAndTheMeasuresSayItAll(t *testing.T) {
	t.Parallel()
	gateway := notifytest.NewGateway(t, "")
	db, p, url, env := twoCounties(t, map[string]string{"wyadmin": auth.RoleCountyAdmin}, func(c *config.Server) {
		c.OutboundAllow = notifytest.Loopback()
	})
	const county = "gd.shaoguan.wengyuan"
	operator := env["COUNTYCLOUD_TOKEN"]
	wyEnv := map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": operator, "COUNTYCLOUD_TENANT": county}
	// Units: 1 县信息中心 (the IT office), 2 县政府办 (the sender), and the
	// receivers 3 民政局, 4 财政局, 5 教育局.
	for _, name := range []string{"县政府办", "民政局", "财政局", "教育局"} {
		mustCLI(t, wyEnv, "org", "units", "create", "--name", name)
	}
	people := map[string][]string{"gb": {"2"}, "mz": {"3", "13800138003"}, "cz": {"4", "13800138004"}, "jy": {"5", "13800138005"}}
	for prefix, unit := range people {
		for role, suffix := range map[string]string{"clerk": "clerk", "business_admin": "check", "leader": "lead"} {
			args := []string{"org", "accounts", "create", "--login", prefix + suffix, "--name", "人员" + prefix + suffix, "--unit", unit[0], "--role", role}
			if role == "clerk" && len(unit) > 1 {
				args = append(args, "--mobile", unit[1])
			}
			mustCLI(t, wyEnv, args...)
		}
	}
	mustCLI(t, wyEnv, "org", "accounts", "create", "--login", "gbadmin", "--name", "人员gbadmin", "--unit", "2", "--role", "unit_admin")
	mustCLI(t, wyEnv, "plugin", "enable", "oa", "--settings", `{"sms_reminders": true}`)
	tokens := loginAs(t, db, url, operator, county)
	wy := url + "/v1/tenants/" + county + "/modules/oa"
	want(t, "the SMS gateway", call(t, "PUT", url+"/v1/tenants/"+county+"/notifications/sms-gateway", tokens["wyadmin"],
		map[string]any{"url": gateway.URL, "token": "", "sign": "翁源县"}), 200, "")

	// Preparation: 县政府办's template and seal.
	want(t, "the template", call(t, "PUT", wy+"/templates/2", tokens["gbadmin"],
		map[string]any{"header": "翁源县人民政府办公室文件", "prefix": "翁府办", "signature": "翁源县人民政府办公室"}), 201, "")
	want(t, "the seal", call(t, "POST", url+"/v1/tenants/"+county+"/seals", tokens["wyadmin"], map[string]any{"unit_id": 2}), 201, "")

	// 拟稿 → 核稿 → 审核 → 签发 → 登记 → 排版 → 用印 → 分发.
	r := call(t, "POST", wy+"/documents", tokens["gbclerk"], map[string]any{"title": "关于做好2026年秋季防火工作的通知", "urgency": "加急",
		"main_units": []int64{3, 4}, "copy_units": []int64{5}, "body": "各单位：现将有关事项通知如下。"})
	want(t, "draft", r, 201, "")
	id := decode[struct {
		ID string `json:"id"`
	}](t, r).ID
	last := oaActs(t, wy, "/documents/"+id, tokens, [3]string{"gbclerk", "submit", "check"}, [3]string{"gbcheck", "pass", "review"},
		[3]string{"gblead", "pass", "sign"}, [3]string{"gblead", "sign", "register"}, [3]string{"gbclerk", "register", "typeset"})
	year := time.Now().In(time.FixedZone("CST", 8*3600)).Year()
	if number := last["document"].(map[string]any)["number"]; number != fmt.Sprintf("翁府办〔%d〕1号", year) {
		t.Fatalf("the number: %v", number)
	}
	body := bytes.Repeat([]byte("翁源县人民政府办公室关于做好秋季防火工作的通知。"), 400)
	r = call(t, "POST", wy+"/documents/"+id+"/files", tokens["gbclerk"], map[string]any{"name": "正文.pdf", "content_type": "application/pdf", "size": len(body), "kind": "body"})
	want(t, "the body's file", r, 201, "")
	upload := decode[struct {
		Upload struct {
			URL string `json:"url"`
		} `json:"upload"`
	}](t, r).Upload.URL
	if status, got := rawCall(t, "PUT", upload, body, map[string]string{"Content-Type": "application/pdf"}); status/100 != 2 {
		t.Fatalf("upload: %d %s", status, got)
	}
	last = oaActs(t, wy, "/documents/"+id, tokens, [3]string{"gbclerk", "typeset", "seal"}, [3]string{"gbclerk", "seal", "distribute"},
		[3]string{"gbclerk", "distribute", "archive"})
	if distributed := last["outcome"].(map[string]any)["distributed"].([]any); len(distributed) != 3 {
		t.Fatalf("distributed to %d units: %v", len(distributed), distributed)
	}

	// 签收登记 → 拟办 → 批办 → 办理 → 传阅 → 归档 in each unit; the sender
	// sees each sign-in.
	for _, unit := range []struct{ prefix, id string }{{"mz", "3"}, {"cz", "4"}, {"jy", "5"}} {
		u := unit.prefix
		oaActs(t, wy, "/received/"+id+"."+unit.id, tokens, [3]string{u + "clerk", "sign_in", "propose"}, [3]string{u + "check", "propose", "instruct"},
			[3]string{u + "lead", "instruct", "handle"}, [3]string{u + "check", "done", "circulate"}, [3]string{u + "lead", "read", "archive"},
			[3]string{u + "clerk", "archive", "done"})
	}
	r = call(t, "GET", wy+"/documents/"+id+"/receipts", tokens["gbclerk"], nil)
	want(t, "the receipts", r, 200, "")
	for _, rc := range decode[struct {
		Receipts []struct {
			UnitID   int64 `json:"unit_id"`
			SignedIn bool  `json:"signed_in"`
		} `json:"receipts"`
	}](t, r).Receipts {
		if !rc.SignedIn {
			t.Errorf("unit %d not signed in: %s", rc.UnitID, r.body)
		}
	}
	oaActs(t, wy, "/documents/"+id, tokens, [3]string{"gbclerk", "archive", "done"})

	// The sealed file verifies as it was downloaded, and not with one
	// byte changed, which the answer names.
	r = call(t, "GET", wy+"/documents/"+id+"/seal", tokens["jyclerk"], nil)
	want(t, "a recipient reads the seal", r, 200, "")
	sealed := decode[struct {
		Seal  json.RawMessage `json:"seal"`
		Files []struct {
			Name     string `json:"name"`
			Download struct {
				URL string `json:"url"`
			} `json:"download"`
		} `json:"files"`
	}](t, r)
	status, file := rawCall(t, "GET", sealed.Files[0].Download.URL, nil, nil)
	if status != 200 || !bytes.Equal(file, body) {
		t.Fatalf("download: %d", status)
	}
	verify := func(b []byte) seals.Verdict {
		r := call(t, "POST", url+seals.VerifyPath, "", seals.VerifyRequest{Seal: sealed.Seal, Files: []seals.File{{Name: sealed.Files[0].Name, SM3: seals.DigestBytes(b)}}})
		want(t, "verify", r, 200, "")
		return decode[seals.Verdict](t, r)
	}
	if v := verify(file); !v.Valid || v.UnitID != 2 || v.UnitName != "县政府办" || v.RevokedAt != nil {
		t.Fatalf("the sealed document: %+v", v)
	}
	file[len(file)/2] ^= 1
	if v := verify(file); v.Valid || !strings.Contains(strings.Join(v.Problems, " "), "正文.pdf") {
		t.Fatalf("one byte changed: %+v", v)
	}

	// The IT office's test notice to every unit, with an SMS reminder:
	// the three clerks with mobiles are texted; two units read it.
	r = call(t, "POST", wy+"/notices", tokens["wyadmin"], map[string]any{"subject": "关于开展系统测试的通知", "body": "请各单位于本周内完成测试。",
		"all_units": true, "test": true, "sms_reminder": true})
	want(t, "the test notice", r, 201, "")
	notice := decode[struct {
		ID string `json:"id"`
	}](t, r).ID
	if _, err := p.notify.Drain(context.Background(), county); err != nil {
		t.Fatal(err)
	}
	var texted []string
	for _, sms := range gateway.Accepted() {
		if strings.Contains(sms.Text, "关于开展系统测试的通知") {
			texted = append(texted, sms.To)
		}
	}
	if slices.Sort(texted); !slices.Equal(texted, []string{"+8613800138003", "+8613800138004", "+8613800138005"}) {
		t.Errorf("texted %v, want the three clerks", texted)
	}
	want(t, "民政局 reads it", call(t, "POST", wy+"/notices/"+notice+"/read", tokens["mzclerk"], nil), 200, "")
	want(t, "财政局 reads it", call(t, "POST", wy+"/notices/"+notice+"/read", tokens["czlead"], nil), 200, "")
	r = call(t, "GET", wy+"/notices/"+notice+"/receipts", tokens["wyadmin"], nil)
	want(t, "the notice's receipts", r, 200, "")
	readBy := map[int64]int{}
	for _, u := range decode[struct {
		Units []struct {
			UnitID int64 `json:"unit_id"`
			Read   int   `json:"read"`
		} `json:"units"`
	}](t, r).Units {
		readBy[u.UnitID] = u.Read
	}
	if !maps.Equal(readBy, map[int64]int{2: 0, 3: 1, 4: 1, 5: 0}) {
		t.Errorf("read per unit %v: %s", readBy, r.body)
	}

	// The measures, read back as rollout gates will read them.
	r = call(t, "GET", url+fmt.Sprintf("/v1/tenants/%s/measures?measure=oa.documents.drafted,oa.documents.sent,oa.documents.received,"+
		"oa.documents.sealed,oa.documents.paper,oa.notices.sent,oa.notices.read,platform.workflow.completed.oa.sending,"+
		"platform.workflow.completed.oa.receiving&from=%d-01-01&to=%d-12-31&by=month", county, year, year), tokens["wyadmin"], nil)
	want(t, "measures", r, 200, "")
	figures := map[string]int64{}
	for _, f := range decode[measure.Report](t, r).Figures {
		figures[fmt.Sprintf("%s %d", f.Measure, f.Unit)] += f.Value
	}
	wanted := map[string]int64{"oa.documents.drafted 2": 1, "oa.documents.sealed 2": 1, "oa.documents.sent 2": 1,
		"oa.documents.received 3": 1, "oa.documents.received 4": 1, "oa.documents.received 5": 1,
		"oa.notices.sent 1": 1, "oa.notices.read 3": 1, "oa.notices.read 4": 1,
		"platform.workflow.completed.oa.sending 2": 1, "platform.workflow.completed.oa.receiving 3": 1,
		"platform.workflow.completed.oa.receiving 4": 1, "platform.workflow.completed.oa.receiving 5": 1}
	if !maps.Equal(figures, wanted) {
		t.Errorf("measures %v,\nwant %v", figures, wanted)
	}
}
