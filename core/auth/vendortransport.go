package auth

import (
	"context"
	"net/http"

	"github.com/go-kit/kit/endpoint"
	httptransport "github.com/go-kit/kit/transport/http"

	"github.com/countycloud/countycloud/core/kit"
)

// VendorRoutes serves the vendors' tokens, which operators issue and
// revoke; vendors knows which vendors the catalog has:
//
//	GET    /v1/vendors/{vendor}/tokens         the vendor's tokens
//	POST   /v1/vendors/{vendor}/tokens         {"name": "…", "expires_in_days": 90}: a new token, shown once
//	DELETE /v1/vendors/{vendor}/tokens/{id}    revoke one
func (s *Service) VendorRoutes(vendors Vendors, opts ...httptransport.ServerOption) []kit.Route {
	route := func(method, pattern, name string, e endpoint.Endpoint, dec httptransport.DecodeRequestFunc, status int) kit.Route {
		return kit.Route{Method: method, Pattern: pattern, Name: name, Handler: kit.NewServer(s.guard.For(name), e, dec, kit.EncodeJSON(status), opts...)}
	}
	const tokens = "/v1/vendors/{vendor}/tokens"
	created := route("POST", tokens, "auth.vendor_tokens.create", func(ctx context.Context, req any) (any, error) {
		r := req.(vendorRequest[VendorTokenRequest])
		return s.CreateVendorToken(ctx, vendors, r.vendor, r.body)
	}, decodeVendor[VendorTokenRequest], http.StatusCreated)
	created.Secret = true
	return []kit.Route{
		route("GET", tokens, "auth.vendor_tokens.list", func(ctx context.Context, req any) (any, error) {
			return s.VendorTokens(ctx, req.(vendorRequest[struct{}]).vendor)
		}, decodeVendorPath, http.StatusOK),
		created,
		route("DELETE", tokens+"/{id}", "auth.vendor_tokens.revoke", func(ctx context.Context, req any) (any, error) {
			r := req.(vendorRequest[int64])
			return struct{}{}, s.RevokeVendorToken(ctx, r.vendor, r.body)
		}, func(ctx context.Context, r *http.Request) (any, error) {
			id, err := pathID(ctx, r)
			if err != nil {
				return nil, err
			}
			return vendorRequest[int64]{vendor: r.PathValue("vendor"), body: id.(int64)}, nil
		}, http.StatusOK),
	}
}

type vendorRequest[T any] struct {
	vendor string
	body   T
}

func decodeVendorPath(_ context.Context, r *http.Request) (any, error) {
	return vendorRequest[struct{}]{vendor: r.PathValue("vendor")}, nil
}

func decodeVendor[T any](ctx context.Context, r *http.Request) (any, error) {
	v, err := body[T](ctx, r)
	if err != nil {
		return nil, err
	}
	return vendorRequest[T]{vendor: r.PathValue("vendor"), body: v.(T)}, nil
}
