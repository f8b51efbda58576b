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

// TestASubmissionIsRefusedBeforeAnythingIsReached: a process that serves
// one county refuses another county's capability, and another plugin's,
// before it reads or writes anything (the service has no store here to
// reach, nor an engine that would record a start); a public request's
// unlisted workflow, a start without a subject unit and a second start
// are refused before the engine too.
func TestASubmissionIsRefusedBeforeAnythingIsReached(t *testing.T) {
	t.Parallel()
	const county = "gd.shaoguan.wengyuan"
	caps := NewCapabilities(time.Minute, time.Now)
	engine := &starts{}
	g := guard{plugin: "review", only: county, caps: caps, log: slog.New(slog.DiscardHandler)}
	flows := moduleWorkflows{&workflows{guard: g, engine: engine, local: map[string]bool{"message": true, "license": true},
		own: []string{"review.license", "review.message"}, public: map[string]bool{"message": true}}}
	s := &submissions{records: &records{guard: g, now: time.Now}, flows: flows}
	anonymous := audit.Actor{Kind: CallerAnonymous, Login: CallerAnonymous}
	issue := func(county, plugin string) string {
		token, revoke := caps.IssueFor(Capability{County: county, Plugin: plugin, Request: "public-1", Caller: anonymous, Address: "203.0.113.7"})
		t.Cleanup(revoke)
		return token
	}
	submit := func(token, workflow string, unit int64) error {
		_, err := s.Submit(context.Background(), &pluginv1.SubmitRequest{Capability: token, Collection: "letters", Id: "l1", Document: []byte(`{}`),
			NumberField: "number", Workflow: workflow, Start: &pluginv1.SubmitStart{Title: "来信", SubjectUnitId: unit}})
		return err
	}
	citizen := issue(county, "review")
	for _, bad := range []struct {
		name     string
		token    string
		workflow string
		unit     int64
		want     codes.Code
	}{
		{"another county's capability", issue("gd.shaoguan.lechang", "review"), "", 0, codes.PermissionDenied},
		{"another plugin's capability", issue(county, "hotline"), "", 0, codes.PermissionDenied},
		{"a forged capability", "cc1.forged", "", 0, codes.PermissionDenied},
		{"a workflow the manifest does not mark", citizen, "license", 3, codes.PermissionDenied},
		{"another module's workflow", citizen, "hotline.message", 3, codes.NotFound},
		{"no subject unit", citizen, "message", 0, codes.InvalidArgument},
	} {
		if err := submit(bad.token, bad.workflow, bad.unit); status.Code(err) != bad.want {
			t.Errorf("%s: %v, want %s", bad.name, err, bad.want)
		}
	}
	if len(engine.got) != 0 {
		t.Fatalf("refused submissions reached the engine: %+v", engine.got)
	}
	if err := submit(citizen, "message", 3); err != nil {
		t.Fatal(err)
	}
	if len(engine.got) != 1 || !engine.got[0].Public || engine.got[0].Alongside == nil {
		t.Fatalf("the engine was asked %+v", engine.got)
	}
	if err := submit(citizen, "message", 3); status.Code(err) != codes.PermissionDenied || len(engine.got) != 1 {
		t.Errorf("a second start in one public request: %v, want PermissionDenied", err)
	}
}
