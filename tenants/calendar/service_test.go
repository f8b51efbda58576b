package calendar_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/countycloud/countycloud/core/store/storetest"
	"github.com/countycloud/countycloud/core/workday"
	"github.com/countycloud/countycloud/tenants/calendar"
	"github.com/countycloud/countycloud/tenants/provision/provisiontest"
	"github.com/countycloud/countycloud/tenants/registry"
)

const (
	wengyuan = "gd.shaoguan.wengyuan"
	lechang  = "gd.shaoguan.lechang"
)

// TestAYearShowsHowFarItsNationalDataCanBeTrusted: 2026 is official with
// its notice, 2027 provisional with how it was worked out, 2028 missing;
// a county's own day shows in its year and not in another county's.
func TestAYearShowsHowFarItsNationalDataCanBeTrusted(t *testing.T) {
	t.Parallel()
	db := storetest.New(t)
	provisiontest.Registry(t, db, registry.CreateRequest{Code: wengyuan, Name: "翁源县"}, registry.CreateRequest{Code: lechang, Name: "乐昌市"})
	svc, err := calendar.NewService(provisiontest.Router(db, registry.LocatorInterval))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	off := false
	if _, err := svc.SetOverride(ctx, lechang, "2028-06-05", calendar.OverrideInput{Working: &off, Note: "乐昌县庆"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		year   int
		status workday.Status
		source string
		days   bool
	}{
		{2026, workday.Official, "国务院办公厅关于2026年部分节假日安排的通知", true},
		{2027, workday.Provisional, "推定", true},
		{2028, workday.Missing, "", false},
	} {
		view, err := svc.Year(ctx, wengyuan, tc.year)
		if err != nil {
			t.Fatal(err)
		}
		if view.Status != tc.status || !strings.Contains(view.Source, tc.source) || (tc.source == "") != (view.Source == "") || (len(view.Days) > 0) != tc.days {
			t.Errorf("%d: %s %q with %d days, want %s %q", tc.year, view.Status, view.Source, len(view.Days), tc.status, tc.source)
		}
	}
	lc, err := svc.Year(ctx, lechang, 2028)
	if err != nil {
		t.Fatal(err)
	}
	if lc.Status != workday.Missing || len(lc.Days) != 1 || !lc.Days[0].County {
		t.Errorf("Lechang's 2028: %+v; its own day gives the year no national data", lc)
	}
}

// TestTheOutlookWarnsWhileThisOrNextYearIsNotOfficial: the log says, at
// warning level, that next year's data is provisional or missing and what
// that does to deadlines, whatever the zone of the instant.
func TestTheOutlookWarnsWhileThisOrNextYearIsNotOfficial(t *testing.T) {
	svc, err := calendar.NewService(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		now  time.Time
		want string
	}{
		{time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC), "INFO 2026 official, WARN 2027 provisional"},
		// 17:00 UTC on New Year's Eve is already 2026 in China.
		{time.Date(2025, 12, 31, 17, 0, 0, 0, time.UTC), "INFO 2026 official, WARN 2027 provisional"},
		{time.Date(2027, 6, 1, 3, 0, 0, 0, time.UTC), "WARN 2027 provisional, WARN 2028 missing"},
		{time.Date(2025, 6, 1, 3, 0, 0, 0, time.UTC), "WARN 2025 missing, INFO 2026 official"},
	} {
		var logs bytes.Buffer
		svc.WarnOutlook(context.Background(), slog.New(slog.NewJSONHandler(&logs, nil)), tc.now)
		var got []string
		for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
			var rec struct {
				Level, Msg string
				Year       int
				Status     string
			}
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Fatal(err)
			}
			if rec.Level == "WARN" && !strings.Contains(rec.Msg, "deadlines") {
				t.Errorf("%s: the warning does not say what it does to deadlines: %s", tc.now, rec.Msg)
			}
			got = append(got, fmt.Sprintf("%s %d %s", rec.Level, rec.Year, rec.Status))
		}
		if strings.Join(got, ", ") != tc.want {
			t.Errorf("at %s: %s, want %s", tc.now, strings.Join(got, ", "), tc.want)
		}
	}
}
