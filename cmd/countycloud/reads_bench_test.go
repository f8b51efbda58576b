package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/countycloud/countycloud/core/kit"
	"github.com/countycloud/countycloud/core/store"
	"github.com/countycloud/countycloud/core/store/storetest"
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
		h := kit.Handler(quiet, prometheus.NewRegistry(), p.routes()...)
		b.SetParallelism(4)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				req := httptest.NewRequest(http.MethodGet, "/v1/tenants/gd.shaoguan.wengyuan/accounts?limit=50", nil)
				req.Header.Set("Authorization", "Bearer "+env["COUNTYCLOUD_TOKEN"])
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatal(rec.Code)
				}
			}
		})
	})
	b.Run("raw-sqlx", func(b *testing.B) {
		pool := store.Open(storetest.ServerConfig(b), 32, quiet)
		defer pool.Close()
		b.SetParallelism(4)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := rawAccountsList(context.Background(), pool, schema); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}
