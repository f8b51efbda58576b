package org_test

import (
	"context"
	"fmt"
	"slices"
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

// renewals records what the service says it renewed, per county.
type renewals struct {
	mu  sync.Mutex
	ids map[string][]int64
}

func (r *renewals) SecurityRenewed(tenant string, accounts ...int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ids[tenant] = append(r.ids[tenant], accounts...)
}

func (r *renewals) take(tenant string) []int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	ids := r.ids[tenant]
	delete(r.ids, tenant)
	slices.Sort(ids)
	return ids
}

// securityVersions are the security versions of tenant's accounts by login.
func securityVersions(t *testing.T, db *storetest.DB, tenant string) map[string]int64 {
	t.Helper()
	schema := "`" + db.SchemaPrefix + strings.ReplaceAll(tenant, ".", "_") + "`."
	rows, err := db.Server.Query("SELECT a.login, COALESCE(s.version, 0) FROM " + schema + "accounts a LEFT JOIN " + schema + "account_security s ON s.account_id = a.id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	versions := map[string]int64{}
	for rows.Next() {
		var login string
		var v int64
		if err := rows.Scan(&login, &v); err != nil {
			t.Fatal(err)
		}
		versions[login] = v
	}
	return versions
}

// TestAReservedRoleCodeIsRefusedEverywhereACountyNamesRoles: creating a
// role, giving one and importing a file that names one, even where the
// county's table holds the code from before.
func TestAReservedRoleCodeIsRefusedEverywhereACountyNamesRoles(t *testing.T) {
	t.Parallel()
	svc, db := setup(t)
	ctx := context.Background()
	mustImport(t, svc, wengyuan, []byte(staffingList), false)
	schema := "`" + db.SchemaPrefix + strings.ReplaceAll(wengyuan, ".", "_") + "`."
	for _, code := range auth.ReservedRoles() {
		_, err := svc.CreateRole(ctx, wengyuan, org.RoleInput{Code: code, Name: "省级运维"})
		wantCode(t, "create role "+code, err, org.CodeReservedRole)
		if _, err := db.Server.Exec("INSERT INTO "+schema+"roles (code, name, builtin, created_at) VALUES (?, ?, FALSE, NOW())", code, "自建"+code); err != nil {
			t.Fatal(err)
		}
	}
	before := fingerprint(t, db, wengyuan)
	for _, code := range auth.ReservedRoles() {
		_, err := svc.UpdateAccount(ctx, wengyuan, 1, org.AccountPatch{Roles: &[]string{"clerk", code}})
		wantCode(t, "give "+code, err, org.CodeReservedRole)
		_, err = svc.CreateAccount(ctx, wengyuan, org.AccountInput{Login: "mole", Name: "内鬼", UnitID: 1, Roles: []string{code}})
		wantCode(t, "create an account with "+code, err, org.CodeReservedRole)
		file := strings.Replace(staffingList, "张三,zhangsan,领导、收发员", "张三,zhangsan,领导、"+code, 1)
		_, err = svc.Import(ctx, wengyuan, []byte(file), false)
		problems, _ := errs.As(err).Details.([]org.RowError)
		if len(problems) != 1 || problems[0].Code != org.RowReservedRole || problems[0].Row != 2 {
			t.Errorf("an import giving %s: %v %+v", code, err, problems)
		}
	}
	if after := fingerprint(t, db, wengyuan); after != before {
		t.Errorf("refused changes changed the county: %s → %s", before, after)
	}
}

// TestChangesThatReachAnAccountsTokensRenewItsSecurity: a change of an
// account's roles, unit or status, by hand or by import, gives it a new
// security version in its transaction and is told once committed; a
// change of anything else, or a refused one, is not. Lechang is never
// touched.
func TestChangesThatReachAnAccountsTokensRenewItsSecurity(t *testing.T) {
	t.Parallel()
	db := storetest.New(t)
	provisiontest.Registry(t, db, registry.CreateRequest{Code: wengyuan, Name: "翁源县"}, registry.CreateRequest{Code: lechang, Name: "乐昌市"})
	told := &renewals{ids: map[string][]int64{}}
	svc := org.NewService(provisiontest.Router(db, 0), org.TellRenewals(told))
	ctx := context.Background()
	for _, county := range []string{wengyuan, lechang} {
		mustImport(t, svc, county, []byte(staffingList), false)
	}
	lechangBefore := securityVersions(t, db, lechang)
	ids := map[string]int64{}
	page, _ := svc.ListAccounts(ctx, wengyuan, org.AccountFilter{})
	for _, a := range page.Accounts {
		ids[a.Login] = a.ID
	}
	units := map[string]int64{}
	list, _ := svc.ListUnits(ctx, wengyuan)
	for _, u := range list {
		units[u.Name] = u.ID
	}

	steps := []struct {
		what    string
		change  func() error
		renewed []string
	}{
		{"a new mobile number", func() error {
			_, err := svc.UpdateAccount(ctx, wengyuan, ids["zhangsan"], org.AccountPatch{Mobile: ptr("13800000001")})
			return err
		}, nil},
		{"the same roles again", func() error {
			_, err := svc.UpdateAccount(ctx, wengyuan, ids["zhangsan"], org.AccountPatch{Roles: &[]string{"leader", "clerk"}})
			return err
		}, nil},
		{"other roles", func() error {
			_, err := svc.UpdateAccount(ctx, wengyuan, ids["zhangsan"], org.AccountPatch{Roles: &[]string{"clerk"}})
			return err
		}, []string{"zhangsan"}},
		{"disabled", func() error {
			_, err := svc.UpdateAccount(ctx, wengyuan, ids["lisi"], org.AccountPatch{Status: ptr(org.StatusDisabled)})
			return err
		}, []string{"lisi"}},
		{"moved", func() error {
			_, err := svc.UpdateAccount(ctx, wengyuan, ids["wangwu"], org.AccountPatch{UnitID: ptr(units["综合股"])})
			return err
		}, []string{"wangwu"}},
		{"a refused change", func() error {
			_, err := svc.UpdateAccount(ctx, wengyuan, ids["wangwu"], org.AccountPatch{Roles: &[]string{"emperor"}})
			if errs.CodeOf(err) != org.CodeUnknownRole {
				return fmt.Errorf("want %s: %w", org.CodeUnknownRole, err)
			}
			return nil
		}, nil},
		{"an import giving roles back, other roles, and a unit back", func() error {
			file := strings.Replace(staffingList, "李四,lisi,收发员", "李四,lisi,领导", 1)
			_, err := svc.Import(ctx, wengyuan, []byte(file), false)
			return err
		}, []string{"lisi", "wangwu", "zhangsan"}},
	}
	for _, s := range steps {
		before := securityVersions(t, db, wengyuan)
		if err := s.change(); err != nil {
			t.Fatalf("%s: %v", s.what, err)
		}
		after := securityVersions(t, db, wengyuan)
		var want []int64
		for login := range after {
			renewed := slices.Contains(s.renewed, login)
			if renewed {
				want = append(want, ids[login])
			}
			if moved := after[login] != before[login]; moved != renewed || (renewed && after[login] != before[login]+1) {
				t.Errorf("%s: %s's security version %d → %d", s.what, login, before[login], after[login])
			}
		}
		slices.Sort(want)
		if got := told.take(wengyuan); !slices.Equal(got, want) {
			t.Errorf("%s: told of %v, want %v", s.what, got, want)
		}
	}
	if after := securityVersions(t, db, lechang); fmt.Sprint(after) != fmt.Sprint(lechangBefore) || len(told.take(lechang)) != 0 {
		t.Errorf("Lechang's accounts were renewed: %v → %v", lechangBefore, after)
	}
}
