package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	kitjwt "github.com/go-kit/kit/auth/jwt"
	"github.com/go-kit/kit/endpoint"
	httptransport "github.com/go-kit/kit/transport/http"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/core/config"
	"github.com/countycloud/countycloud/core/kit"
	"github.com/countycloud/countycloud/core/store"
	"github.com/countycloud/countycloud/core/store/storetest"
	"github.com/countycloud/countycloud/tenants/org"
)

// BenchmarkAccountsList compares GET /v1/tenants/{code}/accounts through
// the whole server (HTTP, authentication, routing, JSON) with the same SQL
// through raw sqlx, both from 4 goroutines per CPU: the ratio of the two
// is the cost of the platform around the query. (countycloud bench
// tenants measures the same over many counties.)
func BenchmarkAccountsList(b *testing.B) {
	db, p, url, env := startedPlatformWith(b, quiet)
	for _, args := range [][]string{
		{"tenant", "create", "--code", "gd", "--name", "广东省"},
		{"tenant", "create", "--code", "gd.shaoguan", "--name", "韶关市"},
		{"tenant", "create", "--code", "gd.shaoguan.wengyuan", "--name", "翁源县"},
	} {
		mustCLI(b, env, args...)
	}
	env["COUNTYCLOUD_TENANT"] = "gd.shaoguan.wengyuan"
	mustCLI(b, env, "org", "units", "create", "--name", "办公室")
	for i := range 20 {
		mustCLI(b, env, "org", "accounts", "create", "--login", "user"+string(rune('a'+i)), "--name", "人员", "--unit", "1", "--role", "clerk")
	}
	schema := db.SchemaPrefix + "gd_shaoguan_wengyuan"

	b.Run("api", func(b *testing.B) {
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
		b.SetParallelism(4)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				req, _ := http.NewRequest(http.MethodGet, url+"/v1/tenants/gd.shaoguan.wengyuan/accounts?limit=50", nil)
				req.Header.Set("Authorization", "Bearer "+env["COUNTYCLOUD_TOKEN"])
				resp, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Fatal(resp.Status)
				}
			}
		})
	})
	// The same request served in-process, without the network: what the
	// server costs apart from the HTTP exchange.
	b.Run("handler", func(b *testing.B) {
		serveInProcess(b, kit.Handler(quiet, prometheus.NewRegistry(), p.routes()...), env["COUNTYCLOUD_TOKEN"])
	})
	b.Run("raw-sqlx", func(b *testing.B) {
		pool := store.Open(storetest.ServerConfig(b), 32, quiet)
		defer pool.Close()
		b.SetParallelism(4)
		before := processCPU(b)
		defer func() { b.ReportMetric(float64((processCPU(b)-before).Microseconds())/float64(b.N), "cpu-µs/op") }()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := rawAccountsList(context.Background(), pool, schema); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}

// serveInProcess requests the account list of Wengyuan from h with token,
// 4 goroutines per CPU, without a network in between.
func serveInProcess(b *testing.B, h http.Handler, token string) {
	b.SetParallelism(4)
	before := processCPU(b)
	defer func() { b.ReportMetric(float64((processCPU(b)-before).Microseconds())/float64(b.N), "cpu-µs/op") }()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest(http.MethodGet, "/v1/tenants/gd.shaoguan.wengyuan/accounts?limit=50", nil)
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatal(rec.Code, rec.Body.String())
			}
		}
	})
}

// BenchmarkAuthCost serves the account list of 20 accounts in-process, so
// that the network does not drown the difference: with a county admin's
// access token (a JWT), with the operator's API token, and through the
// same endpoints with no guard at all. The rate limits are on, high
// enough never to refuse. ns/op without the guard divided by ns/op with
// it is the share of a request left after authentication, authorisation
// and limits (goal ≥ 0.9; docs/benchmarks.md).
func BenchmarkAuthCost(b *testing.B) {
	roles := map[string]string{"wyadmin": auth.RoleCountyAdmin}
	for i := range 19 {
		roles[fmt.Sprintf("clerk%02d", i)] = auth.RoleClerk
	}
	db, p, url, env := twoCounties(b, roles, func(c *config.Server) { c.RateLimitCounty, c.RateLimitAccount = 1e9, 1e9 })
	admin := loginAs(b, db, url, env["COUNTYCLOUD_TOKEN"], "gd.shaoguan.wengyuan")["wyadmin"]
	guarded := kit.Handler(quiet, prometheus.NewRegistry(), p.routes()...)
	open := func(string) endpoint.Middleware {
		return func(next endpoint.Endpoint) endpoint.Endpoint { return next }
	}
	opts := kit.ServerOptions(quiet, httptransport.ServerBefore(kitjwt.HTTPToContext(), auth.PathTenantToContext))
	unguarded := kit.Handler(quiet, prometheus.NewRegistry(), org.Routes(p.org, open, opts...)...)

	b.Run("access-token", func(b *testing.B) { serveInProcess(b, guarded, admin) })
	b.Run("api-token", func(b *testing.B) { serveInProcess(b, guarded, env["COUNTYCLOUD_TOKEN"]) })
	b.Run("no-guard", func(b *testing.B) { serveInProcess(b, unguarded, "") })
}

// processCPU is the CPU time this process has used, user and system: the
// server's share of a request, apart from the database's.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
