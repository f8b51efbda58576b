package org_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/store/storetest"
	"github.com/countycloud/countycloud/tenants/org"
	"github.com/countycloud/countycloud/tenants/provision/provisiontest"
	"github.com/countycloud/countycloud/tenants/registry"
)

const (
	wengyuan = "gd.shaoguan.wengyuan"
	lechang  = "gd.shaoguan.lechang"
)

// setup provisions two counties and returns the organisation service.
func setup(t testing.TB) (org.Service, *storetest.DB) {
	svc, db, _ := setupWithRegistry(t)
	return svc, db
}

func setupWithRegistry(t testing.TB) (org.Service, *storetest.DB, registry.Service) {
	t.Helper()
	db := storetest.New(t)
	reg := provisiontest.Registry(t, db, registry.CreateRequest{Code: wengyuan, Name: "翁源县"}, registry.CreateRequest{Code: lechang, Name: "乐昌市"})
	return org.NewService(provisiontest.Router(db, 0)), db, reg
}

func ptr[T any](v T) *T { return &v }

func mustUnit(t *testing.T, svc org.Service, tenant string, in org.UnitInput) org.Unit {
	t.Helper()
	u, err := svc.CreateUnit(context.Background(), tenant, in)
	if err != nil {
		t.Fatalf("create unit %s: %v", in.Name, err)
	}
	return u
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if errs.CodeOf(err) != code {
		t.Errorf("%s: %v, want %s", what, err, code)
	}
}

func TestUnitsFormATree(t *testing.T) {
	t.Parallel()
	svc, _ := setup(t)
	ctx := context.Background()
	office := mustUnit(t, svc, wengyuan, org.UnitInput{Name: "县委办公室", Code: "DW001", Sort: 1})
	drc := mustUnit(t, svc, wengyuan, org.UnitInput{Name: "县发展和改革局", Sort: 2})
	desk := mustUnit(t, svc, wengyuan, org.UnitInput{Name: "综合股", ParentID: &drc.ID})
	if desk.ParentID == nil || *desk.ParentID != drc.ID {
		t.Fatalf("child unit: %+v", desk)
	}
	units, err := svc.ListUnits(ctx, wengyuan)
	if err != nil || len(units) != 3 || units[0].Name != "综合股" || units[1].ID != office.ID {
		t.Errorf("list (by sort order) = %+v, %v", units, err)
	}
	wantCode(t, "same name", func() error {
		_, err := svc.CreateUnit(ctx, wengyuan, org.UnitInput{Name: "县委办公室"})
		return err
	}(), org.CodeUnitExists)
	wantCode(t, "same code", func() error {
		_, err := svc.CreateUnit(ctx, wengyuan, org.UnitInput{Name: "X", Code: "DW001"})
		return err
	}(), org.CodeUnitExists)
	wantCode(t, "unknown parent", func() error {
		_, err := svc.CreateUnit(ctx, wengyuan, org.UnitInput{Name: "Y", ParentID: ptr(int64(999))})
		return err
	}(), org.CodeUnitNotFound)
	wantCode(t, "empty name", func() error { _, err := svc.CreateUnit(ctx, wengyuan, org.UnitInput{Name: " "}); return err }(), org.CodeInvalidUnit)
	wantCode(t, "bad code", func() error {
		_, err := svc.CreateUnit(ctx, wengyuan, org.UnitInput{Name: "Z", Code: "a b"})
		return err
	}(), org.CodeInvalidUnit)
	wantCode(t, "under itself", func() error {
		_, err := svc.UpdateUnit(ctx, wengyuan, drc.ID, org.UnitPatch{ParentID: &drc.ID})
		return err
	}(), org.CodeUnitCycle)
	wantCode(t, "under its child", func() error {
		_, err := svc.UpdateUnit(ctx, wengyuan, drc.ID, org.UnitPatch{ParentID: &desk.ID})
		return err
	}(), org.CodeUnitCycle)
	moved, err := svc.UpdateUnit(ctx, wengyuan, desk.ID, org.UnitPatch{ParentID: ptr(int64(0)), Name: ptr("综合股（独立）")})
	if err != nil || moved.ParentID != nil || moved.Name != "综合股（独立）" {
		t.Errorf("to the top: %+v, %v", moved, err)
	}
}

