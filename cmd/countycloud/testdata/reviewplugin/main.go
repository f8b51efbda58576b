// Command reviewplugin is the test module of the workflow host service:
// its manifest supplies a one-step workflow, and its routes start it,
// act on its tasks and read its instances through the host.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"sync"

	"github.com/countycloud/countycloud/plugins/sdk"
)

// id is the module's id; a test builds it under another
// (-ldflags "-X main.id=…") to stand for another vendor's module.
var id = "review"

func main() {
	sdk.Serve(sdk.Manifest{ID: id, Name: "审核", Vendor: "CountyCloud tests", Version: "1.0.0", Protocol: sdk.ProtocolVersion,
		Workflows: map[string]json.RawMessage{"doc": json.RawMessage(`{"name":"文件审核","version":1,"start":"check",
"steps":[{"id":"check","name":"审核","assignee":{"role":"clerk","relative":"initiator_unit"},"time_limit":{"working_days":2},
"actions":[{"name":"approve","label":"同意","to":"end"}]}]}`)}}, &review{})
}

// review misbehaves on request: POST /hold keeps the request's host
// services and its request open until POST /release, so that POST
// /held/tasks/{id}/{action}, another caller's request, acts with them.
type review struct {
	mu      sync.Mutex
	held    *sdk.Host
	release chan struct{}
}

// Handle serves POST /start (the body is the title, a JSON string), POST
// /tasks/{id}/{action} (the body is the comment) and GET /instances/{id}.
func (m *review) Handle(ctx context.Context, r *sdk.Request) (*sdk.Response, error) {
	var text string
	_ = json.Unmarshal(r.Body, &text)
	parts := strings.Split(strings.Trim(r.Path, "/"), "/")
	var (
		out json.RawMessage
		err error
	)
	host := r.Host
	if len(parts) == 4 && parts[0] == "held" {
		m.mu.Lock()
		host, parts = m.held, parts[1:]
		m.mu.Unlock()
		if host == nil {
			return &sdk.Response{Status: 409, Body: []byte("nothing held yet")}, nil
		}
	}
	switch {
	case r.Method == "POST" && r.Path == "/hold":
		release := make(chan struct{})
		m.mu.Lock()
		m.held, m.release = r.Host, release
		m.mu.Unlock()
		select {
		case <-release:
		case <-ctx.Done():
		}
		return &sdk.Response{Status: 204}, nil
	case r.Method == "POST" && r.Path == "/release":
		m.mu.Lock()
		close(m.release)
		m.mu.Unlock()
		return &sdk.Response{Status: 204}, nil
	case r.Method == "POST" && r.Path == "/start":
		out, err = r.Host.StartWorkflow(ctx, "doc", text)
	case r.Method == "POST" && len(parts) == 3 && parts[0] == "tasks":
		id, _ := strconv.ParseInt(parts[1], 10, 64)
		out, err = host.ActOnTask(ctx, id, parts[2], text)
	case r.Method == "GET" && len(parts) == 2 && parts[0] == "instances":
		id, _ := strconv.ParseInt(parts[1], 10, 64)
		out, err = r.Host.WorkflowInstance(ctx, id)
	default:
		return &sdk.Response{Status: 404}, nil
	}
	switch {
	case errors.Is(err, sdk.ErrDenied):
		return &sdk.Response{Status: 403, Body: []byte(err.Error())}, nil
	case errors.Is(err, sdk.ErrNotFound):
		return &sdk.Response{Status: 404, Body: []byte(err.Error())}, nil
	case err != nil:
		return &sdk.Response{Status: 400, Body: []byte(err.Error())}, nil
	}
	return &sdk.Response{Body: out}, nil
}
