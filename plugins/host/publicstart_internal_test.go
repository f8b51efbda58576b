package host

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/countycloud/countycloud/core/audit"
	"github.com/countycloud/countycloud/plugins/sdk/proto/pluginv1"
)

// starts is an engine that records the starts the host passes on; the
// host refuses the rest before they reach it.
type starts struct {
	Workflows
	got []StartFor
	by  []Capability
}

func (e *starts) StartFor(_ context.Context, c Capability, code string, in StartFor) (json.RawMessage, error) {
	e.got, e.by = append(e.got, in), append(e.by, c)
	return json.RawMessage(`{"instance":{"workflow":"` + code + `"}}`), nil
}

// TestAPublicRouteStartsOnlyTheWorkflowsItsManifestMarks: a public
// route's anonymous caller starts a workflow of the module's own that
// its manifest lists in public_start, for a subject unit, once per
// request, with their address; an unmarked workflow, another module's,
// one without a subject unit, a second start, another county's or
// another plugin's capability are refused before the engine is asked.
// Staff start any of the module's workflows as before.
func TestAPublicRouteStartsOnlyTheWorkflowsItsManifestMarks(t *testing.T) {
	t.Parallel()
	const county = "gd.shaoguan.wengyuan"
	caps := NewCapabilities(time.Minute, time.Now)
	engine := &starts{}
	s := moduleWorkflows{&workflows{guard: guard{plugin: "review", only: county, caps: caps, log: slog.New(slog.DiscardHandler)}, engine: engine,
		local: map[string]bool{"message": true, "license": true}, own: []string{"review.license", "review.message"}, public: map[string]bool{"message": true}}}
	ctx := context.Background()
	anonymous := audit.Actor{Kind: CallerAnonymous, Login: CallerAnonymous}
	issue := func(county, plugin string, caller audit.Actor) string {
		token, revoke := caps.IssueFor(Capability{County: county, Plugin: plugin, Request: "public-1", Caller: caller, Address: "203.0.113.7"})
		t.Cleanup(revoke)
		return token
	}
	start := func(token, workflow string, unit int64) error {
		_, err := s.StartWorkflowFor(ctx, &pluginv1.StartWorkflowForRequest{Capability: token, Workflow: workflow, Title: "留言", SubjectUnitId: unit})
		return err
	}

	citizen := issue(county, "review", anonymous)
	for _, bad := range []struct {
		name     string
		token    string
		workflow string
		unit     int64
		want     codes.Code
	}{
		{"a workflow the manifest does not mark", citizen, "license", 3, codes.PermissionDenied},
		{"another module's workflow", citizen, "hotline.message", 3, codes.NotFound},
		{"no subject unit", citizen, "message", 0, codes.InvalidArgument},
		{"another county's capability", issue("gd.shaoguan.lechang", "review", anonymous), "message", 3, codes.PermissionDenied},
		{"another plugin's capability", issue(county, "hotline", anonymous), "message", 3, codes.PermissionDenied},
	} {
		if err := start(bad.token, bad.workflow, bad.unit); status.Code(err) != bad.want {
			t.Errorf("%s: %v, want %s", bad.name, err, bad.want)
		}
	}
	if len(engine.got) != 0 {
		t.Fatalf("refused starts reached the engine: %+v", engine.got)
	}

	if err := start(citizen, "message", 3); err != nil {
		t.Fatal(err)
	}
	if len(engine.got) != 1 || !engine.got[0].Public || engine.got[0].SubjectUnit != 3 || engine.by[0].Address != "203.0.113.7" || engine.by[0].Caller.Kind != CallerAnonymous {
		t.Fatalf("the engine was asked %+v by %+v", engine.got, engine.by)
	}
	if err := start(citizen, "message", 3); status.Code(err) != codes.PermissionDenied {
		t.Errorf("a second start in one public request: %v, want PermissionDenied", err)
	}
	if err := start(issue(county, "review", anonymous), "message", 3); err != nil {
		t.Errorf("the next public request's start: %v", err)
	}

	clerk := issue(county, "review", audit.Actor{Kind: "account", ID: 7, Login: "clerk", Unit: 2})
	for _, workflow := range []string{"license", "license", "message"} {
		if err := start(clerk, workflow, 0); err != nil {
			t.Errorf("a clerk's start of %s: %v", workflow, err)
		}
	}
	for _, in := range engine.got[2:] {
		if in.Public {
			t.Errorf("a clerk's start passed on as public: %+v", in)
		}
	}
}
