package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/tenants/rollout"
)

func TestAUsageReportReachesOnlyItsCountysAdministratorsAndTheProvince(t *testing.T) {
	t.Parallel()
	db, _, url, env := twoCounties(t, map[string]string{"wyadmin": auth.RoleCountyAdmin, "wyclerk": auth.RoleClerk})
	op := env["COUNTYCLOUD_TOKEN"]
	const wy, lc = "gd.shaoguan.wengyuan", "gd.shaoguan.lechang"
	file := filepath.Join(t.TempDir(), "template.json")
	if err := os.WriteFile(file, []byte(basicTemplate), 0o600); err != nil {
		t.Fatal(err)
	}
	mustCLI(t, env, "rollout", "templates", "put", "--file", file)
	mustCLI(t, map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": op, "COUNTYCLOUD_TENANT": wy}, "org", "units", "create", "--name", "发改局", "--code", "FGJ")
	mustCLI(t, env, "rollout", "plan", "create", wy, "--template", "gd.basic", "--key-units", "oa=FGJ")
	// The county's unit 1 signed in 12 times in the half-month.
	schema := db.SchemaPrefix + strings.ReplaceAll(wy, ".", "_")
	if _, err := db.Server.Exec("INSERT INTO `" + schema + "`.measure_values (measure, unit_id, grain, period_start, value) VALUES ('platform.logins', 1, 'd', '2026-11-20', 12), ('platform.logins', 1, 'd', '2026-12-02', 5)"); err != nil {
		t.Fatal(err)
	}
	lcTokens := loginAs(t, db, url, op, lc)
	wyTokens := loginAs(t, db, url, op, wy)
	lcadmin, admin, clerk := lcTokens["lcadmin"], wyTokens["wyadmin"], wyTokens["wyclerk"]
	base := url + "/v1/tenants/" + wy + "/rollout/reports"

	// Generating is the province's; a county's admin may not.
	want(t, "the county's admin generates", call(t, "POST", base, admin, rollout.GenerateInput{Period: "2026-11-16"}), 403, "")
	if r := call(t, "POST", base, lcadmin, rollout.GenerateInput{Period: "2026-11-16"}); r.status != 403 && r.status != 404 {
		t.Errorf("Lechang's admin generates Wengyuan's: %d %s", r.status, r.body)
	}
	want(t, "anonymous generates", call(t, "POST", base, "", rollout.GenerateInput{Period: "2026-11-16"}), 401, "")
	want(t, "a period not a half-month's", call(t, "POST", base, op, rollout.GenerateInput{Period: "2026-11-17"}), 400, rollout.CodeInvalidPeriod)
	want(t, "a body with a field of its own", call(t, "POST", base, op, map[string]string{"period": "2026-11-16", "unit": "1"}), 400, "")
	want(t, "a county without a plan", call(t, "POST", url+"/v1/tenants/"+lc+"/rollout/reports", op, rollout.GenerateInput{Period: "2026-11-16"}), 404, rollout.CodePlanNotFound)
	if r := mustCLI(t, env, "rollout", "reports", "list", "-o", "json"); !strings.Contains(r, `"reports":[]`) && !strings.Contains(r, `"reports": []`) {
		t.Errorf("refusals archived: %s", r)
	}

	var rep rollout.Report
	if err := json.Unmarshal([]byte(mustCLI(t, env, "rollout", "reports", "generate", wy, "--period", "2026-11-16", "-o", "json")), &rep); err != nil {
		t.Fatal(err)
	}
	again := decode[rollout.Report](t, call(t, "POST", base, op, rollout.GenerateInput{Period: "2026-11-16"}))
	if again != rep || rep.ID == 0 {
		t.Errorf("generated twice: %+v, then %+v", rep, again)
	}
	id := strconv.FormatInt(rep.ID, 10)

	// The county's admins read their county's reports; nobody else of a
	// county does.
	page := decode[rollout.ReportPage](t, call(t, "GET", base, admin, nil))
	if len(page.Reports) != 1 || page.Reports[0].ID != rep.ID {
		t.Errorf("the county's admin lists: %+v", page)
	}
	r := call(t, "GET", base+"/"+id+"?format=json", admin, nil)
	want(t, "the county's admin downloads its report", r, 200, "")
	if sum := sha256.Sum256(r.body); hex.EncodeToString(sum[:]) != rep.SHA256 || r.header.Get("X-Report-SHA256") != rep.SHA256 {
		t.Errorf("the JSON is not the archived bytes: %x, recorded %s", sum, rep.SHA256)
	}
	var doc rollout.ReportDocument
	if err := json.Unmarshal(r.body, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Total.Figures["logins"] != 12 || len(doc.Rows) != 2 || doc.Rows[0].Unit.ID != 1 || doc.Rows[0].Figures["logins"] != 12 || doc.Rows[1].Figures["logins"] != 0 {
		t.Errorf("the half-month's logins: %+v", doc.Total)
	}
	for _, path := range []string{base, base + "/" + id, base + "/" + id + "?format=xlsx"} {
		if r := call(t, "GET", path, lcadmin, nil); r.status != 403 && r.status != 404 {
			t.Errorf("Lechang's admin reads %s: %d %s", path, r.status, r.body)
		}
		want(t, "a clerk reads "+path, call(t, "GET", path, clerk, nil), 403, "")
		want(t, "anonymous reads "+path, call(t, "GET", path, "", nil), 401, "")
	}
	want(t, "Wengyuan's report on Lechang's route", call(t, "GET", url+"/v1/tenants/"+lc+"/rollout/reports/"+id, lcadmin, nil), 404, rollout.CodeReportNotFound)
	want(t, "the county's admin lists every county's", call(t, "GET", url+"/v1/rollout/reports", admin, nil), 403, "")
	want(t, "the county's admin reads by the province's route", call(t, "GET", url+"/v1/rollout/reports/"+id, admin, nil), 403, "")
	want(t, "a format no report has", call(t, "GET", base+"/"+id+"?format=pdf", admin, nil), 400, rollout.CodeInvalidReportReq)
	want(t, "a county filter on a county's route", call(t, "GET", base+"?county="+lc, admin, nil), 400, rollout.CodeInvalidReportReq)
	want(t, "a report that is not there", call(t, "GET", url+"/v1/rollout/reports/999999", op, nil), 404, rollout.CodeReportNotFound)

	// The province lists and downloads; the workbook opens.
	if out := mustCLI(t, env, "rollout", "reports", "list", "--kind", "half_month", "--period", "2026-11-16"); !strings.Contains(out, wy) || !strings.Contains(out, rep.SHA256[:16]) {
		t.Errorf("list:\n%s", out)
	}
	xlsx := filepath.Join(t.TempDir(), "翁源县.xlsx")
	mustCLI(t, env, "rollout", "reports", "get", id, "--format", "xlsx", "--out", xlsx)
	data, err := os.ReadFile(xlsx)
	if err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if title, err := f.GetCellValue("使用情况", "A1"); err != nil || !strings.Contains(title, "翁源县使用情况报告") {
		t.Errorf("the workbook's title: %q %v", title, err)
	}

	// Targets are the province's to set.
	want(t, "the county's admin sets targets", call(t, "PUT", url+"/v1/rollout/targets", admin, map[string]float64{"docs_online_rate": 10}), 403, "")
	want(t, "a target on no figure", call(t, "PUT", url+"/v1/rollout/targets", op, map[string]float64{"logins": 10}), 400, rollout.CodeInvalidTargets)
	if r := cli(t, env, "rollout", "targets", "set", "docs_online_rate"); r.code == 0 {
		t.Errorf("a target without its percentage: %s", r.stdout)
	}
	mustCLI(t, env, "rollout", "targets", "set", "docs_online_rate=80", "approvals_online_rate=80", "disclosure_index=90")
	if out := mustCLI(t, env, "rollout", "targets", "show"); !strings.Contains(out, "disclosure_index") || !strings.Contains(out, "公开指数") {
		t.Errorf("targets:\n%s", out)
	}
}
