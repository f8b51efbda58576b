package rollout

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/plugins/sdk/onejson"
)

// Codes of the errors about templates and plans.
const (
	CodeInvalidTemplate = "invalid_rollout_template"
	CodeInvalidPlan     = "invalid_rollout_plan"
)

// The phases every county goes through, in order (DOMAIN.md, "The phased
// rollout"). A template plans them; it does not invent others, since the
// platform attaches behaviour to them (a trial that ends on its date, the
// review after formal operation starts).
const (
	Preparation = "preparation"
	Testing     = "testing"
	Trial       = "trial"
	Formal      = "formal"
	Expansion   = "expansion"
)

// Phases are the phases in the order a county passes them.
func Phases() []string { return []string{Preparation, Testing, Trial, Formal, Expansion} }

// PhaseLabel is the name of a phase in Chinese and English.
func PhaseLabel(phase string) Label {
	switch phase {
	case Preparation:
		return Label{ZH: "前期准备", EN: "Preparation"}
	case Testing:
		return Label{ZH: "系统测试", EN: "System testing"}
	case Trial:
		return Label{ZH: "试运行", EN: "Trial operation"}
	case Formal:
		return Label{ZH: "正式运行", EN: "Formal operation"}
	case Expansion:
		return Label{ZH: "拓展", EN: "Expansion"}
	}
	return Label{ZH: phase, EN: phase}
}

// Label is a text in Chinese, then English.
type Label struct {
	ZH string `json:"zh-CN"`
	EN string `json:"en"`
}

// Owners of a task: who is expected to do it.
const (
	OwnerProvince = "province"
	OwnerCounty   = "county"
	OwnerUnit     = "unit"
)

// Kinds of task.
const (
	// KindManual tasks are done when someone says so.
	KindManual = "manual"
	// KindAutomatic tasks are done by the platform when their phase
	// starts (Action names what it does).
	KindAutomatic = "automatic"
	// KindEvidence tasks are done when their check passes on the
	// county's measures.
	KindEvidence = "evidence"
)

// Scopes of a check: whose figures must reach the threshold.
const (
	// ScopeCounty: the county's figure, every unit's added up with the
	// county-wide one.
	ScopeCounty = "county"
	// ScopeUnits: each of the county's units.
	ScopeUnits = "units"
	// ScopeKeyUnits: each key unit (重点单位) of the task's modules.
	ScopeKeyUnits = "key_units"
	// ScopeAccounts: each unit, as a share of its accounts
	// (AccountsMeasure): 1 means every account holder.
	ScopeAccounts = "accounts"
)

// AccountsMeasure is the level measure of a unit's active accounts, the
// denominator of a check per account.
const AccountsMeasure = "platform.org.accounts"

// Windows of a check's figures.
const (
	// SincePhase counts from the day the task's phase started.
	SincePhase = "phase"
	// SinceEver counts every day recorded.
	SinceEver = "ever"
)

// Template is a plan for any county: its phases, each with its tasks and
// the tasks that gate leaving it. The platform ships DefaultTemplate; a
// province defines its own.
type Template struct {
	ID     string      `json:"id"`
	Name   Label       `json:"name"`
	Phases []PhaseSpec `json:"phases"`
}

// PhaseSpec is a phase of a template.
type PhaseSpec struct {
	Phase string `json:"phase"`
	// Days is how long the phase is planned to last; 0 leaves it open
	// (formal operation, expansion).
	Days  int    `json:"days,omitempty"`
	Tasks []Task `json:"tasks"`
	// Gate names the tasks that must be done, or waived, before the
	// county leaves the phase.
	Gate []string `json:"gate,omitempty"`
}

// Task is something to be done in a phase.
type Task struct {
	ID    string `json:"id"`
	Name  Label  `json:"name"`
	Owner string `json:"owner"`
	// DueDays is when it is due, in days from its phase's start.
	DueDays int    `json:"due_days"`
	Kind    string `json:"kind"`
	// Action is what an automatic task does (Actions).
	Action string `json:"action,omitempty"`
	// Check is how an evidence task is proven.
	Check *Check `json:"check,omitempty"`
	// Modules the task concerns; their key units are a check's key
	// units.
	Modules []string `json:"modules,omitempty"`
}

// Check proves a task from the county's measures: a measure, a threshold
// and a scope.
type Check struct {
	Measure string `json:"measure"`
	Scope   string `json:"scope"`
	// AtLeast or AtMost (one of them) is the threshold each figure of
	// the scope must meet; for ScopeAccounts it is a share of the
	// unit's accounts.
	AtLeast *float64 `json:"at_least,omitempty"`
	AtMost  *float64 `json:"at_most,omitempty"`
	// Since is the window of a count (SincePhase by default); a level
	// measure is read as it stands.
	Since string `json:"since,omitempty"`
}

