// Package rollout carries each county through its phased rollout
// (preparation, system testing, trial operation, formal operation,
// expansion): plan templates as data, each county's plan, the gates that
// decide when it may advance, judged by the measures its staff's real
// activity records, the operators' waivers, and the phase changes that
// listeners (billing) hear.
package rollout

import (
	"context"
	"database/sql"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/audit"
	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/measure"
	"github.com/countycloud/countycloud/core/store"
	"github.com/countycloud/countycloud/tenants/registry"
)

// Codes of the errors this package returns.
const (
	CodePlanNotFound     = "rollout_plan_not_found"
	CodePlanExists       = "rollout_plan_exists"
	CodeTemplateNotFound = "rollout_template_not_found"
	CodeTemplateReserved = "rollout_template_reserved"
	CodeGateClosed       = "rollout_gate_closed"
	CodeStalePlan        = "rollout_plan_changed"
	CodeLastPhase        = "rollout_last_phase"
	CodeTaskNotFound     = "rollout_task_not_found"
	CodeNotManual        = "rollout_task_not_manual"
	CodeNotGating        = "rollout_task_not_gating"
	CodeReasonRequired   = "rollout_reason_required"
	CodeProvinceTask     = "rollout_task_province"
)

//go:embed default_template.json
var defaultTemplateJSON []byte

// DefaultID is the id of the template the platform ships.
const DefaultID = "default"

// DefaultTemplate is the template DOMAIN.md describes, from the Yijiang
// and Shaoguan notices.
func DefaultTemplate() Template {
	t, err := ParseTemplate(defaultTemplateJSON)
	if err != nil {
		panic(fmt.Sprintf("rollout: the embedded default template: %v", err))
	}
	return t
}

// Registry tells a county's name and whether it exists (registry.Service).
type Registry interface {
	Get(ctx context.Context, code string) (registry.Tenant, error)
}

// Directory lists a county's units.
type Directory interface {
	Units(ctx context.Context, county string) ([]Unit, error)
}

// Figures reads a county's measures (measure.Service).
type Figures interface {
	Definitions(ctx context.Context, county string) ([]measure.Definition, error)
	DefinitionsOf(ctx context.Context, county string, ids []string) ([]measure.Definition, error)
	Totals(ctx context.Context, county string, defs []measure.Definition, windows ...measure.Window) ([][]measure.Total, error)
}

// Service keeps the province's templates and its counties' plans in the
// control plane.
type Service struct {
	control  *sqlx.DB
	registry Registry
	units    Directory
	figures  Figures
	now      func() time.Time
	opts     Options
}

// New returns the rollout of the counties in control's registry.
func New(control *sqlx.DB, reg Registry, units Directory, figures Figures, now func() time.Time, opts Options) *Service {
	return &Service{control: control, registry: reg, units: units, figures: figures, now: now, opts: opts}
}

// Templates are the default template and the province's own, by id.
func (s *Service) Templates(ctx context.Context) ([]Template, error) {
	var bodies []string
	if err := s.control.SelectContext(ctx, &bodies, "SELECT body FROM rollout_templates ORDER BY id"); err != nil {
		return nil, fmt.Errorf("list rollout templates: %w", err)
	}
	out := []Template{DefaultTemplate()}
	for _, b := range bodies {
		var t Template
		if err := json.Unmarshal([]byte(b), &t); err != nil {
			return nil, fmt.Errorf("a stored rollout template: %w", err)
		}
		out = append(out, t)
	}
	return out, nil
}

// PutTemplate keeps the province's template body, new or replacing the
// one of its id; the default's id is the platform's.
func (s *Service) PutTemplate(ctx context.Context, body []byte) (Template, error) {
	t, err := ParseTemplate(body)
	if err != nil {
		return Template{}, err
	}
	if t.ID == DefaultID {
		return Template{}, errs.Conflict(CodeTemplateReserved, "%q is the platform's template; give yours an id of its own", DefaultID)
	}
	canonical, err := json.Marshal(t)
	if err != nil {
		return Template{}, err
	}
	now := s.now().UTC()
	err = store.InTx(ctx, s.control, nil, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, "INSERT INTO rollout_templates (id, body, created_at, updated_at) VALUES (?, ?, ?, ?) ON DUPLICATE KEY UPDATE body = VALUES(body), updated_at = VALUES(updated_at)", t.ID, canonical, now, now); err != nil {
			return fmt.Errorf("put rollout template: %w", err)
		}
		return audit.Write(ctx, tx, audit.New(ctx, "rollout.template.put", "rollout_template", t.ID, nil, t))
	})
	return t, err
}

