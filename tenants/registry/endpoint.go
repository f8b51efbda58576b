package registry

import (
	"context"

	"github.com/go-kit/kit/endpoint"
)

// Endpoints are the registry's go-kit endpoints.
type Endpoints struct {
	Create endpoint.Endpoint
	Get    endpoint.Endpoint
	List   endpoint.Endpoint
	Update endpoint.Endpoint
	Retry  endpoint.Endpoint
}

type codeRequest struct{ Code string }

type updateRequest struct {
	Code  string
	Patch Patch
}

// MakeEndpoints wraps svc's methods in endpoints, each behind mw (such as
// authentication).
func MakeEndpoints(svc Service, mw endpoint.Middleware) Endpoints {
	return Endpoints{
		Create: mw(func(ctx context.Context, req any) (any, error) {
			return svc.Create(ctx, req.(CreateRequest))
		}),
		Get: mw(func(ctx context.Context, req any) (any, error) {
			return svc.Get(ctx, req.(codeRequest).Code)
		}),
		List: mw(func(ctx context.Context, req any) (any, error) {
			return svc.List(ctx, req.(ListRequest))
		}),
		Update: mw(func(ctx context.Context, req any) (any, error) {
			r := req.(updateRequest)
			return svc.Update(ctx, r.Code, r.Patch)
		}),
		Retry: mw(func(ctx context.Context, req any) (any, error) {
			return svc.Retry(ctx, req.(codeRequest).Code)
		}),
	}
}
