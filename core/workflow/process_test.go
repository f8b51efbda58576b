package workflow

import (
	"slices"
	"testing"

	"github.com/countycloud/countycloud/core/errs"
)

func ids(steps []Step) []string {
	out := make([]string, len(steps))
	for i, s := range steps {
		out[i] = s.ID
	}
	return out
}

func TestAProcessMovesThroughForksReturnsAndTheEnd(t *testing.T) {
	d, err := Parse(incoming(t), countyRoles)
	if err != nil {
		t.Fatal(err)
	}
	p := NewProcess(d)
	if got := ids(p.Open(d.Start)); !slices.Equal(got, []string{"register"}) {
		t.Errorf("start opens %v", got)
	}
	for _, c := range []struct {
		step, action string
		open         []string
		join         string
		cancel, end  bool
	}{
		{"register", "submit", []string{"leader_review", "office_review"}, "", false, false},
		{"leader_review", "approve", nil, "handle", false, false},
		{"office_review", "approve", nil, "handle", false, false},
		{"handle", "send_back", []string{"register"}, "", true, false},
		{"handle", "done", []string{"archive"}, "", false, false},
		{"archive", "archive", nil, "", true, true},
	} {
		m, err := p.Act(c.step, c.action)
		if err != nil {
			t.Fatalf("%s/%s: %v", c.step, c.action, err)
		}
		if got := ids(m.Open); !slices.Equal(got, c.open) || m.Join != c.join || m.CancelOthers != c.cancel || m.End != c.end {
			t.Errorf("%s/%s: open %v join %q cancel %v end %v; want %v %q %v %v", c.step, c.action, got, m.Join, m.CancelOthers, m.End, c.open, c.join, c.cancel, c.end)
		}
	}
	if p.JoinOf("leader_review") != "handle" || p.JoinOf("handle") != "" {
		t.Errorf("joins: leader_review %q, handle %q", p.JoinOf("leader_review"), p.JoinOf("handle"))
	}
	if _, err := p.Act("register", "approve"); errs.CodeOf(err) != CodeActionNotAllowed {
		t.Errorf("an action the step lacks: %v", err)
	}
}

// TestAReturnWithinABranchKeepsTheOtherBranches: a review step inside a
// branch sends the branch back to its own first step; the other branch's
// work stands.
func TestAReturnWithinABranchKeepsTheOtherBranches(t *testing.T) {
	d, err := Parse(incoming(t), countyRoles)
	if err != nil {
		t.Fatal(err)
	}
	d.Steps = append(d.Steps, Step{ID: "recheck", Name: "再审", Assignee: &Assignee{Role: "leader"}, TimeLimit: &Limit{Days: 1},
		Actions: []Action{{Name: "ok", To: "handle"}, {Name: "again", To: "leader_review", Return: true}}})
	for i := range d.Steps {
		if d.Steps[i].ID == "leader_review" {
			d.Steps[i].Actions = []Action{{Name: "approve", To: "recheck"}}
		}
	}
	if problems := Check(d, countyRoles); len(problems) > 0 {
		t.Fatal(problems)
	}
	p := NewProcess(d)
	m, err := p.Act("recheck", "again")
	if err != nil {
		t.Fatal(err)
	}
	if m.CancelOthers || !slices.Equal(ids(m.Open), []string{"leader_review"}) || p.JoinOf("recheck") != "handle" {
		t.Errorf("a return within a branch: %+v", m)
	}
}
