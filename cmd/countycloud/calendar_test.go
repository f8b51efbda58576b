package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/core/jobs"
	"github.com/countycloud/countycloud/core/workday"
	"github.com/countycloud/countycloud/tenants/calendar"
	"github.com/countycloud/countycloud/tenants/supervision"
	"github.com/countycloud/countycloud/tenants/workflow"
)

// TestTheServerWarnsAtStartAndDailyWhileNextYearsCalendarIsNotOfficial:
// the log says at start, and again when the daily job runs, how far the
// national data of next year can be trusted: a warning while it is
// provisional or missing (as 2027 and 2028 are).
func TestTheServerWarnsAtStartAndDailyWhileNextYearsCalendarIsNotOfficial(t *testing.T) {
	t.Parallel()
	national, err := workday.National()
	if err != nil {
		t.Fatal(err)
	}
	next := workday.DateOf(time.Now()).Year + 1
	level := "WARN"
	if national.Status(next) == workday.Official {
		level = "INFO"
	}
	var logs syncBuffer
	_, p, _, _ := startedPlatformWith(t, slog.New(slog.NewJSONHandler(&logs, nil)))
	said := func() int {
		n := 0
		for _, line := range strings.Split(logs.String(), "\n") {
			var rec struct {
				Level, Msg, Status string
				Year               int
			}
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Year == next && rec.Level == level &&
				rec.Status == string(national.Status(next)) && strings.Contains(rec.Msg, "national calendar data") {
				n++
			}
		}
		return n
	}
	if n := said(); n != 1 {
		t.Fatalf("the start logged %d %s lines on %d's calendar, want 1:\n%s", n, level, next, logs.String())
	}

	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { p.worker().Run(ctx); close(stopped) }()
	t.Cleanup(func() { cancel(); <-stopped })
	deadline := time.Now().Add(20 * time.Second)
	for {
		list, err := p.jobs.List(context.Background(), jobs.Filter{Kind: calendar.JobCheckNational})
		if err != nil {
			t.Fatal(err)
		}
		if len(list) == 1 && list[0].Status == jobs.StatusDone {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the daily calendar check never ran: %+v", list)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := said(); n != 2 {
		t.Errorf("after the daily check, %d %s lines on %d's calendar, want 2", n, level, next)
	}
}

// TestDeadlinesWithoutOfficialCalendarDataAreMarkedWhereverTheyShow: a
// task due over 2027 (provisional data) and one over 2028 (none) are
// marked as such beside their deadline, with a line under the table
// saying what the mark means, in supervision's list, the inbox and the
// instance; the JSON carries due_calendar; calendar show says how far each
// year's data can be trusted. Lechang's lists show none of it.
func TestDeadlinesWithoutOfficialCalendarDataAreMarkedWhereverTheyShow(t *testing.T) {
	t.Parallel()
	db, _, url, env := twoCounties(t, map[string]string{"wysup": auth.RoleSupervisor, "wyclerk": auth.RoleClerk})
	const wy, lc = "gd.shaoguan.wengyuan", "gd.shaoguan.lechang"
	op := env["COUNTYCLOUD_TOKEN"]
	schema := db.SchemaPrefix + "gd_shaoguan_wengyuan"
	exec := func(query string, args ...any) {
		t.Helper()
		if _, err := db.Server.Exec(strings.ReplaceAll(query, "§", "`"+schema+"`"), args...); err != nil {
			t.Fatal(err)
		}
	}
	var clerk int64
	if err := db.Server.Get(&clerk, "SELECT id FROM `"+schema+"`.accounts WHERE login = 'wyclerk'"); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	exec("INSERT INTO §.workflow_definitions (code, version, name, base, effective, created_at, updated_at, updated_by) VALUES ('receive', 1, '收文', '{}', '{}', ?, ?, 'test')", now, now)
	exec(`INSERT INTO §.workflow_instances (id, definition_code, definition_version, title, initiator_id, initiator_unit_id, status, started_at, due_at, due_calendar) VALUES
(1, 'receive', 1, '今年的来文', ?, 1, 'running', '2026-06-01 01:00:00', '2026-06-23 09:30:00', 'official'),
(2, 'receive', 1, '明年的来文', ?, 1, 'running', '2027-09-27 01:00:00', '2027-10-19 09:30:00', 'provisional'),
(3, 'receive', 1, '后年的来文', ?, 1, 'running', '2028-09-25 01:00:00', '2028-10-16 09:30:00', 'missing')`, clerk, clerk, clerk)
	exec(`INSERT INTO §.workflow_tasks (id, instance_id, step, step_name, assignee_account_id, unit_id, status, level, created_at, warn_at, due_at, due_calendar) VALUES
(1, 1, 'handle', '办理', ?, 1, 'open', 1, '2026-06-01 01:00:00', '2026-06-18 01:00:00', '2026-06-23 09:30:00', 'official'),
(2, 2, 'handle', '办理', ?, 1, 'open', 1, '2027-09-27 01:00:00', '2027-10-14 01:00:00', '2027-10-19 09:30:00', 'provisional'),
(3, 3, 'handle', '办理', ?, 1, 'open', 1, '2028-09-25 01:00:00', '2028-10-13 01:00:00', '2028-10-16 09:30:00', 'missing')`, clerk, clerk, clerk)
	tokens := loginAs(t, db, url, op, wy)
	sup := map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": tokens["wysup"], "COUNTYCLOUD_TENANT": wy}
	clerkEnv := map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": tokens["wyclerk"], "COUNTYCLOUD_TENANT": wy}

	// marked checks a table: the 2026 deadline bare, the 2027 and 2028
	// ones marked, and a line under the table for each mark. (The inbox
	// writes times in the local zone, supervision in China's: rows are
	// found by their day.)
	marked := func(what, out string) {
		t.Helper()
		lines := strings.Split(out, "\n")
		row := func(due string) string {
			for _, l := range lines {
				if strings.Contains(l, due) {
					return l
				}
			}
			t.Errorf("%s: no row due %s:\n%s", what, due, out)
			return ""
		}
		if r := row("2026-06-23"); strings.Contains(r, "provisional") || strings.Contains(r, "no calendar data") {
			t.Errorf("%s: the 2026 deadline is marked: %s", what, r)
		}
		if r := row("2027-10-19"); !strings.Contains(r, ":30 (provisional)") {
			t.Errorf("%s: the 2027 deadline is not marked provisional: %s", what, r)
		}
		if r := row("2028-10-16"); !strings.Contains(r, ":30 (no calendar data)") {
			t.Errorf("%s: the 2028 deadline is not marked as having no calendar data: %s", what, r)
		}
		for _, note := range []string{"\nprovisional: counted in holidays worked out before", "\nno calendar data: counted Monday to Friday", "未计法定节假日"} {
			if !strings.Contains(out, note) {
				t.Errorf("%s: no line under the table says %q:\n%s", what, note, out)
			}
		}
	}
	marked("supervision tasks", mustCLI(t, sup, "supervision", "tasks"))
	marked("workflow inbox", mustCLI(t, clerkEnv, "workflow", "inbox"))
	if out := mustCLI(t, clerkEnv, "workflow", "instance", "3"); !strings.Contains(out, ":30 (no calendar data)\n") || !strings.Contains(out, "\nno calendar data: ") {
		t.Errorf("workflow instance 3:\n%s", out)
	}

	statuses := func(what string, tasks []*workday.Status) {
		t.Helper()
		var got []string
		for _, s := range tasks {
			if s == nil {
				got = append(got, "-")
			} else {
				got = append(got, string(*s))
			}
		}
		if strings.Join(got, " ") != "official provisional missing" {
			t.Errorf("%s: due_calendar %v, want official provisional missing", what, got)
		}
	}
	var page supervision.TaskPage
	if err := json.Unmarshal([]byte(mustCLI(t, sup, "supervision", "tasks", "-o", "json")), &page); err != nil {
		t.Fatal(err)
	}
	var got []*workday.Status
	for _, task := range page.Tasks {
		got = append(got, task.DueCalendar)
	}
	statuses("supervision tasks -o json", got)
	var items []workflow.InboxItem
	if err := json.Unmarshal([]byte(mustCLI(t, clerkEnv, "workflow", "inbox", "-o", "json")), &items); err != nil {
		t.Fatal(err)
	}
	got = nil
	for _, it := range items {
		got = append(got, it.DueCalendar)
	}
	statuses("workflow inbox -o json", got)

	// calendar show says how far each year's data can be trusted.
	for year, want := range map[string]struct {
		line   string
		status workday.Status
	}{
		"2026": {"2026: official national data.\nsource: 国务院办公厅关于2026年部分节假日安排的通知", workday.Official},
		"2027": {"2027: provisional national data, worked out before the State Council's notice", workday.Provisional},
		"2028": {"2028: no calendar data.", workday.Missing},
	} {
		out := mustCLI(t, sup, "calendar", "show", "--year", year)
		if !strings.Contains(out, want.line) {
			t.Errorf("calendar show --year %s does not say %q:\n%s", year, want.line, out)
		}
		var view calendar.YearView
		if err := json.Unmarshal([]byte(mustCLI(t, sup, "calendar", "show", "--year", year, "-o", "json")), &view); err != nil || view.Status != want.status {
			t.Errorf("calendar show --year %s -o json: status %s (%v), want %s", year, view.Status, err, want.status)
		}
	}

	// Lechang's lists show nothing of Wengyuan's.
	lcTokens := loginAs(t, db, url, op, lc)
	lcEnv := map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": lcTokens["lcadmin"], "COUNTYCLOUD_TENANT": lc}
	if out := mustCLI(t, lcEnv, "supervision", "tasks"); strings.Contains(out, "2028-10-16") || strings.Contains(out, "calendar data") {
		t.Errorf("Lechang's supervision lists Wengyuan's tasks:\n%s", out)
	}
	want(t, "Lechang's admin reads Wengyuan's tasks", call(t, "GET", url+"/v1/tenants/"+wy+"/supervision/tasks", lcTokens["lcadmin"], nil), 404, "tenant_not_found")
}
