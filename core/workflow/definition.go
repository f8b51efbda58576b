// Package workflow is the engine every module shares: an official
// document from draft to archive, an approval to be decided within its
// promised time, a citizen's message to be answered within 5 working days.
// A workflow is defined as data (JSON): steps, the actions allowed at each,
// who may act, and time limits in working days or hours. A definition is
// checked whole before it is used, and every problem is reported at once,
// so whoever writes one fixes it in one pass.
package workflow

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/workday"
	"github.com/countycloud/countycloud/plugins/sdk/onejson"
)

// Definition is a workflow as its owner (the province, a module's vendor)
// writes it.
type Definition struct {
	Code    string `json:"code"`
	Name    string `json:"name"`
	Version int    `json:"version"`
	// Start is the step an instance begins at.
	Start string `json:"start"`
	// TimeLimit bounds the whole process; steps have their own.
	TimeLimit *Limit `json:"time_limit,omitempty"`
	Steps     []Step `json:"steps"`
	// Withdrawable lets the initiator withdraw an instance no one has
	// acted on since.
	Withdrawable bool `json:"withdrawable,omitempty"`
	// Localization is what counties may change.
	Localization Localization `json:"localization,omitempty"`
}

// Step kinds: a task is acted on; a fork starts its branches at once
// (会签, 并联审批) and its join step waits for all of them.
const (
	KindTask = "task"
	KindFork = "fork"
)

// Step is one stage of a workflow.
type Step struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Kind is KindTask (the default) or KindFork.
	Kind      string    `json:"kind,omitempty"`
	Assignee  *Assignee `json:"assignee,omitempty"`
	TimeLimit *Limit    `json:"time_limit,omitempty"`
	Actions   []Action  `json:"actions,omitempty"`
	// Branches are the steps a fork starts; Join is where they meet.
	Branches []string `json:"branches,omitempty"`
	Join     string   `json:"join,omitempty"`
	// Mandatory steps stay in every county's version.
	Mandatory bool `json:"mandatory,omitempty"`
	// Routed lets an action leading here name the unit the step goes to
	// (a citizen's message to the unit responsible for it): that unit
	// becomes the instance's subject unit, in which the step's assignee,
	// relative to the subject unit, is sought.
	Routed bool `json:"routed,omitempty"`
}

// Assignee says who may act at a step: holders of a role (in a unit, in
// the initiator's unit or in the subject unit), a named account, or the
// leader of the initiator's or the subject unit.
type Assignee struct {
	Role string `json:"role,omitempty"`
	// Unit is a unit code of the county; with a Relative assignee the
	// role is sought in the initiator's or the subject unit instead.
	Unit     string `json:"unit,omitempty"`
	Account  string `json:"account,omitempty"`
	Relative string `json:"relative,omitempty"`
}

// Relative assignees: a role in, or the leader of, the initiator's unit
// or the instance's subject unit.
const (
	RelativeInitiatorUnit   = "initiator_unit"
	RelativeInitiatorLeader = "initiator_unit_leader"
	RelativeSubjectUnit     = "subject_unit"
	RelativeSubjectLeader   = "subject_unit_leader"
)

// relatives are the Relative assignees as a definition's author reads
// them, and whether each is one person (a leader) rather than a role in
// a unit.
var relatives = map[string]struct {
	text   string
	leader bool
}{
	RelativeInitiatorUnit: {"initiator's unit", false}, RelativeInitiatorLeader: {"initiator's leader", true},
	RelativeSubjectUnit: {"subject unit", false}, RelativeSubjectLeader: {"subject unit's leader", true},
}

// OfSubject says whether a is sought in the instance's subject unit.
func (a Assignee) OfSubject() bool {
	return a.Relative == RelativeSubjectUnit || a.Relative == RelativeSubjectLeader
}

// Action is what may be done at a step and where it leads: To is a step,
// or End. A return goes back to a step the instance has passed.
type Action struct {
	Name   string `json:"name"`
	Label  string `json:"label,omitempty"`
	To     string `json:"to"`
	Return bool   `json:"return,omitempty"`
	// Distribute names a workflow of the definition's namespace
	// (Distributed): the action starts one instance of it for each
	// recipient unit it names, as that instance's subject unit (分发).
	Distribute string `json:"distribute,omitempty"`
}

