package rollout_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/countycloud/countycloud/core/audit"
	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/measure"
	"github.com/countycloud/countycloud/core/store/storetest"
	"github.com/countycloud/countycloud/tenants/org"
	"github.com/countycloud/countycloud/tenants/provision/provisiontest"
	"github.com/countycloud/countycloud/tenants/registry"
	"github.com/countycloud/countycloud/tenants/rollout"
)

const (
	wengyuan = "gd.shaoguan.wengyuan"
	lechang  = "gd.shaoguan.lechang"
)

// testMeasures are the measures the default template's checks read that
// these counties have besides the platform's own: the modules' and the
// workflows'.
type testMeasures struct{}

func (testMeasures) Measures(context.Context, string) ([]measure.Definition, error) {
	var defs []measure.Definition
	level := func(id string, countyWide bool) {
		defs = append(defs, measure.Definition{ID: id, Level: true, CountyWide: countyWide})
	}
	count := func(id string) { defs = append(defs, measure.Definition{ID: id}) }
	for _, id := range []string{"approval.items.complete", "disclosure.index.percent", "oa.templates.configured"} {
		level(id, false)
	}
	for _, id := range []string{"platform.workflow.completed.oa.sending", "platform.workflow.completed.oa.receiving", "oa.notices.sent", "oa.notices.read", "oa.mail.sent", "oa.mail.read"} {
		count(id)
	}
	return defs, nil
}

type orgUnits struct{ org org.Service }

func (o orgUnits) Units(ctx context.Context, county string) ([]rollout.Unit, error) {
	units, err := o.org.ListUnits(ctx, county)
	out := make([]rollout.Unit, len(units))
	for i, u := range units {
		out[i] = rollout.Unit{ID: u.ID, Code: u.Code, Name: u.Name}
	}
	return out, err
}

type world struct {
	svc      *rollout.Service
	opts     rollout.Options
	measures *measure.Service
	db       *storetest.DB
	units    map[string]int64
	now      time.Time
}

func operator(ctx context.Context) context.Context {
	ctx = auth.WithPrincipal(ctx, auth.Principal{Kind: auth.KindOperator, Login: "op", Roles: []string{auth.RoleOperator}})
	return audit.WithActor(ctx, audit.Actor{Kind: string(auth.KindOperator), Login: "op"})
}

func countyAdmin(ctx context.Context, county string) context.Context {
	ctx = auth.WithPrincipal(ctx, auth.Principal{Kind: auth.KindAccount, Login: "admin", Tenant: county, Roles: []string{auth.RoleCountyAdmin}})
	return audit.WithActor(ctx, audit.Actor{Kind: string(auth.KindAccount), Login: "admin"})
}

// newWorld has Wengyuan with four units (two of them the key units of
// every module) and Lechang with one, on 2026-09-01.
func newWorld(t *testing.T, opts ...rollout.Options) *world {
	t.Helper()
	db := storetest.New(t)
	reg := provisiontest.Registry(t, db, registry.CreateRequest{Code: wengyuan, Name: "翁源县"}, registry.CreateRequest{Code: lechang, Name: "乐昌市"})
	router := provisiontest.Router(db, 0)
	units := org.NewService(router)
	w := &world{db: db, units: map[string]int64{}, now: time.Date(2026, 9, 1, 9, 0, 0, 0, time.FixedZone("CST", 8*3600))}
	if len(opts) > 0 {
		w.opts = opts[0]
	}
	w.measures = measure.NewService(router, testMeasures{})
	w.svc = rollout.New(db.Control, reg, orgUnits{units}, w.measures, func() time.Time { return w.now }, w.opts)
	ctx := operator(context.Background())
	for _, u := range []struct{ county, name, code string }{
		{wengyuan, "县委办", "XWB"}, {wengyuan, "发改局", "FGJ"}, {wengyuan, "民政局", "MZJ"}, {wengyuan, "信访局", "XFJ"}, {lechang, "发改局", "FGJ"},
	} {
		created, err := units.CreateUnit(ctx, u.county, org.UnitInput{Name: u.name, Code: u.code})
		if err != nil {
			t.Fatal(err)
		}
		w.units[u.county+"/"+u.code] = created.ID
	}
	return w
}

func keyUnits() map[string][]string {
	return map[string][]string{"oa": {"XWB", "FGJ"}, "approval": {"FGJ"}, "disclosure": {"XWB", "FGJ"}}
}

