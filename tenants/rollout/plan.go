package rollout

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/countycloud/countycloud/core/measure"
)

// PlanBody is what a county's plan says: its phases, each with its first
// day, tasks and gate, and the key units (重点单位) of each module, by unit
// code. It is instantiated from a template and the provincial office may
// edit it.
type PlanBody struct {
	Template string      `json:"template"`
	Phases   []PlanPhase `json:"phases"`
	// KeyUnits are each module's key units, by their codes.
	KeyUnits map[string][]string `json:"key_units"`
}

// PlanPhase is a phase of a plan: its template's spec and its first day.
type PlanPhase struct {
	PhaseSpec
	// Start is the phase's planned first day (in China).
	Start string `json:"start"`
}

// Plan is a county's plan with where the county stands in it.
type Plan struct {
	County string `json:"county"`
	PlanBody
	Phase        string `json:"phase"`
	PhaseStarted string `json:"phase_started"`
	// Proposed is the phase the platform proposes the county enter
	// (formal operation, once the trial ended), awaiting an operator.
	Proposed string `json:"proposed,omitempty"`
	// ReviewOn is the day of the review four months into formal
	// operation.
	ReviewOn  string    `json:"review_on,omitempty"`
	Version   int64     `json:"version"`
	UpdatedAt time.Time `json:"updated_at"`
}

// PlanInput instantiates a template for a county.
type PlanInput struct {
	// Template is the template's id; empty for the default.
	Template string `json:"template"`
	// Start is the first day of preparation, today when empty.
	Start string `json:"start"`
	// Trial is the first day of trial operation, when it is fixed
	// (a city's notice sets it); otherwise preparation's and testing's
	// days lead up to it.
	Trial    string              `json:"trial,omitempty"`
	KeyUnits map[string][]string `json:"key_units"`
}

// instantiate lays t's phases out from in's dates.
func instantiate(t Template, in PlanInput) (PlanBody, error) {
	start, err := time.Parse(time.DateOnly, in.Start)
	if err != nil {
		return PlanBody{}, Problems{{Path: "start", Message: fmt.Sprintf("%q is not a day (2026-11-13)", in.Start)}}.refuse(CodeInvalidPlan, "the plan")
	}
	var trial time.Time
	if in.Trial != "" {
		if trial, err = time.Parse(time.DateOnly, in.Trial); err != nil {
			return PlanBody{}, Problems{{Path: "trial", Message: fmt.Sprintf("%q is not a day (2026-11-13)", in.Trial)}}.refuse(CodeInvalidPlan, "the plan")
		}
	}
	body := PlanBody{Template: t.ID, KeyUnits: in.KeyUnits}
	day := start
	for _, ph := range t.Phases {
		if ph.Phase == Trial && !trial.IsZero() {
			day = trial
		}
		body.Phases = append(body.Phases, PlanPhase{PhaseSpec: ph, Start: day.Format(time.DateOnly)})
		day = day.AddDate(0, 0, max(ph.Days, 1))
	}
	return body, nil
}

// Bounds of a plan's key units.
const (
	maxKeyModules  = 32
	maxKeyUnits    = 1000
	maxUnitCodeLen = 64
)

// checkPlan returns every problem of b for a county whose units have the
// codes units and whose measures are measures: the phases' specs as a
// template's, their days in order, the key units the county's, and every
// check on a measure the county has.
func checkPlan(b PlanBody, units []Unit, measures []string) Problems {
	t := Template{ID: b.Template, Name: Label{ZH: "-", EN: "-"}}
	for _, ph := range b.Phases {
		t.Phases = append(t.Phases, ph.PhaseSpec)
	}
	p := CheckTemplate(t)
	var last time.Time
	for i, ph := range b.Phases {
		at := fmt.Sprintf("phases[%d].start", i)
		day, err := time.Parse(time.DateOnly, ph.Start)
		switch {
		case err != nil:
			p.add(at, "%q is not a day (2026-11-13)", ph.Start)
		case i > 0 && !day.After(last):
			p.add(at, "%s: a phase starts after the one before it (%s)", ph.Start, last.Format(time.DateOnly))
		}
		if err == nil {
			last = day
		}
	}
	if len(b.KeyUnits) > maxKeyModules {
		p.add("key_units", "%d modules; at most %d", len(b.KeyUnits), maxKeyModules)
	}
	for _, module := range slices.Sorted(maps.Keys(b.KeyUnits)) {
		at := "key_units." + module
		if !idPattern.MatchString(module) {
			p.add(at, "%q is not a module id", module)
		}
		codes := b.KeyUnits[module]
		if len(codes) > maxKeyUnits {
			p.add(at, "%d units; at most %d", len(codes), maxKeyUnits)
			continue
		}
		for i, code := range codes {
			switch {
			case len(code) > maxUnitCodeLen || !slices.ContainsFunc(units, func(u Unit) bool { return u.Code == code }):
				p.add(fmt.Sprintf("%s[%d]", at, i), "the county has no unit %q", code)
			case slices.Index(codes, code) != i:
				p.add(fmt.Sprintf("%s[%d]", at, i), "%q is named twice", code)
			}
		}
	}
	for i, ph := range b.Phases {
		for j, task := range ph.Tasks {
			at := fmt.Sprintf("phases[%d].tasks[%d]", i, j)
			if task.Check != nil && measurePattern.MatchString(task.Check.Measure) && !slices.Contains(measures, task.Check.Measure) && !enabledLater(task.Check.Measure, b.KeyUnits) {
				p.add(at+".check.measure", "the county has no measure %q (the platform's, its workflows' and its modules')", task.Check.Measure)
			}
			if task.Check == nil || task.Check.Scope != ScopeKeyUnits {
				continue
			}
			for _, m := range task.Modules {
				if len(b.KeyUnits[m]) == 0 {
					p.add(at+".modules", "the check is per key unit of %s, which has none in key_units", m)
				}
			}
		}
	}
	return p
}

// phase returns the plan's phase named phase.
func (b PlanBody) phase(phase string) (PlanPhase, bool) {
	i := slices.IndexFunc(b.Phases, func(p PlanPhase) bool { return p.Phase == phase })
	if i < 0 {
		return PlanPhase{}, false
	}
	return b.Phases[i], true
}

// next is the phase after phase, "" after the last.
func next(phase string) string {
	phases := Phases()
	i := slices.Index(phases, phase)
	if i < 0 || i == len(phases)-1 {
		return ""
	}
	return phases[i+1]
}

// enabledLater says whether id is a measure of a module the plan has key
// units for, or of that module's workflows: the module may not be
// enabled for the county yet (preparation enables it), and brings its
// measures when it is. Until then its checks read nothing.
func enabledLater(id string, keyUnits map[string][]string) bool {
	for module := range keyUnits {
		if strings.HasPrefix(id, module+".") || strings.HasPrefix(id, measure.WorkflowCompletedPrefix+module+".") {
			return true
		}
	}
	return false
}