// Threshold is the figure a check compares with, and whether a figure
// must reach it from below (at least) or stay under it.
func (c Check) Threshold() (value float64, atLeast bool) {
	if c.AtMost != nil {
		return *c.AtMost, false
	}
	if c.AtLeast != nil {
		return *c.AtLeast, true
	}
	return 0, true
}

// Passes says whether figure meets the check's threshold t.
func (c Check) Passes(figure, t float64) bool {
	if _, atLeast := c.Threshold(); atLeast {
		return figure >= t
	}
	return figure <= t
}

// Actions are what automatic tasks may do when their phase starts.
const (
	// ActionSendTestNotices sends the IT office's test notices to every
	// unit of the county (notify's test notices).
	ActionSendTestNotices = "send_test_notices"
	// ActionEnableModules enables the plan's modules for the county.
	ActionEnableModules = "enable_modules"
	// ActionSetTrialWindow sets the trial's dates on the county's
	// notices (the trial's start and end in the plan).
	ActionSetTrialWindow = "set_trial_window"
	// ActionTextFirstPasswords hands out credentials: every active account
	// with a mobile and no password gets a first password by SMS, when the
	// phase starts and then hourly while it lasts, for accounts created
	// since (JobFirstPasswords).
	ActionTextFirstPasswords = "text_first_passwords"
)

func actions() []string {
	return []string{ActionSendTestNotices, ActionEnableModules, ActionSetTrialWindow, ActionTextFirstPasswords}
}

// Problem is one thing wrong with a template or a plan, at a path such as
// phases[1].tasks[0].check.measure.
type Problem struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

// Problems are everything wrong with a template or a plan.
type Problems []Problem

