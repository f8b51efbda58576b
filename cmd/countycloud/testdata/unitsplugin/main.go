// Command unitsplugin is the test module of the HostWorkflows and
// HostSuspension services: its workflows send a document to units
// (distribution), receive it in each (subject units) and route a message
// to a unit, and its routes drive them through the SDK's typed calls,
// suspending and resuming them too (a public route resumes one for
// anyone, as a module would for an applicant whose code it checked, and
// starts the receiving workflow, which its manifest lets public routes
// start, for a citizen's submission). A citizen's letter is handed in
// in one call (Submit): the record, its receipt's number and the intake
// workflow, taken in by the office it is started from and answered by
// the subject unit.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strconv"
	"strings"

	"github.com/countycloud/countycloud/plugins/sdk"
)

// id is the module's id; a test builds it under another
// (-ldflags "-X main.id=…") to stand for another vendor's module.
var id = "dispatch"

const (
	send = `{"name":"发文","version":1,"start":"distribute","steps":[
{"id":"distribute","name":"分发","assignee":{"role":"clerk","relative":"initiator_unit"},"time_limit":{"working_days":1},
 "actions":[{"name":"distribute","to":"end","distribute":"receive"}]}]}`
	receive = `{"name":"收文","version":1,"start":"sign_in","steps":[
{"id":"sign_in","name":"签收","assignee":{"role":"clerk","relative":"subject_unit"},"time_limit":{"working_days":1},
 "actions":[{"name":"sign_in","to":"end"}]}]}`
	message = `{"name":"留言","version":1,"start":"dispatch","time_limit":{"working_days":5},"steps":[
{"id":"dispatch","name":"分办","assignee":{"role":"clerk","relative":"initiator_unit"},"actions":[{"name":"assign","to":"answer"}]},
{"id":"answer","name":"答复","assignee":{"role":"clerk","relative":"subject_unit"},"routed":true,"actions":[{"name":"answer","to":"end"}]}]}`
	intake = `{"name":"来信受理","version":1,"start":"review","time_limit":{"working_days":5},"steps":[
{"id":"review","name":"受理","assignee":{"role":"clerk","relative":"initiator_unit"},"actions":[{"name":"accept","to":"answer"}]},
{"id":"answer","name":"答复","assignee":{"role":"clerk","relative":"subject_unit"},"actions":[{"name":"answer","to":"end"}]}]}`
)

func main() {
	sdk.Serve(sdk.Manifest{ID: id, Name: "分发", Vendor: "CountyCloud tests", Version: "1.0.0", Protocol: sdk.ProtocolVersion,
		Workflows: map[string]json.RawMessage{"send": json.RawMessage(send), "receive": json.RawMessage(receive), "message": json.RawMessage(message),
			"intake": json.RawMessage(intake)},
		PublicStart: []string{"receive", "intake"},
		Collections: map[string]sdk.Collection{"letters": {Indexed: []string{"number"}}},
		Public: []sdk.PublicRoute{{Method: "POST", Path: "/public/resume/{id}"}, {Method: "POST", Path: "/public/start/{workflow}"},
			{Method: "POST", Path: "/public/submit/{workflow}"}}},
		units{})
}

type units struct{}

// body is what POST routes take: a start's or an action's options.
type body struct {
	Title            string  `json:"title"`
	SubjectUnitID    int64   `json:"subject_unit_id"`
	RouteUnitID      int64   `json:"route_unit_id"`
	RecipientUnitIDs []int64 `json:"recipient_unit_ids"`
	Reason           string  `json:"reason"`
	TimeLimitDays    int     `json:"time_limit_days"`
	RecipientDays    []int   `json:"recipient_time_limit_days"`
	InitiatorUnitID  int64   `json:"initiator_unit_id"`
	// LetterID is the record a submission writes.
	LetterID string `json:"letter_id"`
}

