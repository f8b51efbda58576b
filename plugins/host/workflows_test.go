package host_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/plugins/host"
	"github.com/countycloud/countycloud/plugins/sdk"
	"github.com/countycloud/countycloud/plugins/sdk/proto/pluginv1"
)

// The flows module is the test plugin of the workflow service: its
// manifest supplies workflows, and its routes start, act on and read
// them through the host.
var flowsManifest = sdk.Manifest{ID: "flows", Name: "流程", Vendor: "CountyCloud tests", Version: "1.0.0", Protocol: sdk.ProtocolVersion,
	Workflows: map[string]json.RawMessage{
		"review":  json.RawMessage(`{"name":"审核","version":1,"steps":[]}`),
		"archive": json.RawMessage(`{"name":"归档","version":1,"steps":[]}`),
	}}

func init() {
	if os.Getenv(pluginEnv) == "flows" {
		sdk.Serve(flowsManifest, flows{})
		os.Exit(0)
	}
}

type flows struct{}

func (flows) Handle(ctx context.Context, r *sdk.Request) (*sdk.Response, error) {
	answer := func(out json.RawMessage, err error) (*sdk.Response, error) {
		if err != nil {
			return &sdk.Response{Status: 400, Body: []byte(err.Error())}, nil
		}
		return &sdk.Response{Body: out}, nil
	}
	arg := r.Path[strings.LastIndex(r.Path, "/")+1:]
	id, _ := strconv.ParseInt(arg, 10, 64)
	switch {
	case strings.HasPrefix(r.Path, "/start/"):
		return answer(r.Host.StartWorkflow(ctx, arg, string(r.Body)))
	case strings.HasPrefix(r.Path, "/act/"):
		return answer(r.Host.ActOnTask(ctx, id, "approve", string(r.Body)))
	case strings.HasPrefix(r.Path, "/instances/"):
		return answer(r.Host.WorkflowInstance(ctx, id))
	}
	return &sdk.Response{Status: 404}, nil
}

// engine stands for the workflow engine: it answers with what it was
// given, refuses task ids that name an error kind, and refuses to install
// the workflow refuse.
type engine struct {
	mu        sync.Mutex
	refuse    string
	installed map[string]string
}

func (e *engine) Install(_ context.Context, county, code string, definition json.RawMessage) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if code == e.refuse {
		return errs.Invalid("invalid_workflow", "steps[0].assignee: no role nobody in the county")
	}
	e.installed[county+" "+code] = string(definition)
	return nil
}

func (e *engine) Start(_ context.Context, c host.Capability, code, title string) (json.RawMessage, error) {
	return json.Marshal(map[string]any{"county": c.County, "workflow": code, "title": title, "login": c.Caller.Login, "roles": c.Roles})
}

// flowsOwn are the flows module's workflows as a county knows them: the
// only ones whose instances it may reach.
var flowsOwn = []string{"flows.archive", "flows.review"}

func (e *engine) Act(_ context.Context, c host.Capability, own []string, taskID int64, action, comment string) (json.RawMessage, error) {
	if !slices.Equal(own, flowsOwn) {
		return nil, fmt.Errorf("the host let the plugin reach the workflows %v", own)
	}
	switch taskID {
	case 400:
		return nil, errs.Invalid("x", "no action %s", action)
	case 403:
		return nil, errs.E(errs.KindForbidden, "x", "task waits for someone else")
	case 404:
		return nil, errs.NotFound("x", "no task %d", taskID)
	case 409:
		return nil, errs.Conflict("x", "task already acted on")
	case 500:
		return nil, fmt.Errorf("dial tcp 10.0.0.7:3306: secret internals")
	}
	return json.Marshal(map[string]any{"county": c.County, "task": taskID, "action": action, "comment": comment})
}

func (e *engine) Instance(_ context.Context, c host.Capability, own []string, id int64) (json.RawMessage, error) {
	if !slices.Equal(own, flowsOwn) {
		return nil, fmt.Errorf("the host let the plugin reach the workflows %v", own)
	}
	return json.Marshal(map[string]any{"county": c.County, "id": id})
}

// The HostWorkflows service's calls are tested against the real engine
// in cmd/countycloud (TestAModuleRunsItsWorkflowsForUnitsThroughTheTypedSDK);
// this engine answers them with what the host passed on.
func (e *engine) StartFor(_ context.Context, c host.Capability, code string, in host.StartFor) (json.RawMessage, error) {
	return json.Marshal(map[string]any{"county": c.County, "workflow": code, "in": in})
}

func (e *engine) ActWith(_ context.Context, c host.Capability, own []string, taskID int64, in host.ActWith) (json.RawMessage, error) {
	return json.Marshal(map[string]any{"county": c.County, "own": own, "task": taskID, "in": in})
}

func (e *engine) Instances(_ context.Context, c host.Capability, own []string, q host.ListQuery) (json.RawMessage, error) {
	return json.Marshal(map[string]any{"county": c.County, "own": own, "q": q})
}

func (e *engine) Tasks(_ context.Context, c host.Capability, own []string, q host.ListQuery) (json.RawMessage, error) {
	return json.Marshal(map[string]any{"county": c.County, "own": own, "q": q})
}