func (s *Service) template(ctx context.Context, id string) (Template, error) {
	if id == "" || id == DefaultID {
		return DefaultTemplate(), nil
	}
	var body string
	err := s.control.GetContext(ctx, &body, "SELECT body FROM rollout_templates WHERE id = ?", id)
	if errors.Is(err, sql.ErrNoRows) {
		return Template{}, errs.NotFound(CodeTemplateNotFound, "no rollout template %q", id)
	}
	if err != nil {
		return Template{}, fmt.Errorf("read rollout template: %w", err)
	}
	var t Template
	return t, json.Unmarshal([]byte(body), &t)
}

// county checks that code is a county the registry has.
func (s *Service) county(ctx context.Context, code string) (registry.Tenant, error) {
	t, err := s.registry.Get(ctx, code)
	if err != nil {
		return registry.Tenant{}, err
	}
	if t.Level != registry.LevelCounty {
		return registry.Tenant{}, errs.Invalid(registry.CodeNotACounty, "%s is a %s; only counties roll out", code, t.Level)
	}
	return t, nil
}

// checkAgainstCounty returns the problems of b against the county's own
// units and measures.
func (s *Service) checkAgainstCounty(ctx context.Context, county string, b PlanBody) (Problems, error) {
	units, err := s.units.Units(ctx, county)
	if err != nil {
		return nil, err
	}
	defs, err := s.figures.Definitions(ctx, county)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(defs))
	for i, d := range defs {
		ids[i] = d.ID
	}
	return checkPlan(b, units, ids), nil
}

// CreatePlan instantiates a template for county, which starts in
// preparation on the plan's first day.
func (s *Service) CreatePlan(ctx context.Context, county string, in PlanInput) (Plan, error) {
	if _, err := s.county(ctx, county); err != nil {
		return Plan{}, err
	}
	t, err := s.template(ctx, in.Template)
	if err != nil {
		return Plan{}, err
	}
	if in.Start == "" {
		in.Start = measure.Day(s.now())
	}
	body, err := instantiate(t, in)
	if err != nil {
		return Plan{}, err
	}
	if p, err := s.checkAgainstCounty(ctx, county, body); err != nil || len(p) > 0 {
		return Plan{}, errors.Join(err, refuseIfAny(p))
	}
	data, err := json.Marshal(body)
	if err != nil {
		return Plan{}, err
	}
	now := s.now().UTC()
	plan := Plan{County: county, PlanBody: body, Phase: Preparation, PhaseStarted: body.Phases[0].Start, Version: 1, UpdatedAt: now}
	err = store.InTx(ctx, s.control, nil, func(tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO rollout_plans (county, template_id, body, phase, phase_started, version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 1, ?, ?)",
			county, t.ID, data, plan.Phase, plan.PhaseStarted, now, now)
		if store.IsDuplicate(err) {
			return errs.Conflict(CodePlanExists, "%s has a plan already; edit it", county)
		}
		if err != nil {
			return fmt.Errorf("create rollout plan: %w", err)
		}
		// Entering preparation is a phase change like the others: its
		// automatic tasks are done and the listeners told.
		if _, err := tx.ExecContext(ctx, "INSERT INTO rollout_events (county, from_phase, to_phase, changed_by, waived, at) VALUES (?, '', ?, ?, '[]', ?)",
			county, Preparation, audit.ActorFrom(ctx).Login, now); err != nil {
			return fmt.Errorf("record entering preparation: %w", err)
		}
		return audit.Write(ctx, tx, audit.New(ctx, "rollout.plan.create", "rollout_plan", county, nil, body))
	})
	if err != nil {
		return Plan{}, err
	}
	return plan, nil
}

