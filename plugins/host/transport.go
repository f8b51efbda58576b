package host

import (
	"context"
	"net/http"

	"github.com/go-kit/kit/endpoint"
	httptransport "github.com/go-kit/kit/transport/http"

	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/core/kit"
	"github.com/countycloud/countycloud/plugins/sdk/proto/pluginv1"
)

// Routes serves the catalog, the counties' modules and the modules'
// own routes:
//
//	GET, POST      /v1/plugins                               the catalog; register {"file": "…", "sha256": "…", "isolation": "shared" or "county"}
//	GET            /v1/plugins/processes                     the running plugin processes
//	GET            /v1/tenants/{code}/modules                a county's modules
//	GET            /v1/tenants/{code}/modules/{plugin}       the county's use of the module
//	PUT, DELETE    /v1/tenants/{code}/modules/{plugin}       enable {"version": "…", "settings": {…}}; disable
//	any            /v1/tenants/{code}/modules/{plugin}/…     the module's routes, served by its plugin
func (s *Service) Routes(guard func(route string) endpoint.Middleware, opts ...httptransport.ServerOption) []kit.Route {
	ok, created := kit.EncodeJSON(http.StatusOK), kit.EncodeJSON(http.StatusCreated)
	route := func(method, pattern, name string, e endpoint.Endpoint, dec httptransport.DecodeRequestFunc, enc httptransport.EncodeResponseFunc) kit.Route {
		return kit.Route{Method: method, Pattern: pattern, Name: name, Handler: kit.NewServer(guard(name), e, dec, enc, opts...)}
	}
	noBody := func(context.Context, *http.Request) (any, error) { return nil, nil }
	routes := []kit.Route{
		route("GET", "/v1/plugins", "plugin.list", func(ctx context.Context, _ any) (any, error) {
			return s.Entries(ctx)
		}, noBody, ok),
		route("POST", "/v1/plugins", "plugin.register", func(ctx context.Context, req any) (any, error) {
			return s.Register(ctx, auth.PrincipalFrom(ctx).Login, req.(RegisterInput))
		}, decodeJSON[RegisterInput], created),
		route("GET", "/v1/plugins/processes", "plugin.processes", func(context.Context, any) (any, error) {
			return s.manager.Statuses(), nil
		}, noBody, ok),
		route("GET", "/v1/tenants/{code}/modules", "module.list", func(ctx context.Context, req any) (any, error) {
			return s.Modules(ctx, req.(moduleRequest).tenant)
		}, decodeModule, ok),
		route("GET", "/v1/tenants/{code}/modules/{plugin}", "module.get", func(ctx context.Context, req any) (any, error) {
			r := req.(moduleRequest)
			return s.Module(ctx, r.tenant, r.plugin)
		}, decodeModule, ok),
		route("PUT", "/v1/tenants/{code}/modules/{plugin}", "module.enable", func(ctx context.Context, req any) (any, error) {
			r := req.(moduleRequest)
			return s.Enable(ctx, r.tenant, r.plugin, auth.PrincipalFrom(ctx).Login, r.enable)
		}, decodeEnable, ok),
		route("DELETE", "/v1/tenants/{code}/modules/{plugin}", "module.disable", func(ctx context.Context, req any) (any, error) {
			r := req.(moduleRequest)
			return s.Disable(ctx, r.tenant, r.plugin, auth.PrincipalFrom(ctx).Login)
		}, decodeModule, ok),
	}
	call := func(ctx context.Context, req any) (any, error) {
		r := req.(moduleRequest)
		resp, err := s.Serve(ctx, r.tenant, r.plugin, r.call)
		if err != nil {
			return nil, err
		}
		return answer(r.tenant, r.plugin, resp)
	}
	for _, method := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
		name := "module.write"
		if method == "GET" {
			name = "module.read"
		}
		routes = append(routes, route(method, "/v1/tenants/{code}/modules/{plugin}/{path...}", name, call, decodeCall, encodeCall))
	}
	return routes
}

func decodeJSON[T any](_ context.Context, r *http.Request) (any, error) {
	var in T
	if err := kit.DecodeJSON(r, &in); err != nil {
		return nil, err
	}
	return in, nil
}

type moduleRequest struct {
	tenant, plugin string
	enable         EnableInput
	call           *pluginv1.HandleRequest
}

func decodeModule(_ context.Context, r *http.Request) (any, error) {
	return moduleRequest{tenant: r.PathValue("code"), plugin: r.PathValue("plugin")}, nil
}

func decodeEnable(ctx context.Context, r *http.Request) (any, error) {
	req, _ := decodeModule(ctx, r)
	m := req.(moduleRequest)
	if err := kit.DecodeJSON(r, &m.enable); err != nil {
		return nil, err
	}
	return m, nil
}

// requestHeaders are the headers a module sees of a request. Others
// (cookies, the caller's token) never cross; moduleHeaders are those it
// may set on its answer.
var requestHeaders = []string{"Accept", "Accept-Language", "Content-Type", "If-Match", "If-None-Match"}

// decodeCall hands a module the request. A body passes the checks of
// every JSON body first (kit.ReadJSON: its type, size and text, and the
// classified guard), so a module sees no body the platform's own routes
// would refuse.
func decodeCall(ctx context.Context, r *http.Request) (any, error) {
	body, err := kit.ReadJSON(r)
	if err != nil {
		return nil, err
	}
	headers := map[string]string{}
	for _, h := range requestHeaders {
		if v := r.Header.Get(h); v != "" {
			headers[h] = v
		}
	}
	p := auth.PrincipalFrom(ctx)
	caller := &pluginv1.Caller{Kind: string(p.Kind), Login: p.Login, Roles: p.Roles}
	// Only an account of the county has an account id and a unit there:
	// an operator's id numbers the platform's operators, and a module
	// taking it for an account's would hand the operator that account's
	// notices, mail and tasks.
	if p.Kind == auth.KindAccount {
		caller.AccountId, caller.UnitId = p.ID, p.Unit
	}
	return moduleRequest{tenant: r.PathValue("code"), plugin: r.PathValue("plugin"), call: &pluginv1.HandleRequest{
		Method: r.Method, Path: "/" + r.PathValue("path"), Query: r.URL.RawQuery, Headers: headers, Body: body,
		Caller:    caller,
		RequestId: kit.RequestID(ctx),
	}}, nil
}

func encodeCall(_ context.Context, w http.ResponseWriter, response any) error {
	a := response.(moduleAnswer)
	for name, v := range a.header {
		w.Header()[name] = v
	}
	w.WriteHeader(a.status)
	_, err := w.Write(a.body)
	return err
}
