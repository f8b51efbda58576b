package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/core/store/storetest"
)

// countyFingerprint is everything in a county's schema but its audit
// trail (which records refusals), to prove that refused requests left it
// alone.
func countyFingerprint(t *testing.T, db *storetest.DB, schema string) string {
	t.Helper()
	var b strings.Builder
	for _, table := range []string{"units", "accounts", "account_roles", "roles", "quota_requests", "settings", "credentials", "calendar_overrides",
		"workflow_definitions", "workflow_instances", "workflow_tasks", "workflow_history", "supervision_events",
		"notifications", "notification_preferences", "sms_gateway"} {
		rows, err := db.Server.Query("SELECT * FROM `" + schema + "`." + table)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "%s %s\n", table, fmt.Sprint(vals...))
		}
		rows.Close()
	}
	return b.String()
}

// TestEveryCountyRouteIsolatesCounties is generated from the route table:
// every route under /v1/tenants/{code} is called for county B with the ids
// of county A's records. No response shows A's data and A is unchanged, so
// a new route is covered without anyone remembering to add it here.
func TestEveryCountyRouteIsolatesCounties(t *testing.T) {
	t.Parallel()
	db, p, url, env := startedPlatformWith(t, quiet)
	for _, args := range [][]string{
		{"tenant", "create", "--code", "gd", "--name", "广东省"},
		{"tenant", "create", "--code", "gd.shaoguan", "--name", "韶关市"},
		{"tenant", "create", "--code", "gd.shaoguan.wengyuan", "--name", "翁源县"},
		{"tenant", "create", "--code", "gd.shaoguan.lechang", "--name", "乐昌市"},
	} {
		mustCLI(t, env, args...)
	}
	a := map[string]string{"COUNTYCLOUD_ADDR": env["COUNTYCLOUD_ADDR"], "COUNTYCLOUD_TOKEN": env["COUNTYCLOUD_TOKEN"], "COUNTYCLOUD_TENANT": "gd.shaoguan.wengyuan"}
	const marker = "翁源专有"
	mustCLI(t, a, "org", "units", "create", "--name", marker+"办公室", "--quota", "5")
	mustCLI(t, a, "org", "units", "create", "--name", marker+"审批科", "--parent", "1")
	mustCLI(t, a, "org", "accounts", "create", "--login", "wengyuanonly", "--name", marker+"人", "--unit", "1", "--role", "leader")
	mustCLI(t, a, "org", "accounts", "create", "--login", "wengyuanonly2", "--name", marker+"人二", "--unit", "2")
	mustCLI(t, a, "org", "quota", "request", "--unit", "1", "--quota", "9", "--reason", marker+"理由")
	mustCLI(t, a, "org", "roles", "create", "--code", "wengyuan_only", "--name", marker+"角色")
	schemaA := db.SchemaPrefix + "gd_shaoguan_wengyuan"
	file := filepath.Join(t.TempDir(), "notice.json")
	if err := os.WriteFile(file, []byte(strings.Replace(notice, "通知", marker+"通知", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	mustCLI(t, a, "workflow", "put", file)
	for _, stmt := range []string{
		"INSERT INTO %s.workflow_instances (definition_code, definition_version, title, initiator_id, initiator_unit_id, status, started_at) VALUES ('office.notice', 1, '" + marker + "来文', 1, 1, 'running', NOW())",
		"INSERT INTO %s.workflow_tasks (instance_id, step, step_name, assignee_role, unit_id, status, created_at, warn_at, due_at, next_check_at) VALUES (1, 'draft', '" + marker + "拟稿', 'leader', 1, 'open', NOW(), NOW(), NOW(), NOW()), (1, 'approve', '" + marker + "审批', 'leader', 2, 'open', NOW(), NOW(), NOW(), NOW())",
		"INSERT INTO %s.workflow_history (instance_id, step, action, actor_login, at, comment) VALUES (1, 'draft', 'start', 'wengyuanonly', NOW(), '" + marker + "')",
		"INSERT INTO %s.supervision_events (task_id, instance_id, unit_id, kind, level, at, actor_login, note) VALUES (2, 1, 2, 'warning', 1, NOW(), 'supervision', '" + marker + "')",
		"INSERT INTO %s.notifications (account_id, channel, kind, subject, body, status, created_at) VALUES (1, 'inapp', 'task_assigned', '" + marker + "', '" + marker + "', 'sent', NOW()), (2, 'sms', 'task_assigned', '" + marker + "', '" + marker + "', 'failed', NOW())",
		"INSERT INTO %s.sms_gateway (id, url, token, sign, updated_at) VALUES (1, 'https://sms.example.cn/send', 'secret', '" + marker + "', NOW())",
	} {
		if _, err := db.Server.Exec(fmt.Sprintf(stmt, "`"+schemaA+"`")); err != nil {
			t.Fatal(err)
		}
	}
	before := countyFingerprint(t, db, schemaA)

	bodies := []string{"", "{}", `{"name":"闯入者","unit_id":2,"parent_id":1,"quota":50,"reason":"x","status":"disabled","roles":["leader"]}`,
		`{"action":"approve","workflow":"office.notice","title":"闯入者","account_id":1,"note":"x"}`,
		"单位名称,上级单位,姓名,登录名\n" + marker + "办公室,,闯入者,wengyuanonly\n"}
	tried := 0
	for _, rt := range p.routes() {
		if !strings.Contains(rt.Pattern, "{code}") {
			continue
		}
		path := strings.NewReplacer("{code}", "gd.shaoguan.lechang", "{id}", "2", "{year}", "2026", "{date}", "2026-06-05", "{workflow}", "office.incoming").Replace(rt.Pattern)
		for _, body := range bodies {
			if rt.Method == http.MethodGet && body != "" {
				continue
			}
			req, _ := http.NewRequestWithContext(context.Background(), rt.Method, url+path, bytes.NewReader([]byte(body)))
			req.Header.Set("Authorization", "Bearer "+env["COUNTYCLOUD_TOKEN"])
			if strings.HasPrefix(body, "{") {
				req.Header.Set("Content-Type", "application/json")
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			tried++
			if strings.Contains(string(got), marker) || strings.Contains(string(got), "wengyuan_only") {
				t.Errorf("%s %s (%s) showed county A's data: %s", rt.Method, path, rt.Name, got)
			}
			if resp.StatusCode >= 500 {
				t.Errorf("%s %s (%s): %d %s", rt.Method, path, rt.Name, resp.StatusCode, got)
			}
		}
	}
	if tried < 20 {
		t.Fatalf("only %d requests tried; is the route table empty?", tried)
	}
	if after := countyFingerprint(t, db, schemaA); after != before {
		t.Errorf("requests for county B changed county A:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// TestEveryCountyRouteRefusesAnotherCountysToken is generated from the
// route table: an administrator of Lechang calls every Wengyuan route and
// gets exactly what a county that does not exist answers, and Wengyuan is
// unchanged.
func TestEveryCountyRouteRefusesAnotherCountysToken(t *testing.T) {
	t.Parallel()
	db, p, url, env := twoCounties(t, map[string]string{"wyadmin": auth.RoleCountyAdmin})
	lechang := loginAs(t, db, url, env["COUNTYCLOUD_TOKEN"], "gd.shaoguan.lechang")["lcadmin"]
	schemaA := db.SchemaPrefix + "gd_shaoguan_wengyuan"
	before := countyFingerprint(t, db, schemaA)
	tried := 0
	policy := auth.Policy()
	for _, rt := range p.routes() {
		// A public route serves anyone, whatever token comes along.
		if !strings.Contains(rt.Pattern, "{code}") || policy[rt.Name].Public {
			continue
		}
		path := strings.NewReplacer("{code}", "gd.shaoguan.wengyuan", "{id}", "1", "{year}", "2026", "{date}", "2026-06-05", "{workflow}", "office.incoming").Replace(rt.Pattern)
		r := call(t, rt.Method, url+path, lechang, map[string]any{"name": "闯入者", "unit_id": 1})
		nowhere := call(t, rt.Method, url+strings.Replace(path, "wengyuan", "nowhere", 1), lechang, map[string]any{"name": "闯入者", "unit_id": 1})
		if r.status != http.StatusNotFound || r.code() != "tenant_not_found" || nowhere.status != r.status || nowhere.code() != r.code() {
			t.Errorf("%s %s (%s) with Lechang's token: %d %s; a county that does not exist: %d %s", rt.Method, path, rt.Name, r.status, r.body, nowhere.status, nowhere.body)
		}
		tried++
	}
	if tried < 15 {
		t.Fatalf("only %d routes tried", tried)
	}
	if after := countyFingerprint(t, db, schemaA); after != before {
		t.Errorf("Lechang's token changed Wengyuan:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}
