package calendar

import (
	"context"
	"net/http"
	"strconv"

	"github.com/go-kit/kit/endpoint"
	httptransport "github.com/go-kit/kit/transport/http"

	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/kit"
)

// Routes serves a county's calendar under /v1/tenants/{code}/calendar:
//
//	GET            /{year}             the year's holidays, adjusted working days and the county's changes
//	PUT, DELETE    /overrides/{date}   {"working": false, "note": "…"}; DELETE gives the day back to the national calendar
func (s *Service) Routes(guard func(route string) endpoint.Middleware, opts ...httptransport.ServerOption) []kit.Route {
	const base = "/v1/tenants/{code}/calendar"
	ok := kit.EncodeJSON(http.StatusOK)
	route := func(method, path, name string, e endpoint.Endpoint, dec httptransport.DecodeRequestFunc) kit.Route {
		return kit.Route{Method: method, Pattern: base + path, Name: name, Handler: kit.NewServer(guard(name), e, dec, ok, opts...)}
	}
	return []kit.Route{
		route("GET", "/{year}", "calendar.year", func(ctx context.Context, req any) (any, error) {
			r := req.(yearRequest)
			return s.Year(ctx, r.tenant, r.year)
		}, decodeYear),
		route("PUT", "/overrides/{date}", "calendar.override.set", func(ctx context.Context, req any) (any, error) {
			r := req.(overrideRequest)
			return s.SetOverride(ctx, r.tenant, r.day, r.in)
		}, decodeOverride),
		route("DELETE", "/overrides/{date}", "calendar.override.delete", func(ctx context.Context, req any) (any, error) {
			r := req.(overrideRequest)
			return struct{}{}, s.DeleteOverride(ctx, r.tenant, r.day)
		}, decodeDay),
	}
}

type yearRequest struct {
	tenant string
	year   int
}

func decodeYear(_ context.Context, r *http.Request) (any, error) {
	year, err := strconv.Atoi(r.PathValue("year"))
	if err != nil {
		return nil, errs.Invalid(CodeInvalidOverride, "year %q is not a number", r.PathValue("year"))
	}
	return yearRequest{tenant: r.PathValue("code"), year: year}, nil
}

type overrideRequest struct {
	tenant, day string
	in          OverrideInput
}

func decodeDay(_ context.Context, r *http.Request) (any, error) {
	return overrideRequest{tenant: r.PathValue("code"), day: r.PathValue("date")}, nil
}

func decodeOverride(ctx context.Context, r *http.Request) (any, error) {
	req, _ := decodeDay(ctx, r)
	o := req.(overrideRequest)
	if err := kit.DecodeJSON(r, &o.in); err != nil {
		return nil, err
	}
	return o, nil
}
