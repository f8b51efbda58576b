package org_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/countycloud/countycloud/core/classified"
	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/store/storetest"
	"github.com/countycloud/countycloud/tenants/org"
	"github.com/countycloud/countycloud/tenants/registry"
)

const staffingList = `单位名称,上级单位,单位编码,排序,账号限额,姓名,登录名,角色,手机号,邮箱
县委办公室,,DW001,1,3,张三,zhangsan,领导、收发员,13800138000,zhangsan@example.gov.cn
县委办公室,,,,,李四,lisi,收发员,13900139000,
县发展和改革局,,DW002,2,,王五,wangwu,业务管理员,,
综合股,县发展和改革局,DW00201,1,,,,,,
`

// fingerprint is what an organisation write may change, to prove one
// changed nothing.
func fingerprint(t *testing.T, db *storetest.DB, tenant string) string {
	t.Helper()
	schema := db.SchemaPrefix + strings.ReplaceAll(tenant, ".", "_")
	var out []string
	for _, q := range []string{
		"SELECT COUNT(*), COALESCE(MAX(updated_at), 0) FROM `%s`.units",
		"SELECT COUNT(*), COALESCE(MAX(updated_at), 0) FROM `%s`.accounts",
		"SELECT COUNT(*), COALESCE(SUM(account_id * 31 + role_id), 0) FROM `%s`.account_roles",
		"SELECT COUNT(*), COALESCE(MAX(id), 0) FROM `%s`.quota_requests",
	} {
		var n int
		var v string
		if err := db.Server.QueryRow(fmt.Sprintf(q, schema)).Scan(&n, &v); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%d/%s", n, v))
	}
	return strings.Join(out, " ")
}

func mustImport(t *testing.T, svc org.Service, tenant string, file []byte, dryRun bool) org.ImportReport {
	t.Helper()
	r, err := svc.Import(context.Background(), tenant, file, dryRun)
	if err != nil {
		t.Fatalf("import: %v (%+v)", err, errs.As(err).Details)
	}
	return r
}

func TestImportIsAllOrNothingAndIdempotent(t *testing.T) {
	t.Parallel()
	svc, db := setup(t)
	ctx := context.Background()
	empty := fingerprint(t, db, wengyuan)

	dry := mustImport(t, svc, wengyuan, []byte(staffingList), true)
	if dry.Applied || dry.Units.Created != 3 || dry.Accounts.Created != 3 || fingerprint(t, db, wengyuan) != empty {
		t.Fatalf("dry run: %+v", dry)
	}
	applied := mustImport(t, svc, wengyuan, []byte(staffingList), false)
	if !applied.Applied || applied.Units.Created != 3 || applied.Accounts.Created != 3 || applied.Format != "csv (UTF-8)" {
		t.Fatalf("import: %+v", applied)
	}
	units, _ := svc.ListUnits(ctx, wengyuan)
	byName := map[string]org.Unit{}
	for _, u := range units {
		byName[u.Name] = u
	}
	if desk := byName["综合股"]; desk.ParentID == nil || *desk.ParentID != byName["县发展和改革局"].ID || desk.Code != "DW00201" {
		t.Errorf("综合股 = %+v", desk)
	}
	if office := byName["县委办公室"]; office.Quota == nil || *office.Quota != 3 || office.Accounts != 2 {
		t.Errorf("县委办公室 = %+v", office)
	}
	page, _ := svc.ListAccounts(ctx, wengyuan, org.AccountFilter{})
	if len(page.Accounts) != 3 || strings.Join(page.Accounts[0].Roles, ",") != "clerk,leader" {
		t.Errorf("accounts = %+v", page.Accounts)
	}

	before := fingerprint(t, db, wengyuan)
	time.Sleep(2 * time.Millisecond) // so that a write would show in updated_at
	again := mustImport(t, svc, wengyuan, []byte(staffingList), false)
	if again.Units.Unchanged != 3 || again.Accounts.Unchanged != 3 || fingerprint(t, db, wengyuan) != before {
		t.Errorf("re-import of the same file changed something: %+v", again)
	}

	updated := strings.Replace(staffingList, "李四,lisi,收发员,13900139000,", "李四,lisi,领导,13900139001,lisi@example.gov.cn", 1) +
		"县发展和改革局,,,,,赵六,zhaoliu,,,\n"
	changed := mustImport(t, svc, wengyuan, []byte(updated), false)
	if changed.Accounts != (org.Counts{Created: 1, Updated: 1, Unchanged: 2}) || changed.Units.Unchanged != 3 {
		t.Errorf("updated file: %+v", changed)
	}
	page, _ = svc.ListAccounts(ctx, wengyuan, org.AccountFilter{})
	if len(page.Accounts) != 4 || page.Accounts[1].Login != "lisi" || page.Accounts[1].Mobile != "13900139001" || strings.Join(page.Accounts[1].Roles, ",") != "leader" {
		t.Errorf("after the update: %+v", page.Accounts)
	}
}