// Handle serves POST /start/{workflow}, POST /tasks/{id}/{action}, POST
// /instances/{id}/suspend {"reason"} and /instances/{id}/resume, POST
// /public/resume/{id}, POST /public/start/{workflow}, POST
// /submit/{workflow} and /public/submit/{workflow} {"letter_id", start's
// options} (the workflow "none" starts none), GET
// /instances/{id}, and GET /instances and /tasks with the query's
// workflow, status, unit_id, parent_id, instance_id, after and limit.
func (units) Handle(ctx context.Context, r *sdk.Request) (*sdk.Response, error) {
	var in body
	_ = json.Unmarshal(r.Body, &in)
	parts := strings.Split(strings.Trim(r.Path, "/"), "/")
	q, _ := url.ParseQuery(r.Query)
	num := func(name string) int64 { n, _ := strconv.ParseInt(q.Get(name), 10, 64); return n }
	query := sdk.WorkflowQuery{Workflow: q.Get("workflow"), Status: q.Get("status"), UnitID: num("unit_id"), ParentID: num("parent_id"),
		InstanceID: num("instance_id"), After: num("after"), Limit: int(num("limit"))}
	var (
		out any
		err error
	)
	switch {
	case r.Method == "POST" && len(parts) == 2 && parts[0] == "start":
		out, err = r.Host.StartWorkflowFor(ctx, parts[1], in.start())
	case r.Method == "POST" && len(parts) == 3 && parts[0] == "tasks":
		task, _ := strconv.ParseInt(parts[1], 10, 64)
		out, err = r.Host.ActOnTaskWith(ctx, task, parts[2], sdk.ActOptions{RouteUnitID: in.RouteUnitID, RecipientUnitIDs: in.RecipientUnitIDs,
			RecipientTimeLimitDays: in.RecipientDays})
	case r.Method == "POST" && len(parts) == 3 && parts[0] == "instances" && parts[2] == "suspend":
		instance, _ := strconv.ParseInt(parts[1], 10, 64)
		out, err = r.Host.SuspendWorkflow(ctx, instance, in.Reason)
	case r.Method == "POST" && len(parts) == 3 && parts[0] == "instances" && parts[2] == "resume":
		instance, _ := strconv.ParseInt(parts[1], 10, 64)
		out, err = r.Host.ResumeWorkflow(ctx, instance, "")
	case r.Method == "POST" && len(parts) == 3 && parts[0] == "public" && parts[1] == "resume":
		instance, _ := strconv.ParseInt(parts[2], 10, 64)
		out, err = r.Host.ResumeWorkflow(ctx, instance, "材料已补正")
	case r.Method == "POST" && len(parts) == 3 && parts[0] == "public" && parts[1] == "start":
		out, err = r.Host.StartWorkflowFor(ctx, parts[2], in.start())
	case r.Method == "POST" && len(parts) >= 2 && parts[len(parts)-2] == "submit":
		s := sdk.Submission{Collection: "letters", ID: in.LetterID, Document: map[string]string{"title": in.Title}, NumberField: "number"}
		if workflow := parts[len(parts)-1]; workflow != "none" {
			s.Workflow, s.Start, s.InstanceField = workflow, in.start(), "instance_id"
		}
		out, err = r.Host.Submit(ctx, s)
	case r.Method == "GET" && len(parts) == 2 && parts[0] == "instances":
		instance, _ := strconv.ParseInt(parts[1], 10, 64)
		out, err = r.Host.WorkflowInstanceView(ctx, instance)
	case r.Method == "GET" && r.Path == "/instances":
		out, err = r.Host.ListWorkflowInstances(ctx, query)
	case r.Method == "GET" && r.Path == "/tasks":
		out, err = r.Host.ListWorkflowTasks(ctx, query)
	default:
		return &sdk.Response{Status: 404}, nil
	}
	switch {
	case errors.Is(err, sdk.ErrDenied):
		return &sdk.Response{Status: 403, Body: []byte(err.Error())}, nil
	case errors.Is(err, sdk.ErrNotFound):
		return &sdk.Response{Status: 404, Body: []byte(err.Error())}, nil
	case errors.Is(err, sdk.ErrConflict):
		return &sdk.Response{Status: 409, Body: []byte(err.Error())}, nil
	case err != nil:
		return &sdk.Response{Status: 400, Body: []byte(err.Error())}, nil
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, err
	}
	return &sdk.Response{Body: b}, nil
}

// start is the start's options the body gives.
func (in body) start() sdk.StartOptions {
	return sdk.StartOptions{Title: in.Title, SubjectUnitID: in.SubjectUnitID, TimeLimitDays: in.TimeLimitDays, InitiatorUnitID: in.InitiatorUnitID}
}