func (e *engine) Suspend(_ context.Context, c host.Capability, own []string, id int64, reason string) (json.RawMessage, error) {
	return json.Marshal(map[string]any{"county": c.County, "own": own, "id": id, "reason": reason})
}

func (e *engine) Resume(_ context.Context, c host.Capability, own []string, id int64, comment string) (json.RawMessage, error) {
	return json.Marshal(map[string]any{"county": c.County, "own": own, "id": id, "comment": comment})
}

func TestAPluginRunsItsOwnWorkflowsInItsCountyAsTheCaller(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.deps.Workflows = &engine{installed: map[string]string{}}
	f.bin.Manifest, f.bin.Env = flowsManifest, []string{pluginEnv + "=flows"}
	p := launch(t, f)
	do := func(county, path, body string) (int, string) {
		t.Helper()
		resp, err := p.Handle(context.Background(), county, &pluginv1.HandleRequest{Method: "POST", Path: path, Body: []byte(body), RequestId: path,
			Caller: &pluginv1.Caller{Kind: "account", Login: "zhang", AccountId: 7, UnitId: 3, Roles: []string{"clerk", "leader"}}})
		if err != nil {
			t.Fatal(err)
		}
		return int(resp.GetStatus()), string(resp.GetBody())
	}
	status, body := do(wengyuan, "/start/review", "来文")
	var started struct {
		County, Workflow, Title, Login string
		Roles                          []string
	}
	if err := json.Unmarshal([]byte(body), &started); status != 200 || err != nil {
		t.Fatalf("start = %d %s", status, body)
	}
	if started.County != wengyuan || started.Workflow != "flows.review" || started.Title != "来文" || started.Login != "zhang" || strings.Join(started.Roles, ",") != "clerk,leader" {
		t.Errorf("the engine was asked %+v", started)
	}
	if status, body := do(lechang, "/act/12", "同意"); status != 200 || body != `{"action":"approve","comment":"同意","county":"`+lechang+`","task":12}` {
		t.Errorf("act = %d %s", status, body)
	}
	if status, body := do(lechang, "/instances/5", ""); status != 200 || body != `{"county":"`+lechang+`","id":5}` {
		t.Errorf("instance = %d %s", status, body)
	}
	// Another module's workflow, or the platform's, is not the plugin's
	// to start.
	for _, code := range []string{"incoming", "office.incoming"} {
		if status, body := do(wengyuan, "/start/"+code, "x"); status != 400 || !strings.HasPrefix(body, "not found") {
			t.Errorf("start %s = %d %s, want not found", code, status, body)
		}
	}
	for task, want := range map[int]string{400: "invalid: no action approve", 403: "denied: task waits for someone else", 404: "not found: no task 404",
		409: "changed meanwhile: task already acted on"} {
		if status, body := do(wengyuan, fmt.Sprintf("/act/%d", task), ""); status != 400 || body != want {
			t.Errorf("act on %d = %d %s, want %s", task, status, body, want)
		}
	}
	if status, body := do(wengyuan, "/act/500", ""); status != 400 || strings.Contains(body, "secret") || !strings.Contains(body, "logged") {
		t.Errorf("a fault of the engine = %d %s, want it hidden", status, body)
	}
}

func TestEnablingAModuleInstallsItsWorkflowsOrSaysWhichIsRefused(t *testing.T) {
	t.Parallel()
	f := setup(t)
	eng := &engine{installed: map[string]string{}}
	f.deps.Workflows = eng
	dir := t.TempDir()
	svc := host.NewService(host.NewMySQLRepository(f.db.Control), anyCounty{}, f.deps, fastOptions(), dir, nil)
	t.Cleanup(svc.Manager().Close)
	script := fmt.Sprintf("#!/bin/sh\n%s=flows exec %q\n", pluginEnv, f.bin.Path)
	if err := os.WriteFile(filepath.Join(dir, "flows"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	sum, err := host.FileSHA256(filepath.Join(dir, "flows"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := svc.Register(ctx, "operator", host.RegisterInput{File: "flows", SHA256: hex.EncodeToString(sum)}); err != nil {
		t.Fatal(err)
	}
	eng.refuse = "flows.review"
	_, err = svc.Enable(ctx, wengyuan, "flows", "admin", host.EnableInput{})
	var e *errs.Error
	if !errors.As(err, &e) || e.Kind != errs.KindInvalid || e.Code != host.CodeInvalidWorkflow ||
		e.Message != "workflow review of flows 1.0.0: steps[0].assignee: no role nobody in the county" {
		t.Fatalf("enable with a workflow the engine refuses = %v, want invalid naming it", err)
	}
	if _, err := svc.Serve(ctx, wengyuan, "flows", &pluginv1.HandleRequest{Method: "POST", Path: "/start/review"}); errs.CodeOf(err) != host.CodeModuleNotEnabled {
		t.Errorf("the module after a refused enable: %v, want it not enabled", err)
	}
	eng.refuse = ""
	if _, err := svc.Enable(ctx, wengyuan, "flows", "admin", host.EnableInput{}); err != nil {
		t.Fatal(err)
	}
	for _, code := range []string{"flows.archive", "flows.review"} {
		var d struct{ Code, Name string }
		if err := json.Unmarshal([]byte(eng.installed[wengyuan+" "+code]), &d); err != nil || d.Code != code {
			t.Errorf("installed as %s: %+v %v", code, d, err)
		}
	}
}
