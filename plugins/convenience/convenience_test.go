package convenience

import (
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/countycloud/countycloud/core/workflow"
	"github.com/countycloud/countycloud/plugins/host"
	"github.com/countycloud/countycloud/plugins/sdk"
)

func TestManifest(t *testing.T) {
	m := Manifest()
	data, err := m.JSON()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sdk.ParseManifest(data); err != nil {
		t.Fatal(err)
	}
	if m.ID != "convenience" || m.Name != "便民服务" || len(m.Measures) != 7 || len(m.Public) != len(publicRoutes()) {
		t.Fatalf("manifest %+v", m)
	}
	// Every public route the manifest opens is one the module serves, and
	// the other way round.
	for i, r := range publicRoutes() {
		if m.Public[i].Method != r.method || m.Public[i].Path != r.pattern {
			t.Errorf("public route %d: the manifest opens %v, the module serves %s %s", i, m.Public[i], r.method, r.pattern)
		}
	}
}

// TestWorkflowIsTheEngines: the engine accepts the module's workflow (the
// host checks it again at enable).
func TestWorkflowIsTheEngines(t *testing.T) {
	if _, err := workflow.Parse([]byte(messageFlow), []string{"clerk", "leader", "business_admin"}); err != nil {
		t.Fatal(err)
	}
}

// TestSettingsSchema: the host takes the settings the module reads, and
// refuses a category that is none, a unit id that is not one and a
// misspelt field.
func TestSettingsSchema(t *testing.T) {
	schema, err := host.CompileSettings(Manifest())
	if err != nil {
		t.Fatal(err)
	}
	valid := func(raw string) bool {
		v, err := jsonschema.UnmarshalJSON(strings.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		return schema.Validate(v) == nil
	}
	if !valid(testSettings) || !valid(`{}`) {
		t.Errorf("the tests' settings are refused")
	}
	for _, bad := range []string{`{"routes": {"表扬": 3}}`, `{"routes": {"投诉": 0}}`, `{"it_office_unit_id": "1"}`, `{"it_office": 1}`} {
		if valid(bad) {
			t.Errorf("settings %s are taken", bad)
		}
	}
	s, err := parseSettings([]byte(testSettings))
	if err != nil || s.ITOfficeUnitID != 1 || s.LettersUnitID != 2 || s.SupervisingUnitID != 5 || s.Routes["投诉"] != 3 {
		t.Errorf("parsed %+v, %v", s, err)
	}
}