func TestAccountsRespectTheirUnitsQuota(t *testing.T) {
	t.Parallel()
	svc, _ := setup(t)
	ctx := context.Background()
	u := mustUnit(t, svc, wengyuan, org.UnitInput{Name: "县民政局", Quota: ptr(2)})
	other := mustUnit(t, svc, wengyuan, org.UnitInput{Name: "县财政局"})
	a, err := svc.CreateAccount(ctx, wengyuan, org.AccountInput{Login: "zhangsan", Name: "张三", UnitID: u.ID,
		Roles: []string{"leader", "clerk"}, Mobile: "+86 138-0013-8000", Email: "zs@example.gov.cn"})
	if err != nil || a.Mobile != "13800138000" || strings.Join(a.Roles, ",") != "clerk,leader" || a.Status != org.StatusActive {
		t.Fatalf("create account: %+v, %v", a, err)
	}
	if _, err := svc.CreateAccount(ctx, wengyuan, org.AccountInput{Login: "lisi", Name: "李四", UnitID: u.ID}); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "over quota", func() error {
		_, err := svc.CreateAccount(ctx, wengyuan, org.AccountInput{Login: "wangwu", Name: "王五", UnitID: u.ID})
		return err
	}(), org.CodeQuotaExceeded)
	w, err := svc.CreateAccount(ctx, wengyuan, org.AccountInput{Login: "wangwu", Name: "王五", UnitID: other.ID})
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, "move into a full unit", func() error {
		_, err := svc.UpdateAccount(ctx, wengyuan, w.ID, org.AccountPatch{UnitID: &u.ID})
		return err
	}(), org.CodeQuotaExceeded)
	if _, err := svc.UpdateAccount(ctx, wengyuan, a.ID, org.AccountPatch{Status: ptr(org.StatusDisabled)}); err != nil {
		t.Fatal(err)
	}
	moved, err := svc.UpdateAccount(ctx, wengyuan, w.ID, org.AccountPatch{UnitID: &u.ID, Roles: &[]string{"business_admin"}})
	if err != nil || moved.UnitID != u.ID || strings.Join(moved.Roles, ",") != "business_admin" {
		t.Errorf("a disabled account frees its place: %+v, %v", moved, err)
	}
	wantCode(t, "re-enable into a full unit", func() error {
		_, err := svc.UpdateAccount(ctx, wengyuan, a.ID, org.AccountPatch{Status: ptr(org.StatusActive)})
		return err
	}(), org.CodeQuotaExceeded)

	for what, in := range map[string]org.AccountInput{
		"taken login":    {Login: "lisi", Name: "x", UnitID: other.ID},
		"bad login":      {Login: "Li Si", Name: "x", UnitID: other.ID},
		"no name":        {Login: "zhaoliu", UnitID: other.ID},
		"bad mobile":     {Login: "zhaoliu", Name: "x", UnitID: other.ID, Mobile: "12345"},
		"bad e-mail":     {Login: "zhaoliu", Name: "x", UnitID: other.ID, Email: "zhaoliu@"},
		"unknown role":   {Login: "zhaoliu", Name: "x", UnitID: other.ID, Roles: []string{"emperor"}},
		"unknown unit":   {Login: "zhaoliu", Name: "x", UnitID: 999},
		"script name":    {Login: "zhaoliu", Name: "<script>\x00</script>", UnitID: other.ID},
		"sql in login":   {Login: "x'; DROP TABLE accounts; --", Name: "x", UnitID: other.ID},
		"over-long name": {Login: "zhaoliu", Name: strings.Repeat("名", 65), UnitID: other.ID},
	} {
		if _, err := svc.CreateAccount(ctx, wengyuan, in); err == nil || errs.As(err).Kind == errs.KindInternal {
			t.Errorf("%s: %v, want a refusal", what, err)
		}
	}
	page, err := svc.ListAccounts(ctx, wengyuan, org.AccountFilter{UnitID: u.ID, Status: org.StatusActive})
	if err != nil || len(page.Accounts) != 2 {
		t.Errorf("active accounts of the unit: %+v, %v", page, err)
	}
}

