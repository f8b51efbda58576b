package oa

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/countycloud/countycloud/core/workflow"
	"github.com/countycloud/countycloud/plugins/sdk"
)

func TestManifest(t *testing.T) {
	m := Manifest()
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	data, err := m.JSON()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sdk.ParseManifest(data); err != nil {
		t.Fatal(err)
	}
	if m.ID != "oa" || m.Name != "公文" || m.Vendor != "CountyCloud" || m.Version != "1.0.0" {
		t.Fatalf("manifest %+v", m)
	}
}

// TestSettingsSchema holds the schema's defaults to defaultSettings.
func TestSettingsSchema(t *testing.T) {
	var schema struct {
		Properties map[string]struct {
			Default json.RawMessage `json:"default"`
		} `json:"properties"`
	}
	if err := json.Unmarshal([]byte(settingsSchema), &schema); err != nil {
		t.Fatal(err)
	}
	defaults := map[string]json.RawMessage{}
	for name, p := range schema.Properties {
		defaults[name] = p.Default
	}
	data, err := json.Marshal(defaults)
	if err != nil {
		t.Fatal(err)
	}
	got, err := parseSettings(data)
	if err != nil {
		t.Fatal(err)
	}
	want := defaultSettings()
	if got.MaxAttachmentBytes != want.MaxAttachmentBytes || got.MaxAttachments != want.MaxAttachments || !slices.Equal(got.AttachmentTypes, want.AttachmentTypes) {
		t.Fatalf("the schema's defaults %+v, the module's %+v", got, want)
	}
	if got, err := parseSettings(json.RawMessage(`{"max_attachments":3}`)); err != nil || got.MaxAttachments != 3 || got.MaxAttachmentBytes != want.MaxAttachmentBytes {
		t.Fatalf("partial settings: %+v %v", got, err)
	}
}

// TestWorkflowsAreTheEngines: the engine accepts the module's workflows
// (the host checks them again at enable).
func TestWorkflowsAreTheEngines(t *testing.T) {
	for code, def := range workflows() {
		if _, err := workflow.Parse(def, []string{"clerk", "leader", "business_admin"}); err != nil {
			t.Errorf("%s: %v", code, err)
		}
	}
}
