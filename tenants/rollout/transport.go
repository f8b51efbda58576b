package rollout

import (
	"context"
	"net/http"

	"github.com/go-kit/kit/endpoint"
	httptransport "github.com/go-kit/kit/transport/http"

	"github.com/countycloud/countycloud/core/kit"
)

// Routes serves the province's templates under /v1/rollout and a
// county's rollout under /v1/tenants/{code}/rollout:
//
//	GET   /v1/rollout/overview?city=&phase=     every county's phase, gate progress, blockers, key figures
//	GET   /v1/rollout/templates                 the default template and the province's
//	PUT   /v1/rollout/templates                 a template (its id names it)
//	POST  …/rollout/plan                        {"template": "", "start": "2026-09-01", "trial": "2026-11-13", "key_units": {"oa": ["FGJ"]}}
//	GET   …/rollout/plan
//	PUT   …/rollout/plan                        {"version": 3, "plan": {…the plan's body…}}
//	GET   …/rollout/status                      the phase and its gate, evaluated now on a census taken now
//	POST  …/rollout/advance                     {"from": "preparation"}
//	POST  …/rollout/tasks/{task}/waive          {"reason": "…"}
//	POST  …/rollout/tasks/{task}/done           {"note": "…"}
//	GET   …/rollout/changes                     the county's phase changes
func (s *Service) Routes(guard func(route string) endpoint.Middleware, opts ...httptransport.ServerOption) []kit.Route {
	const county = "/v1/tenants/{code}/rollout"
	ok := kit.EncodeJSON(http.StatusOK)
	route := func(method, pattern, name string, e endpoint.Endpoint, dec httptransport.DecodeRequestFunc) kit.Route {
		return kit.Route{Method: method, Pattern: pattern, Name: name, Handler: kit.NewServer(guard(name), e, dec, ok, opts...)}
	}
	return []kit.Route{
		route("GET", "/v1/rollout/overview", "rollout.overview", func(ctx context.Context, req any) (any, error) {
			return s.Overview(ctx, req.(OverviewFilter))
		}, func(_ context.Context, r *http.Request) (any, error) {
			q := r.URL.Query()
			return OverviewFilter{City: q.Get("city"), Phase: q.Get("phase")}, nil
		}),
		route("GET", "/v1/rollout/templates", "rollout.templates.list", func(ctx context.Context, _ any) (any, error) {
			return s.Templates(ctx)
		}, decodeNothing),
		route("PUT", "/v1/rollout/templates", "rollout.templates.put", func(ctx context.Context, req any) (any, error) {
			return s.PutTemplate(ctx, req.([]byte))
		}, func(_ context.Context, r *http.Request) (any, error) { return kit.ReadJSON(r) }),
		route("POST", county+"/plan", "rollout.plan.create", func(ctx context.Context, req any) (any, error) {
			r := req.(body[PlanInput])
			return s.CreatePlan(ctx, r.county, r.in)
		}, decodeBody[PlanInput]),
		route("GET", county+"/plan", "rollout.plan.get", func(ctx context.Context, req any) (any, error) {
			return s.Plan(ctx, req.(request).county)
		}, decodeCounty),
		route("PUT", county+"/plan", "rollout.plan.edit", func(ctx context.Context, req any) (any, error) {
			r := req.(body[EditInput])
			return s.EditPlan(ctx, r.county, r.in.Version, r.in.Plan)
		}, decodeBody[EditInput]),
		route("GET", county+"/status", "rollout.status", func(ctx context.Context, req any) (any, error) {
			r := req.(request)
			if err := s.Refresh(ctx, r.county); err != nil {
				return nil, err
			}
			return s.Status(ctx, r.county)
		}, decodeCounty),
		route("POST", county+"/advance", "rollout.advance", func(ctx context.Context, req any) (any, error) {
			r := req.(body[AdvanceInput])
			return s.Advance(ctx, r.county, r.in.From)
		}, decodeBody[AdvanceInput]),
		route("POST", county+"/tasks/{task}/waive", "rollout.waive", func(ctx context.Context, req any) (any, error) {
			r := req.(body[WaiveInput])
			return s.Waive(ctx, r.county, r.task, r.in.Reason)
		}, decodeBody[WaiveInput]),
		route("POST", county+"/tasks/{task}/done", "rollout.task.done", func(ctx context.Context, req any) (any, error) {
			r := req.(body[DoneInput])
			return s.MarkDone(ctx, r.county, r.task, r.in.Note)
		}, decodeBody[DoneInput]),
		route("GET", county+"/changes", "rollout.changes", func(ctx context.Context, req any) (any, error) {
			return s.Changes(ctx, req.(request).county)
		}, decodeCounty),
	}
}

// EditInput replaces a plan read at Version.
type EditInput struct {
	Version int64    `json:"version"`
	Plan    PlanBody `json:"plan"`
}

// AdvanceInput names the phase the caller saw the county in.
type AdvanceInput struct {
	From string `json:"from"`
}

// WaiveInput says why a gating task is waived.
type WaiveInput struct {
	Reason string `json:"reason"`
}

// DoneInput says a manual task is done, with an optional note.
type DoneInput struct {
	Note string `json:"note"`
}

type request struct {
	county string
	task   string
}

type body[T any] struct {
	request
	in T
}

func decodeNothing(context.Context, *http.Request) (any, error) { return nil, nil }

func decodeCounty(_ context.Context, r *http.Request) (any, error) {
	return request{county: r.PathValue("code"), task: r.PathValue("task")}, nil
}

func decodeBody[T any](_ context.Context, r *http.Request) (any, error) {
	req := body[T]{request: request{county: r.PathValue("code"), task: r.PathValue("task")}}
	return req, kit.DecodeJSON(r, &req.in)
}
