package workflow

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/go-kit/kit/endpoint"
	httptransport "github.com/go-kit/kit/transport/http"

	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/kit"
	flow "github.com/countycloud/countycloud/core/workflow"
)

// Routes serves a county's workflows under /v1/tenants/{code}:
//
//	GET        /workflows                          the county's workflows at their current revisions
//	GET, PUT   /workflows/{workflow}               one; PUT stores its owner's new version (the definition as JSON)
//	PUT        /workflows/{workflow}/localization  the county's changes: {"insert": […], "time_limits": {…}, "remove": […]}
//	POST       /instances                          {"workflow", "title", "reference", "sms_reminder", "subject_unit_id"} starts one
//	GET        /instances/{id}                     an instance with its tasks and history
//	GET        /instances/{id}/distributed         the instances its distribution started, one per recipient unit
//	POST       /instances/{id}/withdraw            {"comment"}: its initiator takes it back
//	POST       /instances/{id}/suspend             {"reason"}: an assignee stops its clock, waiting on the applicant (补正)
//	POST       /instances/{id}/resume              {"comment"}: an assignee of a suspended task starts it again
//	GET        /tasks?unit_id=&after=&limit=       the caller's inbox, or a unit's
//	POST       /tasks/{id}/act                     {"action", "comment", "sms_reminder", "route_unit_id", "recipient_unit_ids"}
func (s *Service) Routes(guard func(route string) endpoint.Middleware, opts ...httptransport.ServerOption) []kit.Route {
	const base = "/v1/tenants/{code}"
	ok := kit.EncodeJSON(http.StatusOK)
	created := kit.EncodeJSON(http.StatusCreated)
	route := func(method, path, name string, e endpoint.Endpoint, dec httptransport.DecodeRequestFunc, enc httptransport.EncodeResponseFunc) kit.Route {
		return kit.Route{Method: method, Pattern: base + path, Name: name, Handler: kit.NewServer(guard(name), e, dec, enc, opts...)}
	}
	return []kit.Route{
		route("GET", "/workflows", "workflow.definitions.list", func(ctx context.Context, req any) (any, error) {
			return s.Definitions(ctx, req.(request[none]).tenant)
		}, decode[none](false), ok),
		route("GET", "/workflows/{workflow}", "workflow.definitions.get", func(ctx context.Context, req any) (any, error) {
			r := req.(request[none])
			return s.Definition(ctx, r.tenant, r.workflow)
		}, decode[none](false), ok),
		route("PUT", "/workflows/{workflow}", "workflow.definitions.put", func(ctx context.Context, req any) (any, error) {
			r := req.(request[json.RawMessage])
			return s.PutDefinition(ctx, r.tenant, r.workflow, r.body)
		}, decode[json.RawMessage](true), ok),
		route("PUT", "/workflows/{workflow}/localization", "workflow.definitions.localize", func(ctx context.Context, req any) (any, error) {
			r := req.(request[flow.Local])
			return s.Localize(ctx, r.tenant, r.workflow, r.body)
		}, decode[flow.Local](true), ok),
		route("POST", "/instances", "workflow.instances.start", func(ctx context.Context, req any) (any, error) {
			r := req.(request[StartInput])
			return s.Start(ctx, r.tenant, r.body)
		}, decode[StartInput](true), created),
		route("GET", "/instances/{id}", "workflow.instances.get", func(ctx context.Context, req any) (any, error) {
			r := req.(request[none])
			return s.Instance(ctx, r.tenant, r.id)
		}, decode[none](false), ok),
		route("GET", "/instances/{id}/distributed", "workflow.instances.distributed", func(ctx context.Context, req any) (any, error) {
			r := req.(request[none])
			return s.Distributed(ctx, r.tenant, r.id)
		}, decode[none](false), ok),
		route("POST", "/instances/{id}/withdraw", "workflow.instances.withdraw", func(ctx context.Context, req any) (any, error) {
			r := req.(request[withdrawInput])
			return s.Withdraw(ctx, r.tenant, r.id, r.body.Comment)
		}, decode[withdrawInput](true), ok),
		route("POST", "/instances/{id}/suspend", "workflow.instances.suspend", func(ctx context.Context, req any) (any, error) {
			r := req.(request[SuspendInput])
			return s.Suspend(ctx, r.tenant, r.id, r.body)
		}, decode[SuspendInput](true), ok),
		route("POST", "/instances/{id}/resume", "workflow.instances.resume", func(ctx context.Context, req any) (any, error) {
			r := req.(request[ResumeInput])
			return s.Resume(ctx, r.tenant, r.id, r.body)
		}, decode[ResumeInput](true), ok),
		route("GET", "/tasks", "workflow.tasks.inbox", func(ctx context.Context, req any) (any, error) {
			r := req.(request[none])
			return s.Inbox(ctx, r.tenant, r.inbox)
		}, decode[none](false), ok),
		route("POST", "/tasks/{id}/act", "workflow.tasks.act", func(ctx context.Context, req any) (any, error) {
			r := req.(request[ActInput])
			return s.Act(ctx, r.tenant, r.id, r.body)
		}, decode[ActInput](true), ok),
	}
}

// none is the body of a request that has none.
type none struct{}

type withdrawInput struct {
	Comment string `json:"comment"`
}

type request[T any] struct {
	tenant, workflow string
	id               int64
	inbox            InboxFilter
	body             T
}

// decode reads the path, the inbox's query and, with body, the JSON body
// into T (an empty body leaves T zero).
func decode[T any](body bool) httptransport.DecodeRequestFunc {
	return func(_ context.Context, r *http.Request) (any, error) {
		req := request[T]{tenant: r.PathValue("code"), workflow: r.PathValue("workflow")}
		if s := r.PathValue("id"); s != "" {
			id, err := strconv.ParseInt(s, 10, 64)
			if err != nil || id <= 0 {
				return nil, errs.NotFound(errs.CodeNotFound, "nothing at %s", r.URL.Path)
			}
			req.id = id
		}
		q := r.URL.Query()
		for name, dst := range map[string]*int64{"unit_id": &req.inbox.Unit, "after": &req.inbox.After} {
			if s := q.Get(name); s != "" {
				v, err := strconv.ParseInt(s, 10, 64)
				if err != nil || v < 0 {
					return nil, errs.Invalid(CodeInvalidRequest, "%s %q is not an id", name, s)
				}
				*dst = v
			}
		}
		if s := q.Get("limit"); s != "" {
			v, err := strconv.Atoi(s)
			if err != nil || v < 1 || v > MaxInboxLimit {
				return nil, errs.Invalid(CodeInvalidRequest, "limit %q: give 1 to %d", s, MaxInboxLimit)
			}
			req.inbox.Limit = v
		}
		if body && r.ContentLength != 0 {
			if err := kit.DecodeJSON(r, &req.body); err != nil {
				return nil, err
			}
		}
		return req, nil
	}
}