func TestBadFilesChangeNothingAndSayWhy(t *testing.T) {
	t.Parallel()
	svc, db := setup(t)
	mustImport(t, svc, wengyuan, []byte(staffingList), false)
	before := fingerprint(t, db, wengyuan)
	bad := `单位名称,上级单位,账号限额,姓名,登录名,角色,手机号
县委办公室,,1,孙七,sunqi,,
县发展和改革局,综合股,,周八,zhouba,皇帝,
县民政局,县档案馆,,吴九,wujiu,,1380013800
县财政局,,,郑十,zhangsan,,
`
	_, err := svc.Import(context.Background(), wengyuan, []byte(bad), false)
	e := errs.As(err)
	problems, _ := e.Details.([]org.RowError)
	var got []string
	for _, p := range problems {
		got = append(got, fmt.Sprintf("%d:%s:%s", p.Row, p.Column, p.Code))
	}
	want := []string{"2:账号限额:quota_exceeded", "3:上级单位:cycle", "3:角色:unknown_role", "4:手机号:invalid", "4:上级单位:unknown_parent"}
	if e.Code != org.CodeImportInvalid || strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("problems = %v (%v), want %v", got, err, want)
	}
	if fingerprint(t, db, wengyuan) != before {
		t.Error("a refused import changed the county")
	}
	dry, err := svc.Import(context.Background(), wengyuan, []byte(bad), true)
	if err != nil || len(dry.Errors) != len(want) || dry.Applied {
		t.Errorf("dry run of the bad file: %+v, %v", dry, err)
	}
}

func TestImportReadsGBKAndXLSX(t *testing.T) {
	t.Parallel()
	svc, _ := setup(t)
	gbk, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(staffingList))
	if err != nil {
		t.Fatal(err)
	}
	if r := mustImport(t, svc, wengyuan, gbk, false); r.Format != "csv (GBK)" || r.Accounts.Created != 3 {
		t.Errorf("GBK: %+v", r)
	}
	if r := mustImport(t, svc, lechang, xlsx(t, staffingList), false); r.Format != "xlsx" || r.Accounts.Created != 3 || r.Units.Created != 3 {
		t.Errorf("XLSX: %+v", r)
	}
}

func TestAFileMarkedClassifiedIsRefusedAndChangesNothing(t *testing.T) {
	t.Parallel()
	svc, db := setup(t)
	before := fingerprint(t, db, wengyuan)
	withColumn := func(header, value string) string {
		lines := strings.Split(strings.TrimSpace(staffingList), "\n")
		lines[0] += "," + header
		for i := 1; i < len(lines); i++ {
			lines[i] += ",公开"
		}
		lines[2] = strings.TrimSuffix(lines[2], "公开") + value
		return strings.Join(lines, "\n") + "\n"
	}
	gbk, err := simplifiedchinese.GBK.NewEncoder().String(withColumn("密级", "机密"))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"a 密级 column":                    []byte(withColumn("密级", "机密")),
		"a 密級 column, traditional":       []byte(withColumn("密級", "機密★10年")),
		"a spaced level":                 []byte(withColumn("文件密级", "绝 密")),
		"a classification column":        []byte(withColumn("Classification", "秘密")),
		"a GBK file with a 密级 column":    []byte(gbk),
		"a marked unit name":             []byte(strings.Replace(staffingList, "县发展和改革局,,DW002", "【机密】县发展和改革局,,DW002", 1)),
		"an XLSX sheet with a 密级 column": xlsx(t, withColumn("密级", "秘密")),
	}
	for name, file := range files {
		for _, dryRun := range []bool{true, false} {
			_, err := svc.Import(context.Background(), wengyuan, file, dryRun)
			if e := errs.As(err); e.Code != classified.CodeRefused || e.Kind != errs.KindForbidden {
				t.Errorf("%s (dry run %v): %v", name, dryRun, err)
			}
		}
	}
	if fingerprint(t, db, wengyuan) != before {
		t.Error("a refused import changed the county")
	}
	if r := mustImport(t, svc, wengyuan, []byte(withColumn("密级", "内部")), false); r.Accounts.Created != 3 {
		t.Errorf("a file whose 密级 column says 公开 and 内部: %+v", r)
	}
}

