package workflow

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/countycloud/countycloud/core/errs"
)

var countyRoles = []string{"system_admin", "unit_admin", "leader", "clerk", "business_admin"}

func incoming(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/incoming_document.json")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestAGoodDefinitionParses(t *testing.T) {
	d, err := Parse(incoming(t), countyRoles)
	if err != nil {
		t.Fatalf("%v\n%v", err, ProblemsOf(err))
	}
	if d.Start != "register" || len(d.Steps) != 6 || d.Steps[1].Kind != KindFork {
		t.Errorf("parsed %+v", d)
	}
}

// mutate parses the good definition, lets change break it, and returns
// the problems Parse reports.
func mutate(t *testing.T, change func(d map[string]any)) Problems {
	t.Helper()
	var d map[string]any
	if err := json.Unmarshal(incoming(t), &d); err != nil {
		t.Fatal(err)
	}
	change(d)
	b, _ := json.Marshal(d)
	_, err := Parse(b, countyRoles)
	if errs.CodeOf(err) != CodeInvalidDefinition {
		t.Fatalf("want %s, got %v", CodeInvalidDefinition, err)
	}
	return ProblemsOf(err)
}

func steps(d map[string]any) []any                  { return d["steps"].([]any) }
func stepAt(d map[string]any, i int) map[string]any { return steps(d)[i].(map[string]any) }