// record sets a figure: a level's value on the day, or a count's
// delta.
func (w *world) record(t *testing.T, county, id, unit string, value int64) {
	t.Helper()
	defs, err := w.measures.Definitions(context.Background(), county)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(defs, func(d measure.Definition) bool { return d.ID == id })
	if i < 0 {
		t.Fatalf("no measure %s", id)
	}
	var unitID int64
	if unit != "" {
		unitID = w.units[county+"/"+unit]
	}
	r := measure.Recording{Measure: id, Unit: unitID, Day: measure.Day(w.now), Delta: value, Key: fmt.Sprintf("%s:%d:%d", unit, w.now.UnixNano(), value)}
	if _, err := w.measures.Record(context.Background(), county, defs[i], r); err != nil {
		t.Fatal(err)
	}
}

func code(err error) string { return errs.CodeOf(err) }

func TestTheDefaultTemplateIsValidAndPlansEveryPhase(t *testing.T) {
	tpl := rollout.DefaultTemplate()
	if p := rollout.CheckTemplate(tpl); len(p) > 0 {
		t.Fatal(p)
	}
	var phases []string
	for _, ph := range tpl.Phases {
		phases = append(phases, ph.Phase)
	}
	if !slices.Equal(phases, rollout.Phases()) {
		t.Errorf("phases %v", phases)
	}
	systemTesting := tpl.Phases[1]
	if !slices.Contains(systemTesting.Gate, "oa.sending_tested") || systemTesting.Days != 14 {
		t.Errorf("testing: %+v", systemTesting)
	}
}