func refuseIfAny(p Problems) error {
	if len(p) == 0 {
		return nil
	}
	return p.refuse(CodeInvalidPlan, "the plan")
}

// planRow is a plan as stored.
type planRow struct {
	County       string     `db:"county"`
	Body         string     `db:"body"`
	Phase        string     `db:"phase"`
	PhaseStarted time.Time  `db:"phase_started"`
	Version      int64      `db:"version"`
	UpdatedAt    time.Time  `db:"updated_at"`
	Proposed     *string    `db:"proposed"`
	ReviewOn     *time.Time `db:"review_on"`
	// Name and City are the county's, where the query joins them.
	Name string `db:"county_name"`
	City string `db:"city"`
}

func (r planRow) plan() (Plan, error) {
	p := Plan{County: r.County, Phase: r.Phase, PhaseStarted: r.PhaseStarted.Format(time.DateOnly), Version: r.Version, UpdatedAt: r.UpdatedAt}
	if r.Proposed != nil {
		p.Proposed = *r.Proposed
	}
	if r.ReviewOn != nil {
		p.ReviewOn = r.ReviewOn.Format(time.DateOnly)
	}
	if err := json.Unmarshal([]byte(r.Body), &p.PlanBody); err != nil {
		return Plan{}, fmt.Errorf("the stored plan of %s: %w", r.County, err)
	}
	return p, nil
}

const planColumns = "county, body, phase, phase_started, version, updated_at, proposed, review_on"

// Plan is county's plan.
func (s *Service) Plan(ctx context.Context, county string) (Plan, error) {
	var r planRow
	err := s.control.GetContext(ctx, &r, "SELECT "+planColumns+" FROM rollout_plans WHERE county = ?", county)
	if errors.Is(err, sql.ErrNoRows) {
		return Plan{}, errs.NotFound(CodePlanNotFound, "%s has no rollout plan", county)
	}
	if err != nil {
		return Plan{}, fmt.Errorf("read rollout plan: %w", err)
	}
	return r.plan()
}

// EditPlan replaces county's plan with body, whole, if the plan is still
// at version: dates, tasks, gates and key units as the provincial office
// adjusts them. A body with any problem changes nothing.
func (s *Service) EditPlan(ctx context.Context, county string, version int64, body PlanBody) (Plan, error) {
	before, err := s.Plan(ctx, county)
	if err != nil {
		return Plan{}, err
	}
	if p, err := s.checkAgainstCounty(ctx, county, body); err != nil || len(p) > 0 {
		return Plan{}, errors.Join(err, refuseIfAny(p))
	}
	data, err := json.Marshal(body)
	if err != nil {
		return Plan{}, err
	}
	now := s.now().UTC()
	err = store.InTx(ctx, s.control, nil, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE rollout_plans SET body = ?, template_id = ?, version = version + 1, updated_at = ? WHERE county = ? AND version = ?", data, body.Template, now, county, version)
		if err != nil {
			return fmt.Errorf("edit rollout plan: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return errors.Join(err, errs.Conflict(CodeStalePlan, "the plan of %s is at version %d, not %d: read it again", county, before.Version, version))
		}
		if dates := starts(body); !maps.Equal(dates, starts(before.PlanBody)) {
			for _, l := range s.opts.DatesListeners {
				if err := l.PlanDatesChanged(ctx, tx, PlanDates{County: county, Version: version + 1, Starts: dates}); err != nil {
					return fmt.Errorf("tell of the dates of %s moved: %w", county, err)
				}
			}
		}
		return audit.Write(ctx, tx, audit.New(ctx, "rollout.plan.edit", "rollout_plan", county, before.PlanBody, body))
	})
	if err != nil {
		return Plan{}, err
	}
	return s.Plan(ctx, county)
}

// starts are b's phases' first days, by phase.
func starts(b PlanBody) map[string]string {
	out := make(map[string]string, len(b.Phases))
	for _, ph := range b.Phases {
		out[ph.Phase] = ph.Start
	}
	return out
}

