package registry

import (
	"context"
	"net/http"
	"strconv"

	httptransport "github.com/go-kit/kit/transport/http"

	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/kit"
)

// Routes serves the endpoints over HTTP:
//
//	POST  /v1/tenants                 create (201)
//	GET   /v1/tenants                 list: ?parent=&status=&level=&limit=&cursor=
//	GET   /v1/tenants/{code}          get
//	PATCH /v1/tenants/{code}          change name or status (archive, suspend, restore)
//	POST  /v1/tenants/{code}/retry    finish a failed or interrupted provisioning
//	PUT   /v1/tenants/{code}/hold     make a county read-only for billing {"reason": "…"}
//	DELETE /v1/tenants/{code}/hold    lift the hold: its writes are restored
//
// There is no DELETE: a county's data is archived, never dropped.
func Routes(e Endpoints, opts ...httptransport.ServerOption) []kit.Route {
	ok := kit.EncodeJSON(http.StatusOK)
	return []kit.Route{
		{Method: http.MethodPost, Pattern: "/v1/tenants", Name: "tenant.create",
			Handler: httptransport.NewServer(e.Create, kit.Deferred(decodeCreate), kit.EncodeJSON(http.StatusCreated), opts...)},
		{Method: http.MethodGet, Pattern: "/v1/tenants", Name: "tenant.list",
			Handler: httptransport.NewServer(e.List, kit.Deferred(decodeList), ok, opts...)},
		{Method: http.MethodGet, Pattern: "/v1/tenants/{code}", Name: "tenant.get",
			Handler: httptransport.NewServer(e.Get, kit.Deferred(decodeCode), ok, opts...)},
		{Method: http.MethodPatch, Pattern: "/v1/tenants/{code}", Name: "tenant.update",
			Handler: httptransport.NewServer(e.Update, kit.Deferred(decodeUpdate), ok, opts...)},
		{Method: http.MethodPost, Pattern: "/v1/tenants/{code}/retry", Name: "tenant.retry",
			Handler: httptransport.NewServer(e.Retry, kit.Deferred(decodeCode), ok, opts...)},
		{Method: http.MethodPut, Pattern: "/v1/tenants/{code}/hold", Name: "tenant.hold",
			Handler: httptransport.NewServer(e.Hold, kit.Deferred(decodeHold), ok, opts...)},
		{Method: http.MethodDelete, Pattern: "/v1/tenants/{code}/hold", Name: "tenant.unhold",
			Handler: httptransport.NewServer(e.Unhold, kit.Deferred(decodeCode), ok, opts...)},
	}
}

func decodeCreate(_ context.Context, r *http.Request) (any, error) {
	var req CreateRequest
	err := kit.DecodeJSON(r, &req)
	return req, err
}

func decodeCode(_ context.Context, r *http.Request) (any, error) {
	return codeRequest{Code: r.PathValue("code")}, nil
}

func decodeHold(_ context.Context, r *http.Request) (any, error) {
	req := holdRequest{Code: r.PathValue("code")}
	err := kit.DecodeJSON(r, &req.Hold)
	return req, err
}

func decodeUpdate(_ context.Context, r *http.Request) (any, error) {
	req := updateRequest{Code: r.PathValue("code")}
	err := kit.DecodeJSON(r, &req.Patch)
	return req, err
}

func decodeList(_ context.Context, r *http.Request) (any, error) {
	q := r.URL.Query()
	req := ListRequest{Parent: q.Get("parent"), Status: q.Get("status"), Level: q.Get("level"), Cursor: q.Get("cursor")}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return nil, errs.Invalid(CodeInvalidListRequest, "limit %q is not a number", s)
		}
		req.Limit = n
	}
	return req, nil
}
