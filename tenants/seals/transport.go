package seals

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/go-kit/kit/endpoint"
	httptransport "github.com/go-kit/kit/transport/http"

	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/kit"
)

// VerifyPath is where anyone verifies a sealed document. It names no
// county: the seal does.
const VerifyPath = "/v1/seals/verify"

// VerifyRequest is a document to verify: its seal, as the module kept it,
// and its files by name and SM3 digest (the CLI computes them).
type VerifyRequest struct {
	Seal  json.RawMessage `json:"seal"`
	Files []File          `json:"files"`
}

// Routes serves a county's seals under /v1/tenants/{code}/seals, for its
// admins, and their verification at VerifyPath, for anyone:
//
//	GET   /seals[?unit=ID]      the county's seals (never a private key)
//	POST  /seals                {"unit_id": 3}: the unit's first seal
//	POST  /seals/{id}/rotate    a new key for the seal's unit; the old seal verifies what it sealed
//	POST  /seals/{id}/revoke    {"reason": "…"}
//	POST  /v1/seals/verify      {"seal": {…}, "files": [{"name", "sm3"}]}
func (s *Service) Routes(guard func(route string) endpoint.Middleware, opts ...httptransport.ServerOption) []kit.Route {
	const base = "/v1/tenants/{code}/seals"
	ok, created := kit.EncodeJSON(http.StatusOK), kit.EncodeJSON(http.StatusCreated)
	route := func(method, path, name string, e endpoint.Endpoint, dec httptransport.DecodeRequestFunc, enc httptransport.EncodeResponseFunc) kit.Route {
		return kit.Route{Method: method, Pattern: path, Name: name, Handler: kit.NewServer(guard(name), e, dec, enc, opts...)}
	}
	return []kit.Route{
		route("GET", base, "seals.list", func(ctx context.Context, req any) (any, error) {
			r := req.(request)
			return s.List(ctx, r.tenant, r.id)
		}, decodeList, ok),
		route("POST", base, "seals.create", func(ctx context.Context, req any) (any, error) {
			r := req.(request)
			return s.Create(ctx, r.tenant, r.body.(CreateRequest))
		}, decodeBody[CreateRequest], created),
		route("POST", base+"/{id}/rotate", "seals.rotate", func(ctx context.Context, req any) (any, error) {
			r := req.(request)
			return s.Rotate(ctx, r.tenant, r.id)
		}, decodeID, created),
		route("POST", base+"/{id}/revoke", "seals.revoke", func(ctx context.Context, req any) (any, error) {
			r := req.(request)
			return s.Revoke(ctx, r.tenant, r.id, r.body.(RevokeRequest))
		}, decodeBody[RevokeRequest], ok),
		route("POST", VerifyPath, "seals.verify", func(ctx context.Context, req any) (any, error) {
			r := req.(verifyRequest)
			return s.Verify(ctx, r.seal, r.files)
		}, decodeVerify, ok),
	}
}

type request struct {
	tenant string
	id     int64
	body   any
}

func decodeList(_ context.Context, r *http.Request) (any, error) {
	req := request{tenant: r.PathValue("code")}
	if u := r.URL.Query().Get("unit"); u != "" {
		id, err := strconv.ParseInt(u, 10, 64)
		if err != nil || id <= 0 {
			return nil, errs.Invalid(CodeUnitNotFound, "unit %q is not a unit's id", u)
		}
		req.id = id
	}
	return req, nil
}

func decodeID(_ context.Context, r *http.Request) (any, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return nil, errs.NotFound(CodeSealNotFound, "%q is not a seal's id", r.PathValue("id"))
	}
	return request{tenant: r.PathValue("code"), id: id}, nil
}

func decodeBody[T any](ctx context.Context, r *http.Request) (any, error) {
	req := request{tenant: r.PathValue("code")}
	if r.PathValue("id") != "" {
		got, err := decodeID(ctx, r)
		if err != nil {
			return nil, err
		}
		req = got.(request)
	}
	var body T
	if err := kit.DecodeJSON(r, &body); err != nil {
		return nil, err
	}
	req.body = body
	return req, nil
}

type verifyRequest struct {
	seal  Seal
	files []File
}

func decodeVerify(_ context.Context, r *http.Request) (any, error) {
	var in VerifyRequest
	if err := kit.DecodeJSON(r, &in); err != nil {
		return nil, err
	}
	if len(in.Seal) == 0 {
		return nil, errs.Invalid(CodeInvalidSeal, "send the seal as \"seal\", as the module kept it")
	}
	seal, err := ParseSeal(in.Seal)
	if err != nil {
		return nil, err
	}
	return verifyRequest{seal: seal, files: in.Files}, nil
}
