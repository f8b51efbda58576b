package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/countycloud/countycloud/billing"
	"github.com/countycloud/countycloud/billing/billingtest"
	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/core/config"
)

// TestBillingIsTheProvincesAndACountyReadsOnlyItsOwn carries accounts and
// the catalogue through the CLI to stripe-mock, and has every other caller
// try billing's routes.
func TestBillingIsTheProvincesAndACountyReadsOnlyItsOwn(t *testing.T) {
	t.Parallel()
	stripeURL := billingtest.StripeMock(t)
	db, p, url, env := twoCounties(t, map[string]string{"wyadmin": auth.RoleCountyAdmin, "wyunit": auth.RoleUnitAdmin, "wyclerk": auth.RoleClerk},
		func(c *config.Server) {
			c.Stripe = config.Stripe{URL: stripeURL, Key: "sk_test_countycloud"}
			c.Workers = 2
		})
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { p.worker().Run(ctx); close(stopped) }()
	t.Cleanup(func() { cancel(); <-stopped })
	op := env["COUNTYCLOUD_TOKEN"]
	const wy, lc = "gd.shaoguan.wengyuan", "gd.shaoguan.lechang"

	mustCLI(t, env, "billing", "accounts", "create", "--code", "gd", "--name", "广东省政务服务数据管理局", "--net-terms-days", "45", "--tax-exempt", "exempt")
	out := mustCLI(t, env, "billing", "accounts", "assign", wy, "--account", "gd")
	if !strings.Contains(out, "付费账户 account") || !strings.Contains(out, "45 天 days") {
		t.Errorf("assign's output: %s", out)
	}
	var sync billing.SyncResult
	if err := json.Unmarshal([]byte(mustCLI(t, env, "billing", "sync", "-o", "json")), &sync); err != nil {
		t.Fatal(err)
	}
	if len(sync.Created) != 6 {
		t.Errorf("first sync: %+v", sync)
	}
	if err := json.Unmarshal([]byte(mustCLI(t, env, "billing", "sync", "-o", "json")), &sync); err != nil {
		t.Fatal(err)
	}
	if len(sync.Unchanged) != 6 || len(sync.Created) != 0 {
		t.Errorf("second sync changed something: %+v", sync)
	}
	// The platform's workers send the outbox to Stripe.
	deadline := time.Now().Add(30 * time.Second)
	for {
		var waiting []billing.OutboxRow
		if err := json.Unmarshal([]byte(mustCLI(t, env, "billing", "outbox", "-o", "json")), &waiting); err != nil {
			t.Fatal(err)
		}
		if len(waiting) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the outbox still holds %d calls: %+v", len(waiting), waiting)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var status billing.CountyBilling
	if err := json.Unmarshal([]byte(mustCLI(t, env, "billing", "status", wy, "-o", "json")), &status); err != nil {
		t.Fatal(err)
	}
	if status.Account != "gd" || !status.CustomerReady || status.TaxExempt != "exempt" {
		t.Errorf("Wengyuan's billing: %+v", status)
	}
	if prices := mustCLI(t, env, "billing", "prices"); !strings.Contains(prices, "3000.00") || !strings.Contains(prices, "协同办公") {
		t.Errorf("prices: %s", prices)
	}
	// Invoices and the portal are read from Stripe at once, on the
	// account's customer (stripe-mock answers its fixtures).
	var invoices []billing.Invoice
	if err := json.Unmarshal([]byte(mustCLI(t, env, "billing", "invoices", "gd", "-o", "json")), &invoices); err != nil {
		t.Fatal(err)
	}
	if len(invoices) == 0 || invoices[0].ID == "" || invoices[0].Created.IsZero() {
		t.Errorf("invoices: %+v", invoices)
	}
	if table := mustCLI(t, env, "billing", "invoices", "gd"); !strings.Contains(table, "金额（元）TOTAL") {
		t.Errorf("the invoices' table: %s", table)
	}
	var link billing.PortalLink
	if err := json.Unmarshal([]byte(mustCLI(t, env, "billing", "portal", "gd", "-o", "json")), &link); err != nil {
		t.Fatal(err)
	}
	if link.Account != "gd" || !strings.HasPrefix(link.URL, "https://") {
		t.Errorf("the portal's link: %+v", link)
	}
	want(t, "the invoices of no account", call(t, "GET", url+"/v1/billing/accounts/nosuch/invoices", op, nil), 404, billing.CodeAccountNotFound)

	lcTokens := loginAs(t, db, url, op, lc)
	wyTokens := loginAs(t, db, url, op, wy)
	admin, unitAdmin, clerk, lcadmin := wyTokens["wyadmin"], wyTokens["wyunit"], wyTokens["wyclerk"], lcTokens["lcadmin"]

	// A county's admin reads their own county's billing, and nothing else.
	own := decode[billing.CountyBilling](t, call(t, "GET", url+"/v1/tenants/"+wy+"/billing", admin, nil))
	if own.Account != "gd" {
		t.Errorf("Wengyuan's admin reads: %+v", own)
	}
	if r := call(t, "GET", url+"/v1/tenants/"+wy+"/billing", lcadmin, nil); r.status != 403 && r.status != 404 {
		t.Errorf("Lechang's admin reads Wengyuan's billing: %d %s", r.status, r.body)
	}
	for who, tok := range map[string]string{"a unit admin": unitAdmin, "a clerk": clerk} {
		want(t, who+" reads the county's billing", call(t, "GET", url+"/v1/tenants/"+wy+"/billing", tok, nil), 403, auth.CodeForbidden)
	}
	want(t, "anonymous reads the county's billing", call(t, "GET", url+"/v1/tenants/"+wy+"/billing", "", nil), 401, "")

	// The rest is the operators'.
	routes := []struct{ method, path string }{
		{"GET", "/v1/billing/accounts"},
		{"POST", "/v1/billing/accounts"},
		{"GET", "/v1/billing/accounts/gd"},
		{"PATCH", "/v1/billing/accounts/gd"},
		{"PUT", "/v1/tenants/" + wy + "/billing"},
		{"GET", "/v1/billing/prices"},
		{"POST", "/v1/billing/sync"},
		{"GET", "/v1/billing/outbox"},
		{"GET", "/v1/billing/accounts/gd/invoices"},
		{"POST", "/v1/billing/accounts/gd/portal"},
	}
	bodies := map[string]any{"POST": billing.AccountInput{Code: lc, Name: "乐昌"}, "PATCH": map[string]int{"net_terms_days": 1}, "PUT": billing.AssignInput{Account: wy}}
	for _, r := range routes {
		for who, tok := range map[string]string{"Wengyuan's admin": admin, "Lechang's admin": lcadmin, "a unit admin": unitAdmin, "a clerk": clerk, "anonymous": ""} {
			res := call(t, r.method, url+r.path, tok, bodies[r.method])
			if (tok == "" && res.status != 401) || (tok != "" && res.status != 403 && res.status != 404) {
				t.Errorf("%s: %s %s: %d %s", who, r.method, r.path, res.status, res.body)
			}
		}
	}
	accounts := decode[[]billing.Account](t, call(t, "GET", url+"/v1/billing/accounts", op, nil))
	if len(accounts) != 1 || accounts[0].NetTermsDays != 45 || len(accounts[0].Counties) != 1 {
		t.Errorf("refused callers changed the accounts: %+v", accounts)
	}

	// Bad input: a structured error, and nothing changes.
	want(t, "a field of its own", call(t, "POST", url+"/v1/billing/accounts", op, map[string]string{"code": lc, "name": "乐昌", "currency": "usd"}), 400, "")
	want(t, "a city's account", call(t, "POST", url+"/v1/billing/accounts", op, billing.AccountInput{Code: "gd.shaoguan", Name: "韶关"}), 400, billing.CodeNotPayable)
	want(t, "another county pays", call(t, "PUT", url+"/v1/tenants/"+wy+"/billing", op, billing.AssignInput{Account: lc}), 400, billing.CodeNotPayable)
	want(t, "a float price", call(t, "POST", url+"/v1/billing/sync", op, map[string]any{"seat_monthly_yuan": 5, "modules": []any{}}), 400, billing.CodeInvalidAmount)
	want(t, "an empty catalogue", call(t, "POST", url+"/v1/billing/sync", op, map[string]any{"seat_monthly_yuan": "5", "modules": []any{}}), 400, billing.CodeInvalidCatalogue)
	want(t, "no payer yet", call(t, "GET", url+"/v1/tenants/"+lc+"/billing", op, nil), 404, billing.CodeNoPayer)
	after := decode[[]billing.Account](t, call(t, "GET", url+"/v1/billing/accounts", op, nil))
	if len(after) != 1 || after[0].Revision != accounts[0].Revision {
		t.Errorf("bad input changed the accounts: %+v", after)
	}
	if r := cli(t, env, "billing", "sync", "--file", "/nonexistent/catalogue.json"); r.code == 0 {
		t.Errorf("sync of a missing file: %+v", r)
	}
}
