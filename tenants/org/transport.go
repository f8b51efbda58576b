package org

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/go-kit/kit/endpoint"
	httptransport "github.com/go-kit/kit/transport/http"

	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/kit"
)

// Routes serves a county's organisation under /v1/tenants/{code}/, every
// endpoint behind its guard (authentication, authorisation, limits):
//
//	GET, POST         units                        list, create
//	GET, PATCH        units/{id}                   read, change
//	GET, POST         accounts                     list (?unit_id=&status=&after=&limit=), create
//	GET, PATCH        accounts/{id}                read, change
//	GET, POST         roles                        list, create
//	GET, POST         quota-requests               list (?status=), submit
//	POST              quota-requests/{id}/approve  approve, raising the unit's quota
//	POST              quota-requests/{id}/reject   reject
//	GET               org/template?format=xlsx|csv the staffing-office file to fill in
//	POST              org/import?dry_run=true      import that file (CSV or XLSX as the body)
//	GET               public/units                 the directory of units, for anyone
func Routes(svc Service, guard func(route string) endpoint.Middleware, opts ...httptransport.ServerOption) []kit.Route {
	const base = "/v1/tenants/{code}"
	ok, created := kit.EncodeJSON(http.StatusOK), kit.EncodeJSON(http.StatusCreated)
	route := func(method, path, name string, e endpoint.Endpoint, dec httptransport.DecodeRequestFunc, enc httptransport.EncodeResponseFunc) kit.Route {
		return kit.Route{Method: method, Pattern: base + path, Name: name, Handler: kit.NewServer(guard(name), e, dec, enc, opts...)}
	}
	none := decoder[struct{}](false)
	routes := []kit.Route{
		route("GET", "/units", "org.units.list", handle(func(ctx context.Context, r request[struct{}]) (any, error) {
			return svc.ListUnits(ctx, r.Tenant)
		}), none, ok),
		route("POST", "/units", "org.units.create", handle(func(ctx context.Context, r request[UnitInput]) (any, error) {
			return svc.CreateUnit(ctx, r.Tenant, r.Body)
		}), decoder[UnitInput](true), created),
		route("GET", "/units/{id}", "org.units.get", handle(func(ctx context.Context, r request[struct{}]) (any, error) {
			return svc.GetUnit(ctx, r.Tenant, r.ID)
		}), none, ok),
		route("PATCH", "/units/{id}", "org.units.update", handle(func(ctx context.Context, r request[UnitPatch]) (any, error) {
			return svc.UpdateUnit(ctx, r.Tenant, r.ID, r.Body)
		}), decoder[UnitPatch](true), ok),
		route("GET", "/accounts", "org.accounts.list", listAccounts(svc), none, encodeAccountPage),
		route("POST", "/accounts", "org.accounts.create", handle(func(ctx context.Context, r request[AccountInput]) (any, error) {
			return svc.CreateAccount(ctx, r.Tenant, r.Body)
		}), decoder[AccountInput](true), created),
		route("GET", "/accounts/{id}", "org.accounts.get", handle(func(ctx context.Context, r request[struct{}]) (any, error) {
			return svc.GetAccount(ctx, r.Tenant, r.ID)
		}), none, ok),
		route("PATCH", "/accounts/{id}", "org.accounts.update", handle(func(ctx context.Context, r request[AccountPatch]) (any, error) {
			return svc.UpdateAccount(ctx, r.Tenant, r.ID, r.Body)
		}), decoder[AccountPatch](true), ok),
		route("GET", "/roles", "org.roles.list", handle(func(ctx context.Context, r request[struct{}]) (any, error) {
			return svc.ListRoles(ctx, r.Tenant)
		}), none, ok),
		route("POST", "/roles", "org.roles.create", handle(func(ctx context.Context, r request[RoleInput]) (any, error) {
			return svc.CreateRole(ctx, r.Tenant, r.Body)
		}), decoder[RoleInput](true), created),
		route("GET", "/quota-requests", "org.quota.list", handle(func(ctx context.Context, r request[struct{}]) (any, error) {
			return svc.ListQuotaRequests(ctx, r.Tenant, r.Query.Get("status"))
		}), none, ok),
		route("POST", "/quota-requests", "org.quota.request", handle(func(ctx context.Context, r request[QuotaInput]) (any, error) {
			return svc.RequestQuota(ctx, r.Tenant, actor(ctx), r.Body)
		}), decoder[QuotaInput](true), created),
		route("POST", "/quota-requests/{id}/approve", "org.quota.approve", handle(func(ctx context.Context, r request[Decision]) (any, error) {
			r.Body.Approve = true
			return svc.DecideQuota(ctx, r.Tenant, actor(ctx), r.ID, r.Body)
		}), decoder[Decision](true), ok),
		route("POST", "/quota-requests/{id}/reject", "org.quota.reject", handle(func(ctx context.Context, r request[Decision]) (any, error) {
			return svc.DecideQuota(ctx, r.Tenant, actor(ctx), r.ID, r.Body)
		}), decoder[Decision](true), ok),
		route("GET", "/org/template", "org.template", template(svc), none, encodeFile),
		route("GET", "/public/units", "org.public.units", handle(func(ctx context.Context, r request[struct{}]) (any, error) {
			units, err := svc.ListUnits(ctx, r.Tenant)
			public := make([]PublicUnit, len(units))
			for i, u := range units {
				public[i] = PublicUnit{ID: u.ID, Name: u.Name, Code: u.Code, ParentID: u.ParentID, Sort: u.Sort}
			}
			return public, err
		}), none, ok),
	}
	imp := route("POST", "/org/import", "org.import", importFile(svc), decodeFile, ok)
	imp.MaxBody = MaxImportBytes
	return append(routes, imp)
}

