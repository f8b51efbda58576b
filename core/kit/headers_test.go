package kit_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/kit"
)

// TestEveryAnswerCarriesTheSafetyHeaders: answers written by a route, by
// the error encoder, by a handler with a policy of its own, by one that
// writes nothing, and for paths and methods with no route all say
// nosniff and deny frames; a secret route's answers, refusals included,
// are no-store, and only those.
func TestEveryAnswerCarriesTheSafetyHeaders(t *testing.T) {
	encode := kit.ErrorEncoder(quiet)
	h := kit.Handler(quiet, prometheus.NewRegistry(),
		kit.Route{Method: "GET", Pattern: "/plain", Name: "plain", Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte(`{}`))
		})},
		kit.Route{Method: "GET", Pattern: "/sandboxed", Name: "sandboxed", Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Security-Policy", "sandbox; default-src 'none'")
			w.WriteHeader(http.StatusOK)
		})},
		kit.Route{Method: "GET", Pattern: "/silent", Name: "silent", Handler: http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})},
		kit.Route{Method: "POST", Pattern: "/secret", Name: "secret", Secret: true, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("refuse") != "" {
				encode(r.Context(), errs.Invalid("bad", "refused"), w)
				return
			}
			_, _ = w.Write([]byte(`{"access_token":"x"}`))
		})},
	)
	for _, c := range []struct {
		method, path string
		secret       bool
		policy       string
	}{
		{"GET", "/plain", false, "frame-ancestors 'none'"},
		{"GET", "/sandboxed", false, "sandbox; default-src 'none'; frame-ancestors 'none'"},
		{"GET", "/silent", false, "frame-ancestors 'none'"},
		{"POST", "/secret", true, "frame-ancestors 'none'"},
		{"POST", "/secret?refuse=1", true, "frame-ancestors 'none'"},
		{"GET", "/nowhere", false, "frame-ancestors 'none'"},
		{"DELETE", "/plain", false, "frame-ancestors 'none'"},
		{"GET", "/metrics", false, "frame-ancestors 'none'"},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(c.method, c.path, strings.NewReader("{}")))
		got := rec.Result().Header
		if got.Get("X-Content-Type-Options") != "nosniff" || got.Get("X-Frame-Options") != "DENY" || got.Get("Content-Security-Policy") != c.policy {
			t.Errorf("%s %s: %d %v", c.method, c.path, rec.Code, got)
		}
		if noStore := got.Get("Cache-Control") == "no-store"; noStore != c.secret {
			t.Errorf("%s %s: Cache-Control %q", c.method, c.path, got.Get("Cache-Control"))
		}
	}
}
