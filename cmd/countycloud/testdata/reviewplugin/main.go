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

	"github.com/countycloud/countycloud/plugins/sdk"
)

// id is the module's id; a test builds it under another
// (-ldflags "-X main.id=…") to stand for another vendor's module.
var id = "review"

func main() {
	sdk.Serve(sdk.Manifest{ID: id, Name: "审核", Vendor: "CountyCloud tests", Version: "1.0.0", Protocol: sdk.ProtocolVersion,
		Workflows: map[string]json.RawMessage{"doc": json.RawMessage(`{"name":"文件审核","version":1,"start":"check",
"steps":[{"id":"check","name":"审核","assignee":{"role":"clerk","relative":"initiator_unit"},"time_limit":{"working_days":2},
"actions":[{"name":"approve","label":"同意","to":"end"}]}]}`)}}, review{})
}

type review struct{}

// Handle serves POST /start (the body is the title, a JSON string), POST
// /tasks/{id}/{action} (the body is the comment) and GET /instances/{id}.
func (review) Handle(ctx context.Context, r *sdk.Request) (*sdk.Response, error) {
	var text string
	_ = json.Unmarshal(r.Body, &text)
	parts := strings.Split(strings.Trim(r.Path, "/"), "/")
	var (
		out json.RawMessage
		err error
	)
	switch {
	case r.Method == "POST" && r.Path == "/start":
		out, err = r.Host.StartWorkflow(ctx, "doc", text)
	case r.Method == "POST" && len(parts) == 3 && parts[0] == "tasks":
		id, _ := strconv.ParseInt(parts[1], 10, 64)
		out, err = r.Host.ActOnTask(ctx, id, parts[2], text)
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
