package main

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/store/storetest"
	"github.com/countycloud/countycloud/tenants/registry"
)

// TestAHeldCountyIsReadOnlyOnEveryReplicaUntilTheHoldIsLifted holds
// Wengyuan for billing from the CLI. Its staff's and its operator's
// writes to its data, on the platform's routes and on the oa module's
// (through the plugin process, every method but GET and HEAD), are
// refused on both replicas with billing_suspended; its reads, its public
// routes (a citizen's message included) and the platform's jobs go on;
// Lechang is untouched; the operator still changes Wengyuan's modules.
// Its county admin, a unit admin, Lechang's admin and anonymous callers
// neither set nor lift the hold. Lifting it restores the writes on both
// replicas, and nothing written before is gone.
func TestAHeldCountyIsReadOnlyOnEveryReplicaUntilTheHoldIsLifted(t *testing.T) {
	t.Parallel()
	db, server, url, env := twoCounties(t, map[string]string{"wyadmin": auth.RoleCountyAdmin, "unitadm": auth.RoleUnitAdmin, "clerk1": auth.RoleClerk})
	other, otherURL, _ := startPlatform(t, db, db.Config, quiet)
	if err := other.start(context.Background()); err != nil {
		t.Fatal(err)
	}
	operator := env["COUNTYCLOUD_TOKEN"]
	const wyCode, lcCode = "gd.shaoguan.wengyuan", "gd.shaoguan.lechang"
	wyEnv := map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": operator, "COUNTYCLOUD_TENANT": wyCode}
	mustCLI(t, wyEnv, "plugin", "enable", "oa")
	mustCLI(t, wyEnv, "plugin", "enable", "convenience", "--settings", `{"it_office_unit_id": 1}`)
	mustCLI(t, map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": operator, "COUNTYCLOUD_TENANT": lcCode}, "plugin", "enable", "oa")
	tokens := loginAs(t, db, url, operator, wyCode)
	tokens["lcadmin"] = loginAs(t, db, url, operator, lcCode)["lcadmin"]
	wy, lc := "/v1/tenants/"+wyCode, "/v1/tenants/"+lcCode
	template := map[string]any{"header": "翁源县信息中心文件", "prefix": "翁信", "signature": "翁源县信息中心"}
	want(t, "a template before the hold", call(t, "PUT", url+wy+"/modules/oa/templates/1", tokens["unitadm"], template), 201, "")

	// Nobody but an operator holds or lifts, and bad input holds nothing.
	hold := registry.HoldRequest{Reason: "账户逾期未付（2026年11月发票）"}
	for _, c := range []struct {
		who, token string
		status     int
		code       string
	}{
		{"the county admin", tokens["wyadmin"], 403, auth.CodeForbidden},
		{"a unit admin", tokens["unitadm"], 403, auth.CodeForbidden},
		{"Lechang's admin", tokens["lcadmin"], 404, errs.CodeTenantNotFound},
		{"an anonymous caller", "", 401, ""},
	} {
		want(t, c.who+" holds", call(t, "PUT", url+wy+"/hold", c.token, hold), c.status, c.code)
		want(t, c.who+" lifts", call(t, "DELETE", url+wy+"/hold", c.token, nil), c.status, c.code)
	}
	want(t, "a hold without a reason", call(t, "PUT", url+wy+"/hold", operator, registry.HoldRequest{}), 400, registry.CodeInvalidHoldReason)
	want(t, "a hold with a field it does not know", call(t, "PUT", url+wy+"/hold", operator, map[string]string{"reason": "欠费", "until": "2027-01-01"}), 400, "")
	want(t, "a hold of a city", call(t, "PUT", url+"/v1/tenants/gd.shaoguan/hold", operator, hold), 400, registry.CodeNotACounty)
	if got := decode[registry.Tenant](t, call(t, "GET", url+wy, operator, nil)); got.HeldSince != nil {
		t.Fatalf("refused holds held Wengyuan: %+v", got)
	}

	out := mustCLI(t, env, "tenant", "hold", wyCode, "--reason", hold.Reason, "-o", "json")
	var held registry.Tenant
	if err := json.Unmarshal([]byte(out), &held); err != nil || held.HeldSince == nil || held.HoldReason != hold.Reason {
		t.Fatalf("tenant hold -o json: %s (%v)", out, err)
	}
	newUnit := map[string]any{"name": "县档案馆"}
	for _, base := range []string{url, otherURL} {
		waitForAnswer(t, "the hold on "+base, func() apiResult { return call(t, "POST", base+wy+"/units", tokens["wyadmin"], newUnit) }, http.StatusConflict, errs.CodeBillingSuspended)
	}
	r := call(t, "POST", url+wy+"/units", tokens["wyadmin"], newUnit)
	if want(t, "a unit created in a held county", r, 409, errs.CodeBillingSuspended); !strings.HasPrefix(decode[struct{ Error struct{ Message string } }](t, r).Error.Message, "翁源县因账户欠费") {
		t.Errorf("the refusal does not speak zh-CN first: %s", r.body)
	}

	// Every write to the county's data is refused, the operator's too.
	for _, c := range []struct {
		what, method, path, token string
		body                      any
	}{
		{"the county admin sets a calendar day", "PUT", wy + "/calendar/overrides/2027-01-04", tokens["wyadmin"], map[string]any{"working": true, "note": "调休"}},
		{"the operator creates a unit", "POST", wy + "/units", operator, newUnit},
		{"the county admin enables a module", "PUT", wy + "/modules/disclosure", tokens["wyadmin"], map[string]any{}},
		{"a unit admin sets an oa template (PUT)", "PUT", wy + "/modules/oa/templates/1", tokens["unitadm"], template},
		{"a clerk drafts an oa document (POST)", "POST", wy + "/modules/oa/documents", tokens["clerk1"], map[string]any{"title": "通知"}},
		{"an oa PATCH", "PATCH", wy + "/modules/oa/templates/1", tokens["unitadm"], template},
		{"an oa DELETE", "DELETE", wy + "/modules/oa/templates/1", tokens["unitadm"], nil},
	} {
		for _, base := range []string{url, otherURL} {
			want(t, c.what+" on "+base, call(t, c.method, base+c.path, c.token, c.body), 409, errs.CodeBillingSuspended)
		}
	}

	// Reads, public routes and the platform's jobs go on; Lechang writes.
	for _, base := range []string{url, otherURL} {
		want(t, "the units read", call(t, "GET", base+wy+"/units", tokens["clerk1"], nil), 200, "")
		r := call(t, "GET", base+wy+"/modules/oa/templates/1", tokens["clerk1"], nil)
		if want(t, "the oa template read", r, 200, ""); !strings.Contains(string(r.body), "翁信") {
			t.Errorf("the template read on a held county: %s", r.body)
		}
		want(t, "the units read with HEAD", call(t, "HEAD", base+wy+"/units", tokens["clerk1"], nil), 200, "")
		// oa answers HEAD itself (it serves GET alone): the host lets it.
		if r := call(t, "HEAD", base+wy+"/modules/oa/templates/1", tokens["clerk1"], nil); r.status == http.StatusConflict {
			t.Errorf("an oa HEAD on a held county: %d", r.status)
		}
		want(t, "the public units", call(t, "GET", base+wy+"/public/units", "", nil), 200, "")
	}
	want(t, "a citizen's message", call(t, "POST", url+"/v1/public/"+wyCode+"/modules/convenience/public/messages", "", map[string]any{
		"category": "建议", "content": "建议在人民路增设公交站。", "contact": map[string]any{"name": "李雷", "phone": "13800138000"}}), 201, "")
	if _, err := server.census.Census(context.Background(), wyCode); err != nil {
		t.Errorf("the census job in a held county: %v", err)
	}
	want(t, "Lechang creates a unit", call(t, "POST", url+lc+"/units", tokens["lcadmin"], newUnit), 201, "")
	want(t, "Lechang writes to oa", call(t, "PUT", url+lc+"/modules/oa/templates/1", tokens["lcadmin"], template), 201, "")

	// The operator settles: the county's modules and record change.
	want(t, "the operator disables a module", call(t, "DELETE", url+wy+"/modules/convenience", operator, nil), 200, "")
	want(t, "the operator enables it again", call(t, "PUT", url+wy+"/modules/convenience", operator, map[string]any{"settings": map[string]any{"it_office_unit_id": 1}}), 200, "")
	want(t, "the operator renames the county", call(t, "PATCH", url+wy, operator, map[string]any{"name": "翁源县"}), 200, "")
	want(t, "the county admin lifts the hold", call(t, "DELETE", url+wy+"/hold", tokens["wyadmin"], nil), 403, auth.CodeForbidden)
	if out := mustCLI(t, env, "tenant", "get", wyCode); !strings.Contains(out, "Held since:") || !strings.Contains(out, hold.Reason) {
		t.Errorf("tenant get of a held county:\n%s", out)
	}
	if out := mustCLI(t, env, "tenant", "list", "--level", "county"); !strings.Contains(out, "ready,held") {
		t.Errorf("tenant list with a held county:\n%s", out)
	}
	if n := countIn(t, db, "SELECT COUNT(*) FROM `"+db.SchemaPrefix+"gd_shaoguan_wengyuan`.audit_log WHERE outcome = 'refused' AND code = ?", errs.CodeBillingSuspended); n == 0 {
		t.Errorf("no refused write in Wengyuan's trail")
	}

	// Lifted from one replica, the writes come back on both.
	lifted := time.Now()
	if out := mustCLI(t, env, "tenant", "unhold", wyCode, "-o", "json"); strings.Contains(out, "held_since") {
		t.Errorf("tenant unhold -o json: %s", out)
	}
	for i, base := range []string{otherURL, url} {
		unit := map[string]any{"name": "县档案馆" + itoa(int64(i))}
		waitForAnswer(t, "the lift on "+base, func() apiResult { return call(t, "POST", base+wy+"/units", tokens["wyadmin"], unit) }, http.StatusCreated, "")
		t.Logf("writes admitted on %s %s after the lift", base, time.Since(lifted).Round(time.Millisecond))
	}
	template["version"] = decode[struct{ Version int64 }](t, call(t, "GET", url+wy+"/modules/oa/templates/1", tokens["clerk1"], nil)).Version
	if r := call(t, "PUT", url+wy+"/modules/oa/templates/1", tokens["unitadm"], template); r.status != 200 && r.status != 201 {
		t.Errorf("an oa write after the lift: %d %s", r.status, r.body)
	}
	for action, n := range map[string]int{"tenant.hold": 1, "tenant.unhold": 1} {
		if got := countIn(t, db, "SELECT COUNT(*) FROM `"+db.ControlSchema+"`.audit_log WHERE action = ? AND object_id = ?", action, wyCode); got != n {
			t.Errorf("%d %s in the province's trail, want %d", got, action, n)
		}
	}
}

// waitForAnswer calls until the answer has status and code, for as long
// as the locator's interval and a margin for a loaded machine.
func waitForAnswer(t *testing.T, what string, do func() apiResult, status int, code string) {
	t.Helper()
	deadline := time.Now().Add(registry.LocatorInterval + 4*time.Second)
	for {
		r := do()
		if r.status == status && (code == "" || r.code() == code) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still %d %s", what, r.status, r.body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// countIn counts rows of a query that names its schemas.
func countIn(t *testing.T, db *storetest.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.Server.Get(&n, query, args...); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestEveryCountyWriteRouteRefusesAHeldCounty is generated from the route
// table: on a held Wengyuan, every write route under /v1/tenants/{code}
// that is not public answers the county admin and the operator
// billing_suspended, or the refusal each would get anyway; only the
// Settling routes let the operator through. Wengyuan's data is
// unchanged, so a new write route is covered without anyone remembering
// to add it here.
func TestEveryCountyWriteRouteRefusesAHeldCounty(t *testing.T) {
	t.Parallel()
	db, p, url, env := twoCounties(t, map[string]string{"wyadmin": auth.RoleCountyAdmin})
	const wyCode = "gd.shaoguan.wengyuan"
	tokens := loginAs(t, db, url, env["COUNTYCLOUD_TOKEN"], wyCode)
	callers := map[string]struct {
		token string
		// may is whether the rule lets the caller through before the hold.
		may func(auth.Rule) bool
	}{
		"the operator": {env["COUNTYCLOUD_TOKEN"], func(r auth.Rule) bool { return r.Self || slices.Contains(r.Roles, auth.RoleOperator) }},
		"the county admin": {tokens["wyadmin"], func(r auth.Rule) bool {
			return r.Self || slices.Contains(r.Roles, auth.RoleCountyAdmin) || slices.Contains(r.Roles, auth.RoleStaff)
		}},
	}
	if _, err := p.tenants.Hold(context.Background(), wyCode, "账户逾期未付"); err != nil {
		t.Fatal(err)
	}
	waitForAnswer(t, "the hold", func() apiResult {
		return call(t, "POST", url+"/v1/tenants/"+wyCode+"/units", tokens["wyadmin"], map[string]any{"name": "县档案馆"})
	}, http.StatusConflict, errs.CodeBillingSuspended)
	schema := db.SchemaPrefix + "gd_shaoguan_wengyuan"
	before := countyFingerprint(t, db, schema)
	policy := auth.Policy()
	refused := 0
	for _, rt := range p.routes() {
		rule := policy[rt.Name]
		if !strings.Contains(rt.Pattern, "{code}") || rule.Public || !rule.Write || rule.Settling {
			continue
		}
		path := strings.NewReplacer("{code}", wyCode, "{id}", "1", "{date}", "2026-06-05", "{workflow}", "office.incoming", "{plugin}", "oa", "{path...}", "documents").Replace(rt.Pattern)
		for who, c := range callers {
			r := call(t, rt.Method, url+path, c.token, map[string]any{"name": "县档案馆", "unit_id": 1})
			switch {
			case c.may(rule) && r.code() == errs.CodeBillingSuspended:
				refused++
			case c.may(rule) || r.status != http.StatusForbidden:
				t.Errorf("%s %s (%s) by %s on a held county: %d %s", rt.Method, path, rt.Name, who, r.status, r.body)
			}
		}
	}
	t.Logf("%d writes refused", refused)
	if refused < 40 {
		t.Fatalf("only %d writes refused", refused)
	}
	if after := countyFingerprint(t, db, schema); after != before {
		t.Errorf("writes changed a held county:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}
