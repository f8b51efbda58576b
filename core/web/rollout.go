package web

import (
	"context"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/workday"
)

// RolloutOverview is what the console reads of the provincial rollout:
// tenants/rollout provides it, and cmd wires it in. It reads the
// aggregates jobs keep current, never every county's schema.
type RolloutOverview interface {
	Overview(ctx context.Context, f OverviewFilter) (Overview, error)
}

// OverviewFilter narrows the overview; an empty field does not narrow.
// The console hands over only codes that Overview listed among its
// options.
type OverviewFilter struct {
	// City is a city's code, such as gd.shaoguan.
	City string
	// Phase is a phase's code, such as trial.
	Phase string
}

// Overview is every county of the province in rollout, as the filter
// narrows them.
type Overview struct {
	Counties []CountyRollout
	// Cities and Phases are every city and every phase (in their order),
	// whatever the filter: what the filter offers.
	Cities []Option
	Phases []Option
	// ComputedAt is when the aggregates were computed (the oldest row's,
	// where each is computed on its own); zero if never.
	ComputedAt time.Time
}

// Option is a code and what it shows as.
type Option struct {
	Code  string
	Label Label
}

// CountyRollout is one county's row.
type CountyRollout struct {
	Code string
	Name Label
	City Option
	// Phase is the county's phase (a zero Option for a county without a
	// plan) and DaysInPhase the days since it entered it.
	Phase       Option
	DaysInPhase int
	// ChecksPassed of ChecksTotal gating checks of the next phase pass.
	ChecksPassed, ChecksTotal int
	// Blockers are the gating checks that fail.
	Blockers []Blocker
	// Figures are the county's key figures.
	Figures []Figure
}

// Blocker is a gating check that fails: its figure against its threshold
// as text that reads the same in both languages ("7/13 ≥ 13"), the units
// (by name) that still miss it, and how many more miss it than are named.
type Blocker struct {
	Check   Label
	Figure  string
	Missing []string
	More    int
}

// Figure is a key figure; Unit (such as %, or 份/documents) follows the
// value, empty for a plain count.
type Figure struct {
	Label Label
	Value float64
	Unit  Label
}

// staleAfter is how old the aggregates may be before the page warns: the
// jobs keep them within a minute, so twice that means they are behind.
const staleAfter = 2 * time.Minute

var (
	cityCode  = regexp.MustCompile(`^[a-z]{1,24}(\.[a-z]{1,24}){0,2}$`)
	phaseCode = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)
)

// Codes of the overview's refusals.
const (
	CodeUnknownCity  = "unknown_city"
	CodeUnknownPhase = "unknown_phase"
)

// parseFilter reads the filter of the overview's query. A value that
// could not be a code is refused here; one that could is checked against
// the overview's options once they are read (checkFilter).
func parseFilter(q url.Values) (OverviewFilter, error) {
	f := OverviewFilter{City: q.Get("city"), Phase: q.Get("phase")}
	if f.City != "" && !cityCode.MatchString(f.City) {
		return OverviewFilter{}, unknownCity(f.City)
	}
	if f.Phase != "" && !phaseCode.MatchString(f.Phase) {
		return OverviewFilter{}, unknownPhase(f.Phase)
	}
	return f, nil
}

// checkFilter refuses a filter naming a city or phase that ov does not
// offer.
func checkFilter(f OverviewFilter, ov Overview) error {
	has := func(opts []Option, code string) bool {
		return code == "" || slices.ContainsFunc(opts, func(o Option) bool { return o.Code == code })
	}
	if !has(ov.Cities, f.City) {
		return unknownCity(f.City)
	}
	if !has(ov.Phases, f.Phase) {
		return unknownPhase(f.Phase)
	}
	return nil
}

// unknownCity and unknownPhase refuse a filter, with the code asked for
// as their details, which the page shows.
func unknownCity(code string) error {
	e := errs.Invalid(CodeUnknownCity, "no city has the code %q", code)
	e.Details = code
	return e
}

func unknownPhase(code string) error {
	e := errs.Invalid(CodeUnknownPhase, "no phase has the code %q", code)
	e.Details = code
	return e
}

// rolloutView is the overview as the template shows it, every text in
// the page's language.
type rolloutView struct {
	Available bool
	Cities    []optionView
	Phases    []optionView
	Rows      []rowView
	Computed  string
	Stale     bool
	Count     string
}

type optionView struct {
	Code, Label string
	Selected    bool
}

