package rollout

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/jobs"
	"github.com/countycloud/countycloud/core/measure"
)

// JobOverview is the kind of the job that keeps the provincial
// overview's aggregates current.
const JobOverview = "rollout.overview"

// OverviewEvery is how often the overview job runs. With its own run's
// time, it bounds how stale a county's row is: StaleAfter.
const OverviewEvery = 30 * time.Second

// StaleAfter is how old a county's row may be while the job keeps up; the
// overview marks rows older than it stale.
const StaleAfter = time.Minute

// overviewWorkers bounds how many counties the job evaluates at once.
const overviewWorkers = 4

// keyFigures are the figures the overview shows of each county, over its
// last 30 days, where the county has the measure.
func keyFigures() []KeyFigure {
	return []KeyFigure{
		{Measure: measure.Logins, Label: Label{ZH: "近30日登录", EN: "Logins, last 30 days"}},
		{Measure: "oa.documents.sent", Label: Label{ZH: "近30日发文", EN: "Documents sent, last 30 days"}},
		{Measure: "approval.applications.decided", Label: Label{ZH: "近30日办结审批", EN: "Approvals decided, last 30 days"}},
	}
}

// Blocker is a gating task that does not pass, with the units it still
// misses (at most maxBlockerUnits of them named).
type Blocker struct {
	Task    string   `json:"task"`
	Name    Label    `json:"name"`
	Figure  string   `json:"figure,omitempty"`
	Missing []string `json:"missing,omitempty"`
	// More is how many more units miss it than are named.
	More int `json:"more,omitempty"`
}

const maxBlockerUnits = 5

// KeyFigure is one of a county's key figures.
type KeyFigure struct {
	Measure string `json:"measure"`
	Label   Label  `json:"label"`
	Value   int64  `json:"value"`
}

// CountyRow is a county in the overview.
type CountyRow struct {
	County string `json:"county"`
	Name   string `json:"name"`
	City   string `json:"city"`
	// Phase is "" for a county without a plan.
	Phase        string      `json:"phase"`
	PhaseLabel   Label       `json:"phase_label"`
	PhaseStarted string      `json:"phase_started,omitempty"`
	DaysInPhase  int         `json:"days_in_phase"`
	Passed       int         `json:"passed"`
	Total        int         `json:"total"`
	Proposed     string      `json:"proposed,omitempty"`
	Blockers     []Blocker   `json:"blockers"`
	Figures      []KeyFigure `json:"figures"`
	ComputedAt   *time.Time  `json:"computed_at,omitempty"`
	// Stale: the row is older than StaleAfter (or the county was planned
	// after the job's last run).
	Stale bool `json:"stale"`
}

// Overview is every county of the filter.
type Overview struct {
	Counties []CountyRow `json:"counties"`
	// StaleAfter says how old a row may be while the job keeps up.
	StaleAfter string    `json:"stale_after"`
	ReadAt     time.Time `json:"read_at"`
}

// OverviewFilter narrows the overview to a city (its code) and a phase
// ("none" for the counties without a plan).
type OverviewFilter struct {
	City  string
	Phase string
}

// CodeInvalidFilter is the code of an overview filter that names no city
// or phase.
const CodeInvalidFilter = "invalid_rollout_filter"

// Overview reads every county of f from the aggregates, in one
// statement.
func (s *Service) Overview(ctx context.Context, f OverviewFilter) (Overview, error) {
	if f.Phase != "" && f.Phase != "none" && !slices.Contains(Phases(), f.Phase) {
		return Overview{}, errs.Invalid(CodeInvalidFilter, "phase %q: one of %s, or none", f.Phase, strings.Join(Phases(), ", "))
	}
	if len(f.City) > 64 {
		return Overview{}, errs.Invalid(CodeInvalidFilter, "a city's code is at most 64 characters")
	}
	query := `SELECT t.code, t.name, COALESCE(t.parent_code, '') AS city, COALESCE(o.phase, '') AS phase, o.phase_started, COALESCE(o.passed, 0) AS passed,
COALESCE(o.total, 0) AS total, o.proposed, COALESCE(o.blockers, '[]') AS blockers, COALESCE(o.figures, '[]') AS figures, o.computed_at
FROM tenants t LEFT JOIN rollout_overview o ON o.county = t.code WHERE t.level = 'county' AND t.status <> 'archived'`
	var args []any
	if f.City != "" {
		query += " AND t.parent_code = ?"
		args = append(args, f.City)
	}
	switch f.Phase {
	case "":
	case "none":
		query += " AND o.county IS NULL"
	default:
		query += " AND o.phase = ?"
		args = append(args, f.Phase)
	}
	var rows []struct {
		County       string     `db:"code"`
		Name         string     `db:"name"`
		City         string     `db:"city"`
		Phase        string     `db:"phase"`
		PhaseStarted *time.Time `db:"phase_started"`
		Passed       int        `db:"passed"`
		Total        int        `db:"total"`
		Proposed     *string    `db:"proposed"`
		Blockers     string     `db:"blockers"`
		Figures      string     `db:"figures"`
		ComputedAt   *time.Time `db:"computed_at"`
	}
	if err := s.control.SelectContext(ctx, &rows, query+" ORDER BY t.code", args...); err != nil {
		return Overview{}, fmt.Errorf("read the overview: %w", err)
	}
	now := s.now()
	today, _ := time.Parse(time.DateOnly, measure.Day(now))
	out := Overview{Counties: make([]CountyRow, len(rows)), StaleAfter: StaleAfter.String(), ReadAt: now.UTC()}
	for i, r := range rows {
		c := CountyRow{County: r.County, Name: r.Name, City: r.City, Phase: r.Phase, Passed: r.Passed, Total: r.Total, ComputedAt: r.ComputedAt}
		if r.Phase != "" {
			c.PhaseLabel = PhaseLabel(r.Phase)
		} else {
			c.PhaseLabel = Label{ZH: "未制定计划", EN: "Not planned"}
		}
		if r.PhaseStarted != nil {
			c.PhaseStarted = r.PhaseStarted.Format(time.DateOnly)
			c.DaysInPhase = int(today.Sub(*r.PhaseStarted).Hours() / 24)
		}
		if r.Proposed != nil {
			c.Proposed = *r.Proposed
		}
		if err := json.Unmarshal([]byte(r.Blockers), &c.Blockers); err != nil {
			return Overview{}, fmt.Errorf("the overview's blockers of %s: %w", r.County, err)
		}
		if err := json.Unmarshal([]byte(r.Figures), &c.Figures); err != nil {
			return Overview{}, fmt.Errorf("the overview's figures of %s: %w", r.County, err)
		}
		c.Stale = r.Phase != "" && (r.ComputedAt == nil || now.Sub(*r.ComputedAt) > StaleAfter)
		out.Counties[i] = c
	}
	return out, nil
}

