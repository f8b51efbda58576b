package billing

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/countycloud/countycloud/billing/billingtest"
	"github.com/countycloud/countycloud/core/errs"
)

// accepted returns the idempotency keys of the requests Stripe answered
// with success, by path.
func accepted(reqs []sent) map[string][]string {
	out := map[string][]string{}
	for _, r := range reqs {
		if r.Status < 300 {
			out[r.Path] = append(out[r.Path], r.IdempotencyKey)
		}
	}
	return out
}

func outboxCount(t testing.TB, f fixture) int {
	t.Helper()
	var n int
	if err := f.db.Control.Get(&n, "SELECT COUNT(*) FROM billing_outbox"); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestTheCatalogueSyncsOnceAndAPriceChangeMakesANewPrice(t *testing.T) {
	t.Parallel()
	rec := record(t, billingtest.StripeMock(t))
	f := newFixture(t, rec.URL)
	ctx := context.Background()
	cat := DefaultCatalogue()

	res, err := f.svc.Sync(ctx, cat)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Created) != 6 || len(res.Unchanged) != 0 {
		t.Fatalf("first sync: %+v", res)
	}
	f.drain(t, 20*time.Second)
	got := accepted(rec.requests())
	if len(got["/v1/products"]) != 6 || len(got["/v1/prices"]) != 6 {
		t.Fatalf("first sync sent %v", got)
	}
	if !slices.Contains(got["/v1/prices"], "cc/price/cc_module_oa_monthly/r1") || !slices.Contains(got["/v1/products"], "cc/product/cc_seat/create") {
		t.Errorf("idempotency keys: %v", got)
	}
	prices, err := f.svc.Prices(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range prices {
		if p.StripePrice == "" || p.Revision != 1 {
			t.Errorf("price after the first sync: %+v", p)
		}
	}

	// Again: nothing to do, nothing sent.
	before, sentBefore := outboxCount(t, f), len(rec.requests())
	res, err = f.svc.Sync(ctx, cat)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Unchanged) != 6 || len(res.Created)+len(res.Repriced)+len(res.Renamed) != 0 || outboxCount(t, f) != before {
		t.Fatalf("second sync changed something: %+v", res)
	}
	f.drain(t, 5*time.Second)
	if len(rec.requests()) != sentBefore {
		t.Errorf("the second sync called Stripe: %v", rec.requests()[sentBefore:])
	}

	// OA costs more and is renamed: a new price takes the lookup key
	// over, the product is renamed, the rest stays.
	cat.Modules[0].Monthly = 3200_00
	cat.Modules[0].Name = "协同办公（公文）"
	res, err = f.svc.Sync(ctx, cat)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Repriced) != 1 || len(res.Renamed) != 1 || len(res.Unchanged) != 5 || res.Repriced[0].LookupKey != "cc_module_oa_monthly" {
		t.Fatalf("sync after a price change: %+v", res)
	}
	f.drain(t, 20*time.Second)
	got = accepted(rec.requests()[sentBefore:])
	if !slices.Equal(got["/v1/prices"], []string{"cc/price/cc_module_oa_monthly/r2"}) || !slices.Equal(got["/v1/products/cc_module_oa"], []string{"cc/product/cc_module_oa/name/r2"}) {
		t.Errorf("a price change sent %v", got)
	}
	prices, _ = f.svc.Prices(ctx)
	for _, p := range prices {
		if p.LookupKey == "cc_module_oa_monthly" && (p.Revision != 2 || p.Monthly != 3200_00 || p.Monthly.String() != "3200.00") {
			t.Errorf("OA's price: %+v", p)
		}
	}
}

func TestABadCatalogueChangesNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t, billingtest.StripeMock(t))
	ctx := context.Background()
	for name, body := range map[string]string{
		"not JSON":         `{`,
		"a float amount":   `{"seat_monthly_yuan": 5, "modules": [{"module": "oa", "name": "协同办公", "monthly_yuan": "1"}]}`,
		"three decimals":   `{"seat_monthly_yuan": "5.001", "modules": [{"module": "oa", "name": "协同办公", "monthly_yuan": "1"}]}`,
		"negative":         `{"seat_monthly_yuan": "-5", "modules": [{"module": "oa", "name": "协同办公", "monthly_yuan": "1"}]}`,
		"an unknown field": `{"seat_monthly_yuan": "5", "currency": "usd", "modules": [{"module": "oa", "name": "协同办公", "monthly_yuan": "1"}]}`,
		"a module twice":   `{"seat_monthly_yuan": "5", "modules": [{"module": "oa", "name": "a", "monthly_yuan": "1"}, {"module": "oa", "name": "b", "monthly_yuan": "2"}]}`,
		"no name":          `{"seat_monthly_yuan": "5", "modules": [{"module": "oa", "monthly_yuan": "1"}]}`,
		"a free module":    `{"seat_monthly_yuan": "5", "modules": [{"module": "oa", "name": "a", "monthly_yuan": "0"}]}`,
		"a bad module id":  `{"seat_monthly_yuan": "5", "modules": [{"module": "OA; drop", "name": "a", "monthly_yuan": "1"}]}`,
		"trailing data":    `{"seat_monthly_yuan": "5", "modules": [{"module": "oa", "name": "a", "monthly_yuan": "1"}]} {}`,
	} {
		_, err := ParseCatalogue(strings.NewReader(body))
		if e := errs.As(err); e == nil || e.Kind != errs.KindInvalid {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := f.svc.Sync(ctx, Catalogue{Seat: 5_00}); errs.CodeOf(err) != CodeInvalidCatalogue {
		t.Errorf("sync of an empty catalogue: %v", err)
	}
	if n := outboxCount(t, f); n != 0 {
		t.Errorf("%d calls written for bad catalogues", n)
	}
}

func TestAccountsPayForCountiesAndAPayerMoves(t *testing.T) {
	t.Parallel()
	rec := record(t, billingtest.StripeMock(t))
	f := newFixture(t, rec.URL)
	ctx := context.Background()
	const wy, lc = "gd.shaoguan.wengyuan", "gd.shaoguan.lechang"
	terms, exempt := 45, "exempt"
	gd, err := f.svc.CreateAccount(ctx, AccountInput{Code: "gd", Name: "广东省政务服务数据管理局", Email: "billing@gd.gov.cn", NetTermsDays: &terms, TaxExempt: &exempt})
	if err != nil {
		t.Fatal(err)
	}
	if gd.Kind != KindProvince || gd.NetTermsDays != 45 || gd.TaxExempt != "exempt" {
		t.Errorf("province account: %+v", gd)
	}
	if _, err := f.svc.CreateAccount(ctx, AccountInput{Code: lc, Name: "乐昌市财政局"}); err != nil {
		t.Fatal(err)
	}

	// Bad input is refused with its code and writes nothing.
	rows := outboxCount(t, f)
	bad, neg, big := "maybe", -1, 400
	for name, c := range map[string]struct {
		err  error
		code string
	}{
		"a city":            {second(f.svc.CreateAccount(ctx, AccountInput{Code: "gd.shaoguan", Name: "韶关"})), CodeNotPayable},
		"nowhere":           {second(f.svc.CreateAccount(ctx, AccountInput{Code: "gd.nowhere", Name: "无"})), CodeNotPayable},
		"no code":           {second(f.svc.CreateAccount(ctx, AccountInput{Name: "无"})), CodeInvalidAccount},
		"twice":             {second(f.svc.CreateAccount(ctx, AccountInput{Code: "gd", Name: "又一个"})), CodeAccountExists},
		"no name":           {second(f.svc.CreateAccount(ctx, AccountInput{Code: "bj"})), CodeInvalidAccount},
		"a bad e-mail":      {second(f.svc.CreateAccount(ctx, AccountInput{Code: "bj", Name: "北京", Email: "not an address"})), CodeInvalidAccount},
		"negative terms":    {second(f.svc.CreateAccount(ctx, AccountInput{Code: "bj", Name: "北京", NetTermsDays: &neg})), CodeInvalidAccount},
		"a year and more":   {second(f.svc.UpdateAccount(ctx, "gd", AccountPatch{NetTermsDays: &big})), CodeInvalidAccount},
		"a tax status":      {second(f.svc.UpdateAccount(ctx, "gd", AccountPatch{TaxExempt: &bad})), CodeInvalidAccount},
		"no such account":   {second(f.svc.UpdateAccount(ctx, "bj", AccountPatch{TaxExempt: &exempt})), CodeAccountNotFound},
		"another province":  {second(f.svc.Assign(ctx, wy, "bj")), CodeNotPayable},
		"another county":    {second(f.svc.Assign(ctx, wy, lc)), CodeNotPayable},
		"a city paid for":   {second(f.svc.Assign(ctx, "gd.shaoguan", "gd")), CodeNotPayable},
		"its own, unopened": {second(f.svc.Assign(ctx, wy, wy)), CodeAccountNotFound},
		"no payer yet":      {second(f.svc.County(ctx, wy)), CodeNoPayer},
	} {
		if errs.CodeOf(c.err) != c.code {
			t.Errorf("%s: %v, want %s", name, c.err, c.code)
		}
	}
	if n := outboxCount(t, f); n != rows {
		t.Errorf("refused changes wrote %d calls", n-rows)
	}

	if _, err := f.svc.Assign(ctx, wy, "gd"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Assign(ctx, lc, "gd"); err != nil {
		t.Fatal(err)
	}
	again, err := f.svc.Assign(ctx, lc, "gd")
	if err != nil || again.Account != "gd" {
		t.Fatalf("assigning again: %+v %v", again, err)
	}
	// Lechang moves to its own account.
	moved, err := f.svc.Assign(ctx, lc, lc)
	if err != nil || moved.Account != lc || moved.AccountKind != KindCounty {
		t.Fatalf("move: %+v %v", moved, err)
	}
	f.drain(t, 20*time.Second)
	got := accepted(rec.requests())
	// Two customers made, then gd updated three times (Wengyuan,
	// Lechang, Lechang leaving) and Lechang once (Lechang arriving); the
	// repeated assignment sent nothing.
	if len(got["/v1/customers"]) != 2 {
		t.Errorf("customers made: %v", got)
	}
	updates := 0
	for path, keys := range got {
		if strings.HasPrefix(path, "/v1/customers/") {
			updates += len(keys)
		}
	}
	if updates != 4 {
		t.Errorf("%d customer updates, want 4: %v", updates, got)
	}
	gd, err = f.svc.Account(ctx, "gd")
	if err != nil || gd.Customer == nil || !slices.Equal(gd.Counties, []string{wy}) || gd.Revision != 4 {
		t.Errorf("gd after the moves: %+v %v", gd, err)
	}
	status, err := f.svc.County(ctx, wy)
	if err != nil || status.Account != "gd" || !status.CustomerReady || status.NetTermsDays != 45 {
		t.Errorf("Wengyuan's billing: %+v %v", status, err)
	}
	all, err := f.svc.Accounts(ctx)
	if err != nil || len(all) != 2 || !slices.Equal(all[1].Counties, []string{lc}) {
		t.Errorf("accounts: %+v %v", all, err)
	}
}

func second[T any](_ T, err error) error { return err }

func TestCustomerMetadataSpreadsCountiesAndClearsWhatIsLeft(t *testing.T) {
	var counties []string
	for i := range 100 {
		counties = append(counties, "gd.shaoguan.county"+strings.Repeat("x", i%7)+string(rune('a'+i%26)))
	}
	m := customerMetadata(Account{Code: "gd", Kind: KindProvince, Counties: counties})
	var joined []string
	for i := 1; i <= countyKeys; i++ {
		v := m["counties_"+strconv.Itoa(i)]
		if len(v) > metadataValueMax {
			t.Errorf("counties_%d is %d characters", i, len(v))
		}
		if v != "" {
			joined = append(joined, strings.Split(v, ",")...)
		}
	}
	if !slices.Equal(joined, counties) || len(m) > 50 || m["county_count"] != "100" {
		t.Errorf("metadata does not hold the counties: %d keys, %d counties", len(m), len(joined))
	}
}
