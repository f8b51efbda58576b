package workflow

import (
	"bytes"
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
//	POST       /instances                          {"workflow", "title", "reference", "sms_reminder"} starts one
//	GET        /instances/{id}                     an instance with its tasks and history
//	POST       /instances/{id}/withdraw            {"comment"}: its initiator takes it back
//	GET        /tasks?unit_id=&after=&limit=       the caller's inbox, or a unit's
//	POST       /tasks/{id}/act                     {"action", "comment", "sms_reminder"}
func (s *Service) Routes(guard func(route string) endpoint.Middleware, opts ...httptransport.ServerOption) []kit.Route {
	const base = "/v1/tenants/{code}"
	ok := kit.EncodeJSON(http.StatusOK)
	created := kit.EncodeJSON(http.StatusCreated)
	route := func(method, path, name string, e endpoint.Endpoint, dec httptransport.DecodeRequestFunc, enc httptransport.EncodeResponseFunc) kit.Route {
		return kit.Route{Method: method, Pattern: base + path, Name: name, Handler: kit.NewServer(guard(name), e, dec, enc, opts...)}
	}
	return []kit.Route{
		route("GET", "/workflows", "workflow.definitions.list", func(ctx context.Context, req any) (any, error) {
			return s.Definitions(ctx, req.(request).tenant)
		}, decode(false), ok),
		route("GET", "/workflows/{workflow}", "workflow.definitions.get", func(ctx context.Context, req any) (any, error) {
			r := req.(request)
			return s.Definition(ctx, r.tenant, r.workflow)
		}, decode(false), ok),
		route("PUT", "/workflows/{workflow}", "workflow.definitions.put", func(ctx context.Context, req any) (any, error) {
			r := req.(request)
			return s.PutDefinition(ctx, r.tenant, r.workflow, r.body)
		}, decode(true), ok),
		route("PUT", "/workflows/{workflow}/localization", "workflow.definitions.localize", func(ctx context.Context, req any) (any, error) {
			r := req.(request)
			var local flow.Local
			if err := strict(r.body, &local); err != nil {
				return nil, err
			}
			return s.Localize(ctx, r.tenant, r.workflow, local)
		}, decode(true), ok),
		route("POST", "/instances", "workflow.instances.start", func(ctx context.Context, req any) (any, error) {
			r := req.(request)
			var in StartInput
			if err := strict(r.body, &in); err != nil {
				return nil, err
			}
			return s.Start(ctx, r.tenant, in)
		}, decode(true), created),
		route("GET", "/instances/{id}", "workflow.instances.get", func(ctx context.Context, req any) (any, error) {
			r := req.(request)
			return s.Instance(ctx, r.tenant, r.id)
		}, decode(false), ok),
		route("POST", "/instances/{id}/withdraw", "workflow.instances.withdraw", func(ctx context.Context, req any) (any, error) {
			r := req.(request)
			var in struct {
				Comment string `json:"comment"`
			}
			if err := strict(r.body, &in); err != nil {
				return nil, err
			}
			return s.Withdraw(ctx, r.tenant, r.id, in.Comment)
		}, decode(true), ok),
		route("GET", "/tasks", "workflow.tasks.inbox", func(ctx context.Context, req any) (any, error) {
			r := req.(request)
			return s.Inbox(ctx, r.tenant, r.inbox)
		}, decode(false), ok),
		route("POST", "/tasks/{id}/act", "workflow.tasks.act", func(ctx context.Context, req any) (any, error) {
			r := req.(request)
			var in ActInput
			if err := strict(r.body, &in); err != nil {
				return nil, err
			}
			return s.Act(ctx, r.tenant, r.id, in)
		}, decode(true), ok),
	}
}

type request struct {
	tenant, workflow string
	id               int64
	inbox            InboxFilter
	body             json.RawMessage
}

// decode reads the path, the inbox's query and, with body, the JSON
// body (an empty one counts as {}).
func decode(body bool) httptransport.DecodeRequestFunc {
	return func(_ context.Context, r *http.Request) (any, error) {
		req := request{tenant: r.PathValue("code"), workflow: r.PathValue("workflow"), body: json.RawMessage("{}")}
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

// strict reads a body into dst, refusing fields dst does not have.
func strict(body json.RawMessage, dst any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return errs.Invalid(errs.CodeInvalidJSON, "request body: %v", err)
	}
	return nil
}