// xlsx is csv's lines as the first sheet of a workbook.
func xlsx(t *testing.T, csv string) []byte {
	t.Helper()
	f := excelize.NewFile()
	for i, line := range strings.Split(strings.TrimSpace(csv), "\n") {
		cells := strings.Split(line, ",")
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow("Sheet1", cell, &cells); err != nil {
			t.Fatal(err)
		}
	}
	buf, err := f.WriteToBuffer()
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// staffingFile makes a staffing list of n accounts over n/200 units.
func staffingFile(n int) []byte {
	var b strings.Builder
	b.WriteString("单位名称,上级单位,姓名,登录名,角色,手机号\n")
	for i := range n {
		fmt.Fprintf(&b, "单位%04d,,人员%d,user%06d,收发员,138%08d\n", i/200, i, i, i)
	}
	return []byte(b.String())
}

// BenchmarkImport100kRows imports a staffing list of 100,000 accounts
// (500 units) into a fresh county, and again into the same county, where
// it finds nothing to change.
func BenchmarkImport100kRows(b *testing.B) {
	file := staffingFile(100000)
	svc, db, reg := setupWithRegistry(b)
	ctx := context.Background()
	b.Run("fresh", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			b.StopTimer()
			code := fmt.Sprintf("gd.shaoguan.bench%c%c", 'a'+i/26%26, 'a'+i%26)
			if _, err := reg.Create(ctx, registry.CreateRequest{Code: code, Name: code}); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			if _, err := svc.Import(ctx, code, file, false); err != nil {
				b.Fatal(err)
			}
		}
	})
	// The baseline: the same accounts written by plain batched INSERTs,
	// with no reading, checking or diffing.
	b.Run("raw-insert", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			b.StopTimer()
			code := fmt.Sprintf("gd.shaoguan.raw%c%c", 'a'+i/26%26, 'a'+i%26)
			t, err := reg.Create(ctx, registry.CreateRequest{Code: code, Name: code})
			if err != nil {
				b.Fatal(err)
			}
			conn := db.Server
			if _, err := conn.Exec("INSERT INTO `" + t.Schema + "`.units (id, name, created_at, updated_at) VALUES (1, 'u', NOW(), NOW())"); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			for start := 0; start < 100000; start += 500 {
				args := make([]any, 0, 1500)
				for j := start; j < start+500; j++ {
					args = append(args, fmt.Sprintf("user%06d", j), fmt.Sprintf("人员%d", j), fmt.Sprintf("138%08d", j))
				}
				if _, err := conn.Exec("INSERT INTO `"+t.Schema+"`.accounts (login, name, unit_id, mobile, status, created_at, updated_at) VALUES (?, ?, 1, ?, 'active', NOW(), NOW())"+
					strings.Repeat(", (?, ?, 1, ?, 'active', NOW(), NOW())", 499), args...); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("unchanged", func(b *testing.B) {
		if _, err := svc.Import(ctx, wengyuan, file, false); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if r, err := svc.Import(ctx, wengyuan, file, false); err != nil || r.Accounts.Unchanged != 100000 {
				b.Fatal(r, err)
			}
		}
	})
}

