package audit

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/go-kit/kit/endpoint"
	httptransport "github.com/go-kit/kit/transport/http"

	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/kit"
)

// Routes serves a county's trail and the province's:
//
//	GET /v1/tenants/{code}/audit?actor=&actor_id=&unit_id=&object_type=&object_id=&action=&outcome=&from=&to=&before=&limit=
//	GET /v1/audit?…the same filters
//
// from and to are RFC 3339 times; entries come newest first.
func (t *Trail) Routes(guard func(route string) endpoint.Middleware, opts ...httptransport.ServerOption) []kit.Route {
	list := func(ctx context.Context, req any) (any, error) {
		r := req.(listRequest)
		return t.List(ctx, r.tenant, r.filter)
	}
	return []kit.Route{{
		Method: http.MethodGet, Pattern: "/v1/tenants/{code}/audit", Name: "audit.list",
		Handler: kit.NewServer(guard("audit.list"), list, decodeList, kit.EncodeJSON(http.StatusOK), opts...),
	}, {
		Method: http.MethodGet, Pattern: "/v1/audit", Name: "audit.province.list",
		Handler: kit.NewServer(guard("audit.province.list"), list, decodeList, kit.EncodeJSON(http.StatusOK), opts...),
	}}
}

type listRequest struct {
	tenant string
	filter Filter
}

func decodeList(_ context.Context, r *http.Request) (any, error) {
	f, err := ParseFilter(r.URL.Query())
	return listRequest{tenant: r.PathValue("code"), filter: f}, err
}

// ParseFilter reads a filter from query parameters.
func ParseFilter(q url.Values) (Filter, error) {
	f := Filter{ActorLogin: q.Get("actor"), ObjectType: q.Get("object_type"), ObjectID: q.Get("object_id"), Action: q.Get("action"), Outcome: q.Get("outcome")}
	if err := kit.QueryInts(q, CodeInvalidFilter, map[string]*int64{"actor_id": &f.ActorID, "unit_id": &f.UnitID, "before": &f.Before}); err != nil {
		return Filter{}, err
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return Filter{}, errs.Invalid(CodeInvalidFilter, "limit %q is not a number", s)
		}
		f.Limit = n
	}
	for name, dst := range map[string]*time.Time{"from": &f.From, "to": &f.To} {
		if s := q.Get(name); s != "" {
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				return Filter{}, errs.Invalid(CodeInvalidFilter, "%s %q is not an RFC 3339 time such as 2026-11-22T09:00:00+08:00", name, s)
			}
			*dst = t
		}
	}
	return f, nil
}