// TestConcurrentAccountsNeverExceedTheQuota adds accounts to a unit with
// room for 3 from 10 goroutines at once.
func TestConcurrentAccountsNeverExceedTheQuota(t *testing.T) {
	t.Parallel()
	svc, _ := setup(t)
	ctx := context.Background()
	u := mustUnit(t, svc, wengyuan, org.UnitInput{Name: "县教育局", Quota: ptr(3)})
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := svc.CreateAccount(ctx, wengyuan, org.AccountInput{Login: fmt.Sprintf("teacher%d", i), Name: "教师", UnitID: u.ID})
			if err != nil && errs.CodeOf(err) != org.CodeQuotaExceeded {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if got, _ := svc.GetUnit(ctx, wengyuan, u.ID); got.Accounts != 3 {
		t.Errorf("%d accounts in a unit whose quota is 3", got.Accounts)
	}
}

func TestQuotaRequestsAreDecidedOnceAndRecorded(t *testing.T) {
	t.Parallel()
	svc, _ := setup(t)
	ctx := context.Background()
	u := mustUnit(t, svc, wengyuan, org.UnitInput{Name: "县卫健局", Quota: ptr(1)})
	if _, err := svc.CreateAccount(ctx, wengyuan, org.AccountInput{Login: "doctor1", Name: "医生", UnitID: u.ID}); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "no reason", func() error {
		_, err := svc.RequestQuota(ctx, wengyuan, "admin", org.QuotaInput{UnitID: u.ID, Quota: 3})
		return err
	}(), org.CodeInvalidRequest)
	wantCode(t, "not more", func() error {
		_, err := svc.RequestQuota(ctx, wengyuan, "admin", org.QuotaInput{UnitID: u.ID, Quota: 1, Reason: "x"})
		return err
	}(), org.CodeInvalidRequest)
	r, err := svc.RequestQuota(ctx, wengyuan, "unit-admin", org.QuotaInput{UnitID: u.ID, Quota: 3, Reason: "新增两名医生，领导小组已批复"})
	if err != nil || r.Status != org.RequestPending || r.RequestedBy != "unit-admin" {
		t.Fatalf("request: %+v, %v", r, err)
	}
	rejected, err := svc.RequestQuota(ctx, wengyuan, "unit-admin", org.QuotaInput{UnitID: u.ID, Quota: 10, Reason: "多要一些"})
	if err != nil {
		t.Fatal(err)
	}
	if r, err = svc.DecideQuota(ctx, wengyuan, "county-admin", r.ID, org.Decision{Approve: true, Note: "同意"}); err != nil ||
		r.Status != org.RequestApproved || r.DecidedBy != "county-admin" || r.DecidedAt == nil || r.DecisionNote != "同意" {
		t.Fatalf("approve: %+v, %v", r, err)
	}
	wantCode(t, "decide twice", func() error { _, err := svc.DecideQuota(ctx, wengyuan, "x", r.ID, org.Decision{}); return err }(), org.CodeRequestDecided)
	if rj, err := svc.DecideQuota(ctx, wengyuan, "county-admin", rejected.ID, org.Decision{Note: "无依据"}); err != nil || rj.Status != org.RequestRejected {
		t.Errorf("reject: %+v, %v", rj, err)
	}
	if got, _ := svc.GetUnit(ctx, wengyuan, u.ID); got.Quota == nil || *got.Quota != 3 {
		t.Errorf("quota after approval: %+v", got)
	}
	if _, err := svc.CreateAccount(ctx, wengyuan, org.AccountInput{Login: "doctor2", Name: "医生", UnitID: u.ID}); err != nil {
		t.Errorf("an account within the raised quota: %v", err)
	}
	pending, err := svc.ListQuotaRequests(ctx, wengyuan, org.RequestPending)
	if err != nil || len(pending) != 0 {
		t.Errorf("pending after deciding both: %+v, %v", pending, err)
	}
}