// TestEveryProblemOfEveryRowIsReported: a row with a bad login still has
// its roles, mobile and unit checked, and the count reads "1 problem" or
// "n problems".
func TestEveryProblemOfEveryRowIsReported(t *testing.T) {
	t.Parallel()
	svc, db := setup(t)
	before := fingerprint(t, db, wengyuan)
	file := `单位名称,账号限额,姓名,登录名,角色,手机号
县委办公室,1,孙七,Sun Qi,皇帝、太监,12345
县委办公室,,周八,zhouba,收发员,
,,吴九,wujiu,宰相,
`
	dry := mustImport(t, svc, wengyuan, []byte(file), true)
	var got []string
	for _, p := range dry.Errors {
		got = append(got, fmt.Sprintf("%d:%s:%s", p.Row, p.Column, p.Code))
	}
	want := []string{"2:登录名:invalid", "2:手机号:invalid", "2:角色:unknown_role", "2:角色:unknown_role", "2:账号限额:quota_exceeded",
		"4:单位名称:required", "4:角色:unknown_role"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("problems:\n got %v\nwant %v", got, want)
	}
	_, err := svc.Import(context.Background(), wengyuan, []byte(file), false)
	if e := errs.As(err); e.Code != org.CodeImportInvalid || !strings.HasPrefix(e.Message, "7 problems in the file") {
		t.Errorf("the import of the file: %v", err)
	}
	_, err = svc.Import(context.Background(), wengyuan, []byte("单位名称,姓名,登录名\n县委办公室,孙七,Sun Qi\n"), false)
	if e := errs.As(err); e.Code != org.CodeImportInvalid || !strings.HasPrefix(e.Message, "1 problem in the file") {
		t.Errorf("a file with one problem: %v", err)
	}
	if fingerprint(t, db, wengyuan) != before {
		t.Error("a refused import changed the county")
	}
}

// TestAnApprovedQuotaRaiseOutlivesAReimport: the staffing list sets 县委办公室
// to 3 accounts, an approved request raises it to 5; importing the list
// again keeps 5, and the dry run says so; a list raising it to 8 wins.
func TestAnApprovedQuotaRaiseOutlivesAReimport(t *testing.T) {
	t.Parallel()
	svc, _ := setup(t)
	ctx := context.Background()
	mustImport(t, svc, wengyuan, []byte(staffingList), false)
	units, _ := svc.ListUnits(ctx, wengyuan)
	byName := map[string]org.Unit{}
	for _, u := range units {
		byName[u.Name] = u
	}
	office, drc := byName["县委办公室"], byName["县发展和改革局"]
	r, err := svc.RequestQuota(ctx, wengyuan, "account:bgs", org.QuotaInput{UnitID: office.ID, Quota: 5, Reason: "新增三名收发员，领导小组已批复"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.DecideQuota(ctx, wengyuan, "account:admin", r.ID, org.Decision{Approve: true}); err != nil {
		t.Fatal(err)
	}
	quotaOf := func(id int64) int {
		t.Helper()
		u, err := svc.GetUnit(ctx, wengyuan, id)
		if err != nil || u.Quota == nil {
			t.Fatalf("unit %d: %+v %v", id, u, err)
		}
		return *u.Quota
	}

	// The list again, with 县发展和改革局 given a quota of 4.
	list := strings.Replace(staffingList, "县发展和改革局,,DW002,2,,", "县发展和改革局,,DW002,2,4,", 1)
	dry := mustImport(t, svc, wengyuan, []byte(list), true)
	want := []org.QuotaChange{
		{Unit: "县委办公室", Before: ptr(5), After: ptr(5), File: ptr(3), Request: r.ID},
		{Unit: "县发展和改革局", After: ptr(4)},
	}
	if got, _ := json.Marshal(dry.Quotas); string(got) != string(must(json.Marshal(want))) {
		t.Errorf("the dry run's quotas:\n got %s\nwant %s", got, must(json.Marshal(want)))
	}
	mustImport(t, svc, wengyuan, []byte(list), false)
	if quotaOf(office.ID) != 5 || quotaOf(drc.ID) != 4 {
		t.Errorf("after the import: 县委办公室 %d, want 5 (the approved raise); 县发展和改革局 %d, want 4", quotaOf(office.ID), quotaOf(drc.ID))
	}
	again := mustImport(t, svc, wengyuan, []byte(list), true)
	if len(again.Quotas) != 1 || again.Quotas[0].Request != r.ID {
		t.Errorf("the dry run of the imported list still says the raise stands: %+v", again.Quotas)
	}

	raised := strings.Replace(list, "县委办公室,,DW001,1,3,", "县委办公室,,DW001,1,8,", 1)
	dry = mustImport(t, svc, wengyuan, []byte(raised), true)
	if len(dry.Quotas) != 1 || *dry.Quotas[0].Before != 5 || *dry.Quotas[0].After != 8 || dry.Quotas[0].File != nil {
		t.Errorf("a list raising the quota further: %+v", dry.Quotas)
	}
	mustImport(t, svc, wengyuan, []byte(raised), false)
	if quotaOf(office.ID) != 8 {
		t.Errorf("县委办公室 %d after a list raising it, want 8", quotaOf(office.ID))
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
