package sdk

import (
	"context"
	"encoding/json"

	"github.com/countycloud/countycloud/plugins/sdk/proto/pluginv1"
)

// StartWorkflow starts the module's workflow of local code workflow (a
// key of the manifest's Workflows) in the county, as the request's
// caller, and returns the same JSON outcome the platform's REST API
// returns for a start: {"instance": ..., "opened": [tasks]}. The engine
// refuses a caller it would refuse through the API (ErrDenied).
func (h *Host) StartWorkflow(ctx context.Context, workflow, title string) (json.RawMessage, error) {
	resp, err := h.client.StartWorkflow(ctx, &pluginv1.StartWorkflowRequest{Capability: h.capability, Workflow: workflow, Title: title})
	if err != nil {
		return nil, hostError(err)
	}
	return resp.GetJson(), nil
}

// ActOnTask does action on task taskID of the county as the request's
// caller, and returns the same JSON outcome the platform's REST API
// returns for an action: {"instance": ..., "acted": task, "opened":
// [tasks]}. A task that waits for someone else is ErrDenied; one already
// acted on is ErrConflict.
func (h *Host) ActOnTask(ctx context.Context, taskID int64, action, comment string) (json.RawMessage, error) {
	resp, err := h.client.ActOnTask(ctx, &pluginv1.ActOnTaskRequest{Capability: h.capability, TaskId: taskID, Action: action, Comment: comment})
	if err != nil {
		return nil, hostError(err)
	}
	return resp.GetJson(), nil
}

// WorkflowInstance reads instance id of the county, as the request's
// caller sees it, and returns the same JSON view of it the platform's
// REST API returns.
func (h *Host) WorkflowInstance(ctx context.Context, id int64) (json.RawMessage, error) {
	resp, err := h.client.GetWorkflowInstance(ctx, &pluginv1.GetWorkflowInstanceRequest{Capability: h.capability, InstanceId: id})
	if err != nil {
		return nil, hostError(err)
	}
	return resp.GetJson(), nil
}