// Status is where a county stands: its phase, since when, and its gate.
type Status struct {
	County       string     `json:"county"`
	Name         string     `json:"name"`
	City         string     `json:"city"`
	Phase        string     `json:"phase"`
	PhaseLabel   Label      `json:"phase_label"`
	PhaseStarted string     `json:"phase_started"`
	DaysInPhase  int        `json:"days_in_phase"`
	Next         string     `json:"next,omitempty"`
	Gate         []GateItem `json:"gate"`
	Passed       int        `json:"passed"`
	Total        int        `json:"total"`
	// Open: every gating task is done or waived, so the county may
	// advance.
	Open bool `json:"open"`
	// Proposed is the phase the platform proposes (formal operation once
	// the trial ended), awaiting an operator's advance.
	Proposed string `json:"proposed,omitempty"`
	// ReviewOn is the day of the review four months into formal
	// operation.
	ReviewOn    string    `json:"review_on,omitempty"`
	EvaluatedAt time.Time `json:"evaluated_at"`
}

// Refresh takes county's census, so that a gate judged next reads its
// organisation as it stands now.
func (s *Service) Refresh(ctx context.Context, county string) error {
	if s.opts.Census == nil {
		return nil
	}
	return s.opts.Census.Census(ctx, county)
}

// Status evaluates county's gate now, on the census last taken.
func (s *Service) Status(ctx context.Context, county string) (Status, error) {
	var r planRow
	err := s.control.GetContext(ctx, &r, planWithCounty+" WHERE p.county = ?", county)
	if errors.Is(err, sql.ErrNoRows) {
		return Status{}, errs.NotFound(CodePlanNotFound, "%s has no rollout plan", county)
	}
	if err != nil {
		return Status{}, fmt.Errorf("read rollout plan: %w", err)
	}
	plan, err := r.plan()
	if err != nil {
		return Status{}, err
	}
	return s.status(ctx, plan, r.Name, r.City)
}

// planWithCounty reads plans with their counties' names and cities.
const planWithCounty = `SELECT p.county, p.body, p.phase, p.phase_started, p.version, p.updated_at, p.proposed, p.review_on, t.name AS county_name, COALESCE(t.parent_code, '') AS city
FROM rollout_plans p JOIN tenants t ON t.code = p.county`

func (s *Service) status(ctx context.Context, plan Plan, name, city string) (Status, error) {
	now := s.now()
	started, err := time.Parse(time.DateOnly, plan.PhaseStarted)
	if err != nil {
		return Status{}, fmt.Errorf("the plan of %s: %w", plan.County, err)
	}
	today, _ := time.Parse(time.DateOnly, measure.Day(now))
	st := Status{County: plan.County, Name: name, City: city, Phase: plan.Phase, PhaseLabel: PhaseLabel(plan.Phase), PhaseStarted: plan.PhaseStarted,
		DaysInPhase: int(today.Sub(started).Hours() / 24), Next: next(plan.Phase), Gate: []GateItem{}, Proposed: plan.Proposed, ReviewOn: plan.ReviewOn, EvaluatedAt: now.UTC()}
	ph, _ := plan.phase(plan.Phase)
	gating := make([]Task, 0, len(ph.Gate))
	for _, id := range ph.Gate {
		if i := slices.IndexFunc(ph.Tasks, func(t Task) bool { return t.ID == id }); i >= 0 {
			gating = append(gating, ph.Tasks[i])
		}
	}
	marks, waivers, err := s.marksAndWaivers(ctx, plan.County)
	if err != nil {
		return Status{}, err
	}
	f, units, err := s.read(ctx, plan, gating, today)
	if err != nil {
		return Status{}, err
	}
	for _, task := range gating {
		item := GateItem{Task: task.ID, Name: task.Name, Kind: task.Kind, Owner: task.Owner, Due: started.AddDate(0, 0, task.DueDays).Format(time.DateOnly)}
		switch task.Kind {
		case KindEvidence:
			from := windowFrom(*task.Check, plan.PhaseStarted)
			r := evaluate(*task.Check, task.Modules, units, plan.KeyUnits, f[from], from)
			item.Check, item.Done = &r, r.Passed()
		default:
			if m, ok := marks[task.ID]; ok {
				item.Marked, item.Done = &m, true
			}
		}
		if w, ok := waivers[task.ID]; ok && w.Phase == plan.Phase {
			item.Waived = &w
		}
		if item.Passed() {
			st.Passed++
		}
		st.Gate = append(st.Gate, item)
	}
	st.Total = len(st.Gate)
	st.Open = st.Passed == st.Total
	return st, nil
}

