package rollout

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/countycloud/countycloud/core/measure"
)

// Unit is a unit of a county, as a check names it.
type Unit struct {
	ID   int64  `json:"id"`
	Code string `json:"code"`
	Name string `json:"name"`
}

// GateItem is a gating task of the phase a county is in, and whether it
// stands done.
type GateItem struct {
	Task  string `json:"task"`
	Name  Label  `json:"name"`
	Kind  string `json:"kind"`
	Owner string `json:"owner"`
	Due   string `json:"due"`
	// Done: the check passes, or the manual task was marked done.
	Done   bool         `json:"done"`
	Marked *Mark        `json:"marked,omitempty"`
	Check  *CheckResult `json:"check,omitempty"`
	Waived *Waiver      `json:"waived,omitempty"`
}

// Passed says whether the item lets the county through its gate.
func (g GateItem) Passed() bool { return g.Done || g.Waived != nil }

// Mark is someone's word that a manual task is done.
type Mark struct {
	By   string    `json:"by"`
	Note string    `json:"note"`
	At   time.Time `json:"at"`
}

// Waiver lets a county through a gate its task does not pass.
type Waiver struct {
	Task   string    `json:"task"`
	Phase  string    `json:"phase"`
	Reason string    `json:"reason"`
	By     string    `json:"by"`
	At     time.Time `json:"at"`
}

// CheckResult is a check evaluated on a county's measures.
type CheckResult struct {
	Measure   string  `json:"measure"`
	Scope     string  `json:"scope"`
	Threshold float64 `json:"threshold"`
	AtLeast   bool    `json:"at_least"`
	// From is the first day counted (the phase's start, or "ever").
	From string `json:"from"`
	// Figure is the county's figure for a county-wide check; for a
	// check per unit, the number of units that meet it.
	Figure float64 `json:"figure"`
	// Units is how many units the check is on (0 county-wide).
	Units int `json:"units"`
	// Missing are the units that do not meet it, with their figures and
	// what each needs.
	Missing []UnitFigure `json:"missing,omitempty"`
}

// UnitFigure is a unit's figure against what it needs.
type UnitFigure struct {
	Unit
	Figure float64 `json:"figure"`
	Needed float64 `json:"needed"`
}

// everSince is the first day a check counting "ever" reads.
const everSince = "2000-01-01"

// figures are a county's totals, by measure and unit.
type figures map[string]map[int64]int64

func figuresOf(totals []measure.Total) figures {
	f := figures{}
	for _, t := range totals {
		if f[t.Measure] == nil {
			f[t.Measure] = map[int64]int64{}
		}
		f[t.Measure][t.Unit] += t.Value
	}
	return f
}

// evaluate decides c for a county with units, key units by module and
// figures f read from from.
func evaluate(c Check, modules []string, units []Unit, keyUnits map[string][]string, f figures, from string) CheckResult {
	threshold, atLeast := c.Threshold()
	r := CheckResult{Measure: c.Measure, Scope: c.Scope, Threshold: threshold, AtLeast: atLeast, From: from}
	values := f[c.Measure]
	if c.Scope == ScopeCounty {
		var sum int64
		for _, v := range values {
			sum += v
		}
		r.Figure = float64(sum)
		if !c.Passes(r.Figure, threshold) {
			r.Missing = []UnitFigure{{Unit: Unit{Name: "全县"}, Figure: r.Figure, Needed: threshold}}
		}
		return r
	}
	for _, u := range scopeUnits(c, modules, units, keyUnits) {
		needed := threshold
		if c.Scope == ScopeAccounts {
			accounts := f[AccountsMeasure][u.ID]
			if accounts == 0 {
				continue
			}
			needed = math.Ceil(threshold * float64(accounts))
		}
		r.Units++
		figure := float64(values[u.ID])
		if c.Passes(figure, needed) {
			r.Figure++
		} else {
			r.Missing = append(r.Missing, UnitFigure{Unit: u, Figure: figure, Needed: needed})
		}
	}
	return r
}

// scopeUnits are the units a per-unit check is on: the key units of the
// task's modules, or every unit.
func scopeUnits(c Check, modules []string, units []Unit, keyUnits map[string][]string) []Unit {
	if c.Scope != ScopeKeyUnits {
		return units
	}
	var codes []string
	for _, m := range modules {
		codes = append(codes, keyUnits[m]...)
	}
	var in []Unit
	for _, u := range units {
		if slices.Contains(codes, u.Code) {
			in = append(in, u)
		}
	}
	return in
}

// Passed says whether the check passed: every unit in scope meets it
// (county-wide: the county's figure does), and a per-unit check is on
// at least one unit.
func (r CheckResult) Passed() bool {
	if r.Scope == ScopeCounty {
		return len(r.Missing) == 0
	}
	return len(r.Missing) == 0 && r.Units > 0
}

// Text is the figure against the threshold: "3 ≥ 2" county-wide, "1/2 ≥
// 2" per unit (units meeting it, of those in scope), "2/4 ≥ 100%" per
// account.
func (r CheckResult) Text() string {
	op := "≥"
	if !r.AtLeast {
		op = "≤"
	}
	threshold := strconv.FormatFloat(r.Threshold, 'f', -1, 64)
	if r.Scope == ScopeAccounts {
		threshold = strconv.FormatFloat(r.Threshold*100, 'f', -1, 64) + "%"
	}
	figure := strconv.FormatFloat(r.Figure, 'f', -1, 64)
	if r.Scope == ScopeCounty {
		return figure + " " + op + " " + threshold
	}
	return fmt.Sprintf("%s/%d %s %s", figure, r.Units, op, threshold)
}
