package host

import (
	"context"
	"encoding/json"

	"github.com/countycloud/countycloud/plugins/sdk/proto/pluginv1"
)

// suspension is the HostSuspension service of a plugin process (补正):
// its workflows' instances suspended while they wait on the applicant and
// resumed when the materials arrive, in the county of each call, as its
// request's caller.
type suspension struct{ *workflows }

func (s suspension) SuspendWorkflow(ctx context.Context, req *pluginv1.SuspendWorkflowRequest) (*pluginv1.WorkflowResponse, error) {
	c, err := s.account(req.GetCapability(), "workflows")
	if err != nil {
		return nil, err
	}
	return s.answer(ctx, func(e Workflows) (json.RawMessage, error) {
		return e.Suspend(ctx, c, s.own, req.GetInstanceId(), req.GetReason())
	})
}

// ResumeWorkflow is open to a public route's anonymous caller, unlike
// every other workflow call: resuming is what the applicant's supplying
// the missing materials does, on the module's public route, once the
// module has checked the receipt's code. The engine still reaches only
// the plugin's own workflows, and records the caller as anonymous.
func (s suspension) ResumeWorkflow(ctx context.Context, req *pluginv1.ResumeWorkflowRequest) (*pluginv1.WorkflowResponse, error) {
	c, err := s.capability(req.GetCapability())
	if err != nil {
		return nil, err
	}
	return s.answer(ctx, func(e Workflows) (json.RawMessage, error) {
		return e.Resume(ctx, c, s.own, req.GetInstanceId(), req.GetComment())
	})
}
