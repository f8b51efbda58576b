package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/core/config"
	"github.com/countycloud/countycloud/plugins/sdk"
)

// BenchmarkPublishedRepliesPage reads a page of 20 of a county's 10,000
// published replies, at a random depth, through the public route (HTTP,
// the host, the convenience plugin process and the records store: the
// citizen's path), and the same page with one raw SQL statement on the
// county's schema: the keyset the records store pages by. It reports
// the p50 of each per page and their ratio. The replies, and 10,000
// messages beside them in the same table, are written straight into the
// county's schema: the benchmark measures the reading.
func BenchmarkPublishedRepliesPage(b *testing.B) {
	const county, replies, page = "gd.shaoguan.wengyuan", 10_000, 20
	db, _, url, env := twoCounties(b, map[string]string{"wyadmin": auth.RoleCountyAdmin}, func(c *config.Server) {
		c.PublicRate = 1e9
	})
	wyEnv := map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": env["COUNTYCLOUD_TOKEN"], "COUNTYCLOUD_TENANT": county}
	mustCLI(b, wyEnv, "plugin", "enable", "convenience", "--settings", `{"it_office_unit_id": 1}`)
	schema := "`" + db.SchemaPrefix + strings.ReplaceAll(county, ".", "_") + "`"
	start := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	ids := make([]string, 0, replies)
	for batch := 0; batch < replies; batch += 500 {
		var records, fields []string
		var args, fargs []any
		for i := batch; i < batch+500; i++ {
			at := start.Add(time.Duration(i) * time.Minute)
			id := sdk.NewestFirstID(at)
			ids = append(ids, id)
			doc, _ := json.Marshal(map[string]any{"category": "投诉", "content": fmt.Sprintf("第%d条：小区门口路灯坏了一个月，多次反映无人处理，请尽快修复。", i),
				"reply": "您好，经核实，路灯已于本周修复，感谢您的监督。", "unit_id": 1, "unit_name": "县信息中心", "submitted_at": at, "answered_at": at.Add(time.Hour)})
			msg, _ := json.Marshal(map[string]any{"category": "投诉", "content": "路灯坏了", "status": "answered", "unit_id": 1, "submitted_at": at})
			mid := sdk.NewestFirstID(at)
			records = append(records, "('convenience', 'published', ?, 1, ?, ?, ?)", "('convenience', 'messages', ?, 1, ?, ?, ?)")
			args = append(args, id, string(doc), at, at, mid, string(msg), at, at)
			fields = append(fields, "('convenience', 'messages', ?, 'status', 'answered')", "('convenience', 'messages', ?, 'unit_id', '1')")
			fargs = append(fargs, mid, mid)
		}
		if _, err := db.Server.Exec("INSERT INTO "+schema+".plugin_records (plugin, collection, record_id, version, document, created_at, updated_at) VALUES "+strings.Join(records, ","), args...); err != nil {
			b.Fatal(err)
		}
		if _, err := db.Server.Exec("INSERT INTO "+schema+".plugin_record_fields (plugin, collection, record_id, field, value) VALUES "+strings.Join(fields, ","), fargs...); err != nil {
			b.Fatal(err)
		}
	}
	slices.Sort(ids)
	// after is the cursor of a random page: the id before its first.
	after := func() string {
		k := rand.IntN(replies / page)
		if k == 0 {
			return ""
		}
		return ids[k*page-1]
	}
	public := url + "/v1/public/" + county + "/modules/convenience/public/replies?limit=20"
	var viaAPI, viaSQL []time.Duration
	b.ResetTimer()
	for range b.N {
		cursor := after()
		t0 := time.Now()
		r := call(b, "GET", public+"&after="+cursor, "", nil)
		viaAPI = append(viaAPI, time.Since(t0))
		if r.status != 200 || strings.Count(string(r.body), `"unit_name"`) != page {
			b.Fatalf("a page: %d %.200s", r.status, r.body)
		}
		t0 = time.Now()
		var rows []struct {
			ID       string    `db:"record_id"`
			Version  int64     `db:"version"`
			Document string    `db:"document"`
			Created  time.Time `db:"created_at"`
			Updated  time.Time `db:"updated_at"`
		}
		if err := db.Server.Select(&rows, "SELECT record_id, version, document, created_at, updated_at FROM "+schema+
			".plugin_records WHERE plugin = 'convenience' AND collection = 'published' AND record_id > ? ORDER BY record_id LIMIT ?", cursor, page+1); err != nil || len(rows) < page {
			b.Fatalf("the SQL page: %d rows, %v", len(rows), err)
		}
		viaSQL = append(viaSQL, time.Since(t0))
	}
	b.StopTimer()
	p50 := func(d []time.Duration) float64 {
		slices.Sort(d)
		return float64(d[len(d)/2]) / float64(time.Millisecond)
	}
	api, raw := p50(viaAPI), p50(viaSQL)
	b.ReportMetric(api, "api-p50-ms")
	b.ReportMetric(raw, "sql-p50-ms")
	b.ReportMetric(api/raw, "api/sql")
}
