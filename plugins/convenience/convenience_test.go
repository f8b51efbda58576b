package convenience

import (
	"testing"

	"github.com/countycloud/countycloud/core/workflow"
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
