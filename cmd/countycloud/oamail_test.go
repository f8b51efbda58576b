package main

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/core/config"
	"github.com/countycloud/countycloud/core/measure"
	"github.com/countycloud/countycloud/core/notify/notifytest"
)

// TestOANoticesAndMailThroughTheHost carries notices and mail through the
// API, the oa plugin process and MariaDB: read receipts per recipient, an
// SMS reminder reaching the local gateway where the county allows it,
// bad input refused with its code and nothing written, mail kept from
// everyone but its sender and recipients, another county reaching none
// of it, and the measures all this recorded.
func TestOANoticesAndMailThroughTheHost(t *testing.T) {
	t.Parallel()
	gateway := notifytest.NewGateway(t, "")
	db, p, url, env := twoCounties(t, map[string]string{"wyadmin": auth.RoleCountyAdmin}, func(c *config.Server) {
		// The gateway listens on loopback, which only the operator's allow opens.
		c.OutboundAllow = notifytest.Loopback()
	})
	op := env["COUNTYCLOUD_TOKEN"]
	const wyCode, lcCode = "gd.shaoguan.wengyuan", "gd.shaoguan.lechang"
	wyEnv := map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": op, "COUNTYCLOUD_TENANT": wyCode}
	lcEnv := map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": op, "COUNTYCLOUD_TENANT": lcCode}
	// Wengyuan's units: 1 县信息中心, 2 县政府办, 3 民政局, 4 财政局.
	for _, name := range []string{"县政府办", "民政局", "财政局"} {
		mustCLI(t, wyEnv, "org", "units", "create", "--name", name)
	}
	// Lechang has units 2 to 5, so that its unit 5 is none of Wengyuan's.
	for _, name := range []string{"乐昌县政府办", "乐昌民政局", "乐昌财政局", "乐昌档案局"} {
		mustCLI(t, lcEnv, "org", "units", "create", "--name", name)
	}
	for _, a := range []struct{ login, unit, mobile string }{
		{"gbclerk", "2", ""}, {"mzclerk", "3", "13800138003"}, {"mzlead", "3", ""}, {"czclerk", "4", "13800138004"},
	} {
		args := []string{"org", "accounts", "create", "--login", a.login, "--name", "人员" + a.login, "--unit", a.unit}
		if a.mobile != "" {
			args = append(args, "--mobile", a.mobile)
		}
		mustCLI(t, wyEnv, args...)
	}
	// Wengyuan allows the module's SMS reminders; Lechang does not.
	mustCLI(t, wyEnv, "plugin", "enable", "oa", "--settings", `{"sms_reminders": true}`)
	mustCLI(t, lcEnv, "plugin", "enable", "oa")
	tokens := loginAs(t, db, url, op, wyCode)
	lcadmin := loginAs(t, db, url, op, lcCode)["lcadmin"]
	ids := map[string]int64{}
	for login, token := range tokens {
		ids[login] = decode[auth.Principal](t, call(t, "GET", url+"/v1/auth/me", token, nil)).ID
	}
	want(t, "set the SMS gateway", call(t, "PUT", url+"/v1/tenants/"+wyCode+"/notifications/sms-gateway", tokens["wyadmin"], map[string]any{"url": gateway.URL, "token": "", "sign": "翁源县"}), 200, "")
	wy, lc := url+"/v1/tenants/"+wyCode+"/modules/oa", url+"/v1/tenants/"+lcCode+"/modules/oa"

	// An attachment: declared within the county's limits, its bytes sent
	// to the host's URL.
	pdf := []byte("%PDF-1.4\n% 测试方案\n")
	r := call(t, "POST", wy+"/attachments", tokens["gbclerk"], map[string]any{"name": "测试方案.pdf", "content_type": "application/pdf", "size": len(pdf)})
	want(t, "declare an attachment", r, 201, "")
	upload := decode[struct {
		FileID string `json:"file_id"`
		URL    string `json:"url"`
	}](t, r)
	req, err := http.NewRequest("PUT", upload.URL, bytes.NewReader(pdf))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("upload the attachment: %d", resp.StatusCode)
	}

	// Bad input: each refused with its code, nothing written.
	good := func(change map[string]any) map[string]any {
		in := map[string]any{"subject": "关于开展系统测试的通知", "body": "请于周五前完成。", "to_unit_ids": []int64{3}}
		for k, v := range change {
			in[k] = v
		}
		return in
	}
	for what, c := range map[string]struct {
		body         any
		status       int
		code         string
		path, caller string
	}{
		"no recipients":           {good(map[string]any{"to_unit_ids": nil}), 400, "invalid_notice", "/notices", "gbclerk"},
		"an unknown unit":         {good(map[string]any{"to_unit_ids": []int64{3, 99}}), 400, "unknown_unit", "/notices", "gbclerk"},
		"Lechang's unit 5":        {good(map[string]any{"to_unit_ids": []int64{5}}), 400, "unknown_unit", "/notices", "gbclerk"},
		"an unknown account":      {good(map[string]any{"to_account_ids": []int64{9999}}), 400, "unknown_account", "/notices", "gbclerk"},
		"a body too long":         {good(map[string]any{"body": strings.Repeat("长", 20001)}), 400, "invalid_notice", "/notices", "gbclerk"},
		"an unknown attachment":   {good(map[string]any{"attachments": []string{"0123456789abcdef0123456789abcdef"}}), 400, "file_not_found", "/notices", "gbclerk"},
		"every unit, by a clerk":  {map[string]any{"subject": "测试通知", "all_units": true}, 403, "forbidden", "/notices", "gbclerk"},
		"an attachment too big":   {map[string]any{"name": "大.pdf", "content_type": "application/pdf", "size": 52428801}, 413, "file_too_large", "/attachments", "gbclerk"},
		"a refused type":          {map[string]any{"name": "x.exe", "content_type": "application/x-msdownload", "size": 10}, 415, "file_type_refused", "/attachments", "gbclerk"},
		"mail to no one":          {map[string]any{"subject": "邮件", "to": []int64{}}, 400, "invalid_mail", "/mail", "gbclerk"},
		"mail to Lechang's admin": {map[string]any{"subject": "邮件", "to": []int64{9999}}, 400, "unknown_account", "/mail", "gbclerk"},
		"an operator's notice":    {good(nil), 403, "forbidden", "/notices", ""},
	} {
		token := op
		if c.caller != "" {
			token = tokens[c.caller]
		}
		want(t, what, call(t, "POST", wy+c.path, token, c.body), c.status, c.code)
	}
	if r := call(t, "GET", wy+"/notices/sent", tokens["gbclerk"], nil); !strings.Contains(string(r.body), `"notices":[]`) {
		t.Fatalf("refused notices were written: %s", r.body)
	}

	// 县政府办 sends a notice with an SMS reminder to 民政局 and 财政局's
	// clerk: 3 recipients, the 2 with mobile numbers texted.
	r = call(t, "POST", wy+"/notices", tokens["gbclerk"], good(map[string]any{"to_account_ids": []int64{ids["czclerk"]}, "urgency": "加急",
		"attachments": []string{upload.FileID}, "sms_reminder": true}))
	want(t, "send a notice", r, 201, "")
	n := decode[struct {
		ID         string `json:"id"`
		Recipients int    `json:"recipients"`
	}](t, r)
	if n.Recipients != 3 {
		t.Fatalf("notice: %s", r.body)
	}
	if _, err := p.notify.Drain(context.Background(), wyCode); err != nil {
		t.Fatal(err)
	}
	var texted []string
	for _, sms := range gateway.Accepted() {
		texted = append(texted, sms.To)
		if !strings.Contains(sms.Text, "关于开展系统测试的通知") {
			t.Errorf("SMS text %q", sms.Text)
		}
	}
	if strings.Join(texted, " ") != "+8613800138003 +8613800138004" && strings.Join(texted, " ") != "+8613800138004 +8613800138003" {
		t.Errorf("texted %v, want 民政局's and 财政局's clerks", texted)
	}

	// Each recipient lists it; one reads it (twice), and the sender sees
	// who did.
	for _, login := range []string{"mzclerk", "mzlead", "czclerk"} {
		if r := call(t, "GET", wy+"/notices/received?unread=true", tokens[login], nil); !strings.Contains(string(r.body), n.ID) {
			t.Errorf("%s's notices: %s", login, r.body)
		}
	}
	want(t, "read", call(t, "POST", wy+"/notices/"+n.ID+"/read", tokens["mzclerk"], nil), 200, "")
	want(t, "read again", call(t, "POST", wy+"/notices/"+n.ID+"/read", tokens["mzclerk"], nil), 200, "")
	r = call(t, "GET", wy+"/notices/"+n.ID+"/attachments/"+upload.FileID, tokens["czclerk"], nil)
	want(t, "a recipient's attachment URL", r, 200, "")
	got := decode[struct {
		URL string `json:"url"`
	}](t, r)
	if resp, err := http.Get(got.URL); err != nil || resp.StatusCode != 200 {
		t.Errorf("fetch the attachment: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	want(t, "a recipient's receipts", call(t, "GET", wy+"/notices/"+n.ID+"/receipts", tokens["mzclerk"], nil), 404, "notice_not_found")
	r = call(t, "GET", wy+"/notices/"+n.ID+"/receipts", tokens["gbclerk"], nil)
	receipts := decode[struct {
		Recipients int `json:"recipients"`
		Read       int `json:"read"`
		Units      []struct {
			UnitID     int64 `json:"unit_id"`
			Recipients int   `json:"recipients"`
			Read       int   `json:"read"`
		} `json:"units"`
		Accounts []struct {
			AccountID int64      `json:"account_id"`
			ReadAt    *time.Time `json:"read_at"`
		} `json:"accounts"`
	}](t, r)
	if receipts.Recipients != 3 || receipts.Read != 1 || len(receipts.Units) != 2 || receipts.Units[0].UnitID != 3 || receipts.Units[0].Read != 1 || receipts.Units[0].Recipients != 2 {
		t.Errorf("receipts: %s", r.body)
	}
	for _, a := range receipts.Accounts {
		if (a.ReadAt != nil) != (a.AccountID == ids["mzclerk"]) {
			t.Errorf("account %d read at %v", a.AccountID, a.ReadAt)
		}
	}

	// Mail: to 民政局's clerk, copied to 财政局's; its leader, a colleague
	// of the recipient, reads none of it.
	r = call(t, "POST", wy+"/mail", tokens["gbclerk"], map[string]any{"to": []int64{ids["mzclerk"]}, "cc": []int64{ids["czclerk"]}, "subject": "材料请查收", "body": "见附件。",
		"attachments": []string{upload.FileID}})
	want(t, "send mail", r, 201, "")
	m := decode[struct {
		ID string `json:"id"`
	}](t, r)
	want(t, "a colleague reads the mail", call(t, "GET", wy+"/mail/"+m.ID, tokens["mzlead"], nil), 404, "mail_not_found")
	want(t, "the county admin reads the mail", call(t, "GET", wy+"/mail/"+m.ID, tokens["wyadmin"], nil), 404, "mail_not_found")
	want(t, "a colleague marks it read", call(t, "POST", wy+"/mail/"+m.ID+"/read", tokens["mzlead"], nil), 404, "mail_not_found")
	if r := call(t, "GET", wy+"/mail/inbox", tokens["mzlead"], nil); strings.Contains(string(r.body), m.ID) {
		t.Errorf("a colleague's inbox holds it: %s", r.body)
	}
	if r := call(t, "GET", wy+"/mail/inbox?unread=true", tokens["czclerk"], nil); !strings.Contains(string(r.body), m.ID) || !strings.Contains(string(r.body), `"field":"cc"`) {
		t.Errorf("the copied clerk's inbox: %s", r.body)
	}
	want(t, "the recipient reads the mail", call(t, "GET", wy+"/mail/"+m.ID, tokens["mzclerk"], nil), 200, "")
	want(t, "and marks it read", call(t, "POST", wy+"/mail/"+m.ID+"/read", tokens["mzclerk"], nil), 200, "")
	if r := call(t, "GET", wy+"/mail/"+m.ID+"/receipts", tokens["gbclerk"], nil); !strings.Contains(string(r.body), `"recipients":2,"read":1`) {
		t.Errorf("mail receipts: %s", r.body)
	}

	// Lechang reaches none of it, and may not text.
	want(t, "Lechang reads Wengyuan's notice", call(t, "GET", lc+"/notices/"+n.ID, lcadmin, nil), 404, "notice_not_found")
	want(t, "Lechang reads its receipts", call(t, "GET", lc+"/notices/"+n.ID+"/receipts", lcadmin, nil), 404, "notice_not_found")
	want(t, "Lechang reads Wengyuan's mail", call(t, "GET", lc+"/mail/"+m.ID, lcadmin, nil), 404, "mail_not_found")
	for _, path := range []string{"/notices/received", "/notices/sent", "/mail/inbox", "/mail/sent"} {
		if r := call(t, "GET", lc+path, lcadmin, nil); r.status != 200 || strings.Contains(string(r.body), n.ID) || strings.Contains(string(r.body), m.ID) {
			t.Errorf("Lechang's %s: %d %s", path, r.status, r.body)
		}
	}
	want(t, "an SMS reminder in Lechang", call(t, "POST", lc+"/notices", lcadmin, map[string]any{"subject": "测试", "to_unit_ids": []int64{2}, "sms_reminder": true}), 403, "sms_reminders_off")

	// The testing phase: the IT office's test notice to every unit, 县政府办's
	// answer; the operators read the counts, with who SMS reaches.
	want(t, "a test notice to every unit", call(t, "POST", wy+"/notices", tokens["wyadmin"], map[string]any{"subject": "系统测试通知", "all_units": true, "test": true}), 201, "")
	want(t, "a test notice back", call(t, "POST", wy+"/notices", tokens["gbclerk"], map[string]any{"subject": "收到", "to_unit_ids": []int64{1}, "test": true}), 201, "")
	r = call(t, "GET", wy+"/notices/tests", op, nil)
	tests := decode[struct {
		Units []struct {
			UnitID     int64 `json:"unit_id"`
			Accounts   int   `json:"accounts"`
			WithMobile int   `json:"with_mobile"`
			Received   int   `json:"received"`
			Sent       int   `json:"sent"`
		} `json:"units"`
	}](t, r)
	if len(tests.Units) != 4 || tests.Units[0].Received != 1 || tests.Units[1].Sent != 1 || tests.Units[2].Received != 1 || tests.Units[2].Accounts != 2 || tests.Units[2].WithMobile != 1 {
		t.Errorf("the testing phase's notices: %s", r.body)
	}
	want(t, "Lechang's tests", call(t, "GET", lc+"/notices/tests", lcadmin, nil), 200, "")
	want(t, "a clerk reads the tests", call(t, "GET", wy+"/mail/tests", tokens["gbclerk"], nil), 403, "forbidden")

	// The measures: 2 notices (one a test) and one mail sent by 县政府办,
	// one of each read in 民政局, whatever the repeated reads (the IT
	// office's test notice counts for unit 1).
	day := time.Now().In(time.FixedZone("CST", 8*3600)).Format("2006-01-02")
	for _, c := range []struct {
		measure string
		unit    int64
		value   int64
	}{{"oa.notices.sent", 2, 2}, {"oa.notices.read", 3, 1}, {"oa.mail.sent", 2, 1}, {"oa.mail.read", 3, 1}} {
		r := call(t, "GET", url+"/v1/tenants/"+wyCode+"/measures?measure="+c.measure+"&unit="+itoa(c.unit)+"&from="+day+"&to="+day+"&by=day", tokens["wyadmin"], nil)
		report := decode[measure.Report](t, r)
		if len(report.Figures) != 1 || report.Figures[0].Unit != c.unit || report.Figures[0].Value != c.value || len(report.Measures) != 1 || report.Measures[0].Label.ZH == "" {
			t.Errorf("%s: %s", c.measure, r.body)
		}
	}
}