func windowFrom(c Check, phaseStarted string) string {
	if c.Since == SinceEver {
		return everSince
	}
	return phaseStarted
}

// read reads the figures the tasks' checks need, by the first day of
// their windows, in one statement per window and kind, and the county's
// units.
func (s *Service) read(ctx context.Context, plan Plan, tasks []Task, today time.Time) (map[string]figures, []Unit, error) {
	windows := map[string][]string{}
	for _, t := range tasks {
		if t.Check == nil {
			continue
		}
		from := windowFrom(*t.Check, plan.PhaseStarted)
		windows[from] = append(windows[from], t.Check.Measure)
		if t.Check.Scope == ScopeAccounts {
			windows[from] = append(windows[from], AccountsMeasure)
		}
	}
	if len(windows) == 0 {
		return nil, nil, nil
	}
	units, err := s.units.Units(ctx, plan.County)
	if err != nil {
		return nil, nil, err
	}
	var ids []string
	for _, list := range windows {
		ids = append(ids, list...)
	}
	defs, err := s.figures.DefinitionsOf(ctx, plan.County, ids)
	if err != nil {
		return nil, nil, err
	}
	unknown := func(id string) bool {
		return !slices.ContainsFunc(defs, func(d measure.Definition) bool { return d.ID == id })
	}
	var asked []measure.Window
	for _, from := range slices.Sorted(maps.Keys(windows)) {
		// A module not enabled yet has no figures: its checks read none.
		ids := slices.DeleteFunc(windows[from], unknown)
		slices.Sort(ids)
		asked = append(asked, measure.Window{Measures: slices.Compact(ids), From: from, To: today.Format(time.DateOnly)})
	}
	totals, err := s.figures.Totals(ctx, plan.County, defs, asked...)
	if err != nil {
		return nil, nil, err
	}
	byWindow := make(map[string]figures, len(asked))
	for i, w := range asked {
		byWindow[w.From] = figuresOf(totals[i])
	}
	return byWindow, units, nil
}

func (s *Service) marksAndWaivers(ctx context.Context, county string) (map[string]Mark, map[string]Waiver, error) {
	var rows []struct {
		Kind  string    `db:"kind"`
		Task  string    `db:"task_id"`
		Phase string    `db:"phase"`
		Text  string    `db:"text"`
		By    string    `db:"by_whom"`
		At    time.Time `db:"at_time"`
	}
	if err := s.control.SelectContext(ctx, &rows, `SELECT 'mark' AS kind, task_id, '' AS phase, note AS text, done_by AS by_whom, done_at AS at_time FROM rollout_tasks_done WHERE county = ?
UNION ALL SELECT 'waiver', task_id, phase, reason, waived_by, waived_at FROM rollout_waivers WHERE county = ?`, county, county); err != nil {
		return nil, nil, fmt.Errorf("read rollout marks and waivers: %w", err)
	}
	marks, waivers := map[string]Mark{}, map[string]Waiver{}
	for _, r := range rows {
		if r.Kind == "mark" {
			marks[r.Task] = Mark{By: r.By, Note: r.Text, At: r.At}
		} else {
			waivers[r.Task] = Waiver{Task: r.Task, Phase: r.Phase, Reason: r.Text, By: r.By, At: r.At}
		}
	}
	return marks, waivers, nil
}

// Change is a county's move from one phase to the next.
type Change struct {
	ID     int64     `json:"id" db:"id"`
	County string    `json:"county" db:"county"`
	From   string    `json:"from" db:"from_phase"`
	To     string    `json:"to" db:"to_phase"`
	By     string    `json:"by" db:"changed_by"`
	Waived []string  `json:"waived"`
	At     time.Time `json:"at" db:"at"`
}

