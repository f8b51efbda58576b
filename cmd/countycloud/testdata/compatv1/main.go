// Command compatv1 is a module written against the plugin SDK of
// protocol 1 as it was before issue 16 (../sdk-v1, a frozen copy): it
// keeps records, sends notices, audits, and runs a workflow of its
// manifest, so that a test can run it on today's host unchanged.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"github.com/countycloud/countycloud/plugins/sdk"
)

func main() {
	sdk.Serve(sdk.Manifest{ID: "compat", Name: "兼容", Vendor: "CountyCloud tests", Version: "1.0.0", Protocol: sdk.ProtocolVersion,
		Collections: map[string]sdk.Collection{"items": {Indexed: []string{"status"}}},
		Workflows: map[string]json.RawMessage{"check": json.RawMessage(`{"name":"核对","version":1,"start":"check",
"steps":[{"id":"check","name":"核对","assignee":{"role":"clerk","relative":"initiator_unit"},"time_limit":{"working_days":2},
"actions":[{"name":"approve","label":"同意","to":"end"}]}]}`)}}, compat{})
}

type compat struct{}

// Handle serves PUT /items/{id}?version=N, GET /items/{id}, GET
// /items?status=…, DELETE /items/{id}?version=N, POST /notify (a JSON
// sdk.Notice), POST /start (the title), POST /tasks/{id}/{action} (the
// comment), GET /instances/{id} and GET /whoami.
func (compat) Handle(ctx context.Context, r *sdk.Request) (*sdk.Response, error) {
	parts := strings.Split(strings.Trim(r.Path, "/"), "/")
	version, _ := strconv.ParseInt(strings.TrimPrefix(r.Query, "version="), 10, 64)
	var (
		out any
		err error
	)
	switch {
	case r.Method == "PUT" && len(parts) == 2 && parts[0] == "items":
		var rec sdk.Record
		rec, err = r.Host.Put(ctx, "items", parts[1], version, json.RawMessage(r.Body))
		if err == nil {
			err = r.Host.Audit(ctx, sdk.AuditEntry{Action: "item.put", ObjectType: "item", ObjectID: parts[1], After: json.RawMessage(r.Body)})
		}
		out = rec
	case r.Method == "GET" && len(parts) == 2 && parts[0] == "items":
		out, err = r.Host.Get(ctx, "items", parts[1])
	case r.Method == "GET" && r.Path == "/items":
		var page sdk.Page
		page, err = r.Host.Query(ctx, "items", sdk.Query{Where: map[string]string{"status": strings.TrimPrefix(r.Query, "status=")}})
		out = page.Records
	case r.Method == "DELETE" && len(parts) == 2 && parts[0] == "items":
		err = r.Host.Delete(ctx, "items", parts[1], version)
		out = map[string]bool{"deleted": err == nil}
	case r.Method == "POST" && r.Path == "/notify":
		var n sdk.Notice
		if err := json.Unmarshal(r.Body, &n); err != nil {
			return &sdk.Response{Status: 400, Body: []byte(err.Error())}, nil
		}
		err = r.Host.Notify(ctx, n)
		out = map[string]bool{"sent": err == nil}
	case r.Method == "POST" && r.Path == "/start":
		out, err = r.Host.StartWorkflow(ctx, "check", string(r.Body))
	case r.Method == "POST" && len(parts) == 3 && parts[0] == "tasks":
		id, _ := strconv.ParseInt(parts[1], 10, 64)
		out, err = r.Host.ActOnTask(ctx, id, parts[2], string(r.Body))
	case r.Method == "GET" && len(parts) == 2 && parts[0] == "instances":
		id, _ := strconv.ParseInt(parts[1], 10, 64)
		out, err = r.Host.WorkflowInstance(ctx, id)
	case r.Method == "GET" && r.Path == "/whoami":
		out = r.Caller
	default:
		return &sdk.Response{Status: 404, Body: []byte("no such route")}, nil
	}
	switch {
	case errors.Is(err, sdk.ErrNotFound):
		return &sdk.Response{Status: 404, Body: []byte(err.Error())}, nil
	case errors.Is(err, sdk.ErrConflict):
		return &sdk.Response{Status: 409, Body: []byte(err.Error())}, nil
	case errors.Is(err, sdk.ErrDenied):
		return &sdk.Response{Status: 403, Body: []byte(err.Error())}, nil
	case err != nil:
		return &sdk.Response{Status: 400, Body: []byte(err.Error())}, nil
	}
	body, err := json.Marshal(out)
	if err != nil {
		return nil, err
	}
	return &sdk.Response{Header: map[string]string{"Content-Type": "application/json"}, Body: body}, nil
}
