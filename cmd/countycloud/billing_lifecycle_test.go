package main

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/countycloud/countycloud/billing"
	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/tenants/rollout"
)

// quickTemplate plans the phases with nothing to gate them: the test is
// of what billing hears, not of the gates.
const quickTemplate = `{"id":"gd.quick","name":{"zh-CN":"快速推广","en":"Quick rollout"},"phases":[
{"phase":"preparation","days":30,"tasks":[{"id":"modules.enable","name":{"zh-CN":"开通模块","en":"Enable the modules"},"owner":"province","due_days":0,"kind":"automatic","action":"enable_modules"}],"gate":[]},
{"phase":"testing","days":14,"tasks":[],"gate":[]},
{"phase":"trial","days":30,"tasks":[],"gate":[]},
{"phase":"formal","tasks":[],"gate":[]},
{"phase":"expansion","tasks":[]}]}`

// quickRollout makes county billed (the catalogue synced, Guangdong's
// account paying for it) and planned on the quick template with oa's key
// unit; the step it returns advances the county from a phase by the API
// and runs the rollout's sweep.
func quickRollout(t *testing.T, p *platform, url string, env map[string]string, county string) func(from string) {
	t.Helper()
	ctx := context.Background()
	op := env["COUNTYCLOUD_TOKEN"]
	base := url + "/v1/tenants/" + county
	if _, err := p.billing.Sync(ctx, billing.DefaultCatalogue()); err != nil {
		t.Fatal(err)
	}
	mustCLI(t, map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": op, "COUNTYCLOUD_TENANT": county}, "org", "units", "create", "--name", "县政府办", "--code", "XZF")
	mustCLI(t, env, "billing", "accounts", "create", "--code", "gd", "--name", "广东省政务服务数据管理局")
	mustCLI(t, env, "billing", "accounts", "assign", county, "--account", "gd")
	sweep := func() {
		t.Helper()
		if err := p.rollout.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
	}
	want(t, "the template", call(t, "PUT", url+"/v1/rollout/templates", op, json.RawMessage(quickTemplate)), 200, "")
	want(t, "the plan", call(t, "POST", base+"/rollout/plan", op, rollout.PlanInput{Template: "gd.quick", KeyUnits: map[string][]string{"oa": {"XZF"}}}), 200, "")
	sweep()
	return func(from string) {
		t.Helper()
		want(t, "advance from "+from, call(t, "POST", base+"/rollout/advance", op, rollout.AdvanceInput{From: from}), 200, "")
		sweep()
	}
}

// TestACountyCarriedThroughTheRolloutIsSubscribedAndBilled carries
// Wengyuan, paid for by its province, through the server's rollout by
// the API: nothing is billed in preparation and testing; entering trial
// operation writes its subscription, trialing until the plan's formal
// start; an edit moving that start moves the trial's end; disabling oa,
// its only priced module, ends the subscription and enabling it again
// makes the next; formal operation ends the trial. Billing's status shows
// it all to the operators alone: no subscription before trial operation,
// a trialing one after, the account's standing, the county's hold.
// Without a Stripe key the calls wait in the outbox, where the test reads
// them; without a signing secret Stripe's route takes nothing.
func TestACountyCarriedThroughTheRolloutIsSubscribedAndBilled(t *testing.T) {
	t.Parallel()
	db, p, url, env := twoCounties(t, map[string]string{"wyadmin": auth.RoleCountyAdmin})
	const county = "gd.shaoguan.wengyuan"
	op := env["COUNTYCLOUD_TOKEN"]
	base := url + "/v1/tenants/" + county
	ctx := context.Background()
	// The platform serves Stripe's route; without a signing secret it
	// takes nothing, whoever calls.
	for who, token := range map[string]string{"Stripe": "", "an operator": op} {
		want(t, who+" on a platform without a secret", call(t, "POST", url+billing.WebhookPath, token, map[string]any{"id": "evt_1", "type": "invoice.paid"}), 503, billing.CodeWebhookOff)
	}
	advance := quickRollout(t, p, url, env, county)

	rows := func(op string) []billing.OutboxRow {
		t.Helper()
		var out []billing.OutboxRow
		if err := db.Control.Select(&out, "SELECT id, stream, operation, subject, idempotency_key, body, created_at FROM billing_outbox WHERE operation = ? ORDER BY id", op); err != nil {
			t.Fatal(err)
		}
		return out
	}
	advance(rollout.Preparation)
	if n := len(rows("subscription.create")); n != 0 {
		t.Fatalf("%d subscriptions before trial operation", n)
	}
	// The status says who pays, and that there is no subscription yet.
	if r := call(t, "GET", base+"/billing", op, nil); r.status != 200 || !bytes.Contains(r.body, []byte(`"subscription":null`)) || !bytes.Contains(r.body, []byte(`"billing_suspended":false`)) || !bytes.Contains(r.body, []byte(`"account":"gd"`)) {
		t.Errorf("the status before trial operation: %d %s", r.status, r.body)
	}
	advance(rollout.Testing)

	plan, err := p.rollout.Plan(ctx, county)
	if err != nil {
		t.Fatal(err)
	}
	changes, err := p.rollout.Changes(ctx, county)
	if err != nil {
		t.Fatal(err)
	}
	trial := changes[slices.IndexFunc(changes, func(c rollout.Change) bool { return c.To == rollout.Trial })]
	creates := rows("subscription.create")
	if len(creates) != 1 || creates[0].IdempotencyKey != "cc/sub/"+county+"/create/e"+itoa(trial.ID) {
		t.Fatalf("subscriptions at trial operation: %+v", creates)
	}
	var sub struct {
		Account  string   `json:"account"`
		TrialEnd string   `json:"trial_end"`
		Prices   []string `json:"prices"`
	}
	if err := json.Unmarshal([]byte(creates[0].Body), &sub); err != nil {
		t.Fatal(err)
	}
	if sub.Account != "gd" || sub.TrialEnd != plan.Phases[3].Start || !slices.Equal(sub.Prices, []string{"cc_module_oa_monthly"}) {
		t.Errorf("the subscription: %+v, formal operation planned for %s", sub, plan.Phases[3].Start)
	}
	// In trial operation the operators see the county's subscription and
	// its account's standing, by the API and the CLI; the county's admin
	// and another county's are refused.
	var status billing.CountyStatus
	if err := json.Unmarshal([]byte(mustCLI(t, env, "billing", "status", county, "-o", "json")), &status); err != nil {
		t.Fatal(err)
	}
	if s := status.Subscription; s == nil || s.State != billing.StateTrialing || s.TrialEnd != plan.Phases[3].Start || !slices.Equal(s.Items, []string{"cc_module_oa_monthly"}) ||
		status.Account != "gd" || status.Standing.Standing != billing.StandingGood || status.Standing.PastDueSince != nil || status.Standing.HoldFrom != nil || status.BillingSuspended {
		t.Errorf("the status in trial operation: %+v %+v", status, status.Subscription)
	}
	if out := mustCLI(t, env, "billing", "status", county); !strings.Contains(out, "试用 trialing") || !strings.Contains(out, "良好 good") || !strings.Contains(out, "只读 read-only:") {
		t.Errorf("the status's table: %s", out)
	}
	account := decode[billing.AccountStatus](t, call(t, "GET", url+"/v1/billing/accounts/gd", op, nil))
	if len(account.Subscriptions) != 1 || account.Subscriptions[0].County != county || account.Subscriptions[0].State != billing.StateTrialing || account.Standing.Standing != billing.StandingGood {
		t.Errorf("Guangdong's status: %+v", account)
	}
	if out := mustCLI(t, env, "billing", "accounts", "get", "gd"); !strings.Contains(out, county) || !strings.Contains(out, "试用 trialing") {
		t.Errorf("Guangdong's table: %s", out)
	}
	wyadmin, lcadmin := loginAs(t, db, url, op, county)["wyadmin"], loginAs(t, db, url, op, "gd.shaoguan.lechang")["lcadmin"]
	for who, token := range map[string]string{"Wengyuan's admin": wyadmin, "Lechang's admin": lcadmin} {
		want(t, who+" reads Guangdong's status", call(t, "GET", url+"/v1/billing/accounts/gd", token, nil), 403, auth.CodeForbidden)
	}
	// Its own admin reads the county's status, to learn why it is
	// read-only should it be.
	if own := decode[billing.CountyStatus](t, call(t, "GET", base+"/billing", wyadmin, nil)); own.Subscription == nil || own.Subscription.State != billing.StateTrialing {
		t.Errorf("Wengyuan's admin reads its status: %+v", own)
	}
	// Another county's admin is not told the county exists.
	want(t, "Lechang's admin reads Wengyuan's status", call(t, "GET", base+"/billing", lcadmin, nil), 404, errs.CodeTenantNotFound)

	// The formal start moved by an edit of the plan.
	moved := plan.PlanBody
	moved.Phases = slices.Clone(plan.Phases)
	moved.Phases[3].Start = "2099-01-01"
	moved.Phases[4].Start = "2099-01-02"
	want(t, "the edit", call(t, "PUT", base+"/rollout/plan", op, map[string]any{"version": plan.Version, "plan": moved}), 200, "")
	ends := rows("subscription.trial_end")
	if len(ends) != 1 || ends[0].IdempotencyKey != "cc/sub/"+county+"/trial_end/v"+itoa(plan.Version+1) {
		t.Fatalf("trial ends after the edit: %+v", ends)
	}

	// oa, the only priced module, disabled: the subscription ends (Stripe
	// keeps none without an item); enabled again: the next one.
	want(t, "oa disabled", call(t, "DELETE", base+"/modules/oa", op, nil), 200, "")
	if ended := rows("subscription.end"); len(ended) != 1 || ended[0].IdempotencyKey != "cc/sub/"+county+"/end/g1" {
		t.Errorf("subscriptions ended: %+v", ended)
	}
	want(t, "oa enabled", call(t, "PUT", base+"/modules/oa", op, map[string]any{}), 200, "")
	if creates := rows("subscription.create"); len(creates) != 2 || creates[1].IdempotencyKey != "cc/sub/"+county+"/create/g2" {
		t.Errorf("subscriptions after oa came back: %+v", creates)
	}

	advance(rollout.Trial)
	ends = rows("subscription.trial_end")
	if len(ends) != 2 || ends[1].Body != `{"county":"`+county+`"}` {
		t.Errorf("trial ends after formal operation: %+v", ends)
	}

	// A county held read-only says so in its status.
	mustCLI(t, env, "tenant", "hold", county, "--reason", "账户逾期未付")
	status = decode[billing.CountyStatus](t, call(t, "GET", base+"/billing", op, nil))
	if !status.BillingSuspended || status.HeldSince == nil || status.HoldReason != "账户逾期未付" || status.Subscription == nil || status.Subscription.State != billing.StateActive {
		t.Errorf("the status of the held county: %+v %+v", status, status.Subscription)
	}
}
