package measure

import (
	"context"
	"net/http"
	"net/url"

	"github.com/go-kit/kit/endpoint"
	httptransport "github.com/go-kit/kit/transport/http"

	"github.com/countycloud/countycloud/core/kit"
)

// Routes serves a county's figures:
//
//	GET /v1/tenants/{code}/measures?measure=&unit=&from=&to=&by=day|half_month|month
func (s *Service) Routes(guard func(route string) endpoint.Middleware, opts ...httptransport.ServerOption) []kit.Route {
	const name = "measures.read"
	read := func(ctx context.Context, req any) (any, error) {
		r := req.(readRequest)
		q, err := ParseQuery(r.params)
		if err != nil {
			return nil, err
		}
		return s.Read(ctx, r.county, q)
	}
	return []kit.Route{{Method: "GET", Pattern: "/v1/tenants/{code}/measures", Name: name,
		Handler: kit.NewServer(guard(name), read, decodeRead, kit.EncodeJSON(http.StatusOK), opts...)}}
}

// readRequest carries the parameters unparsed: the guard answers who may
// ask before the parser answers what was asked.
type readRequest struct {
	county string
	params url.Values
}

func decodeRead(_ context.Context, r *http.Request) (any, error) {
	return readRequest{county: r.PathValue("code"), params: r.URL.Query()}, nil
}
