package workflow

import (
	"fmt"
	"maps"
	"slices"
)

// Local is a county's version of a definition, within what the
// definition's Localization allows: steps added before a step (a review,
// say), time limits shortened, optional steps removed.
type Local struct {
	Insert       []Insertion      `json:"insert,omitempty"`
	TimeLimits   map[string]Limit `json:"time_limits,omitempty"`
	ProcessLimit *Limit           `json:"process_time_limit,omitempty"`
	Remove       []string         `json:"remove,omitempty"`
}

// Insertion adds Step before the step Before: every action that led to
// Before leads to Step instead, and Step's own actions go on.
type Insertion struct {
	Before string `json:"before"`
	Step   Step   `json:"step"`
}

// Localize applies a county's changes to base and checks the result
// against the county's roles, returning every problem at once.
func Localize(base Definition, local Local, roles []string) (Definition, error) {
	var p Problems
	d := clone(base)
	has := func(id string) bool { return slices.ContainsFunc(d.Steps, func(s Step) bool { return s.ID == id }) }
	if len(local.Insert) > 0 && !base.Localization.AddSteps {
		p.add("insert", "the owner of %s does not let counties add steps", base.Code)
	}
	for i, ins := range local.Insert {
		if !has(ins.Before) {
			p.add(fmt.Sprintf("insert[%d].before", i), "%q is not a step", ins.Before)
			continue
		}
		redirect(&d, ins.Before, ins.Step.ID)
		if d.Start == ins.Before {
			d.Start = ins.Step.ID
		}
		d.Steps = append(d.Steps, ins.Step)
	}
	for i, id := range local.Remove {
		path := fmt.Sprintf("remove[%d]", i)
		at := slices.IndexFunc(d.Steps, func(s Step) bool { return s.ID == id })
		switch {
		case !base.Localization.RemoveSteps:
			p.add(path, "the owner of %s does not let counties remove steps", base.Code)
		case at < 0:
			p.add(path, "%q is not a step", id)
		case d.Steps[at].Mandatory:
			p.add(path, "step %s is mandatory", id)
		default:
			forward := slices.DeleteFunc(slices.Clone(d.Steps[at].Actions), func(a Action) bool { return a.Return })
			if len(forward) != 1 || d.Steps[at].Kind == KindFork || d.Start == id {
				p.add(path, "only a step with one way on, not the first, can be removed; step %s has %d", id, len(forward))
				continue
			}
			// A fork loses the branch; everything else goes on past it.
			for j := range d.Steps {
				d.Steps[j].Branches = slices.DeleteFunc(d.Steps[j].Branches, func(b string) bool { return b == id })
			}
			redirect(&d, id, forward[0].To)
			d.Steps = slices.Delete(d.Steps, at, at+1)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(local.TimeLimits)) {
		limit := local.TimeLimits[id]
		at := slices.IndexFunc(d.Steps, func(s Step) bool { return s.ID == id })
		path := "time_limits." + id
		switch {
		case at < 0:
			p.add(path, "%q is not a step", id)
		case !shorter(limit, d.Steps[at].TimeLimit, base.Localization.ShortenLimits):
			p.add(path, "a county may only shorten a time limit, and only if the owner of %s allows it", base.Code)
		default:
			d.Steps[at].TimeLimit = &limit
		}
	}
	if local.ProcessLimit != nil {
		if !shorter(*local.ProcessLimit, base.TimeLimit, base.Localization.ShortenLimits) {
			p.add("process_time_limit", "a county may only shorten the process's time limit, and only if the owner of %s allows it", base.Code)
		} else {
			d.TimeLimit = local.ProcessLimit
		}
	}
	if len(p) > 0 {
		return Definition{}, refuse(p)
	}
	if problems := Check(d, roles); len(problems) > 0 {
		return Definition{}, refuse(problems)
	}
	return d, nil
}

// shorter reports whether limit may replace current: only a shorter one,
// only where shortening is allowed, and never where there was no limit.
func shorter(limit Limit, current *Limit, allowed bool) bool {
	return allowed && current != nil && limit.length() > 0 && limit.length() <= current.length()
}

// redirect points every forward action and join that leads to from at to.
func redirect(d *Definition, from, to string) {
	for i := range d.Steps {
		for j := range d.Steps[i].Actions {
			if a := &d.Steps[i].Actions[j]; a.To == from && !a.Return {
				a.To = to
			}
		}
		for j, b := range d.Steps[i].Branches {
			if b == from {
				d.Steps[i].Branches[j] = to
			}
		}
		if d.Steps[i].Join == from {
			d.Steps[i].Join = to
		}
	}
}

// clone copies d deeply enough that changing steps leaves d alone.
func clone(d Definition) Definition {
	c := d
	c.Steps = make([]Step, len(d.Steps))
	for i, s := range d.Steps {
		s.Actions = slices.Clone(s.Actions)
		s.Branches = slices.Clone(s.Branches)
		c.Steps[i] = s
	}
	return c
}
