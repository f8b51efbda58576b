package workday

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/countycloud/countycloud/core/errs"
)

func TestParseHoursReadsWhatStringWrites(t *testing.T) {
	h, err := ParseHours(" 08:30-12:00, 14:00-17:30 ")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(h, DefaultHours()) {
		t.Errorf("got %v, want %v", h, DefaultHours())
	}
	if got := DefaultHours().String(); got != "08:30-12:00,14:00-17:30" {
		t.Errorf("String() = %q", got)
	}
	if got := DefaultHours().Total(); got != 7*time.Hour {
		t.Errorf("Total() = %v", got)
	}
}

func TestNonsensicalHoursAreRefused(t *testing.T) {
	for _, tc := range []struct{ hours, want string }{
		{"", "not a period"},
		{"08:30", "not a period"},
		{"08:30-25:00", "not a period"},
		{"12:00-08:30", "does not end after it starts"},
		{"08:30-12:00,11:00-17:30", "starts before the previous period ends"},
		{"14:00-17:30,08:30-12:00", "starts before the previous period ends"},
	} {
		_, err := ParseHours(tc.hours)
		if errs.CodeOf(err) != CodeInvalidHours || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseHours(%q) = %v, want a %s error mentioning %q", tc.hours, err, CodeInvalidHours, tc.want)
		}
	}
	for _, tc := range []struct {
		hours Hours
		want  string
	}{
		{nil, "no working period"},
		{Hours{{Start: 8, End: 12}}, "not in whole minutes"},
		{Hours{{Start: -time.Hour, End: time.Hour}}, "not within a day"},
		{Hours{{Start: 20 * time.Hour, End: 25 * time.Hour}}, "not within a day"},
	} {
		err := tc.hours.Validate()
		if errs.CodeOf(err) != CodeInvalidHours || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v.Validate() = %v, want a %s error mentioning %q", tc.hours, err, CodeInvalidHours, tc.want)
		}
	}
	if _, err := national(t).WithHours(Hours{}); errs.CodeOf(err) != CodeInvalidHours {
		t.Errorf("WithHours accepted no hours: %v", err)
	}
}

func TestDeadlinesInWorkingHours(t *testing.T) {
	c := national(t)
	for _, tc := range []struct {
		start string
		d     time.Duration
		want  string
	}{
		{"2026-03-02 11:00", 2 * time.Hour, "2026-03-02 15:00"}, // over lunch
		{"2026-03-02 12:30", time.Hour, "2026-03-02 15:00"},
		{"2026-03-02 07:00", time.Hour, "2026-03-02 09:30"},
		{"2026-03-02 08:30", 3*time.Hour + 30*time.Minute, "2026-03-02 12:00"}, // the end of the morning, not 14:00
		{"2026-03-02 08:30", 7 * time.Hour, "2026-03-02 17:30"},                // the end of the day, not the next morning
		{"2026-03-07 10:00", time.Hour, "2026-03-09 09:30"},                    // from an ordinary Saturday
		{"2026-02-13 16:30", 2 * time.Hour, "2026-02-14 09:30"},                // into the working Saturday
		{"2026-02-14 17:00", time.Hour, "2026-02-24 09:00"},                    // over the Spring Festival
		{"2026-09-30 16:00", 8 * time.Hour, "2026-10-08 17:00"},                // over National Day
		{"2026-02-24 09:00", -time.Hour, "2026-02-14 17:00"},
		{"2026-03-07 10:00", 0, "2026-03-07 10:00"},
	} {
		if got := c.AddWorkingDuration(china(t, tc.start), tc.d); !got.Equal(china(t, tc.want)) {
			t.Errorf("AddWorkingDuration(%s, %v) = %s, want %s", tc.start, tc.d, got.Format(time.DateTime), tc.want)
		}
	}
}

func TestTheShareOfALimitUsed(t *testing.T) {
	c := national(t)
	start := china(t, "2026-09-30 16:00")
	limit := 8 * time.Hour
	for _, tc := range []struct {
		at   string
		used time.Duration
	}{
		{"2026-09-30 16:00", 0},
		{"2026-10-03 10:00", 90 * time.Minute}, // the holiday uses none of it
		{"2026-10-08 12:30", 5 * time.Hour},    // nor does lunch
		{"2026-10-08 15:24", 6*time.Hour + 24*time.Minute},
		{"2026-10-08 17:00", 8 * time.Hour},
	} {
		if got := c.WorkingDuration(start, china(t, tc.at)); got != tc.used {
			t.Errorf("at %s %v used, want %v", tc.at, got, tc.used)
		}
	}
	// A yellow warning at 80% of the limit falls at 15:24 on 8 October.
	if got := c.AddWorkingDuration(start, limit*8/10); !got.Equal(china(t, "2026-10-08 15:24")) {
		t.Errorf("80%% of the limit is used at %s", got)
	}
	if got := c.WorkingDuration(china(t, "2026-10-08 17:00"), start); got != -limit {
		t.Errorf("backwards: %v", got)
	}
}

func TestACountysOwnHoursMoveItsDeadlines(t *testing.T) {
	summer, err := ParseHours("08:00-12:00,14:30-18:00")
	if err != nil {
		t.Fatal(err)
	}
	national := national(t)
	c, err := national.WithHours(summer)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.AddWorkingDays(china(t, "2026-07-06 17:45"), 1), china(t, "2026-07-07 18:00"); !got.Equal(want) {
		t.Errorf("a day's limit ends %s, want %s: 17:45 is still office time", got, want)
	}
	if got, want := c.AddWorkingDuration(china(t, "2026-07-06 11:00"), 2*time.Hour), china(t, "2026-07-06 15:30"); !got.Equal(want) {
		t.Errorf("two hours end %s, want %s", got, want)
	}
	if !slices.Equal(national.Hours(), DefaultHours()) || !slices.Equal(c.Hours(), summer) {
		t.Errorf("WithHours changed the calendar it was called on, or did not take: %v, %v", national.Hours(), c.Hours())
	}
}