// Distributed is the county's code of the workflow that an action of
// workflow code distributes with Distribute name: a workflow of the same
// namespace, which is code up to its first dot ("office.sending" distributes
// "receiving" as "office.receiving"). A module's workflows are thus only
// ever distributed into its own, and a county's into the same family.
func Distributed(code, name string) string {
	if i := strings.IndexByte(code, '.'); i >= 0 {
		return code[:i+1] + name
	}
	return name
}

// End is the target of an action that finishes the instance.
const End = "end"

// Limit is a time limit in working days or working hours.
type Limit struct {
	Days  int `json:"working_days,omitempty"`
	Hours int `json:"working_hours,omitempty"`
}

// length compares limits, a working day being as long as the calendar's
// default one.
func (l Limit) length() time.Duration {
	return time.Duration(l.Days)*workday.DefaultHours().Total() + time.Duration(l.Hours)*time.Hour
}

// Localization is what a county may change of a definition.
type Localization struct {
	AddSteps      bool `json:"add_steps,omitempty"`
	ShortenLimits bool `json:"shorten_limits,omitempty"`
	RemoveSteps   bool `json:"remove_steps,omitempty"`
}

// CodeInvalidDefinition is the code of a definition that cannot be used.
const CodeInvalidDefinition = "invalid_workflow_definition"

// Problem is one thing wrong with a definition, at a path such as
// steps[2].actions[0].to.
type Problem struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

// Problems are everything wrong with a definition.
type Problems []Problem

func (p Problems) Error() string {
	lines := make([]string, len(p))
	for i, pr := range p {
		lines[i] = pr.Path + ": " + pr.Message
	}
	return strings.Join(lines, "; ")
}

