package workflow

import (
	"slices"

	"github.com/countycloud/countycloud/core/errs"
)

// CodeActionNotAllowed refuses an action a step does not offer.
const CodeActionNotAllowed = "action_not_allowed"

// Process is a checked definition made ready to run: its steps by id,
// and for each step inside a fork's branch the join that branch leads to.
type Process struct {
	Definition Definition
	steps      map[string]Step
	joinOf     map[string]string
}

// NewProcess prepares d, which Check has passed.
func NewProcess(d Definition) *Process {
	p := &Process{Definition: d, steps: make(map[string]Step, len(d.Steps)), joinOf: map[string]string{}}
	for _, s := range d.Steps {
		p.steps[s.ID] = s
	}
	// A step belongs to the innermost fork whose branches reach it before
	// the join: forks with the smallest regions claim their steps first.
	type region struct {
		join  string
		steps []string
	}
	var regions []region
	for _, s := range d.Steps {
		if s.Kind == KindFork {
			regions = append(regions, region{join: s.Join, steps: p.within(s)})
		}
	}
	slices.SortStableFunc(regions, func(a, b region) int { return len(a.steps) - len(b.steps) })
	for _, r := range regions {
		for _, id := range r.steps {
			if _, ok := p.joinOf[id]; !ok {
				p.joinOf[id] = r.join
			}
		}
	}
	return p
}

// within lists the steps fork's branches pass before its join.
func (p *Process) within(fork Step) []string {
	seen := map[string]bool{fork.Join: true}
	var out []string
	queue := slices.Clone(fork.Branches)
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		if seen[id] || id == End {
			continue
		}
		seen[id] = true
		out = append(out, id)
		s := p.steps[id]
		if s.Kind == KindFork {
			queue = append(queue, s.Branches...)
			queue = append(queue, s.Join)
		}
		for _, a := range s.Actions {
			if !a.Return {
				queue = append(queue, a.To)
			}
		}
	}
	return out
}

// Step returns the step id.
func (p *Process) Step(id string) (Step, bool) {
	s, ok := p.steps[id]
	return s, ok
}

// JoinOf is the join the branch holding step id leads to, "" outside forks.
func (p *Process) JoinOf(id string) string { return p.joinOf[id] }

// Open lists the task steps that reaching id opens: id itself, or for a
// fork the first steps of all its branches.
func (p *Process) Open(id string) []Step {
	s := p.steps[id]
	if s.Kind != KindFork {
		return []Step{s}
	}
	var out []Step
	for _, b := range s.Branches {
		out = append(out, p.Open(b)...)
	}
	return out
}

// Move is what acting at a step does to its instance.
type Move struct {
	Action Action
	// Open are the task steps to open now.
	Open []Step
	// CancelOthers closes every other open task of the instance: the end,
	// or a return out of a fork.
	CancelOthers bool
	// Join is set when the action finishes a branch: the join opens once
	// no other task of its branches is open.
	Join string
	// End finishes the instance.
	End bool
}

// Act is the move of doing action at step.
func (p *Process) Act(step, action string) (Move, error) {
	s, ok := p.steps[step]
	if !ok {
		return Move{}, errs.Invalid(CodeActionNotAllowed, "step %s is not in %s version %d", step, p.Definition.Code, p.Definition.Version)
	}
	i := slices.IndexFunc(s.Actions, func(a Action) bool { return a.Name == action })
	if i < 0 {
		names := make([]string, len(s.Actions))
		for j, a := range s.Actions {
			names[j] = a.Name
		}
		return Move{}, errs.Invalid(CodeActionNotAllowed, "step %s (%s) allows %v, not %q", s.ID, s.Name, names, action)
	}
	a := s.Actions[i]
	m := Move{Action: a}
	join := p.joinOf[step]
	switch {
	case a.To == End:
		m.End, m.CancelOthers = true, true
	case join != "" && a.To == join:
		m.Join = join
	case a.Return && (join == "" || p.joinOf[a.To] != join):
		m.CancelOthers = true
		m.Open = p.Open(a.To)
	default:
		m.Open = p.Open(a.To)
	}
	return m, nil
}
