package measure_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/countycloud/countycloud/core/measure"
)

// workflowCode is a workflow's code as core/workflow takes it.
var workflowCode = regexp.MustCompile(`^[a-z][a-z0-9_.-]{0,63}$`)

// TestEveryWorkflowHasAMeasureOfItsOwn: a code that can be part of an id
// is, under platform.workflow.completed.; one that cannot (a dash, a
// segment starting with a digit, an empty one) is named by its hash,
// elsewhere, so that no two workflows of a county share a measure.
func TestEveryWorkflowHasAMeasureOfItsOwn(t *testing.T) {
	t.Parallel()
	seen := map[string]string{}
	for code, want := range map[string]string{
		"oa.sending":            "platform.workflow.completed.oa.sending",
		"hotline.message":       "platform.workflow.completed.hotline.message",
		"leave_request":         "platform.workflow.completed.leave_request",
		"leave-request":         "platform.workflow.completed_x.h",
		"a.1st":                 "platform.workflow.completed_x.h",
		"a..b":                  "platform.workflow.completed_x.h",
		"a.":                    "platform.workflow.completed_x.h",
		strings.Repeat("a", 64): "platform.workflow.completed." + strings.Repeat("a", 64),
	} {
		id := measure.WorkflowCompleted(code)
		if !strings.HasPrefix(id, want) || (!strings.HasSuffix(want, ".h") && id != want) {
			t.Errorf("%s: %s, want %s…", code, id, want)
		}
		if err := measure.ValidID(id); err != nil {
			t.Errorf("%s: %v", code, err)
		}
		if other, ok := seen[id]; ok {
			t.Errorf("%s and %s share %s", code, other, id)
		}
		seen[id] = code
	}
	def := measure.WorkflowCompletedDef("oa.sending", "发文办理")
	if def.ID != "platform.workflow.completed.oa.sending" || def.Label.ZH != "办结数：发文办理" || def.Label.EN != "Completed: 发文办理" || def.Module != "" {
		t.Errorf("definition %+v", def)
	}
}

// FuzzWorkflowCompleted: every workflow code has a valid measure id, and
// only a code that is part of it verbatim is named without its hash.
func FuzzWorkflowCompleted(f *testing.F) {
	for _, code := range []string{"oa.sending", "leave-request", "a.1", "a..b", "x"} {
		f.Add(code)
	}
	f.Fuzz(func(t *testing.T, code string) {
		if !workflowCode.MatchString(code) {
			return
		}
		id := measure.WorkflowCompleted(code)
		if err := measure.ValidID(id); err != nil {
			t.Fatalf("%q: %v", code, err)
		}
		if verbatim := strings.TrimPrefix(id, "platform.workflow.completed."); verbatim != id && verbatim != code {
			t.Fatalf("%q named %s", code, id)
		}
	})
}