func (p *Problems) add(path, format string, args ...any) {
	*p = append(*p, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

func (p Problems) refuse(code, what string) error {
	lines := make([]string, len(p))
	for i, pr := range p {
		lines[i] = pr.Path + ": " + pr.Message
	}
	e := errs.Invalid(code, "%s has %d problem(s): %s", what, len(p), strings.Join(lines, "; "))
	e.Details = p
	return e
}

// MaxTemplateBytes bounds a template; the default one is a few KiB.
const MaxTemplateBytes = 256 << 10

var (
	idPattern      = regexp.MustCompile(`^[a-z][a-z0-9_.-]{0,63}$`)
	measurePattern = regexp.MustCompile(`^[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_]*)+$`)
)

// ParseTemplate reads a template and returns it with every problem found
// in it, or none.
func ParseTemplate(b []byte) (Template, error) {
	var t Template
	if err := decodeStrict(b, &t); err != nil {
		return Template{}, Problems{{Message: "not a rollout template: " + err.Error()}}.refuse(CodeInvalidTemplate, "the template")
	}
	if p := CheckTemplate(t); len(p) > 0 {
		return Template{}, p.refuse(CodeInvalidTemplate, "the template")
	}
	return t, nil
}

// decodeStrict reads exactly one JSON value into v, refusing unknown and
// repeated names.
func decodeStrict(b []byte, v any) error {
	if len(b) > MaxTemplateBytes {
		return fmt.Errorf("%d bytes; at most %d", len(b), MaxTemplateBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if len(onejson.Rest(b, dec)) != 0 {
		return fmt.Errorf("more than one JSON value")
	}
	if name, ok := onejson.DuplicateKey(b); ok {
		return fmt.Errorf("%q is named twice in one object", name)
	}
	return nil
}

// Bounds of a template.
const (
	maxTasksPerPhase = 200
	maxPhaseDays     = 3 * 366
	maxModules       = 32
)

// CheckTemplate returns every problem of t: malformed fields, phases
// missing or out of order, tasks named twice, gates on tasks the phase
// does not have, automatic tasks without a known action and evidence
// tasks without a check.
func CheckTemplate(t Template) Problems {
	var p Problems
	if !idPattern.MatchString(t.ID) {
		p.add("id", "%q is not a template id: lowercase letters, digits, '.', '_' and '-', at most 64", t.ID)
	}
	checkLabel(&p, "name", t.Name)
	phases := Phases()
	if len(t.Phases) != len(phases) {
		p.add("phases", "a template plans the %d phases %s, in that order; it has %d", len(phases), strings.Join(phases, ", "), len(t.Phases))
	}
	tasks := map[string]string{}
	for i, ph := range t.Phases {
		at := fmt.Sprintf("phases[%d]", i)
		if i < len(phases) && ph.Phase != phases[i] {
			p.add(at+".phase", "%q: phase %d is %q", ph.Phase, i+1, phases[i])
		}
		if ph.Days < 0 || ph.Days > maxPhaseDays {
			p.add(at+".days", "%d: a phase lasts 0 (open) to %d days", ph.Days, maxPhaseDays)
		}
		if len(ph.Tasks) > maxTasksPerPhase {
			p.add(at+".tasks", "%d tasks; at most %d a phase", len(ph.Tasks), maxTasksPerPhase)
		}
		for j, task := range ph.Tasks {
			checkTask(&p, fmt.Sprintf("%s.tasks[%d]", at, j), task, ph, tasks)
		}
		for j, id := range ph.Gate {
			if !slices.ContainsFunc(ph.Tasks, func(t Task) bool { return t.ID == id }) {
				p.add(fmt.Sprintf("%s.gate[%d]", at, j), "%q is not a task of the phase", id)
			} else if slices.Index(ph.Gate, id) != j {
				p.add(fmt.Sprintf("%s.gate[%d]", at, j), "%q is named twice", id)
			}
		}
	}
	return p
}

func checkTask(p *Problems, at string, t Task, ph PhaseSpec, seen map[string]string) {
	if !idPattern.MatchString(t.ID) {
		p.add(at+".id", "%q is not a task id: lowercase letters, digits, '.', '_' and '-', at most 64", t.ID)
	} else if where, ok := seen[t.ID]; ok {
		p.add(at+".id", "%q is also the id of %s; a task's id is unique in its template", t.ID, where)
	} else {
		seen[t.ID] = at
	}
	checkLabel(p, at+".name", t.Name)
	if !slices.Contains([]string{OwnerProvince, OwnerCounty, OwnerUnit}, t.Owner) {
		p.add(at+".owner", "%q: a task's owner is province, county or unit", t.Owner)
	}
	if t.DueDays < 0 || (ph.Days > 0 && t.DueDays > ph.Days) {
		p.add(at+".due_days", "%d: due from the phase's first day (0) to its last (%d)", t.DueDays, ph.Days)
	}
	if len(t.Modules) > maxModules {
		p.add(at+".modules", "%d modules; at most %d", len(t.Modules), maxModules)
	}
	for k, m := range t.Modules {
		if !idPattern.MatchString(m) {
			p.add(fmt.Sprintf("%s.modules[%d]", at, k), "%q is not a module id", m)
		}
	}
	switch t.Kind {
	case KindManual:
		if t.Action != "" || t.Check != nil {
			p.add(at, "a manual task has neither an action nor a check")
		}
	case KindAutomatic:
		if !slices.Contains(actions(), t.Action) {
			p.add(at+".action", "%q: an automatic task does one of %s", t.Action, strings.Join(actions(), ", "))
		}
		if t.Check != nil {
			p.add(at+".check", "an automatic task has no check")
		}
	case KindEvidence:
		if t.Action != "" {
			p.add(at+".action", "an evidence task has no action")
		}
		if t.Check == nil {
			p.add(at+".check", "an evidence task is proven by a check")
			return
		}
		checkCheck(p, at+".check", *t.Check, t)
	default:
		p.add(at+".kind", "%q: a task is manual, automatic or evidence", t.Kind)
	}
}

func checkCheck(p *Problems, at string, c Check, t Task) {
	if !measurePattern.MatchString(c.Measure) || len(c.Measure) > 96 {
		p.add(at+".measure", "%q is not a measure's id", c.Measure)
	}
	if !slices.Contains([]string{ScopeCounty, ScopeUnits, ScopeKeyUnits, ScopeAccounts}, c.Scope) {
		p.add(at+".scope", "%q: a check's scope is county, units, key_units or accounts", c.Scope)
	}
	if c.Scope == ScopeKeyUnits && len(t.Modules) == 0 {
		p.add(at+".scope", "key units are a module's: name the task's modules")
	}
	switch {
	case (c.AtLeast == nil) == (c.AtMost == nil):
		p.add(at, "a check has one threshold: at_least or at_most")
	case c.AtLeast != nil && (*c.AtLeast < 0 || *c.AtLeast > 1e9):
		p.add(at+".at_least", "%v: a threshold is from 0 to 1e9", *c.AtLeast)
	case c.AtMost != nil && (*c.AtMost < 0 || *c.AtMost > 1e9):
		p.add(at+".at_most", "%v: a threshold is from 0 to 1e9", *c.AtMost)
	}
	if v, _ := c.Threshold(); c.Scope == ScopeAccounts && v > 1 {
		p.add(at, "%v: a check per account is a share of the accounts, from 0 to 1", v)
	}
	if !slices.Contains([]string{"", SincePhase, SinceEver}, c.Since) {
		p.add(at+".since", "%q: a check counts since the phase or ever", c.Since)
	}
}

func checkLabel(p *Problems, at string, l Label) {
	if strings.TrimSpace(l.ZH) == "" || strings.TrimSpace(l.EN) == "" {
		p.add(at, "a name is given in zh-CN and en")
	}
	if len(l.ZH) > 200 || len(l.EN) > 200 {
		p.add(at, "a name is at most 200 bytes")
	}
}
