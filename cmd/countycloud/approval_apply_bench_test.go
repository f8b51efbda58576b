package main

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/core/config"
	"github.com/countycloud/countycloud/plugins/sdk"
	"github.com/countycloud/countycloud/tenants/registry"
)

// BenchmarkAnOnlineApplication: citizens apply online for an item, 8
// callers at once (4 goroutines per CPU on 2 CPUs), in one run:
//
//   - api: POST /v1/public/{code}/modules/approval/public/applications
//     through HTTP, the public route's bounds and the approval plugin
//     process: the item read, the application written, its receipt
//     issued (the county's year counter raised, the code hashed), the
//     number written back, the audit entry;
//   - sql: the same rows written with raw SQL in one transaction, as a
//     hand-written handler with the item in hand would: the record and
//     its two indexed fields, the counter and the receipt, the record
//     again with its number, the audit entry.
//
// No workflow starts and no file is kept on submission: a public route's
// anonymous caller can do neither (docs/approval.md); the workflow starts
// at the department's examination, and measures are counted at the
// decision.
func BenchmarkAnOnlineApplication(b *testing.B) {
	db, _, url, env := twoCounties(b, map[string]string{"wyadmin": auth.RoleCountyAdmin}, func(c *config.Server) { c.PublicRate = 1e6 })
	const county = "gd.shaoguan.wengyuan"
	opEnv := map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": env["COUNTYCLOUD_TOKEN"], "COUNTYCLOUD_TENANT": county}
	mustCLI(b, opEnv, "org", "units", "create", "--name", "发改局")
	mustCLI(b, opEnv, "plugin", "enable", "approval")
	token := loginAs(b, db, url, env["COUNTYCLOUD_TOKEN"], county)["wyadmin"]
	item := map[string]any{"code": "XK-001", "name": "企业投资项目备案", "category": "行政许可", "departments": []map[string]any{{"unit_id": 2}},
		"legal_basis": "《企业投资项目核准和备案管理条例》", "conditions": "本县企业投资项目",
		"materials": []map[string]any{{"name": "备案申请表", "eform": true}, {"name": "营业执照", "original": true}},
		"procedure": "申请、受理、决定", "promised_days": 3, "statutory_days": 20, "fees": "不收费", "phone": "0795-3561234"}
	want(b, "the item", call(b, "POST", url+"/v1/tenants/"+county+"/modules/approval/items", token, item), 201, "")
	body := map[string]any{"item_code": "XK-001", "materials": []string{"备案申请表", "营业执照"},
		"applicant": map[string]any{"name": "翁源县宏达建材有限公司", "id_type": "统一社会信用代码", "id_number": "91440229MA4UJ1234X", "contact": "13800138000"}}
	pub := url + "/v1/public/" + county + "/modules/approval/public/applications"

	b.Run("api", func(b *testing.B) {
		b.SetParallelism(4)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if r := call(b, "POST", pub, "", body); r.status != 201 {
					b.Fatalf("apply: %d %s", r.status, r.body)
				}
			}
		})
	})

	schema := "`" + registry.SchemaName(db.SchemaPrefix, county) + "`"
	var n atomic.Int64
	b.Run("sql", func(b *testing.B) {
		b.SetParallelism(4)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				now := time.Now().UTC()
				id := sdk.NewestFirstID(now) + fmt.Sprint(n.Add(1))
				doc := map[string]any{"item_code": "XK-001", "item_name": "企业投资项目备案", "unit_id": 2, "applicant": body["applicant"],
					"channel": "online", "materials": body["materials"], "status": "submitted", "submitted_at": now, "updated_by": "anonymous", "updated_at": now}
				data, err := json.Marshal(doc)
				if err != nil {
					b.Fatal(err)
				}
				code := make([]byte, 10)
				if _, err := rand.Read(code); err != nil {
					b.Fatal(err)
				}
				sum := sha256.Sum256(code)
				tx, err := db.Server.Beginx()
				if err != nil {
					b.Fatal(err)
				}
				exec := func(query string, args ...any) {
					if _, err := tx.Exec(query, args...); err != nil {
						b.Fatal(err)
					}
				}
				exec("INSERT INTO "+schema+".plugin_records (plugin, collection, record_id, version, document, created_at, updated_at) VALUES ('approval', 'applications', ?, 1, ?, ?, ?)", id, data, now, now)
				exec("INSERT INTO "+schema+".plugin_record_fields (plugin, collection, record_id, field, value) VALUES ('approval', 'applications', ?, 'status', 'submitted'), ('approval', 'applications', ?, 'unit_id', '2')", id, id)
				exec("INSERT INTO " + schema + ".receipt_counters (year, last_seq) VALUES (3000, 1) ON DUPLICATE KEY UPDATE last_seq = last_seq + 1")
				var seq int64
				if err := tx.Get(&seq, "SELECT last_seq FROM "+schema+".receipt_counters WHERE year = 3000"); err != nil {
					b.Fatal(err)
				}
				number := fmt.Sprintf("3000-%06d", seq)
				exec("INSERT INTO "+schema+".receipts (number, plugin, collection, record_id, code_sha256, issued_at) VALUES (?, 'approval', 'applications', ?, ?, ?)", number, id, sum[:], now)
				doc["number"] = number
				if data, err = json.Marshal(doc); err != nil {
					b.Fatal(err)
				}
				exec("UPDATE "+schema+".plugin_records SET version = 2, document = ?, updated_at = ? WHERE plugin = 'approval' AND collection = 'applications' AND record_id = ?", data, now, id)
				exec("UPDATE "+schema+".plugin_record_fields SET value = 'submitted' WHERE plugin = 'approval' AND collection = 'applications' AND record_id = ? AND field = 'status'", id)
				exec("INSERT INTO "+schema+".audit_log (at, actor_kind, actor_login, action, object_type, object_id, after_digest, outcome, request_id, source) "+
					"VALUES (?, 'anonymous', 'anonymous', 'approval.application.submit', 'application', ?, ?, 'ok', ?, 'plugin:approval')", now, id, fmt.Sprintf("%x", sha256.Sum256(data)), id)
				if err := tx.Commit(); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}