// TestAnotherCountyReachesNothing uses county B's path with county A's ids
// for every service call: B sees only its own (empty) organisation.
func TestAnotherCountyReachesNothing(t *testing.T) {
	t.Parallel()
	svc, db := setup(t)
	ctx := context.Background()
	u := mustUnit(t, svc, wengyuan, org.UnitInput{Name: "翁源县委办", Quota: ptr(1)})
	a, err := svc.CreateAccount(ctx, wengyuan, org.AccountInput{Login: "secret", Name: "翁源的人", UnitID: u.ID})
	if err != nil {
		t.Fatal(err)
	}
	r, err := svc.RequestQuota(ctx, wengyuan, "x", org.QuotaInput{UnitID: u.ID, Quota: 2, Reason: "r"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = svc.GetUnit(ctx, lechang, u.ID)
	wantCode(t, "get unit", err, org.CodeUnitNotFound)
	_, err = svc.UpdateUnit(ctx, lechang, u.ID, org.UnitPatch{Name: ptr("x")})
	wantCode(t, "update unit", err, org.CodeUnitNotFound)
	_, err = svc.GetAccount(ctx, lechang, a.ID)
	wantCode(t, "get account", err, org.CodeAccountNotFound)
	_, err = svc.UpdateAccount(ctx, lechang, a.ID, org.AccountPatch{Status: ptr(org.StatusDisabled)})
	wantCode(t, "update account", err, org.CodeAccountNotFound)
	_, err = svc.CreateAccount(ctx, lechang, org.AccountInput{Login: "intruder", Name: "x", UnitID: u.ID})
	wantCode(t, "account in another county's unit", err, org.CodeUnitNotFound)
	_, err = svc.DecideQuota(ctx, lechang, "x", r.ID, org.Decision{Approve: true})
	wantCode(t, "decide another county's request", err, org.CodeRequestNotFound)
	units, _ := svc.ListUnits(ctx, lechang)
	page, _ := svc.ListAccounts(ctx, lechang, org.AccountFilter{})
	requests, _ := svc.ListQuotaRequests(ctx, lechang, "")
	if len(units)+len(page.Accounts)+len(requests) != 0 {
		t.Errorf("lechang sees %v %v %v", units, page.Accounts, requests)
	}
	var status string
	if err := db.Server.Get(&status, "SELECT status FROM `"+db.SchemaPrefix+"gd_shaoguan_wengyuan`.quota_requests WHERE id = ?", r.ID); err != nil || status != org.RequestPending {
		t.Errorf("wengyuan's request after lechang's attempts: %q, %v", status, err)
	}
}

func TestUnitsAccountsAndRolesNamedByInvisibleOrReorderingCharactersAreRefused(t *testing.T) {
	t.Parallel()
	svc, db := setup(t)
	ctx := context.Background()
	unit := mustUnit(t, svc, wengyuan, org.UnitInput{Name: "县信息中心"})
	account, err := svc.CreateAccount(ctx, wengyuan, org.AccountInput{Login: "zhangsan", Name: "张三", UnitID: unit.ID})
	if err != nil {
		t.Fatal(err)
	}
	before := fingerprint(t, db, wengyuan)
	for _, name := range []string{"\u200b", "县信息\u202e中心", "\u2066张三\u2069", "\u3164", "张\u200d三"} {
		_, err := svc.CreateUnit(ctx, wengyuan, org.UnitInput{Name: name})
		wantCode(t, fmt.Sprintf("create a unit named %q", name), err, org.CodeInvalidUnit)
		_, err = svc.UpdateUnit(ctx, wengyuan, unit.ID, org.UnitPatch{Name: &name})
		wantCode(t, fmt.Sprintf("rename a unit %q", name), err, org.CodeInvalidUnit)
		_, err = svc.CreateAccount(ctx, wengyuan, org.AccountInput{Login: "lisi", Name: name, UnitID: unit.ID})
		wantCode(t, fmt.Sprintf("create an account named %q", name), err, org.CodeInvalidAccount)
		_, err = svc.UpdateAccount(ctx, wengyuan, account.ID, org.AccountPatch{Name: &name})
		wantCode(t, fmt.Sprintf("rename an account %q", name), err, org.CodeInvalidAccount)
		_, err = svc.CreateRole(ctx, wengyuan, org.RoleInput{Code: "archivist", Name: name})
		wantCode(t, fmt.Sprintf("create a role named %q", name), err, org.CodeInvalidRole)
		for column, file := range map[string]string{"单位名称": "单位名称,姓名,登录名\n" + name + ",李四,lisi\n", "姓名": "单位名称,姓名,登录名\n县信息中心," + name + ",lisi\n"} {
			_, err = svc.Import(ctx, wengyuan, []byte(file), false)
			problems, _ := errs.As(err).Details.([]org.RowError)
			if errs.CodeOf(err) != org.CodeImportInvalid || len(problems) != 1 || problems[0].Column != column || problems[0].Code != org.RowInvalid {
				t.Errorf("import %q: %v %+v", file, err, problems)
			}
		}
	}
	if fingerprint(t, db, wengyuan) != before {
		t.Error("a refused name changed the county")
	}
	roles, _ := svc.ListRoles(ctx, wengyuan)
	for _, r := range roles {
		if r.Code == "archivist" {
			t.Errorf("role %+v was created", r)
		}
	}
}

// TestAUnitAdminWritesOnlyWithinTheirUnit calls every organisation write
// a unit admin may make as the admin of 民政局: each is refused for the
// unit beside it and allowed for the unit below it, and the refusals
// change nothing.
func TestAUnitAdminWritesOnlyWithinTheirUnit(t *testing.T) {
	t.Parallel()
	svc, db := setup(t)
	ctx := context.Background()
	civil := mustUnit(t, svc, wengyuan, org.UnitInput{Name: "县民政局", Quota: ptr(5)})
	relief := mustUnit(t, svc, wengyuan, org.UnitInput{Name: "社会救助股", ParentID: &civil.ID, Quota: ptr(5)})
	health := mustUnit(t, svc, wengyuan, org.UnitInput{Name: "县卫健局", Quota: ptr(5)})
	doctor, err := svc.CreateAccount(ctx, wengyuan, org.AccountInput{Login: "doctor", Name: "医生", UnitID: health.ID})
	if err != nil {
		t.Fatal(err)
	}
	boss, err := svc.CreateAccount(ctx, wengyuan, org.AccountInput{Login: "boss", Name: "系统管理员", UnitID: civil.ID, Roles: []string{auth.RoleCountyAdmin}})
	if err != nil {
		t.Fatal(err)
	}
	admin, err := svc.CreateAccount(ctx, wengyuan, org.AccountInput{Login: "mzadmin", Name: "民政管理员", UnitID: civil.ID, Roles: []string{auth.RoleUnitAdmin}})
	if err != nil {
		t.Fatal(err)
	}
	as := auth.WithPrincipal(ctx, auth.Principal{Kind: auth.KindAccount, ID: admin.ID, Login: admin.Login, Tenant: wengyuan, Unit: civil.ID, Roles: admin.Roles})
	before := fingerprint(t, db, wengyuan)
	outside := map[string]func() error{
		"an account in another unit": func() error {
			_, err := svc.CreateAccount(as, wengyuan, org.AccountInput{Login: "intruder", Name: "外人", UnitID: health.ID})
			return err
		},
		"an account with the county admin's role": func() error {
			_, err := svc.CreateAccount(as, wengyuan, org.AccountInput{Login: "climber", Name: "攀登者", UnitID: relief.ID, Roles: []string{auth.RoleCountyAdmin}})
			return err
		},
		"another unit's account": func() error {
			_, err := svc.UpdateAccount(as, wengyuan, doctor.ID, org.AccountPatch{Status: ptr(org.StatusDisabled)})
			return err
		},
		"a county admin in the unit": func() error {
			_, err := svc.UpdateAccount(as, wengyuan, boss.ID, org.AccountPatch{Status: ptr(org.StatusDisabled)})
			return err
		},
		"moving an account out": func() error {
			_, err := svc.UpdateAccount(as, wengyuan, admin.ID, org.AccountPatch{UnitID: &health.ID})
			return err
		},
		"another unit's quota": func() error {
			_, err := svc.RequestQuota(as, wengyuan, "account:mzadmin", org.QuotaInput{UnitID: health.ID, Quota: 9, Reason: "多要一些"})
			return err
		},
	}
	for what, call := range outside {
		wantCode(t, what, call(), auth.CodeOutsideReach)
	}
	if after := fingerprint(t, db, wengyuan); after != before {
		t.Errorf("refused writes changed the county:\nbefore %s\nafter  %s", before, after)
	}
	clerk, err := svc.CreateAccount(as, wengyuan, org.AccountInput{Login: "jzclerk", Name: "救助股职员", UnitID: relief.ID})
	if err != nil {
		t.Fatalf("an account in the unit below: %v", err)
	}
	if _, err := svc.UpdateAccount(as, wengyuan, clerk.ID, org.AccountPatch{Mobile: ptr("13800000000")}); err != nil {
		t.Errorf("an account of the unit below: %v", err)
	}
	if _, err := svc.RequestQuota(as, wengyuan, "account:mzadmin", org.QuotaInput{UnitID: relief.ID, Quota: 9, Reason: "新增窗口人员"}); err != nil {
		t.Errorf("a quota of the unit below: %v", err)
	}
}