type rowView struct {
	Code, County, City, Phase, PhaseCode string
	Days                                 string
	Gate                                 string
	Passed, Total                        int
	Blockers                             []blockerView
	Figures                              []figureView
}

type blockerView struct {
	Check, Figure, Missing string
}

type figureView struct {
	Label, Value string
}

// showRollout is ov, read with filter f at now, in l.
func showRollout(l Lang, ov Overview, f OverviewFilter, now time.Time) rolloutView {
	v := rolloutView{Available: true, Count: l.T("rollout.count", len(ov.Counties))}
	options := func(opts []Option, selected string) []optionView {
		out := make([]optionView, len(opts))
		for i, o := range opts {
			out[i] = optionView{Code: o.Code, Label: o.Label.In(l.Code), Selected: o.Code == selected}
		}
		return out
	}
	v.Cities, v.Phases = options(ov.Cities, f.City), options(ov.Phases, f.Phase)
	if ov.ComputedAt.IsZero() {
		v.Computed, v.Stale = l.T("rollout.never"), true
	} else {
		age := now.Sub(ov.ComputedAt)
		v.Computed = l.T("rollout.computed", ov.ComputedAt.In(workday.China()).Format("2006-01-02 15:04:05"), showAge(l, age))
		v.Stale = age > staleAfter
	}
	for _, c := range ov.Counties {
		row := rowView{
			Code: c.Code, County: c.Name.In(l.Code), City: c.City.Label.In(l.Code), Phase: c.Phase.Label.In(l.Code), PhaseCode: c.Phase.Code,
			Days:   l.T("rollout.days", c.DaysInPhase),
			Gate:   l.T("rollout.gate", c.ChecksPassed, c.ChecksTotal),
			Passed: c.ChecksPassed, Total: c.ChecksTotal,
		}
		for _, b := range c.Blockers {
			bv := blockerView{Check: b.Check.In(l.Code), Figure: b.Figure}
			switch {
			case len(b.Missing) > 0 && b.More > 0:
				bv.Missing = l.T("rollout.blocker.units_more", strings.Join(b.Missing, l.T("list.sep")), b.More)
			case len(b.Missing) > 0:
				bv.Missing = l.T("rollout.blocker.units", strings.Join(b.Missing, l.T("list.sep")))
			}
			row.Blockers = append(row.Blockers, bv)
		}
		for _, fig := range c.Figures {
			row.Figures = append(row.Figures, figureView{Label: fig.Label.In(l.Code), Value: showNumber(l, fig.Value, fig.Unit)})
		}
		v.Rows = append(v.Rows, row)
	}
	return v
}

// showNumber is v with at most two decimals, then its unit: a % right
// after the number, a word after a space.
func showNumber(l Lang, v float64, unit Label) string {
	s := strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64)
	switch u := unit.In(l.Code); u {
	case "":
		return s
	case "%":
		return s + u
	default:
		return s + " " + u
	}
}

// showAge is how long ago something happened, roughly.
func showAge(l Lang, age time.Duration) string {
	switch {
	case age < time.Minute:
		return l.T("age.moment")
	case age < time.Hour:
		return l.T("age.minutes", int(age/time.Minute))
	case age < 48*time.Hour:
		return l.T("age.hours", int(age/time.Hour))
	default:
		return l.T("age.days", int(age/(24*time.Hour)))
	}
}

// rolloutRequest is what the overview's page asks for: its query is
// read only once the guard has admitted the caller.
type rolloutRequest struct {
	lang  Lang
	query url.Values
}

// rollout is the overview page's endpoint, run behind the guard.
func (c *Console) rollout(ctx context.Context, request any) (any, error) {
	req := request.(rolloutRequest)
	f, err := parseFilter(req.query)
	if err != nil {
		return nil, err
	}
	if c.overview == nil {
		return rolloutView{}, nil
	}
	ov, err := c.overview.Overview(ctx, f)
	if err != nil {
		return nil, err
	}
	if err := checkFilter(f, ov); err != nil {
		return nil, err
	}
	return showRollout(req.lang, ov, f, c.now()), nil
}

// serveRollout is GET /console/rollout.
func (c *Console) serveRollout(w http.ResponseWriter, r *http.Request) {
	l := c.pickLang(w, r)
	page, ok := c.guarded(w, r, l, c.rolloutPage, rolloutRequest{lang: l, query: r.URL.Query()})
	if !ok {
		return
	}
	c.render(w, r, http.StatusOK, "rollout", l, page)
}
