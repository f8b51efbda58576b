package main

import (
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/core/config"
	"github.com/countycloud/countycloud/core/measure"
	"github.com/countycloud/countycloud/plugins/sdk"
	"github.com/countycloud/countycloud/tenants/registry"
)

// BenchmarkAnOnlineApplication: citizens apply online for an item, 8
// callers at once (4 goroutines per CPU on 2 CPUs), in one run:
//
//   - api: POST /v1/public/{code}/modules/approval/public/applications
//     through HTTP, the public route's bounds and audit entry, and the
//     approval plugin process, which makes two host calls: the item
//     read, and Submit (in one transaction: the workflow started — the
//     instance, its first task, its history, the engine's audit entry —
//     the applicant's record, the county's year counter raised, the
//     application written with its number and instance id and its two
//     indexed fields, its receipt issued with the code hashed, the
//     module's audit entry, the inbox notice telling the department's
//     clerk and its count);
//   - sql: the same rows written with raw SQL in one transaction, in the
//     same order, as a hand-written handler with the item and the
//     workflow's definition in hand would.
//
// Every submission raises two rows every other one raises too, the
// year's counter and the day's count of notices, and waits for them
// from the first to the commit: both sides write them last.
func BenchmarkAnOnlineApplication(b *testing.B) {
	db, _, url, env := twoCounties(b, map[string]string{"wyadmin": auth.RoleCountyAdmin}, func(c *config.Server) { c.PublicRate = 1e6 })
	const county = "gd.shaoguan.wengyuan"
	opEnv := map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": env["COUNTYCLOUD_TOKEN"], "COUNTYCLOUD_TENANT": county}
	mustCLI(b, opEnv, "org", "units", "create", "--name", "发改局")
	// Its clerk examines: a public start needs the unit to have an
	// active account, and each start tells the clerk (an inbox notice).
	mustCLI(b, opEnv, "org", "accounts", "create", "--login", "fgclerk", "--name", "发改窗口", "--unit", "2", "--role", "clerk")
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
	var revision int
	if err := db.Server.Get(&revision, "SELECT MAX(version) FROM "+schema+".workflow_definitions WHERE code = 'approval.application'"); err != nil {
		b.Fatal(err)
	}
	// The notice's count, by day, half-month and month (in China).
	day, err := time.Parse(time.DateOnly, measure.Day(time.Now()))
	if err != nil {
		b.Fatal(err)
	}
	month := day.AddDate(0, 0, 1-day.Day())
	half := month
	if day.Day() > 15 {
		half = month.AddDate(0, 0, 15)
	}
	var clerk int64
	if err := db.Server.Get(&clerk, "SELECT id FROM "+schema+".accounts WHERE login = 'fgclerk'"); err != nil {
		b.Fatal(err)
	}
	var n atomic.Int64
	b.Run("sql", func(b *testing.B) {
		b.SetParallelism(4)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				now := time.Now().UTC().Truncate(time.Microsecond)
				id := sdk.NewestFirstID(now) + fmt.Sprint(n.Add(1))
				code := make([]byte, 10)
				if _, err := rand.Read(code); err != nil {
					b.Fatal(err)
				}
				sum := sha256.Sum256(code)
				tx, err := db.Server.Beginx()
				if err != nil {
					b.Fatal(err)
				}
				exec := func(query string, args ...any) sql.Result {
					res, err := tx.Exec(query, args...)
					if err != nil {
						b.Fatal(err)
					}
					return res
				}
				due, warn := now.Add(3*24*time.Hour), now.Add(2*24*time.Hour)
				instance, err := exec("INSERT INTO "+schema+".workflow_instances (definition_code, definition_version, title, reference, initiator_id, "+
					"initiator_unit_id, subject_unit_id, parent_id, status, started_at, due_at, due_calendar) VALUES ('approval.application', ?, ?, ?, 0, 2, 2, NULL, 'running', ?, ?, 'official')",
					revision, "企业投资项目备案：翁源县宏达建材有限公司", id, now, due).LastInsertId()
				if err != nil {
					b.Fatal(err)
				}
				task, err := exec("INSERT INTO "+schema+".workflow_tasks (instance_id, step, step_name, join_step, assignee_account_id, assignee_role, unit_id, status, "+
					"sms_reminder, created_at, warn_at, due_at, due_calendar, next_check_at) VALUES (?, 'accept', '受理审查', NULL, NULL, 'clerk', 2, 'open', 0, ?, ?, ?, 'official', ?)",
					instance, now, warn, due, warn).LastInsertId()
				if err != nil {
					b.Fatal(err)
				}
				exec("INSERT INTO "+schema+".workflow_history (instance_id, task_id, step, action, actor_id, actor_login, at, comment) VALUES (?, NULL, 'accept', 'start', NULL, 'anonymous@203.0.113.9', ?, NULL)", instance, now)
				exec("INSERT INTO "+schema+".audit_log (at, actor_kind, actor_login, action, object_type, object_id, after_digest, outcome, request_id, source) VALUES "+
					"(?, 'anonymous', 'anonymous', 'module.public', 'module', 'approval', NULL, 'ok', ?, '203.0.113.9'), "+
					"(?, 'anonymous', 'anonymous', 'workflow.start', 'workflow_instance', ?, ?, 'ok', ?, 'plugin:approval')",
					now, id, now, fmt.Sprint(instance), fmt.Sprintf("%x", sha256.Sum256([]byte(id))), id)
				token := sha256.Sum256([]byte(id))
				exec("INSERT INTO "+schema+".plugin_records (plugin, collection, record_id, version, document, created_at, updated_at) VALUES ('approval', 'applicants', ?, 1, ?, ?, ?)",
					fmt.Sprintf("%x", token), `{"applications":["`+id+`"]}`, now, now)
				seq, err := exec("INSERT INTO " + schema + ".receipt_counters (year, last_seq) VALUES (3000, LAST_INSERT_ID(1)) ON DUPLICATE KEY UPDATE last_seq = LAST_INSERT_ID(last_seq + 1)").LastInsertId()
				if err != nil {
					b.Fatal(err)
				}
				number := fmt.Sprintf("3000-%06d", seq)
				doc := map[string]any{"item_code": "XK-001", "item_name": "企业投资项目备案", "unit_id": 2, "applicant": body["applicant"], "channel": "online",
					"materials": body["materials"], "status": "submitted", "instance_id": instance, "number": number, "submitted_at": now, "updated_by": "anonymous", "updated_at": now}
				data, err := json.Marshal(doc)
				if err != nil {
					b.Fatal(err)
				}
				exec("INSERT INTO "+schema+".plugin_records (plugin, collection, record_id, version, document, created_at, updated_at) VALUES ('approval', 'applications', ?, 1, ?, ?, ?)", id, data, now, now)
				exec("INSERT INTO "+schema+".plugin_record_fields (plugin, collection, record_id, field, value) VALUES ('approval', 'applications', ?, 'status', 'submitted'), ('approval', 'applications', ?, 'unit_id', '2')", id, id)
				exec("INSERT INTO "+schema+".receipts (number, plugin, collection, record_id, code_sha256, issued_at) VALUES (?, 'approval', 'applications', ?, ?, ?)", number, id, sum[:], now)
				exec("INSERT INTO "+schema+".audit_log (at, actor_kind, actor_login, action, object_type, object_id, after_digest, outcome, request_id, source) VALUES "+
					"(?, 'anonymous', 'anonymous', 'approval.application.submit', 'application', ?, ?, 'ok', ?, 'plugin:approval')",
					now, id, fmt.Sprintf("%x", sha256.Sum256(data)), id)
				exec("INSERT INTO "+schema+".notifications (account_id, channel, kind, subject, body, ref_type, ref_id, address, status, next_attempt_at, sent_at, created_at) "+
					"VALUES (?, 'inapp', 'task_assigned', ?, ?, 'workflow_task', ?, NULL, 'sent', NULL, ?, ?)", clerk, "待办：企业投资项目备案：翁源县宏达建材有限公司",
					"「企业投资项目备案：翁源县宏达建材有限公司」待您办理：受理审查。办理时限："+due.Format("2006-01-02 15:04")+"。", task, now, now)
				exec("INSERT INTO "+schema+".measure_values (measure, unit_id, grain, period_start, value) VALUES (?, 2, 'd', ?, 1), (?, 2, 'h', ?, 1), (?, 2, 'm', ?, 1) "+
					"ON DUPLICATE KEY UPDATE value = value + VALUES(value)", measure.NoticesInbox, day, measure.NoticesInbox, half, measure.NoticesInbox, month)
				if err := tx.Commit(); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}