func TestBadDefinitionsAreRefusedWithEveryProblem(t *testing.T) {
	cases := []struct {
		name   string
		change func(d map[string]any)
		want   []string // path: message fragment
	}{
		{"unknown role", func(d map[string]any) { stepAt(d, 5)["assignee"] = map[string]any{"role": "archivist"} },
			[]string{`steps[5].assignee.role: the county has no role "archivist"`}},
		{"unreachable step", func(d map[string]any) {
			d["steps"] = append(steps(d), map[string]any{"id": "orphan", "name": "孤儿", "assignee": map[string]any{"role": "clerk"},
				"time_limit": map[string]any{"working_days": 1}, "actions": []any{map[string]any{"name": "go", "to": "end"}}})
		}, []string{"steps[6]: step orphan cannot be reached from register"}},
		{"no time limits", func(d map[string]any) { delete(d, "time_limit"); delete(stepAt(d, 5), "time_limit") },
			[]string{"steps[5].time_limit: step archive has no time limit"}},
		{"dead end", func(d map[string]any) {
			stepAt(d, 5)["actions"] = []any{map[string]any{"name": "back", "to": "handle"}}
		}, []string{"no path leads from step register to the end", "no path leads from step archive to the end"}},
		{"unknown target and start", func(d map[string]any) {
			d["start"] = "begin"
			stepAt(d, 0)["actions"] = []any{map[string]any{"name": "submit", "to": "reviw"}}
		}, []string{`start: "begin" is not a step`, `steps[0].actions[0].to: "reviw" is not a step`}},
		{"a branch that misses the join", func(d map[string]any) {
			stepAt(d, 3)["actions"] = []any{map[string]any{"name": "approve", "to": "archive"}}
		}, []string{"steps[1].branches[1]: branch office_review never reaches the join handle"}},
		{"return to a step not passed", func(d map[string]any) {
			stepAt(d, 0)["actions"] = append(stepAt(d, 0)["actions"].([]any), map[string]any{"name": "back", "to": "archive", "return": true})
		}, []string{"steps[0].actions[1].to: archive cannot have been passed before step register"}},
		{"duplicate ids and actions", func(d map[string]any) {
			stepAt(d, 5)["id"] = "handle"
			stepAt(d, 4)["actions"] = append(stepAt(d, 4)["actions"].([]any), map[string]any{"name": "done", "to": "end"})
		}, []string{`steps[5].id: "handle" is used by another step`}},
		{"nobody may act", func(d map[string]any) { delete(stepAt(d, 5), "assignee") }, []string{"steps[5].assignee: step archive says nobody may act"}},
		{"everything at once", func(d map[string]any) {
			d["code"] = "OA Incoming"
			d["version"] = 0
			stepAt(d, 2)["time_limit"] = map[string]any{"working_days": -1}
			stepAt(d, 3)["assignee"] = map[string]any{"relative": "initiator_unit_leader", "role": "leader"}
		}, []string{"code:", "version: must be 1 or more", "steps[2].time_limit:", "steps[3].assignee: the initiator's leader is one person"}},
		{"unknown field", func(d map[string]any) { d["deadline"] = 5 }, []string{`unknown field "deadline"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := mutate(t, c.change).Error()
			for _, w := range c.want {
				if !strings.Contains(got, w) {
					t.Errorf("problems %q do not say %q", got, w)
				}
			}
		})
	}
}

func TestCountiesLocalizeWithinTheOwnersLimits(t *testing.T) {
	base, err := Parse(incoming(t), countyRoles)
	if err != nil {
		t.Fatal(err)
	}
	review := Step{ID: "legal_review", Name: "法制审核", Assignee: &Assignee{Role: "business_admin"}, TimeLimit: &Limit{Days: 1},
		Actions: []Action{{Name: "pass", To: "archive"}, {Name: "send_back", To: "handle", Return: true}}}
	local, err := Localize(base, Local{
		Insert:     []Insertion{{Before: "archive", Step: review}},
		TimeLimits: map[string]Limit{"handle": {Days: 3}},
		Remove:     []string{"office_review"},
	}, countyRoles)
	if err == nil {
		t.Fatal("removing a fork's branch leaves a fork of one; want a refusal")
	}
	local, err = Localize(base, Local{
		Insert:       []Insertion{{Before: "archive", Step: review}},
		TimeLimits:   map[string]Limit{"handle": {Days: 3}},
		ProcessLimit: &Limit{Days: 10},
	}, countyRoles)
	if err != nil {
		t.Fatalf("%v", err)
	}
	handle := local.Steps[4]
	if handle.Actions[0].To != "legal_review" || handle.TimeLimit.Days != 3 || local.TimeLimit.Days != 10 {
		t.Errorf("localized: %+v", local)
	}
	if base.Steps[4].Actions[0].To != "archive" || base.Steps[4].TimeLimit.Days != 5 {
		t.Error("localizing changed the base definition")
	}

	refused := []struct {
		name  string
		local Local
		want  string
	}{
		{"a longer limit", Local{TimeLimits: map[string]Limit{"handle": {Days: 8}}}, "time_limits.handle: a county may only shorten"},
		{"a mandatory step", Local{Remove: []string{"handle"}}, "remove[0]: step handle is mandatory"},
		{"an unknown step", Local{Insert: []Insertion{{Before: "nowhere", Step: review}}}, `insert[0].before: "nowhere" is not a step`},
		{"an inserted step with an unknown role", Local{Insert: []Insertion{{Before: "archive", Step: Step{ID: "x", Name: "x",
			Assignee: &Assignee{Role: "auditor"}, TimeLimit: &Limit{Days: 1}, Actions: []Action{{Name: "go", To: "archive"}}}}}}, `the county has no role "auditor"`},
	}
	for _, c := range refused {
		_, err := Localize(base, c.local, countyRoles)
		if got := ProblemsOf(err).Error(); !strings.Contains(got, c.want) {
			t.Errorf("%s: %q does not say %q", c.name, got, c.want)
		}
	}
	strict := base
	strict.Localization = Localization{}
	if _, err := Localize(strict, Local{TimeLimits: map[string]Limit{"handle": {Days: 1}}}, countyRoles); err == nil {
		t.Error("a definition that allows nothing was shortened")
	}
}

func testdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSubjectUnitsRoutingAndDistributionAreChecked: the fields of subject
// units, routing and distribution parse in the engine's examples, and
// their misuse is refused with a problem at its path.
func TestSubjectUnitsRoutingAndDistributionAreChecked(t *testing.T) {
	for _, name := range []string{"sending_document.json", "receiving_document.json", "citizen_message.json"} {
		if _, err := Parse(testdata(t, name), countyRoles); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	d, err := Parse(testdata(t, "citizen_message.json"), countyRoles)
	if err != nil {
		t.Fatal(err)
	}
	if !d.Steps[1].Routed || !d.Steps[1].Assignee.OfSubject() || d.Steps[0].Assignee.OfSubject() {
		t.Errorf("routing and subject parsed as %+v", d.Steps)
	}
	cases := []struct {
		name   string
		change func(d *Definition)
		want   string
	}{
		{"a routed step for a fixed unit", func(d *Definition) { d.Steps[1].Assignee = &Assignee{Role: "clerk", Unit: "BGS"} },
			"steps[1].routed: a routed step goes to the unit an action names"},
		{"a routed fork", func(d *Definition) {
			d.Steps = append(d.Steps, Step{ID: "f", Name: "f", Kind: KindFork, Routed: true, Branches: []string{"answer", "review"}, Join: "review"})
		}, "steps[3]: a fork has no actions, assignee or routing"},
		{"the subject unit's leader with a role", func(d *Definition) {
			d.Steps[2].Assignee = &Assignee{Relative: RelativeSubjectLeader, Role: "clerk"}
		}, "steps[2].assignee: the subject unit's leader is one person"},
		{"whom in the subject unit", func(d *Definition) { d.Steps[1].Assignee = &Assignee{Relative: RelativeSubjectUnit} },
			"steps[1].assignee.role: whom in the subject unit? give a role"},
		{"a subject unit and a unit", func(d *Definition) {
			d.Steps[1].Assignee = &Assignee{Relative: RelativeSubjectUnit, Role: "clerk", Unit: "BGS"}
		}, "steps[1].assignee.unit: a relative assignee's unit is the initiator's or the subject's"},
		{"an unknown relative", func(d *Definition) { d.Steps[1].Assignee = &Assignee{Relative: "parent_unit", Role: "clerk"} },
			`steps[1].assignee.relative: "parent_unit" is not`},
		{"a malformed distribution", func(d *Definition) { d.Steps[2].Actions[0].Distribute = "Receiving Flow" },
			`steps[2].actions[0].distribute: "Receiving Flow"`},
	}
	for _, c := range cases {
		bad, _ := Parse(testdata(t, "citizen_message.json"), countyRoles)
		c.change(&bad)
		got := Check(bad, countyRoles).Error()
		if !strings.Contains(got, c.want) {
			t.Errorf("%s: %q does not say %q", c.name, got, c.want)
		}
	}
}

func TestDistributionStaysInItsNamespace(t *testing.T) {
	for _, c := range []struct{ code, name, want string }{
		{"office.sending", "receiving", "office.receiving"},
		{"oa.doc.sending", "doc.receiving", "oa.doc.receiving"},
		{"sending", "receiving", "receiving"},
	} {
		if got := Distributed(c.code, c.name); got != c.want {
			t.Errorf("Distributed(%q, %q) = %q, want %q", c.code, c.name, got, c.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(incoming(f))
	f.Add(append(incoming(f), '}'))
	for _, name := range []string{"sending_document.json", "receiving_document.json", "citizen_message.json"} {
		f.Add(testdata(f, name))
	}
	f.Add([]byte(`{"code":"a","name":"b","version":1,"start":"s","steps":[{"id":"s","name":"s","assignee":{"role":"clerk"},"time_limit":{"working_days":1},"actions":[{"name":"go","to":"s","return":true}]}]}`))
	f.Add([]byte(`{"steps":[{"id":"f","kind":"fork","branches":["f","f"],"join":"f"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := Parse(b, countyRoles)
		if err != nil {
			if errs.CodeOf(err) != CodeInvalidDefinition || len(ProblemsOf(err)) == 0 {
				t.Fatalf("a refusal without problems: %v", err)
			}
			return
		}
		if len(Check(d, countyRoles)) != 0 {
			t.Fatal("Parse accepted what Check refuses")
		}
		if !json.Valid(b) {
			t.Fatalf("accepted %q, which is not one JSON value", b)
		}
	})
}
