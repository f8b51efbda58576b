package measure

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// The platform's own measures, recorded where their events happen, in
// the event's transaction where it has one in the county's schema. Their
// ids are under "platform", which no module may take.
const (
	// TasksOnTime and TasksLate count the tasks people acted on, by
	// their due time, per the task's unit. A task without a due time is
	// on time.
	TasksOnTime = "platform.tasks.on_time"
	TasksLate   = "platform.tasks.late"

	// completedPrefix and completedHashed name the measures of instances
	// completed per workflow: WorkflowCompleted.
	completedPrefix = "platform.workflow.completed."
	completedHashed = "platform.workflow.completed_x.h"
)

// PlatformMeasures are the platform's own measures but the per-workflow
// ones (WorkflowCompleted), which every county has.
func PlatformMeasures() []Definition {
	text := func(zh, en string) Label { return Label{ZH: zh, EN: en} }
	return []Definition{
		{ID: TasksOnTime, Label: text("按时办理任务数", "Tasks finished on time"), Counts: text("一项在办理时限内办理的任务", "one task acted on by its due time")},
		{ID: TasksLate, Label: text("超时办理任务数", "Tasks finished late"), Counts: text("一项超过办理时限才办理的任务", "one task acted on after its due time")},
	}
}

// WorkflowCompleted is the measure of the instances of workflow code
// completed, per the instance's subject unit: platform.workflow.completed.
// and the code (platform.workflow.completed.oa.sending). A code that
// cannot be part of a measure's id (a dash, a segment starting with a
// digit) is named by its SHA-256 instead, under
// platform.workflow.completed_x., so that two workflows never share one.
func WorkflowCompleted(code string) string {
	if id := completedPrefix + code; ValidID(id) == nil {
		return id
	}
	sum := sha256.Sum256([]byte(code))
	return completedHashed + hex.EncodeToString(sum[:8])
}

// WorkflowCompletedDef is the definition of WorkflowCompleted(code), for
// the workflow named name.
func WorkflowCompletedDef(code, name string) Definition {
	return Definition{
		ID:     WorkflowCompleted(code),
		Label:  Label{ZH: "办结数：" + name, EN: "Completed: " + name},
		Counts: Label{ZH: fmt.Sprintf("一件办结的“%s”（%s）", name, code), EN: fmt.Sprintf("one instance of %s (%s) completed", name, code)},
	}
}

// Catalogs are catalogs read one after the other: the workflows' and the
// modules' measures.
type Catalogs []Catalog

// Measures are the measures of every catalog of c.
func (c Catalogs) Measures(ctx context.Context, county string) ([]Definition, error) {
	var out []Definition
	for _, cat := range c {
		defs, err := cat.Measures(ctx, county)
		if err != nil {
			return nil, err
		}
		out = append(out, defs...)
	}
	return out, nil
}
