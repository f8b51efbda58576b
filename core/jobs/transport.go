package jobs

import (
	"context"
	"net/http"
	"strconv"

	"github.com/go-kit/kit/endpoint"
	httptransport "github.com/go-kit/kit/transport/http"

	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/kit"
)

// Routes serves the queue to operators:
//
//	GET  /v1/jobs?status=&kind=&tenant=&before=&limit=  newest first
//	GET  /v1/jobs/{id}
//	POST /v1/jobs/{id}/retry                            a dead job, from its first attempt
func (q *Queue) Routes(guard func(route string) endpoint.Middleware, opts ...httptransport.ServerOption) []kit.Route {
	ok := kit.EncodeJSON(http.StatusOK)
	route := func(method, pattern, name string, e endpoint.Endpoint, dec httptransport.DecodeRequestFunc) kit.Route {
		return kit.Route{Method: method, Pattern: pattern, Name: name, Handler: kit.NewServer(guard(name), e, dec, ok, opts...)}
	}
	return []kit.Route{
		route("GET", "/v1/jobs", "jobs.list", func(ctx context.Context, req any) (any, error) {
			return q.List(ctx, req.(Filter))
		}, decodeFilter),
		route("GET", "/v1/jobs/{id}", "jobs.get", func(ctx context.Context, req any) (any, error) {
			return q.Get(ctx, req.(int64))
		}, decodeID),
		route("POST", "/v1/jobs/{id}/retry", "jobs.retry", func(ctx context.Context, req any) (any, error) {
			return q.Retry(ctx, req.(int64))
		}, decodeID),
	}
}

func decodeFilter(_ context.Context, r *http.Request) (any, error) {
	v := r.URL.Query()
	f := Filter{Status: Status(v.Get("status")), Kind: v.Get("kind"), Tenant: v.Get("tenant")}
	var err error
	if f.Before, err = kit.QueryInt(v, "before", CodeInvalidJob); err != nil {
		return nil, err
	}
	limit, err := kit.QueryInt(v, "limit", CodeInvalidJob)
	f.Limit = int(limit)
	return f, err
}

func decodeID(_ context.Context, r *http.Request) (any, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return nil, errs.NotFound(CodeJobNotFound, "no job %q", r.PathValue("id"))
	}
	return id, nil
}