// OverviewJob is the handler of JobOverview.
func (s *Service) OverviewJob(ctx context.Context, _ jobs.Job) error { return s.RefreshOverview(ctx) }

// RefreshOverview evaluates the gate of every planned county, a few at
// once, and keeps each county's row; a county that fails is logged in
// the error and the others are kept.
func (s *Service) RefreshOverview(ctx context.Context) error {
	var plans []planRow
	if err := s.control.SelectContext(ctx, &plans, planWithCounty+" ORDER BY p.county"); err != nil {
		return fmt.Errorf("read the plans: %w", err)
	}
	work := make(chan planRow)
	var (
		mu     sync.Mutex
		failed []error
		wg     sync.WaitGroup
	)
	for range min(overviewWorkers, len(plans)) {
		wg.Go(func() {
			for r := range work {
				if err := s.refreshCounty(ctx, r); err != nil {
					mu.Lock()
					failed = append(failed, fmt.Errorf("%s: %w", r.County, err))
					mu.Unlock()
				}
			}
		})
	}
	for _, r := range plans {
		work <- r
	}
	close(work)
	wg.Wait()
	if len(failed) > 0 {
		return fmt.Errorf("the overview of %d of %d counties: %w", len(failed), len(plans), failed[0])
	}
	return nil
}

func (s *Service) refreshCounty(ctx context.Context, r planRow) error {
	plan, err := r.plan()
	if err != nil {
		return err
	}
	st, err := s.status(ctx, plan, r.Name, r.City)
	if err != nil {
		return err
	}
	figures, err := s.keyFigures(ctx, plan.County)
	if err != nil {
		return err
	}
	blockers := []Blocker{}
	for _, g := range st.Gate {
		if g.Passed() {
			continue
		}
		b := Blocker{Task: g.Task, Name: g.Name}
		if g.Check != nil {
			b.Figure = g.Check.Text()
			for i, u := range g.Check.Missing {
				if i == maxBlockerUnits {
					b.More = len(g.Check.Missing) - i
					break
				}
				b.Missing = append(b.Missing, u.Name)
			}
		}
		blockers = append(blockers, b)
	}
	blockersJSON, err := json.Marshal(blockers)
	if err != nil {
		return err
	}
	figuresJSON, err := json.Marshal(figures)
	if err != nil {
		return err
	}
	var proposed *string
	if st.Proposed != "" {
		proposed = &st.Proposed
	}
	_, err = s.control.ExecContext(ctx, `INSERT INTO rollout_overview (county, phase, phase_started, passed, total, proposed, blockers, figures, computed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON DUPLICATE KEY UPDATE phase = VALUES(phase), phase_started = VALUES(phase_started), passed = VALUES(passed), total = VALUES(total), proposed = VALUES(proposed),
blockers = VALUES(blockers), figures = VALUES(figures), computed_at = VALUES(computed_at)`,
		plan.County, st.Phase, st.PhaseStarted, st.Passed, st.Total, proposed, blockersJSON, figuresJSON, st.EvaluatedAt)
	if err != nil {
		return fmt.Errorf("keep the overview's row: %w", err)
	}
	return nil
}

// keyFigures reads the overview's figures of a county over its last 30
// days, those of measures it has.
func (s *Service) keyFigures(ctx context.Context, county string) ([]KeyFigure, error) {
	defs, err := s.figures.Definitions(ctx, county)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, k := range keyFigures() {
		if slices.ContainsFunc(defs, func(d measure.Definition) bool { return d.ID == k.Measure }) {
			ids = append(ids, k.Measure)
		}
	}
	figures := []KeyFigure{}
	if len(ids) == 0 {
		return figures, nil
	}
	now := s.now()
	totals, err := s.figures.Totals(ctx, county, defs, measure.Window{Measures: ids, From: measure.Day(now.AddDate(0, 0, -29)), To: measure.Day(now)})
	if err != nil {
		return nil, err
	}
	for _, f := range keyFigures() {
		if !slices.Contains(ids, f.Measure) {
			continue
		}
		for _, t := range totals[0] {
			if t.Measure == f.Measure {
				f.Value += t.Value
			}
		}
		figures = append(figures, f)
	}
	return figures, nil
}
