package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/core/measure"
)

// approvalHeader is the catalogue workbook's header (docs/approval.md).
var approvalHeader = []string{"事项编码", "事项名称", "事项类别", "办理部门", "法定依据", "受理条件", "申请材料", "办理流程", "承诺时限（工作日）", "法定时限（工作日）", "收费标准", "咨询电话"}

// approvalRow is a complete item of 发改局 in the workbook, its name and
// departments as given.
func approvalRow(code, name, departments string) []string {
	return []string{code, name, "行政许可", departments, "《中华人民共和国行政许可法》", "申请人为本县企业或个人", "申请表|电子表单\n营业执照|原件",
		"申请、受理、审查、决定", "5", "20", "不收费", "0795-3561234"}
}

// approvalWorkbook writes rows under the header, as a county's
// spreadsheet would hold them.
func approvalWorkbook(t testing.TB, path string, rows ...[]string) {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	for r, cells := range append([][]string{approvalHeader}, rows...) {
		for c, v := range cells {
			name, _ := excelize.CoordinatesToCellName(c+1, r+1)
			if err := f.SetCellStr("Sheet1", name, v); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := f.SaveAs(path); err != nil {
		t.Fatal(err)
	}
}

// TestTheApprovalCatalogueThroughTheHost keeps Wengyuan's catalogue
// through the real plugin process and MariaDB: its system admin creates
// an item and imports a workbook with the CLI (dry run, row errors, the
// import, the export imported back unchanged); a clerk reads and is
// refused the writes, a unit admin too; the measure reads per unit and
// day; Lechang reaches none of it.
func TestTheApprovalCatalogueThroughTheHost(t *testing.T) {
	t.Parallel()
	db, _, url, env := twoCounties(t, map[string]string{"wyadmin": auth.RoleCountyAdmin})
	operator := env["COUNTYCLOUD_TOKEN"]
	const wyCode, lcCode = "gd.shaoguan.wengyuan", "gd.shaoguan.lechang"
	opEnv := map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": operator, "COUNTYCLOUD_TENANT": wyCode}
	for _, name := range []string{"发改局", "住建局"} {
		mustCLI(t, opEnv, "org", "units", "create", "--name", name)
	}
	mustCLI(t, opEnv, "org", "accounts", "create", "--login", "fgclerk", "--name", "发改收发员", "--unit", "2", "--role", "clerk")
	mustCLI(t, opEnv, "org", "accounts", "create", "--login", "fgadmin", "--name", "发改单位管理员", "--unit", "2", "--role", "unit_admin")
	for _, county := range []string{wyCode, lcCode} {
		mustCLI(t, map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": operator, "COUNTYCLOUD_TENANT": county}, "plugin", "enable", "approval")
	}
	tokens := loginAs(t, db, url, operator, wyCode)
	lcadmin := loginAs(t, db, url, operator, lcCode)["lcadmin"]
	wy, lc := url+"/v1/tenants/"+wyCode+"/modules/approval", url+"/v1/tenants/"+lcCode+"/modules/approval"

	item := map[string]any{"code": "XK-001", "name": "企业投资项目备案", "category": "行政许可", "departments": []map[string]any{{"unit_id": 2}},
		"legal_basis": "《企业投资项目核准和备案管理条例》", "conditions": "本县企业投资项目", "materials": []map[string]any{{"name": "备案申请表", "eform": true}},
		"procedure": "申请、受理、决定", "promised_days": 3, "statutory_days": 20, "fees": "不收费", "phone": "0795-3561234"}
	want(t, "a clerk creates an item", call(t, "POST", wy+"/items", tokens["fgclerk"], item), 403, "forbidden")
	want(t, "a unit admin creates an item", call(t, "POST", wy+"/items", tokens["fgadmin"], item), 403, "forbidden")
	want(t, "Lechang's admin names Wengyuan's unit", call(t, "POST", lc+"/items", lcadmin, item), 400, "invalid_item")
	want(t, "the county admin creates an item", call(t, "POST", wy+"/items", tokens["wyadmin"], item), 201, "")
	if r := call(t, "GET", wy+"/items/XK-001", tokens["fgclerk"], nil); r.status != 200 || !strings.Contains(string(r.body), `"complete":true`) {
		t.Fatalf("a clerk reads the item: %d %s", r.status, r.body)
	}
	if r := call(t, "GET", wy+"/items?complete=true", operator, nil); r.status != 200 || !strings.Contains(string(r.body), `"code":"XK-001"`) {
		t.Fatalf("an operator lists the items: %d %s", r.status, r.body)
	}
	want(t, "an operator creates an item", call(t, "POST", wy+"/items", operator, item), 403, "forbidden")
	// Lechang reaches none of it, and its own item of the same code is
	// its own.
	want(t, "Lechang reads Wengyuan's item", call(t, "GET", lc+"/items/XK-001", lcadmin, nil), 404, "item_not_found")
	want(t, "Lechang replaces Wengyuan's item", call(t, "PUT", lc+"/items/XK-001", lcadmin, map[string]any{"version": 1, "name": "改", "category": "公共服务", "departments": []map[string]any{{"unit_id": 1}}}), 404, "item_not_found")
	want(t, "Lechang deletes Wengyuan's item", call(t, "DELETE", lc+"/items/XK-001?version=1", lcadmin, nil), 404, "item_not_found")
	if r := call(t, "GET", lc+"/items", lcadmin, nil); r.status != 200 || strings.Contains(string(r.body), "XK-001") {
		t.Fatalf("Lechang lists Wengyuan's items: %d %s", r.status, r.body)
	}
	lcItem := map[string]any{"code": "XK-001", "name": "乐昌的事项", "category": "公共服务", "departments": []map[string]any{{"unit_id": 1}}}
	want(t, "Lechang's own item of the code", call(t, "POST", lc+"/items", lcadmin, lcItem), 201, "")

	// The CLI: the template, a dry run with a row's error, the import.
	dir := t.TempDir()
	adminEnv := map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": tokens["wyadmin"], "COUNTYCLOUD_TENANT": wyCode}
	template := filepath.Join(dir, "template.xlsx")
	mustCLI(t, adminEnv, "approval", "items", "template", "--out", template)
	if data, err := os.ReadFile(template); err != nil || !strings.HasPrefix(string(data), "PK") {
		t.Fatalf("template: %v", err)
	}
	file := filepath.Join(dir, "事项目录.xlsx")
	bad := approvalRow("XK-003", "建设工程规划许可", "发改局:3；城管局:4")
	approvalWorkbook(t, file, approvalRow("xk-001", "企业投资项目备案（变更）", "发改局"), approvalRow("LH-002", "建设项目联合审批", "发改局:2；住建局:3"), bad)
	r := cli(t, adminEnv, "approval", "items", "import", file, "--dry-run")
	if r.code == 0 || !strings.Contains(r.stdout, "城管局") || !strings.Contains(r.stdout, "unknown_department") || !strings.Contains(r.stdout, "would import 2 items: 1 created, 1 updated") {
		t.Fatalf("dry run with a bad row: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = cli(t, adminEnv, "approval", "items", "import", file)
	if r.code == 0 || !strings.Contains(r.stderr, "catalogue_rows_invalid") {
		t.Fatalf("import with a bad row: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	approvalWorkbook(t, file, approvalRow("xk-001", "企业投资项目备案（变更）", "发改局"), approvalRow("LH-002", "建设项目联合审批", "发改局:2；住建局:3"),
		approvalRow("XK-003", "建设工程规划许可", "住建局"))
	var report struct {
		Created, Updated, Unchanged int
	}
	if err := json.Unmarshal([]byte(mustCLI(t, adminEnv, "approval", "items", "import", file, "-o", "json")), &report); err != nil || report.Created != 2 || report.Updated != 1 {
		t.Fatalf("import: %+v %v", report, err)
	}
	var listed []struct {
		Code    string `json:"code"`
		Version int64  `json:"version"`
	}
	if err := json.Unmarshal([]byte(mustCLI(t, adminEnv, "approval", "items", "list", "-o", "json")), &listed); err != nil || len(listed) != 3 || listed[1].Code != "XK-001" || listed[1].Version != 2 {
		t.Fatalf("list: %+v %v", listed, err)
	}
	exported := filepath.Join(dir, "export.xlsx")
	mustCLI(t, adminEnv, "approval", "items", "export", "--out", exported)
	if err := json.Unmarshal([]byte(mustCLI(t, adminEnv, "approval", "items", "import", exported, "-o", "json")), &report); err != nil || report.Unchanged != 3 || report.Created+report.Updated != 0 {
		t.Fatalf("the export imported back: %+v %v", report, err)
	}
	clerkEnv := map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": tokens["fgclerk"], "COUNTYCLOUD_TENANT": wyCode}
	if r := cli(t, clerkEnv, "approval", "items", "import", file); r.code == 0 || !strings.Contains(r.stderr, "forbidden") {
		t.Fatalf("a clerk's import: exit %d %s", r.code, r.stderr)
	}
	mustCLI(t, clerkEnv, "approval", "items", "export", "--out", filepath.Join(dir, "clerk.xlsx"))
	// Lechang's import of the same file finds no unit named 发改局, and
	// Wengyuan's items stay as they are.
	lcEnv := map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": lcadmin, "COUNTYCLOUD_TENANT": lcCode}
	if r := cli(t, lcEnv, "approval", "items", "import", file); r.code == 0 || !strings.Contains(r.stdout, "unknown_department") {
		t.Fatalf("Lechang imports Wengyuan's file: exit %d %s%s", r.code, r.stdout, r.stderr)
	}
	if r := call(t, "GET", lc+"/items", lcadmin, nil); !strings.Contains(string(r.body), "乐昌的事项") || strings.Contains(string(r.body), "LH-002") {
		t.Fatalf("Lechang's catalogue: %s", r.body)
	}

	// The measure: XK-001, LH-002 and XK-003 complete, the first two of
	// 发改局 (unit 2), the third of 住建局 (3); Lechang's draft none.
	day := time.Now().In(time.FixedZone("CST", 8*3600)).Format("2006-01-02")
	for unit, value := range map[int64]int64{2: 2, 3: 1} {
		r := call(t, "GET", url+fmt.Sprintf("/v1/tenants/%s/measures?measure=approval.items.complete&unit=%d&from=%s&to=%s&by=day", wyCode, unit, day, day), tokens["wyadmin"], nil)
		report := decode[measure.Report](t, r)
		if len(report.Figures) != 1 || report.Figures[0].Value != value || len(report.Measures) != 1 || report.Measures[0].Label.ZH != "要素齐全的审批事项数" {
			t.Errorf("unit %d's complete items: %s", unit, r.body)
		}
	}
	r2 := call(t, "GET", url+fmt.Sprintf("/v1/tenants/%s/measures?measure=approval.items.complete&from=%s&to=%s&by=day", lcCode, day, day), lcadmin, nil)
	if report := decode[measure.Report](t, r2); len(report.Figures) != 0 {
		t.Errorf("Lechang's complete items: %s", r2.body)
	}
}

// TestAnApprovalImportTooLargeIsRefusedBeforeItIsSent: a workbook the
// platform's body would not take is refused by the CLI, saying how large
// one may be, without a server.
func TestAnApprovalImportTooLargeIsRefusedBeforeItIsSent(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "big.xlsx")
	if err := os.WriteFile(file, make([]byte, 800<<10), 0o644); err != nil {
		t.Fatal(err)
	}
	r := cli(t, map[string]string{"COUNTYCLOUD_ADDR": "http://127.0.0.1:1", "COUNTYCLOUD_TOKEN": "x", "COUNTYCLOUD_TENANT": "gd.shaoguan.wengyuan"}, "approval", "items", "import", file)
	if r.code != exitUsage || !strings.Contains(r.stderr, "800 KB") || !strings.Contains(r.stderr, "767 KB") {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
}