func TestATemplateIsRefusedWithEveryProblemListed(t *testing.T) {
	tpl := rollout.DefaultTemplate()
	tpl.ID = "Bad Id"
	tpl.Phases[0].Gate = append(tpl.Phases[0].Gate, "no.such.task")
	tpl.Phases[1].Tasks[1].Check = nil
	tpl.Phases[2].Tasks[0].Action = "launch_rockets"
	tpl.Phases[3].Tasks = append(tpl.Phases[3].Tasks, tpl.Phases[3].Tasks[0])
	tpl.Phases[0].Tasks[3].Check.AtMost = tpl.Phases[0].Tasks[3].Check.AtLeast
	body, err := json.Marshal(tpl)
	if err != nil {
		t.Fatal(err)
	}
	_, err = rollout.ParseTemplate(body)
	e := errs.As(err)
	if e == nil || e.Code != rollout.CodeInvalidTemplate {
		t.Fatalf("%v", err)
	}
	problems := e.Details.(rollout.Problems)
	var paths []string
	for _, p := range problems {
		paths = append(paths, p.Path)
	}
	for _, want := range []string{"id", "phases[0].gate[10]", "phases[1].tasks[1].check", "phases[2].tasks[0].action", "phases[3].tasks[2].id", "phases[0].tasks[3].check"} {
		if !slices.Contains(paths, want) {
			t.Errorf("no problem at %s: %v", want, problems)
		}
	}
	for _, bad := range []string{``, `[]`, `{"id":"x"} {}`, `{"id":"x","id":"y"}`, `{"id":"x","extra":1}`} {
		if _, err := rollout.ParseTemplate([]byte(bad)); code(err) != rollout.CodeInvalidTemplate {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestAPlanIsRefusedWholeWhenItCannotBeFollowed(t *testing.T) {
	w := newWorld(t)
	ctx := operator(context.Background())
	bad := map[string]string{"oa": "XXX"}
	_, err := w.svc.CreatePlan(ctx, wengyuan, rollout.PlanInput{Start: "2026-09-01", KeyUnits: map[string][]string{"oa": {bad["oa"]}, "approval": {"FGJ"}}})
	if code(err) != rollout.CodeInvalidPlan || !strings.Contains(err.Error(), `no unit "XXX"`) || !strings.Contains(err.Error(), "disclosure, which has none") {
		t.Errorf("unknown key unit: %v", err)
	}
	if _, err := w.svc.CreatePlan(ctx, wengyuan, rollout.PlanInput{Start: "2026-13-01", KeyUnits: keyUnits()}); code(err) != rollout.CodeInvalidPlan {
		t.Errorf("a bad day: %v", err)
	}
	if _, err := w.svc.CreatePlan(ctx, "gd.shaoguan", rollout.PlanInput{Start: "2026-09-01", KeyUnits: keyUnits()}); code(err) != registry.CodeNotACounty {
		t.Errorf("a city: %v", err)
	}
	if _, err := w.svc.Plan(ctx, wengyuan); code(err) != rollout.CodePlanNotFound {
		t.Errorf("a refused plan was kept: %v", err)
	}

	plan, err := w.svc.CreatePlan(ctx, wengyuan, rollout.PlanInput{Start: "2026-09-01", Trial: "2026-11-13", KeyUnits: keyUnits()})
	if err != nil {
		t.Fatal(err)
	}
	starts := map[string]string{}
	for _, ph := range plan.Phases {
		starts[ph.Phase] = ph.Start
	}
	if starts["preparation"] != "2026-09-01" || starts["testing"] != "2026-10-01" || starts["trial"] != "2026-11-13" || starts["formal"] != "2026-12-13" {
		t.Errorf("the plan's days: %v", starts)
	}
	if _, err := w.svc.CreatePlan(ctx, wengyuan, rollout.PlanInput{Start: "2026-09-01", KeyUnits: keyUnits()}); code(err) != rollout.CodePlanExists {
		t.Errorf("a second plan: %v", err)
	}

	edited := plan.PlanBody
	edited.Phases = slices.Clone(plan.Phases)
	edited.Phases[2].Start = "2026-09-15"
	edited.Phases[1].Gate = append(slices.Clone(edited.Phases[1].Gate), "missing.task")
	edited.Phases[1].Tasks = slices.Clone(edited.Phases[1].Tasks)
	check := *edited.Phases[1].Tasks[1].Check
	check.Measure = "vendor.unknown.measure"
	edited.Phases[1].Tasks[1].Check = &check
	_, err = w.svc.EditPlan(ctx, wengyuan, plan.Version, edited)
	for _, want := range []string{"phases[2].start", "phases[1].gate[9]", "no measure \"vendor.unknown.measure\""} {
		if code(err) != rollout.CodeInvalidPlan || !strings.Contains(err.Error(), want) {
			t.Errorf("an impossible edit, %s: %v", want, err)
		}
	}
	moved := plan.PlanBody
	moved.Phases = slices.Clone(plan.Phases)
	moved.Phases[2].Start = "2026-11-20"
	if _, err := w.svc.EditPlan(ctx, wengyuan, plan.Version+1, moved); code(err) != rollout.CodeStalePlan {
		t.Errorf("an edit of an older version: %v", err)
	}
	after, err := w.svc.EditPlan(ctx, wengyuan, plan.Version, moved)
	if err != nil || after.Phases[2].Start != "2026-11-20" || after.Version != 2 {
		t.Errorf("an edit: %+v %v", after, err)
	}
}

// gate returns the status's gate items by task.
func gate(st rollout.Status) map[string]rollout.GateItem {
	m := map[string]rollout.GateItem{}
	for _, g := range st.Gate {
		m[g.Task] = g
	}
	return m
}

func missing(g rollout.GateItem) []string {
	var codes []string
	if g.Check != nil {
		for _, u := range g.Check.Missing {
			codes = append(codes, u.Code)
		}
	}
	return codes
}

func TestACountyAdvancesOnlyOnTheEvidenceOfItsMeasures(t *testing.T) {
	w := newWorld(t)
	ctx := operator(context.Background())
	if _, err := w.svc.CreatePlan(ctx, wengyuan, rollout.PlanInput{Start: "2026-09-01", KeyUnits: keyUnits()}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.CreatePlan(ctx, lechang, rollout.PlanInput{Start: "2026-09-01", KeyUnits: map[string][]string{"oa": {"FGJ"}, "approval": {"FGJ"}, "disclosure": {"FGJ"}}}); err != nil {
		t.Fatal(err)
	}
	st, err := w.svc.Status(ctx, wengyuan)
	if err != nil {
		t.Fatal(err)
	}
	if st.Phase != rollout.Preparation || st.Open || st.Passed != 1 || st.Total != 10 || st.PhaseLabel.ZH != "前期准备" || st.City != "gd.shaoguan" {
		t.Errorf("a new county: %+v", st)
	}
	if m := missing(gate(st)["roles.leaders"]); !slices.Equal(m, []string{"XWB", "FGJ"}) {
		t.Errorf("leaders missing in %v", m)
	}
	_, err = w.svc.Advance(ctx, wengyuan, rollout.Preparation)
	if code(err) != rollout.CodeGateClosed || !strings.Contains(err.Error(), "roles.leaders (县委办、发改局)") {
		t.Errorf("an early advance: %v", err)
	}

	// The county does the work: its measures show it.
	w.record(t, wengyuan, "platform.org.units", "", 4)
	for _, u := range []string{"XWB", "FGJ", "MZJ", "XFJ"} {
		w.record(t, wengyuan, "platform.org.accounts", u, 3)
		w.record(t, wengyuan, "platform.org.credentials.issued", u, 3)
	}
	for _, u := range []string{"XWB", "FGJ"} {
		for _, id := range []string{"platform.org.leaders", "platform.org.clerks", "platform.seals.active", "oa.templates.configured", "platform.org.accounts.signed_in", "approval.items.complete"} {
			w.record(t, wengyuan, id, u, 1)
		}
		w.record(t, wengyuan, "disclosure.index.percent", u, 100)
	}
	// Lechang's figures are its own: Wengyuan's do not count there.
	if st, err := w.svc.Status(ctx, lechang); err != nil || st.Passed != 1 {
		t.Errorf("Lechang, which did nothing: %+v %v", st, err)
	}
	// A unit over its quota holds the gate; a waiver with a reason lets
	// the county through it.
	w.record(t, wengyuan, "platform.org.over_quota", "MZJ", 2)
	st, err = w.svc.Status(ctx, wengyuan)
	if err != nil {
		t.Fatal(err)
	}
	g := gate(st)
	if st.Passed != 9 || g["org.within_quota"].Done || !slices.Equal(missing(g["org.within_quota"]), []string{"MZJ"}) {
		t.Errorf("one unit over its quota: %+v", st)
	}
	if _, err := w.svc.Waive(ctx, wengyuan, "org.within_quota", "  "); code(err) != rollout.CodeReasonRequired {
		t.Errorf("a waiver without a reason: %v", err)
	}
	if _, err := w.svc.Waive(ctx, wengyuan, "training.done", "培训推迟"); code(err) != rollout.CodeNotGating {
		t.Errorf("a waiver of a task that gates nothing: %v", err)
	}
	if _, err := w.svc.Waive(ctx, wengyuan, "org.within_quota", "民政局增编申请已报领导小组审批"); err != nil {
		t.Fatal(err)
	}
	change, err := w.svc.Advance(ctx, wengyuan, rollout.Preparation)
	if err != nil || change.To != rollout.Testing || !slices.Equal(change.Waived, []string{"org.within_quota"}) || change.By != "op" {
		t.Fatalf("the advance: %+v %v", change, err)
	}
	if _, err := w.svc.Advance(ctx, wengyuan, rollout.Preparation); code(err) != rollout.CodeStalePlan {
		t.Errorf("the same advance again: %v", err)
	}

	// In testing, sending flows count from the phase's first day only.
	w.now = w.now.AddDate(0, 0, 3)
	st, err = w.svc.Status(ctx, wengyuan)
	if err != nil {
		t.Fatal(err)
	}
	if st.Phase != rollout.Testing || st.DaysInPhase != 3 || st.PhaseStarted != "2026-09-01" {
		t.Errorf("testing: %+v", st)
	}
	w.record(t, wengyuan, "platform.workflow.completed.oa.sending", "XWB", 2)
	w.record(t, wengyuan, "platform.workflow.completed.oa.sending", "FGJ", 1)
	st, _ = w.svc.Status(ctx, wengyuan)
	sending := gate(st)["oa.sending_tested"]
	if sending.Check == nil || sending.Check.Figure != 1 || !slices.Equal(missing(sending), []string{"FGJ"}) || sending.Check.Missing[0].Figure != 1 || sending.Check.Missing[0].Needed != 2 {
		t.Errorf("sending tested: %+v", sending.Check)
	}
	// Per account: every account holder of every unit.
	w.record(t, wengyuan, "platform.org.accounts.mobile", "XWB", 3)
	w.record(t, wengyuan, "platform.org.accounts.mobile", "FGJ", 2)
	if m := missing(gate(st)["accounts.mobile"]); len(m) != 4 {
		t.Errorf("mobiles before: %v", m)
	}
	st, _ = w.svc.Status(ctx, wengyuan)
	if m := missing(gate(st)["accounts.mobile"]); !slices.Equal(m, []string{"FGJ", "MZJ", "XFJ"}) {
		t.Errorf("mobiles: %v", m)
	}

	changes, err := w.svc.Changes(ctx, wengyuan)
	if err != nil || len(changes) != 2 || changes[0].To != rollout.Preparation || changes[1].From != rollout.Preparation {
		t.Errorf("changes: %+v %v", changes, err)
	}
	if changes, err := w.svc.Changes(ctx, lechang); err != nil || len(changes) != 1 || changes[0].County != lechang {
		t.Errorf("Lechang's changes: %+v %v", changes, err)
	}
	var entries []string
	if err := w.db.Control.Select(&entries, "SELECT action FROM audit_log WHERE object_id LIKE ? AND action LIKE 'rollout.%' ORDER BY id", wengyuan+"%"); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(entries, []string{"rollout.plan.create", "rollout.waive", "rollout.advance"}) {
		t.Errorf("the province's trail: %v", entries)
	}
}

func TestManualTasksAreMarkedByWhoseTheyAre(t *testing.T) {
	w := newWorld(t)
	ctx := operator(context.Background())
	if _, err := w.svc.CreatePlan(ctx, wengyuan, rollout.PlanInput{Start: "2026-09-01", KeyUnits: keyUnits()}); err != nil {
		t.Fatal(err)
	}
	admin := countyAdmin(context.Background(), wengyuan)
	if _, err := w.svc.MarkDone(admin, wengyuan, "integration.tested", ""); code(err) != rollout.CodeProvinceTask {
		t.Errorf("a county admin marks the province's task: %v", err)
	}
	if _, err := w.svc.MarkDone(admin, wengyuan, "oa.sending_tested", ""); code(err) != rollout.CodeNotManual {
		t.Errorf("an evidence task marked done: %v", err)
	}
	if _, err := w.svc.MarkDone(admin, wengyuan, "no.such", ""); code(err) != rollout.CodeTaskNotFound {
		t.Errorf("an unknown task: %v", err)
	}
	if m, err := w.svc.MarkDone(admin, wengyuan, "training.done", "三批共 120 人"); err != nil || m.By != "admin" {
		t.Errorf("a county's task: %+v %v", m, err)
	}
	if _, err := w.svc.MarkDone(ctx, wengyuan, "integration.tested", "省市县对接通过"); err != nil {
		t.Errorf("the province's task by an operator: %v", err)
	}
}

func TestTheOverviewReadsEveryCountyFromItsAggregates(t *testing.T) {
	w := newWorld(t)
	ctx := operator(context.Background())
	if _, err := w.svc.CreatePlan(ctx, wengyuan, rollout.PlanInput{Start: "2026-08-25", KeyUnits: keyUnits()}); err != nil {
		t.Fatal(err)
	}
	o, err := w.svc.Overview(ctx, rollout.OverviewFilter{})
	if err != nil || len(o.Counties) != 2 || o.Counties[1].County != wengyuan || o.Counties[1].Phase != "" {
		t.Fatalf("before the job ran: %+v %v", o, err)
	}
	w.record(t, wengyuan, "platform.org.leaders", "XWB", 1)
	w.record(t, wengyuan, "platform.logins", "FGJ", 3)
	if err := w.svc.RefreshOverview(ctx); err != nil {
		t.Fatal(err)
	}
	o, err = w.svc.Overview(ctx, rollout.OverviewFilter{City: "gd.shaoguan", Phase: rollout.Preparation})
	if err != nil || len(o.Counties) != 1 {
		t.Fatalf("preparation in Shaoguan: %+v %v", o, err)
	}
	c := o.Counties[0]
	if c.County != wengyuan || c.DaysInPhase != 7 || c.Total != 10 || c.Passed != 1 || c.Stale || c.PhaseLabel.ZH != "前期准备" {
		t.Errorf("Wengyuan: %+v", c)
	}
	var leaders *rollout.Blocker
	for i, b := range c.Blockers {
		if b.Task == "roles.leaders" {
			leaders = &c.Blockers[i]
		}
	}
	if leaders == nil || !slices.Equal(leaders.Missing, []string{"发改局"}) || leaders.Figure != "1/2 ≥ 1" {
		t.Errorf("the leaders' blocker: %+v", leaders)
	}
	if len(c.Figures) != 1 || c.Figures[0].Measure != "platform.logins" || c.Figures[0].Value != 3 {
		t.Errorf("figures: %+v", c.Figures)
	}
	if o, err := w.svc.Overview(ctx, rollout.OverviewFilter{Phase: "none"}); err != nil || len(o.Counties) != 1 || o.Counties[0].County != lechang || o.Counties[0].PhaseLabel.ZH != "未制定计划" {
		t.Errorf("the counties without a plan: %+v %v", o, err)
	}
	if _, err := w.svc.Overview(ctx, rollout.OverviewFilter{Phase: "launch"}); code(err) != rollout.CodeInvalidFilter {
		t.Errorf("an unknown phase: %v", err)
	}
	w.now = w.now.Add(2 * time.Minute)
	if o, _ := w.svc.Overview(ctx, rollout.OverviewFilter{Phase: rollout.Preparation}); len(o.Counties) != 1 || !o.Counties[0].Stale {
		t.Errorf("a row the job has not refreshed for two minutes: %+v", o)
	}
}
