package approval

import (
	"net/http"
	"slices"
	"strings"
)

// route is one route of the module: a method, a path pattern whose
// {name} segments match any one segment, and its handler. Each part of
// the module declares its own routes in its own file (catalogueRoutes …);
// routes gathers them.
type route struct {
	method  string
	pattern string
	handle  func(c *call, p params) (int, any, error)
}

// params are the values of a matched pattern's {name} segments.
type params map[string]string

// routes are every route of the module. A part of the module adds its
// list here.
func routes() [][]route {
	return [][]route{
		catalogueRoutes(),
		applicationRoutes(),
		materialRoutes(),
		applicantRoutes(),
	}
}

// match finds the route of method and path, the part after the module's
// prefix. A path no pattern matches is route_not_found; one that a
// pattern matches under other methods is method_not_allowed, naming them.
func match(table [][]route, method, path string) (route, params, *apiError) {
	if !strings.HasPrefix(path, "/") {
		return route{}, nil, newError(http.StatusNotFound, codeRouteNotFound, "module approval has no route %s", path)
	}
	segs := strings.Split(path[1:], "/")
	var allowed []string
	for _, part := range table {
		for _, r := range part {
			p, ok := matchPattern(r.pattern, segs)
			if !ok {
				continue
			}
			if r.method == method {
				return r, p, nil
			}
			if !slices.Contains(allowed, r.method) {
				allowed = append(allowed, r.method)
			}
		}
	}
	if len(allowed) == 0 {
		return route{}, nil, newError(http.StatusNotFound, codeRouteNotFound, "module approval has no route %s", path)
	}
	slices.Sort(allowed)
	return route{}, nil, newError(http.StatusMethodNotAllowed, codeMethodNotAllowed, "%s %s is not a route; %s takes %s", method, path, path, strings.Join(allowed, ", "))
}

func matchPattern(pattern string, segs []string) (params, bool) {
	want := strings.Split(pattern[1:], "/")
	if len(want) != len(segs) {
		return nil, false
	}
	var p params
	for i, w := range want {
		if name, ok := strings.CutPrefix(w, "{"); ok {
			if segs[i] == "" {
				return nil, false
			}
			if p == nil {
				p = params{}
			}
			p[strings.TrimSuffix(name, "}")] = segs[i]
			continue
		}
		if w != segs[i] {
			return nil, false
		}
	}
	return p, true
}
