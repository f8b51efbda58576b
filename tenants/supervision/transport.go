package supervision

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/go-kit/kit/endpoint"
	httptransport "github.com/go-kit/kit/transport/http"

	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/kit"
)

// Routes serves a county's supervision under /v1/tenants/{code}/supervision:
//
//	GET, PUT  /settings                {"warn_share": 0.8, "supervising_unit": "JCJ"}
//	GET       /tasks?level=&unit_id=&after=&limit=     open yellow and red tasks, the earliest deadline first
//	POST      /tasks/{id}/escalate     {"note": "…"}
//	POST      /tasks/{id}/reassign     {"account_id": 7} or {"unit_id": 3, "role": "clerk"}, with an optional "note"
//	GET       /stats?from=2026-01-01&to=2026-12-31&unit_id=
//	GET       /events?task_id=&unit_id=&kind=&before=&limit=
func (s *Service) Routes(guard func(route string) endpoint.Middleware, opts ...httptransport.ServerOption) []kit.Route {
	const base = "/v1/tenants/{code}/supervision"
	ok := kit.EncodeJSON(http.StatusOK)
	route := func(method, path, name string, e endpoint.Endpoint, dec httptransport.DecodeRequestFunc) kit.Route {
		return kit.Route{Method: method, Pattern: base + path, Name: name, Handler: kit.NewServer(guard(name), e, dec, ok, opts...)}
	}
	return []kit.Route{
		route("GET", "/settings", "supervision.settings.get", func(ctx context.Context, req any) (any, error) {
			return s.Settings(ctx, req.(request).tenant)
		}, decodeTenant),
		route("PUT", "/settings", "supervision.settings.set", func(ctx context.Context, req any) (any, error) {
			r := req.(settingsRequest)
			return s.SetSettings(ctx, r.tenant, r.in)
		}, decodeSettings),
		route("GET", "/tasks", "supervision.tasks.list", func(ctx context.Context, req any) (any, error) {
			r := req.(tasksRequest)
			return s.Tasks(ctx, r.tenant, r.filter, time.Now())
		}, decodeTasks),
		route("POST", "/tasks/{id}/escalate", "supervision.task.escalate", func(ctx context.Context, req any) (any, error) {
			r := req.(escalateRequest)
			return s.Escalate(ctx, r.tenant, r.task, r.in)
		}, decodeEscalate),
		route("POST", "/tasks/{id}/reassign", "supervision.task.reassign", func(ctx context.Context, req any) (any, error) {
			r := req.(reassignRequest)
			return s.Reassign(ctx, r.tenant, r.task, r.in)
		}, decodeReassign),
		route("GET", "/stats", "supervision.stats", func(ctx context.Context, req any) (any, error) {
			r := req.(statsRequest)
			return s.Stats(ctx, r.tenant, r.period, r.unit, time.Now())
		}, decodeStats),
		route("GET", "/events", "supervision.events.list", func(ctx context.Context, req any) (any, error) {
			r := req.(eventsRequest)
			return s.Events(ctx, r.tenant, r.filter)
		}, decodeEvents),
	}
}

type request struct {
	tenant string
	task   int64
}

func decodeTenant(_ context.Context, r *http.Request) (any, error) {
	return request{tenant: r.PathValue("code")}, nil
}

func decodeTask(r *http.Request) (request, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return request{}, errs.NotFound(CodeTaskNotFound, "%q is not a task id", r.PathValue("id"))
	}
	return request{tenant: r.PathValue("code"), task: id}, nil
}

type settingsRequest struct {
	request
	in SettingsInput
}

func decodeSettings(_ context.Context, r *http.Request) (any, error) {
	req := settingsRequest{request: request{tenant: r.PathValue("code")}}
	return req, kit.DecodeJSON(r, &req.in)
}

type escalateRequest struct {
	request
	in EscalateInput
}

func decodeEscalate(_ context.Context, r *http.Request) (any, error) {
	t, err := decodeTask(r)
	if err != nil {
		return nil, err
	}
	req := escalateRequest{request: t}
	return req, kit.DecodeJSON(r, &req.in)
}

type reassignRequest struct {
	request
	in ReassignInput
}

func decodeReassign(_ context.Context, r *http.Request) (any, error) {
	t, err := decodeTask(r)
	if err != nil {
		return nil, err
	}
	req := reassignRequest{request: t}
	return req, kit.DecodeJSON(r, &req.in)
}

type tasksRequest struct {
	request
	filter TaskFilter
}

func decodeTasks(_ context.Context, r *http.Request) (any, error) {
	q := r.URL.Query()
	req := tasksRequest{request: request{tenant: r.PathValue("code")}, filter: TaskFilter{After: q.Get("after")}}
	var limit int64
	if err := kit.QueryInts(q, CodeInvalidQuery, map[string]*int64{"unit_id": &req.filter.UnitID, "limit": &limit}); err != nil {
		return nil, err
	}
	req.filter.Limit = int(min(limit, MaxPageSize+1))
	if s := q.Get("level"); s != "" {
		l, err := ParseLevel(s)
		if err != nil || l == Green {
			return nil, errs.Invalid(CodeInvalidQuery, "level %q is not yellow or red", s)
		}
		req.filter.Level = l
	}
	return req, nil
}

type statsRequest struct {
	request
	period Period
	unit   int64
}

func decodeStats(_ context.Context, r *http.Request) (any, error) {
	q := r.URL.Query()
	req := statsRequest{request: request{tenant: r.PathValue("code")}}
	if err := kit.QueryInts(q, CodeInvalidQuery, map[string]*int64{"unit_id": &req.unit}); err != nil {
		return nil, err
	}
	p, err := ParsePeriod(q.Get("from"), q.Get("to"))
	req.period = p
	return req, err
}

type eventsRequest struct {
	request
	filter EventFilter
}

func decodeEvents(_ context.Context, r *http.Request) (any, error) {
	q := r.URL.Query()
	req := eventsRequest{request: request{tenant: r.PathValue("code")}, filter: EventFilter{Kind: q.Get("kind")}}
	var limit int64
	if err := kit.QueryInts(q, CodeInvalidQuery, map[string]*int64{"task_id": &req.filter.TaskID, "unit_id": &req.filter.UnitID, "before": &req.filter.Before, "limit": &limit}); err != nil {
		return nil, err
	}
	req.filter.Limit = int(min(limit, MaxPageSize+1))
	return req, nil
}
