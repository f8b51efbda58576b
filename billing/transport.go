package billing

import (
	"bytes"
	"context"
	"net/http"

	"github.com/go-kit/kit/endpoint"
	httptransport "github.com/go-kit/kit/transport/http"

	"github.com/countycloud/countycloud/core/kit"
)

// Routes serves billing's accounts and catalogue, the province's
// operators'; Status.Routes serves one account's status and a county's.
//
//	GET   /v1/billing/accounts             every account, with the counties it pays for
//	POST  /v1/billing/accounts             open an account (201)
//	PATCH /v1/billing/accounts/{account}   change its name, e-mail, net terms, tax status
//	PUT   /v1/tenants/{code}/billing       move the county to an account: {"account": "gd"}
//	GET   /v1/billing/prices               the catalogue as last synced
//	POST  /v1/billing/sync                 sync a catalogue (the body; empty: the one shipped)
//	GET   /v1/billing/outbox               the calls to Stripe still waiting
func (s *Service) Routes(guard func(route string) endpoint.Middleware, opts ...httptransport.ServerOption) []kit.Route {
	ok := kit.EncodeJSON(http.StatusOK)
	route := func(method, pattern, name string, status int, e endpoint.Endpoint, dec httptransport.DecodeRequestFunc) kit.Route {
		enc := ok
		if status != http.StatusOK {
			enc = kit.EncodeJSON(status)
		}
		return kit.Route{Method: method, Pattern: pattern, Name: name, Handler: kit.NewServer(guard(name), e, dec, enc, opts...)}
	}
	return []kit.Route{
		route(http.MethodGet, "/v1/billing/accounts", "billing.accounts.list", http.StatusOK, func(ctx context.Context, _ any) (any, error) {
			return s.Accounts(ctx)
		}, decodeNothing),
		route(http.MethodPost, "/v1/billing/accounts", "billing.accounts.create", http.StatusCreated, func(ctx context.Context, req any) (any, error) {
			return s.CreateAccount(ctx, req.(AccountInput))
		}, decodeJSON[AccountInput]),
		route(http.MethodPatch, "/v1/billing/accounts/{account}", "billing.accounts.update", http.StatusOK, func(ctx context.Context, req any) (any, error) {
			r := req.(pathed[AccountPatch])
			return s.UpdateAccount(ctx, r.path, r.body)
		}, decodePathed[AccountPatch]("account", true)),
		route(http.MethodPut, "/v1/tenants/{code}/billing", "billing.county.assign", http.StatusOK, func(ctx context.Context, req any) (any, error) {
			r := req.(pathed[AssignInput])
			return s.Assign(ctx, r.path, r.body.Account)
		}, decodePathed[AssignInput]("code", true)),
		route(http.MethodGet, "/v1/billing/prices", "billing.prices", http.StatusOK, func(ctx context.Context, _ any) (any, error) {
			return s.Prices(ctx)
		}, decodeNothing),
		route(http.MethodPost, "/v1/billing/sync", "billing.sync", http.StatusOK, func(ctx context.Context, req any) (any, error) {
			return s.Sync(ctx, req.(Catalogue))
		}, decodeCatalogue),
		route(http.MethodGet, "/v1/billing/outbox", "billing.outbox", http.StatusOK, func(ctx context.Context, _ any) (any, error) {
			return s.Pending(ctx, 500)
		}, decodeNothing),
	}
}

// AssignInput names the account that is to pay for a county.
type AssignInput struct {
	Account string `json:"account"`
}

// pathRoute is a route that takes one path parameter, param, and no
// body, and answers 200 with what serve returns for its value.
func pathRoute[T any](guard func(route string) endpoint.Middleware, opts []httptransport.ServerOption, method, pattern, name, param string,
	serve func(ctx context.Context, value string) (T, error)) kit.Route {
	return kit.Route{Method: method, Pattern: pattern, Name: name, Handler: kit.NewServer(guard(name),
		func(ctx context.Context, req any) (any, error) { return serve(ctx, req.(pathed[struct{}]).path) },
		decodePathed[struct{}](param, false), kit.EncodeJSON(http.StatusOK), opts...)}
}

type pathed[T any] struct {
	path string
	body T
}

func decodeNothing(context.Context, *http.Request) (any, error) { return nil, nil }

func decodeJSON[T any](_ context.Context, r *http.Request) (any, error) {
	var v T
	err := kit.DecodeJSON(r, &v)
	return v, err
}

func decodePathed[T any](name string, withBody bool) httptransport.DecodeRequestFunc {
	return func(_ context.Context, r *http.Request) (any, error) {
		req := pathed[T]{path: r.PathValue(name)}
		if !withBody {
			return req, nil
		}
		err := kit.DecodeJSON(r, &req.body)
		return req, err
	}
}

// decodeCatalogue reads the catalogue a sync is asked for, or the one
// the platform ships with when the body is empty.
func decodeCatalogue(_ context.Context, r *http.Request) (any, error) {
	body, err := kit.ReadJSON(r)
	if err != nil {
		return nil, err
	}
	if len(body) == 0 {
		return DefaultCatalogue(), nil
	}
	return ParseCatalogue(bytes.NewReader(body))
}