// Advance moves county from phase from to the next one, if its gate is
// open; otherwise it refuses with the gating tasks that do not pass and,
// for each check, the units still missing. Naming the phase the caller
// saw makes a repeated or crossing request fail instead of advancing
// twice.
func (s *Service) Advance(ctx context.Context, county, from string) (Change, error) {
	if err := s.Refresh(ctx, county); err != nil {
		return Change{}, err
	}
	st, err := s.Status(ctx, county)
	if err != nil {
		return Change{}, err
	}
	plan, err := s.Plan(ctx, county)
	if err != nil {
		return Change{}, err
	}
	if plan.Phase != from {
		return Change{}, errs.Conflict(CodeStalePlan, "%s is in %s, not %s", county, plan.Phase, from)
	}
	to := next(plan.Phase)
	if to == "" {
		return Change{}, errs.Conflict(CodeLastPhase, "%s is in %s, the last phase", county, plan.Phase)
	}
	if st.Phase != plan.Phase {
		return Change{}, errs.Conflict(CodeStalePlan, "the plan of %s changed meanwhile: read its status again", county)
	}
	if !st.Open {
		return Change{}, gateClosed(st)
	}
	change := Change{County: county, From: plan.Phase, To: to, By: audit.ActorFrom(ctx).Login, Waived: []string{}, At: s.now().UTC()}
	for _, g := range st.Gate {
		if !g.Done && g.Waived != nil {
			change.Waived = append(change.Waived, g.Task)
		}
	}
	waived, err := json.Marshal(change.Waived)
	if err != nil {
		return Change{}, err
	}
	err = store.InTx(ctx, s.control, nil, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE rollout_plans SET phase = ?, phase_started = ?, proposed = NULL, version = version + 1, updated_at = ? WHERE county = ? AND phase = ? AND version = ?",
			to, measure.Day(change.At), change.At, county, plan.Phase, plan.Version)
		if err != nil {
			return fmt.Errorf("advance %s: %w", county, err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return errors.Join(err, errs.Conflict(CodeStalePlan, "the plan of %s changed meanwhile: read its status again", county))
		}
		res, err = tx.ExecContext(ctx, "INSERT INTO rollout_events (county, from_phase, to_phase, changed_by, waived, at) VALUES (?, ?, ?, ?, ?, ?)",
			county, change.From, change.To, change.By, waived, change.At)
		if err == nil {
			change.ID, err = res.LastInsertId()
		}
		if err != nil {
			return fmt.Errorf("record the phase change of %s: %w", county, err)
		}
		return audit.Write(ctx, tx, audit.New(ctx, "rollout.advance", "county", county, map[string]string{"phase": change.From}, change))
	})
	if err != nil {
		return Change{}, err
	}
	return change, nil
}

// gateClosed is the refusal to advance past st's gate, listing what
// does not pass.
func gateClosed(st Status) error {
	var missing []string
	var details []GateItem
	for _, g := range st.Gate {
		if g.Passed() {
			continue
		}
		details = append(details, g)
		what := g.Task
		if g.Check != nil && len(g.Check.Missing) > 0 {
			names := make([]string, 0, len(g.Check.Missing))
			for _, u := range g.Check.Missing {
				names = append(names, u.Name)
			}
			what += " (" + strings.Join(names, "、") + ")"
		}
		missing = append(missing, what)
	}
	e := errs.Conflict(CodeGateClosed, "%s may not leave %s: %d of %d gating tasks do not pass: %s", st.County, st.Phase, len(missing), st.Total, strings.Join(missing, "; "))
	e.Details = details
	return e
}

// MaxReason bounds a waiver's reason and a mark's note.
const MaxReason = 500

