package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/core/config"
	"github.com/countycloud/countycloud/core/measure"
	"github.com/countycloud/countycloud/tenants/registry"
)

// publicGet reads a public route without a token, naming an ETag in
// If-None-Match if given.
func publicGet(t *testing.T, url, etag string) apiResult {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return apiResult{status: resp.StatusCode, header: resp.Header, body: b}
}

// TestAUnitDisclosesAndReportsAndTheMeasuresSayItAll is the disclosure
// module end to end, through HTTP, the real plugin process, the host's
// records, files and measures, and MariaDB: 县政府办 fills its basic
// information (its business admin) and publishes it (its admin; neither
// a clerk nor another unit's admin may), registers a normative document
// it publishes and a procurement notice it leaves a draft; the public
// pages show what is published and nothing else, revalidating by ETag;
// the unit's and the county's index are read, by HTTP and by the CLI;
// two units report information, one with an attachment, which the IT
// office grades for the portal and the bulletin, refusing a unit's own
// grading, a second grading and an edit after it; the portal's item is
// public; Lechang, which runs the module too, reaches none of it; and the
// measures read back are what all this did, for the right unit and day.
func TestAUnitDisclosesAndReportsAndTheMeasuresSayItAll(t *testing.T) {
	t.Parallel()
	db, _, url, env := twoCounties(t, map[string]string{"wyadmin": auth.RoleCountyAdmin}, func(c *config.Server) {
		// Every public read here comes from one address.
		c.PublicRate = 1000
	})
	const county = "gd.shaoguan.wengyuan"
	operator := env["COUNTYCLOUD_TOKEN"]
	wyEnv := map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": operator, "COUNTYCLOUD_TENANT": county}
	// Units: 1 县信息中心 (the IT office), 2 县政府办, 3 民政局.
	for _, name := range []string{"县政府办", "民政局"} {
		mustCLI(t, wyEnv, "org", "units", "create", "--name", name)
	}
	for _, a := range [][3]string{{"gbadmin", "2", "unit_admin"}, {"gbbiz", "2", "business_admin"}, {"gbclerk", "2", "clerk"}, {"mzadmin", "3", "unit_admin"}} {
		mustCLI(t, wyEnv, "org", "accounts", "create", "--login", a[0], "--name", "人员"+a[0], "--unit", a[1], "--role", a[2])
	}
	mustCLI(t, wyEnv, "plugin", "enable", "disclosure", "--settings", `{"index_target": 90}`)
	mustCLI(t, map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": operator, "COUNTYCLOUD_TENANT": "gd.shaoguan.lechang"}, "plugin", "enable", "disclosure")
	tokens := loginAs(t, db, url, operator, county)
	tokens["lcadmin"] = loginAs(t, db, url, operator, "gd.shaoguan.lechang")["lcadmin"]
	wy := url + "/v1/tenants/" + county + "/modules/disclosure"
	lc := url + "/v1/tenants/gd.shaoguan.lechang/modules/disclosure"
	pub := url + "/v1/public/" + county + "/modules/disclosure/public"
	lcPub := url + "/v1/public/gd.shaoguan.lechang/modules/disclosure/public"
	today := time.Now().In(time.FixedZone("CST", 8*3600)).Format(time.DateOnly)

	// The basic information: filled by the business admin, published by
	// the unit's admin alone.
	form := map[string]any{
		"functions": "负责县政府日常工作的协调和督办。", "structure": "内设秘书股、综合股、督查股。",
		"leaders":    []map[string]any{{"name": "李明", "title": "主任", "duties": "主持全面工作。"}},
		"contacts":   map[string]any{"address": "翁源县龙仙镇建设路1号", "phone": "0751-2862001"},
		"procedures": "来文来电 → 登记 → 拟办 → 办理 → 答复。", "complaints": map[string]any{"phone": "0751-12345"},
	}
	want(t, "a clerk fills it", call(t, "PUT", wy+"/units/2/profile", tokens["gbclerk"], form), 403, "forbidden")
	want(t, "another unit's admin fills it", call(t, "PUT", wy+"/units/2/profile", tokens["mzadmin"], form), 403, "forbidden")
	want(t, "Lechang fills it", call(t, "PUT", lc+"/units/2/profile", tokens["lcadmin"], form), 400, "unknown_unit")
	want(t, "the business admin fills it", call(t, "PUT", wy+"/units/2/profile", tokens["gbbiz"], form), 201, "")
	want(t, "a draft is not public", publicGet(t, pub+"/units/2", ""), 404, "not_found")
	for _, who := range []string{"gbclerk", "gbbiz", "mzadmin"} {
		want(t, who+" publishes it", call(t, "POST", wy+"/units/2/profile/publish", tokens[who], map[string]any{"version": 1}), 403, "forbidden")
	}
	want(t, "the unit's admin publishes it", call(t, "POST", wy+"/units/2/profile/publish", tokens["gbadmin"], map[string]any{"version": 1}), 200, "")
	r := publicGet(t, pub+"/units/2", "")
	want(t, "the public reads it", r, 200, "")
	if !strings.Contains(string(r.body), "县政府办") || !strings.Contains(string(r.body), "0751-2862001") || r.header.Get("ETag") == "" {
		t.Fatalf("the public page: %v %s", r.header, r.body)
	}
	if cc := r.header.Get("Cache-Control"); cc != "public, max-age=60" {
		t.Errorf("the public page is served with Cache-Control %q", cc)
	}
	want(t, "the same page again, by its ETag", publicGet(t, pub+"/units/2", r.header.Get("ETag")), 304, "")
	// The same route for staff, under the county's prefix, is kept by no
	// cache.
	r = call(t, "GET", wy+"/public/units/2", tokens["gbclerk"], nil)
	if want(t, "staff read the public page", r, 200, ""); r.header.Get("Cache-Control") != "private, no-store" {
		t.Errorf("the staff route is served with Cache-Control %q", r.header.Get("Cache-Control"))
	}
	want(t, "Lechang's public page of unit 2", publicGet(t, lcPub+"/units/2", ""), 404, "not_found")

	// A normative document published; a procurement notice left a draft.
	r = call(t, "POST", wy+"/documents", tokens["gbbiz"], map[string]any{"kind": "normative", "unit_id": 2, "title": "翁源县政府信息公开办法",
		"number": "翁府办〔2026〕3号", "body": "第一条 为保障公民依法获取政府信息……", "issued_on": "2026-01-20", "effective_from": "2026-02-01"})
	want(t, "a normative document", r, 201, "")
	doc := decode[struct {
		ID      string `json:"id"`
		Version int64  `json:"version"`
	}](t, r)
	want(t, "a procurement notice", call(t, "POST", wy+"/documents", tokens["gbbiz"], map[string]any{"kind": "procurement", "unit_id": 2,
		"title": "办公设备采购公告", "body": "采购办公电脑20台。", "issued_on": "2026-01-05", "expires_on": "2026-01-15"}), 201, "")
	want(t, "the clerk publishes the document", call(t, "POST", wy+"/documents/"+doc.ID+"/publish", tokens["gbclerk"], map[string]any{"version": doc.Version}), 403, "forbidden")
	want(t, "the admin publishes it", call(t, "POST", wy+"/documents/"+doc.ID+"/publish", tokens["gbadmin"], map[string]any{"version": doc.Version}), 200, "")
	r = publicGet(t, pub+"/documents", "")
	want(t, "the public documents", r, 200, "")
	docs := decode[struct {
		Documents []struct {
			ID, Title, ValidityZH string
		} `json:"documents"`
	}](t, r).Documents
	if len(docs) != 1 || docs[0].ID != doc.ID || strings.Contains(string(r.body), "采购") {
		t.Fatalf("the public documents: %s", r.body)
	}
	want(t, "Lechang's public document", publicGet(t, lcPub+"/documents/"+doc.ID, ""), 404, "not_found")
	want(t, "Lechang reads it", call(t, "GET", lc+"/documents/"+doc.ID, tokens["lcadmin"], nil), 404, "document_not_found")

	// The index: the unit's over HTTP (6 + 1 of 8 items), the county's
	// by the CLI.
	r = call(t, "GET", wy+"/index/units/2", tokens["gbclerk"], nil)
	want(t, "the unit's index", r, 200, "")
	if ix := decode[disclosureIndex](t, r); ix.Required != 8 || ix.Published != 7 || ix.Percent != 87.5 || ix.MeetsTarget || ix.Target != 90 || ix.Day != today {
		t.Fatalf("the unit's index: %s", r.body)
	}
	want(t, "another unit reads it", call(t, "GET", wy+"/index/units/2", tokens["mzadmin"], nil), 403, "forbidden")
	want(t, "a clerk reads the county's", call(t, "GET", wy+"/index", tokens["gbclerk"], nil), 403, "forbidden")
	adminEnv := map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": tokens["wyadmin"]}
	var ix disclosureIndex
	if err := json.Unmarshal([]byte(mustCLI(t, adminEnv, "disclosure", "index", county, "-o", "json")), &ix); err != nil {
		t.Fatal(err)
	}
	if ix.Required != 20 || ix.Published != 7 || ix.Percent != 35 || len(ix.Units) != 3 || ix.Units[1].Percent != 87.5 {
		t.Fatalf("the county's index: %+v", ix)
	}
	table := mustCLI(t, adminEnv, "disclosure", "index", county)
	for _, says := range []string{"目标 90%", "县政府办", "87.5%", "全县", "35.0%", "公开指数"} {
		if !strings.Contains(table, says) {
			t.Errorf("the table does not say %q:\n%s", says, table)
		}
	}
	if out := mustCLI(t, map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": tokens["gbclerk"]}, "disclosure", "index", county, "--unit", "2"); !strings.Contains(out, "县政府办") || !strings.Contains(out, "87.5%") || strings.Contains(out, "全县") {
		t.Errorf("the unit's row by the CLI:\n%s", out)
	}
	if r := cli(t, map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": tokens["lcadmin"]}, "disclosure", "index", county); r.code == 0 {
		t.Errorf("Lechang's admin reads Wengyuan's index:\n%s", r.stdout)
	}

	// Information reported, with an attachment, and graded.
	r = call(t, "POST", wy+"/reports", tokens["gbclerk"], map[string]any{"title": "县政府办召开政务公开推进会", "body": "6月3日，县政府办召开推进会。"})
	want(t, "县政府办 reports", r, 201, "")
	gb := decode[struct {
		ID      string `json:"id"`
		Version int64  `json:"version"`
	}](t, r)
	photo := []byte(strings.Repeat("JPEG", 256))
	r = call(t, "POST", wy+"/reports/"+gb.ID+"/files", tokens["gbclerk"], map[string]any{"name": "会议.jpg", "content_type": "image/jpeg", "size": len(photo)})
	want(t, "an attachment", r, 201, "")
	added := decode[struct {
		File struct {
			FileID string `json:"file_id"`
		} `json:"file"`
		Upload struct {
			URL string `json:"url"`
		} `json:"upload"`
		Report struct {
			Version int64 `json:"version"`
		} `json:"report"`
	}](t, r)
	if status, got := rawCall(t, "PUT", added.Upload.URL, photo, map[string]string{"Content-Type": "image/jpeg"}); status/100 != 2 {
		t.Fatalf("upload: %d %s", status, got)
	}
	r = call(t, "POST", wy+"/reports", tokens["mzadmin"], map[string]any{"title": "民政局发放救助金", "body": "本月发放救助金。"})
	want(t, "民政局 reports", r, 201, "")
	mz := decode[struct {
		ID      string `json:"id"`
		Version int64  `json:"version"`
	}](t, r)
	grade := map[string]any{"version": added.Report.Version, "use": "portal"}
	want(t, "the unit grades its own", call(t, "POST", wy+"/reports/"+gb.ID+"/grade", tokens["gbadmin"], grade), 403, "forbidden")
	want(t, "Lechang grades it", call(t, "POST", lc+"/reports/"+gb.ID+"/grade", tokens["lcadmin"], grade), 404, "report_not_found")
	want(t, "the IT office grades it for the portal", call(t, "POST", wy+"/reports/"+gb.ID+"/grade", tokens["wyadmin"], grade), 200, "")
	want(t, "graded twice", call(t, "POST", wy+"/reports/"+gb.ID+"/grade", tokens["wyadmin"], map[string]any{"version": added.Report.Version + 1, "use": "leaders"}), 409, "report_closed")
	want(t, "edited after grading", call(t, "PUT", wy+"/reports/"+gb.ID, tokens["gbclerk"], map[string]any{"version": added.Report.Version + 1, "title": "改", "body": "改"}), 409, "report_closed")
	want(t, "the bulletin's", call(t, "POST", wy+"/reports/"+mz.ID+"/grade", tokens["wyadmin"], map[string]any{"version": mz.Version, "use": "bulletin"}), 200, "")
	r = call(t, "GET", wy+"/reports/"+gb.ID+"/files/"+added.File.FileID, tokens["wyadmin"], nil)
	want(t, "the office downloads the attachment", r, 200, "")
	if status, got := rawCall(t, "GET", decode[struct {
		Download struct {
			URL string `json:"url"`
		} `json:"download"`
	}](t, r).Download.URL, nil, nil); status != 200 || string(got) != string(photo) {
		t.Fatalf("download: %d", status)
	}
	r = publicGet(t, pub+"/reports", "")
	want(t, "the portal's reports", r, 200, "")
	if !strings.Contains(string(r.body), gb.ID) || strings.Contains(string(r.body), mz.ID) {
		t.Fatalf("the portal: %s", r.body)
	}
	// The published report's attachment: its page names the download
	// route, which gives anyone a URL of minutes to the bytes; Lechang's
	// portal, and a staff member on the public route, get none.
	r = publicGet(t, pub+"/reports/"+gb.ID, "")
	attachment := "/reports/" + gb.ID + "/files/" + added.File.FileID
	if r.status != 200 || !strings.Contains(string(r.body), `"download":"/public`+attachment+`"`) {
		t.Fatalf("the published report's attachments: %d %s", r.status, r.body)
	}
	r = publicGet(t, pub+attachment, "")
	want(t, "the public downloads the attachment", r, 200, "")
	if status, got := rawCall(t, "GET", decode[struct {
		Download struct {
			URL string `json:"url"`
		} `json:"download"`
	}](t, r).Download.URL, nil, nil); status != 200 || string(got) != string(photo) {
		t.Fatalf("the public's download: %d", status)
	}
	want(t, "Lechang's portal downloads it", publicGet(t, lcPub+attachment, ""), 404, "not_found")
	want(t, "staff on the public route", call(t, "GET", wy+"/public"+attachment, tokens["wyadmin"], nil), 403, "forbidden")
	want(t, "the bulletin's is not public", publicGet(t, pub+"/reports/"+mz.ID, ""), 404, "not_found")
	want(t, "Lechang's portal", publicGet(t, lcPub+"/reports/"+gb.ID, ""), 404, "not_found")
	if r := publicGet(t, lcPub+"/reports", ""); r.status != 200 || strings.Contains(string(r.body), gb.ID) {
		t.Fatalf("Lechang's portal: %d %s", r.status, r.body)
	}

	// The measures, read back as rollout gates read them: each for its
	// unit and today, the index at its day's highest.
	ids := "disclosure.index.required,disclosure.index.published,disclosure.index.percent,disclosure.index.county_percent," +
		"disclosure.documents.normative,disclosure.documents.procurement,disclosure.reports.submitted,disclosure.reports.adopted.leaders," +
		"disclosure.reports.adopted.bulletin,disclosure.reports.adopted.portal,disclosure.reports.rejected"
	read := func(code, token string) map[string]int64 {
		r := call(t, "GET", fmt.Sprintf("%s/v1/tenants/%s/measures?measure=%s&from=%s&to=%s", url, code, ids, today, today), token, nil)
		want(t, "measures of "+code, r, 200, "")
		figures := map[string]int64{}
		for _, f := range decode[measure.Report](t, r).Figures {
			if f.Period != today {
				t.Errorf("a figure of %s on %s", f.Measure, f.Period)
			}
			figures[fmt.Sprintf("%s %d", f.Measure, f.Unit)] += f.Value
		}
		return figures
	}
	wanted := map[string]int64{
		"disclosure.index.required 1": 6, "disclosure.index.required 2": 8, "disclosure.index.required 3": 6,
		"disclosure.index.published 2": 7, "disclosure.index.percent 2": 100, "disclosure.index.county_percent 0": 35,
		"disclosure.documents.normative 2": 1, "disclosure.reports.submitted 2": 1, "disclosure.reports.submitted 3": 1,
		"disclosure.reports.adopted.portal 2": 1, "disclosure.reports.adopted.bulletin 3": 1,
	}
	if got := read(county, tokens["wyadmin"]); !maps.Equal(got, wanted) {
		t.Errorf("measures %v,\nwant %v", got, wanted)
	}
	// Read again, the index records nothing more.
	mustCLI(t, adminEnv, "disclosure", "index", county)
	if got := read(county, tokens["wyadmin"]); !maps.Equal(got, wanted) {
		t.Errorf("measures after a second read %v,\nwant %v", got, wanted)
	}
	if got := read("gd.shaoguan.lechang", tokens["lcadmin"]); len(got) != 0 {
		t.Errorf("Lechang's measures: %v", got)
	}

	// Had the index's figures been recorded four days ago (day 1), and
	// nothing changed nor read it since (days 2 to 5), every day has the
	// figure standing: the index measures are levels. The documents
	// published that day are counts, on their day only.
	dayOne := time.Now().In(time.FixedZone("CST", 8*3600)).AddDate(0, 0, -4).Format(time.DateOnly)
	if _, err := db.Server.Exec("UPDATE `"+registry.SchemaName(db.SchemaPrefix, county)+"`.measure_values SET period_start = ? WHERE grain = 'd' AND measure IN ('disclosure.index.percent', 'disclosure.documents.normative')", dayOne); err != nil {
		t.Fatal(err)
	}
	fiveDays := call(t, "GET", fmt.Sprintf("%s/v1/tenants/%s/measures?measure=disclosure.index.percent,disclosure.documents.normative&unit=2&from=%s&to=%s", url, county, dayOne, today), tokens["wyadmin"], nil)
	want(t, "the index over five days", fiveDays, 200, "")
	var days []string
	for _, f := range decode[measure.Report](t, fiveDays).Figures {
		days = append(days, fmt.Sprintf("%s %s=%d", f.Measure, f.Period, f.Value))
	}
	if len(days) != 6 || days[0] != "disclosure.documents.normative "+dayOne+"=1" || days[1] != "disclosure.index.percent "+dayOne+"=100" || days[5] != "disclosure.index.percent "+today+"=100" {
		t.Errorf("the index over five days: %v", days)
	}
}
