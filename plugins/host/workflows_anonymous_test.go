package host

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/countycloud/countycloud/core/audit"
	"github.com/countycloud/countycloud/plugins/sdk/proto/pluginv1"
)

// A public route's anonymous caller reaches no workflow through the
// HostWorkflows service, as through the Host service: it neither starts,
// acts, nor lists. The guard refuses before any engine is asked.
func TestAnAnonymousCallerReachesNoWorkflowThroughHostWorkflows(t *testing.T) {
	t.Parallel()
	caps := NewCapabilities(time.Minute, time.Now)
	token, revoke := caps.Issue("gd.shaoguan.wengyuan", "review", "public-1", audit.Actor{Kind: CallerAnonymous, Login: CallerAnonymous})
	defer revoke()
	s := moduleWorkflows{&workflows{guard: guard{plugin: "review", caps: caps, log: slog.New(slog.DiscardHandler)}, local: map[string]bool{"license": true}, own: []string{"review.license"}}}
	ctx := context.Background()
	calls := map[string]func() error{
		"start for a unit": func() error {
			_, err := s.StartWorkflowFor(ctx, &pluginv1.StartWorkflowForRequest{Capability: token, Workflow: "license", SubjectUnitId: 1})
			return err
		},
		"act with a route": func() error {
			_, err := s.ActOnTaskWith(ctx, &pluginv1.ActOnTaskWithRequest{Capability: token, TaskId: 1, Action: "approve"})
			return err
		},
		"list instances": func() error {
			_, err := s.ListWorkflowInstances(ctx, &pluginv1.ListWorkflowInstancesRequest{Capability: token})
			return err
		},
		"list tasks": func() error {
			_, err := s.ListWorkflowTasks(ctx, &pluginv1.ListWorkflowTasksRequest{Capability: token})
			return err
		},
	}
	for name, call := range calls {
		if err := call(); status.Code(err) != codes.PermissionDenied {
			t.Errorf("%s as an anonymous caller: %v, want PermissionDenied", name, err)
		}
	}
}

// A workflow started or acted on with an SMS reminder texts its
// assignees, at the county's cost: as with a notice, the host refuses
// it, before any engine is asked, where the county has not allowed the
// module's SMS reminders.
func TestWorkflowsTextNoOneWhereTheCountyAllowsNoSMSReminders(t *testing.T) {
	t.Parallel()
	caps := NewCapabilities(time.Minute, time.Now)
	token, revoke := caps.Issue("gd.shaoguan.wengyuan", "review", "r-1", audit.Actor{Kind: "account", ID: 7, Login: "clerk"})
	defer revoke()
	s := moduleWorkflows{&workflows{guard: guard{plugin: "review", caps: caps, log: slog.New(slog.DiscardHandler)}, local: map[string]bool{"license": true}, own: []string{"review.license"}}}
	ctx := context.Background()
	if _, err := s.StartWorkflowFor(ctx, &pluginv1.StartWorkflowForRequest{Capability: token, Workflow: "license", SubjectUnitId: 1, SmsReminder: true}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("a start with an SMS reminder: %v, want PermissionDenied", err)
	}
	if _, err := s.ActOnTaskWith(ctx, &pluginv1.ActOnTaskWithRequest{Capability: token, TaskId: 1, Action: "approve", SmsReminder: true}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("an action with an SMS reminder: %v, want PermissionDenied", err)
	}
}
