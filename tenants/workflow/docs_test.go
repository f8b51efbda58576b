package workflow_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	flow "github.com/countycloud/countycloud/core/workflow"
	"github.com/countycloud/countycloud/tenants/workflow"
)

var jsonBlock = regexp.MustCompile("(?s)```json\n(.*?)```")

// strict decodes b into v, refusing unknown fields as the API does.
func strict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// TestTheDocsExamplesAreTheEngines: every JSON block of docs/workflows.md
// is what the engine takes as written (a definition it parses, a start or
// an action the API decodes), and each definition is the very file of
// core/workflow/testdata that the engine's tests run, so the page cannot
// drift from the engine.
func TestTheDocsExamplesAreTheEngines(t *testing.T) {
	doc, err := os.ReadFile("../../docs/workflows.md")
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("../../core/workflow/testdata/*.json")
	if err != nil {
		t.Fatal(err)
	}
	byCode := map[string][]byte{}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var d flow.Definition
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatal(err)
		}
		byCode[d.Code] = b
	}
	roles := []string{"clerk", "leader", "business_admin"}
	blocks := jsonBlock.FindAllSubmatch(doc, -1)
	definitions := 0
	for i, m := range blocks {
		b := m[1]
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(b, &fields); err != nil {
			t.Errorf("block %d is not a JSON object: %v\n%s", i, err, b)
			continue
		}
		switch {
		case fields["steps"] != nil:
			definitions++
			d, err := flow.Parse(b, roles)
			if err != nil {
				t.Errorf("block %d: %v", i, err)
				continue
			}
			file, ok := byCode[d.Code]
			if !ok {
				t.Errorf("block %d: %s is not among the engine's examples in core/workflow/testdata", i, d.Code)
				continue
			}
			var fromDoc, fromFile bytes.Buffer
			if err := json.Compact(&fromDoc, b); err != nil {
				t.Fatal(err)
			}
			if err := json.Compact(&fromFile, file); err != nil {
				t.Fatal(err)
			}
			if fromDoc.String() != fromFile.String() {
				t.Errorf("block %d (%s) differs from its file in core/workflow/testdata", i, d.Code)
			}
		case fields["action"] != nil:
			var in workflow.ActInput
			if err := strict(b, &in); err != nil || in.Action == "" {
				t.Errorf("block %d is not an action: %v", i, err)
			}
		case fields["workflow"] != nil:
			var in workflow.StartInput
			if err := strict(b, &in); err != nil || in.Title == "" {
				t.Errorf("block %d is not a start: %v", i, err)
			}
		default:
			t.Errorf("block %d is neither a definition, a start nor an action:\n%s", i, b)
		}
	}
	if definitions < 3 {
		t.Errorf("%d definitions in the docs; the receiving, routing and sending examples are missing", definitions)
	}
}
