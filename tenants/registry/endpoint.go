package registry

import (
	"context"
	"time"

	"github.com/countycloud/countycloud/core/kit"
	"github.com/go-kit/kit/endpoint"
)

// ProvisionTimeout bounds a provisioning that a request started.
const ProvisionTimeout = 10 * time.Minute

// outlive gives a provisioning request a context of its own: a client that
// stops waiting must not leave a county half made and marked failed. The
// deadline bounds it instead; a server stopped in the middle leaves it to
// be resumed at the next start.
func outlive(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), ProvisionTimeout)
}

// Endpoints are the registry's go-kit endpoints.
type Endpoints struct {
	Create endpoint.Endpoint
	Get    endpoint.Endpoint
	List   endpoint.Endpoint
	Update endpoint.Endpoint
	Retry  endpoint.Endpoint
	Hold   endpoint.Endpoint
	Unhold endpoint.Endpoint
}

type codeRequest struct{ Code string }

// HoldRequest says why a county's writes are held.
type HoldRequest struct {
	Reason string `json:"reason"`
}

type holdRequest struct {
	Code string
	Hold HoldRequest
}

type updateRequest struct {
	Code  string
	Patch Patch
}

// MakeEndpoints wraps svc's methods in endpoints, each behind the guard of
// its route name (authentication, authorisation, limits).
func MakeEndpoints(svc Service, guard func(route string) endpoint.Middleware) Endpoints {
	return Endpoints{
		Create: guard("tenant.create")(kit.Decoded(func(ctx context.Context, req any) (any, error) {
			ctx, cancel := outlive(ctx)
			defer cancel()
			return svc.Create(ctx, req.(CreateRequest))
		})),
		Get: guard("tenant.get")(kit.Decoded(func(ctx context.Context, req any) (any, error) {
			return svc.Get(ctx, req.(codeRequest).Code)
		})),
		List: guard("tenant.list")(kit.Decoded(func(ctx context.Context, req any) (any, error) {
			return svc.List(ctx, req.(ListRequest))
		})),
		Update: guard("tenant.update")(kit.Decoded(func(ctx context.Context, req any) (any, error) {
			r := req.(updateRequest)
			return svc.Update(ctx, r.Code, r.Patch)
		})),
		Retry: guard("tenant.retry")(kit.Decoded(func(ctx context.Context, req any) (any, error) {
			ctx, cancel := outlive(ctx)
			defer cancel()
			return svc.Retry(ctx, req.(codeRequest).Code)
		})),
		Hold: guard("tenant.hold")(kit.Decoded(func(ctx context.Context, req any) (any, error) {
			r := req.(holdRequest)
			return svc.Hold(ctx, r.Code, r.Hold.Reason)
		})),
		Unhold: guard("tenant.unhold")(kit.Decoded(func(ctx context.Context, req any) (any, error) {
			return svc.Unhold(ctx, req.(codeRequest).Code)
		})),
	}
}