// Waive lets county through the gating task of its current phase with
// an operator's reason (audited).
func (s *Service) Waive(ctx context.Context, county, task, reason string) (Waiver, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" || utf8.RuneCountInString(reason) > MaxReason || !utf8.ValidString(reason) {
		return Waiver{}, errs.Invalid(CodeReasonRequired, "a waiver says why, in 1 to %d characters", MaxReason)
	}
	plan, err := s.Plan(ctx, county)
	if err != nil {
		return Waiver{}, err
	}
	ph, _ := plan.phase(plan.Phase)
	if !slices.Contains(ph.Gate, task) {
		return Waiver{}, errs.Invalid(CodeNotGating, "%q is not a gating task of %s's phase %s (%s)", task, county, plan.Phase, strings.Join(ph.Gate, ", "))
	}
	w := Waiver{Task: task, Phase: plan.Phase, Reason: reason, By: audit.ActorFrom(ctx).Login, At: s.now().UTC()}
	err = store.InTx(ctx, s.control, nil, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, "INSERT INTO rollout_waivers (county, task_id, phase, reason, waived_by, waived_at) VALUES (?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE phase = VALUES(phase), reason = VALUES(reason), waived_by = VALUES(waived_by), waived_at = VALUES(waived_at)",
			county, task, w.Phase, w.Reason, w.By, w.At); err != nil {
			return fmt.Errorf("waive: %w", err)
		}
		return audit.Write(ctx, tx, audit.New(ctx, "rollout.waive", "rollout_task", county+"/"+task, nil, w))
	})
	return w, err
}

// MarkDone records that a manual task of county's plan is done. The
// province's own tasks are its operators' to mark.
func (s *Service) MarkDone(ctx context.Context, county, task, note string) (Mark, error) {
	note = strings.TrimSpace(note)
	if utf8.RuneCountInString(note) > MaxReason || !utf8.ValidString(note) {
		return Mark{}, errs.Invalid(CodeReasonRequired, "a note is at most %d characters", MaxReason)
	}
	plan, err := s.Plan(ctx, county)
	if err != nil {
		return Mark{}, err
	}
	var found *Task
	for _, ph := range plan.Phases {
		if i := slices.IndexFunc(ph.Tasks, func(t Task) bool { return t.ID == task }); i >= 0 {
			found = &ph.Tasks[i]
		}
	}
	switch {
	case found == nil:
		return Mark{}, errs.NotFound(CodeTaskNotFound, "the plan of %s has no task %q", county, task)
	case found.Kind != KindManual:
		return Mark{}, errs.Invalid(CodeNotManual, "%q is an %s task: the platform decides when it is done", task, found.Kind)
	case found.Owner == OwnerProvince && !auth.PrincipalFrom(ctx).Has(auth.RoleOperator):
		return Mark{}, errs.E(errs.KindForbidden, CodeProvinceTask, "%q is the province's task: its operators mark it done", task)
	}
	m := Mark{By: audit.ActorFrom(ctx).Login, Note: note, At: s.now().UTC()}
	err = store.InTx(ctx, s.control, nil, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, "INSERT INTO rollout_tasks_done (county, task_id, done_by, note, done_at) VALUES (?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE done_by = VALUES(done_by), note = VALUES(note), done_at = VALUES(done_at)",
			county, task, m.By, m.Note, m.At); err != nil {
			return fmt.Errorf("mark a task done: %w", err)
		}
		return audit.Write(ctx, tx, audit.New(ctx, "rollout.task.done", "rollout_task", county+"/"+task, nil, m))
	})
	return m, err
}

// Changes are county's phase changes, oldest first.
func (s *Service) Changes(ctx context.Context, county string) ([]Change, error) {
	var rows []struct {
		Change
		Waived string `db:"waived"`
	}
	if err := s.control.SelectContext(ctx, &rows, "SELECT id, county, from_phase, to_phase, changed_by, waived, at FROM rollout_events WHERE county = ? ORDER BY id", county); err != nil {
		return nil, fmt.Errorf("read phase changes: %w", err)
	}
	out := make([]Change, len(rows))
	for i, r := range rows {
		out[i] = r.Change
		if err := json.Unmarshal([]byte(r.Waived), &out[i].Waived); err != nil {
			return nil, fmt.Errorf("a phase change's waivers: %w", err)
		}
	}
	return out, nil
}