// decoder reads the county and id from the path, the query, and with
// body a JSON body into T (an empty body counts as {}).
func decoder[T any](body bool) httptransport.DecodeRequestFunc {
	return func(_ context.Context, r *http.Request) (any, error) {
		req := request[T]{Tenant: r.PathValue("code"), Query: r.URL.Query()}
		if s := r.PathValue("id"); s != "" {
			id, err := strconv.ParseInt(s, 10, 64)
			if err != nil || id <= 0 {
				return nil, errs.NotFound(errs.CodeNotFound, "nothing at %s", r.URL.Path)
			}
			req.ID = id
		}
		if body && r.ContentLength != 0 {
			if err := kit.DecodeJSON(r, &req.Body); err != nil {
				return nil, err
			}
		}
		return req, nil
	}
}

// decodeFile reads an uploaded file, the whole body.
func decodeFile(_ context.Context, r *http.Request) (any, error) {
	data, err := io.ReadAll(r.Body)
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, errs.E(errs.KindTooLarge, errs.CodeBodyTooLarge, "the file is over %d bytes", tooLarge.Limit)
	}
	if err != nil {
		return nil, errs.Invalid(errs.CodeInvalidJSON, "reading the file: %v", err)
	}
	return request[[]byte]{Tenant: r.PathValue("code"), Query: r.URL.Query(), Body: data}, nil
}

func encodeFile(_ context.Context, w http.ResponseWriter, response any) error {
	f := response.(file)
	w.Header().Set("Content-Type", f.ContentType)
	w.Header().Set("Content-Disposition", `attachment; filename="`+f.Name+`"`)
	w.Header().Set("Content-Length", strconv.Itoa(len(f.Data)))
	_, err := w.Write(f.Data)
	return err
}

// encodeAccountPage writes the most frequent read of a county's data with
// its hand-written encoder.
func encodeAccountPage(_ context.Context, w http.ResponseWriter, response any) error {
	page := response.(AccountPage)
	// About 300 bytes an account, and one for the newline WriteJSONBody
	// adds: the page is encoded without growing its buffer.
	kit.WriteJSONBody(w, http.StatusOK, page.appendJSON(make([]byte, 0, 64+300*len(page.Accounts))))
	return nil
}