func (p *Problems) add(path, format string, args ...any) {
	*p = append(*p, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

// refuse is the error of a definition with problems: invalid, its
// message listing every problem.
func refuse(p Problems) error {
	return &invalidDefinition{
		err:      errs.Invalid(CodeInvalidDefinition, "the workflow definition has %d problem(s): %s", len(p), p.Error()),
		problems: p,
	}
}

// invalidDefinition carries the problems for callers that show them one
// by one, and unwraps to the platform's invalid error.
type invalidDefinition struct {
	err      *errs.Error
	problems Problems
}

func (e *invalidDefinition) Error() string { return e.err.Error() }
func (e *invalidDefinition) Unwrap() error { return e.err }

// ProblemsOf returns the problems an error from Parse or Localize lists.
func ProblemsOf(err error) Problems {
	var e *invalidDefinition
	if errors.As(err, &e) {
		return e.problems
	}
	return nil
}

// MaxDefinitionBytes bounds a definition; a real one is a few KiB.
const MaxDefinitionBytes = 256 << 10

// Parse reads a definition and checks it against the roles the county
// has; it returns every problem found, or none.
func Parse(b []byte, roles []string) (Definition, error) {
	if len(b) > MaxDefinitionBytes {
		return Definition{}, refuse(Problems{{Path: "", Message: fmt.Sprintf("the definition is %d bytes; at most %d", len(b), MaxDefinitionBytes)}})
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var d Definition
	if err := dec.Decode(&d); err != nil {
		return Definition{}, refuse(Problems{{Path: "", Message: "not a workflow definition: " + err.Error()}})
	}
	if len(onejson.Rest(b, dec)) != 0 {
		return Definition{}, refuse(Problems{{Path: "", Message: "more than one JSON value"}})
	}
	if name, ok := onejson.DuplicateKey(b); ok {
		return Definition{}, refuse(Problems{{Path: "", Message: fmt.Sprintf("%q is named twice in one object", name)}})
	}
	if p := Check(d, roles); len(p) > 0 {
		return Definition{}, refuse(p)
	}
	return d, nil
}

var (
	codePattern = regexp.MustCompile(`^[a-z][a-z0-9_.-]{0,63}$`)
	stepPattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)
)

// Check returns every problem of d: malformed fields, unknown targets and
// roles, steps no instance can reach or that lead nowhere, forks whose
// branches do not meet at their join, returns to steps not yet passed,
// and a process without time limits.
func Check(d Definition, roles []string) Problems {
	var p Problems
	if !codePattern.MatchString(d.Code) {
		p.add("code", "%q: lowercase letters, digits, dots, dashes and underscores, starting with a letter", d.Code)
	}
	if strings.TrimSpace(d.Name) == "" {
		p.add("name", "is required")
	}
	if d.Version < 1 {
		p.add("version", "must be 1 or more")
	}
	if len(d.Steps) == 0 {
		p.add("steps", "a workflow needs at least one step")
		return p
	}
	index := map[string]int{}
	for i, s := range d.Steps {
		path := fmt.Sprintf("steps[%d]", i)
		switch {
		case !stepPattern.MatchString(s.ID) || s.ID == End:
			p.add(path+".id", "%q: lowercase letters, digits and underscores, starting with a letter, and not %q", s.ID, End)
		case index[s.ID] != 0:
			p.add(path+".id", "%q is used by another step", s.ID)
		default:
			index[s.ID] = i + 1
		}
	}
	step := func(id string) (Step, bool) {
		i := index[id]
		if i == 0 {
			return Step{}, false
		}
		return d.Steps[i-1], true
	}
	if _, ok := step(d.Start); !ok {
		p.add("start", "%q is not a step", d.Start)
	}
	for i, s := range d.Steps {
		checkStep(&p, fmt.Sprintf("steps[%d]", i), s, step, roles)
	}
	if d.TimeLimit != nil {
		checkLimit(&p, "time_limit", *d.TimeLimit)
	} else {
		for i, s := range d.Steps {
			if s.Kind != KindFork && s.TimeLimit == nil {
				p.add(fmt.Sprintf("steps[%d].time_limit", i), "step %s has no time limit and the process has none either", s.ID)
			}
		}
	}
	if len(p) > 0 {
		return p
	}
	checkGraph(&p, d, step)
	return p
}

func checkStep(p *Problems, path string, s Step, step func(string) (Step, bool), roles []string) {
	if strings.TrimSpace(s.Name) == "" {
		p.add(path+".name", "is required")
	}
	if s.TimeLimit != nil {
		checkLimit(p, path+".time_limit", *s.TimeLimit)
	}
	switch s.Kind {
	case KindFork:
		if len(s.Branches) < 2 {
			p.add(path+".branches", "a fork starts two branches or more")
		}
		for j, b := range s.Branches {
			if _, ok := step(b); !ok {
				p.add(fmt.Sprintf("%s.branches[%d]", path, j), "%q is not a step", b)
			}
			if b == s.Join || slices.Index(s.Branches, b) < j {
				p.add(fmt.Sprintf("%s.branches[%d]", path, j), "%q is the join or another branch already", b)
			}
		}
		if _, ok := step(s.Join); !ok {
			p.add(path+".join", "%q is not a step", s.Join)
		}
		if len(s.Actions) > 0 || s.Assignee != nil || s.Routed {
			p.add(path, "a fork has no actions, assignee or routing; its branches do")
		}
		return
	case "", KindTask:
	default:
		p.add(path+".kind", "%q is not %s or %s", s.Kind, KindTask, KindFork)
		return
	}
	if s.Assignee == nil {
		p.add(path+".assignee", "step %s says nobody may act", s.ID)
	} else {
		checkAssignee(p, path+".assignee", *s.Assignee, roles)
	}
	if len(s.Actions) == 0 {
		p.add(path+".actions", "step %s allows no action, so an instance would stop there", s.ID)
	}
	names := map[string]bool{}
	for j, a := range s.Actions {
		apath := fmt.Sprintf("%s.actions[%d]", path, j)
		if !stepPattern.MatchString(a.Name) {
			p.add(apath+".name", "%q: lowercase letters, digits and underscores", a.Name)
		} else if names[a.Name] {
			p.add(apath+".name", "%q is allowed twice at step %s", a.Name, s.ID)
		}
		names[a.Name] = true
		if _, ok := step(a.To); !ok && a.To != End {
			p.add(apath+".to", "%q is not a step or %q", a.To, End)
		}
		if a.Return && a.To == End {
			p.add(apath+".to", "a return goes back to a step, not to the end")
		}
		if a.Distribute != "" && !codePattern.MatchString(a.Distribute) {
			p.add(apath+".distribute", "%q: a workflow code of the definition's namespace, lowercase letters, digits, dots, dashes and underscores", a.Distribute)
		}
	}
	if s.Routed && (s.Assignee == nil || !s.Assignee.OfSubject()) {
		p.add(path+".routed", "a routed step goes to the unit an action names, so its assignee is relative to the subject unit (%s or %s)", RelativeSubjectUnit, RelativeSubjectLeader)
	}
}

func checkAssignee(p *Problems, path string, a Assignee, roles []string) {
	set := 0
	for _, v := range []string{a.Role, a.Account, a.Relative} {
		if v != "" {
			set++
		}
	}
	rel, known := relatives[a.Relative]
	switch {
	case a.Relative != "" && !known:
		p.add(path+".relative", "%q is not %s, %s, %s or %s", a.Relative, RelativeInitiatorUnit, RelativeInitiatorLeader, RelativeSubjectUnit, RelativeSubjectLeader)
	case rel.leader && (a.Role != "" || a.Account != ""):
		p.add(path, "the %s is one person; give no role or account with it", rel.text)
	case a.Relative != "" && !rel.leader && a.Role == "":
		p.add(path+".role", "whom in the %s? give a role", rel.text)
	case a.Account != "" && (a.Role != "" || a.Unit != ""):
		p.add(path, "a named account needs no role or unit")
	case set == 0:
		p.add(path, "give a role, an account, or a relative assignee")
	}
	if a.Role != "" && !slices.Contains(roles, a.Role) {
		p.add(path+".role", "the county has no role %q", a.Role)
	}
	if a.Unit != "" && a.Relative != "" {
		p.add(path+".unit", "a relative assignee's unit is the initiator's or the subject's; give no unit")
	}
}

func checkLimit(p *Problems, path string, l Limit) {
	if l.Days < 0 || l.Hours < 0 || l.length() == 0 {
		p.add(path, "a time limit is a positive number of working_days or working_hours")
	}
	if l.length() > (Limit{Days: 366}).length() {
		p.add(path, "a time limit of more than a year is no limit")
	}
}

// checkGraph finds steps no instance reaches, steps from which the end
// cannot be reached, forks whose branches do not all lead to their join,
// and returns to steps that cannot have been passed.
func checkGraph(p *Problems, d Definition, step func(string) (Step, bool)) {
	next := func(s Step) []string {
		if s.Kind == KindFork {
			return append(slices.Clone(s.Branches), s.Join)
		}
		var to []string
		for _, a := range s.Actions {
			if !a.Return {
				to = append(to, a.To)
			}
		}
		return to
	}
	reached := reach(d.Start, step, next)
	for i, s := range d.Steps {
		if !reached[s.ID] {
			p.add(fmt.Sprintf("steps[%d]", i), "step %s cannot be reached from %s", s.ID, d.Start)
			continue
		}
		if !reach(s.ID, step, next)[End] {
			p.add(fmt.Sprintf("steps[%d]", i), "no path leads from step %s to the end", s.ID)
		}
		if s.Kind == KindFork {
			for j, b := range s.Branches {
				if !reach(b, step, next)[s.Join] {
					p.add(fmt.Sprintf("steps[%d].branches[%d]", i, j), "branch %s never reaches the join %s", b, s.Join)
				}
			}
		}
		for j, a := range s.Actions {
			if a.Return && !reach(a.To, step, next)[s.ID] {
				p.add(fmt.Sprintf("steps[%d].actions[%d].to", i, j), "%s cannot have been passed before step %s, so it cannot be returned to", a.To, s.ID)
			}
		}
	}
}

// reach is every step reachable from start (start included), and End if
// the end is.
func reach(start string, step func(string) (Step, bool), next func(Step) []string) map[string]bool {
	seen := map[string]bool{start: true}
	queue := []string{start}
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		s, ok := step(id)
		if !ok {
			continue
		}
		for _, n := range next(s) {
			if !seen[n] {
				seen[n] = true
				queue = append(queue, n)
			}
		}
	}
	return seen
}
