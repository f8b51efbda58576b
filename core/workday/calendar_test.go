package workday

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/countycloud/countycloud/core/errs"
)

// china reads "2006-01-02 15:04" as a time in China.
func china(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.ParseInLocation("2006-01-02 15:04", s, time.FixedZone("CST", chinaOffset))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func national(t testing.TB) *Calendar {
	t.Helper()
	c, err := National()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestTheDaysOf2026AreThoseOfTheStateCouncilNotice(t *testing.T) {
	c := national(t)
	for _, tc := range []struct {
		day     string
		working bool
		reason  string
	}{
		{"2026-01-01", false, "元旦"},
		{"2026-01-02", false, "元旦"},
		{"2026-01-03", false, "元旦"},
		{"2026-01-04", true, "元旦调休上班"}, // Sunday
		{"2026-01-05", true, ""},
		{"2026-02-13", true, ""},
		{"2026-02-14", true, "春节调休上班"}, // Saturday
		{"2026-02-15", false, "春节"},
		{"2026-02-16", false, "春节"}, // 除夕
		{"2026-02-17", false, "春节"}, // 正月初一
		{"2026-02-20", false, "春节"}, // Friday
		{"2026-02-23", false, "春节"}, // Monday, 正月初七
		{"2026-02-24", true, ""},
		{"2026-02-28", true, "春节调休上班"}, // Saturday
		{"2026-03-01", false, ""},
		{"2026-03-07", false, ""},
		{"2026-04-06", false, "清明节"},
		{"2026-05-04", false, "劳动节"},
		{"2026-05-05", false, "劳动节"},
		{"2026-05-09", true, "劳动节调休上班"},
		{"2026-06-19", false, "端午节"},
		{"2026-09-20", true, "国庆节调休上班"}, // Sunday
		{"2026-09-25", false, "中秋节"},
		{"2026-10-01", false, "国庆节"},
		{"2026-10-07", false, "国庆节"},
		{"2026-10-08", true, ""},
		{"2026-10-10", true, "国庆节调休上班"}, // Saturday
		{"2026-10-11", false, ""},
	} {
		for _, clock := range []string{"00:00", "12:00", "23:59"} {
			at := china(t, tc.day+" "+clock)
			working, reason := c.Explain(at)
			if working != tc.working || reason != tc.reason || c.IsWorkingDay(at) != tc.working {
				t.Errorf("%s %s: working %v (%q), want %v (%q)", tc.day, clock, working, reason, tc.working, tc.reason)
			}
		}
	}
}

func TestAnInstantIsPlacedOnChinasCalendarWhateverItsZone(t *testing.T) {
	c := national(t)
	// 16:30 UTC on Friday 13 February is 00:30 on Saturday 14 in China, a
	// working Saturday; 16:00 UTC on the 14th is already the Spring Festival.
	if !c.IsWorkingDay(time.Date(2026, 2, 13, 16, 30, 0, 0, time.UTC)) {
		t.Error("Saturday 2026-02-14 in China is a working day")
	}
	if c.IsWorkingDay(time.Date(2026, 2, 14, 16, 0, 0, 0, time.UTC)) {
		t.Error("Sunday 2026-02-15 in China is a day off")
	}
}

func TestDeadlinesInWorkingDays(t *testing.T) {
	c := national(t)
	for _, tc := range []struct {
		start string
		n     int
		want  string
	}{
		{"2026-02-13 10:00", 0, "2026-02-13 17:30"},
		{"2026-02-13 17:30", 0, "2026-02-13 17:30"},
		{"2026-02-13 17:31", 0, "2026-02-14 17:30"}, // after hours: received on the working Saturday
		{"2026-02-13 10:00", 1, "2026-02-14 17:30"},
		{"2026-02-13 10:00", 2, "2026-02-24 17:30"}, // over the whole Spring Festival
		{"2026-02-13 10:00", 5, "2026-02-27 17:30"},
		{"2026-02-13 10:00", 6, "2026-02-28 17:30"},
		{"2026-02-21 09:00", 0, "2026-02-24 17:30"}, // a holiday: received on the first day back
		{"2026-02-21 09:00", 1, "2026-02-25 17:30"},
		{"2026-02-24 09:00", -1, "2026-02-14 17:30"},
		{"2026-09-18 09:00", 1, "2026-09-20 17:30"}, // the working Sunday before National Day
		{"2026-09-30 09:00", 1, "2026-10-08 17:30"},
		{"2026-09-30 09:00", 3, "2026-10-10 17:30"},
		{"2026-09-30 09:00", 4, "2026-10-12 17:30"},
		{"2026-09-01 09:00", 20, "2026-09-29 17:30"}, // 中秋 on 25 September does not count
		{"2025-12-31 09:00", 1, "2026-01-04 17:30"},  // from a year without data into 元旦
		{"2030-09-30 09:00", 1, "2030-10-01 17:30"},  // no data for 2030: Monday to Friday
	} {
		if got := c.AddWorkingDays(china(t, tc.start), tc.n); !got.Equal(china(t, tc.want)) {
			t.Errorf("AddWorkingDays(%s, %d) = %s, want %s", tc.start, tc.n, got.Format(time.DateTime), tc.want)
		}
	}
}

func TestWorkingDaysBetween(t *testing.T) {
	c := national(t)
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"2026-02-13 10:00", "2026-02-13 23:00", 0},
		{"2026-02-13 10:00", "2026-02-14 08:00", 1},
		{"2026-02-13 10:00", "2026-02-27 12:00", 5},
		{"2026-02-27 12:00", "2026-02-13 10:00", -5},
		{"2026-02-21 10:00", "2026-02-24 08:00", 0}, // the 24th is the day of receipt
		{"2026-02-21 10:00", "2026-02-22 08:00", 0},
		{"2026-09-30 09:00", "2026-10-10 09:00", 3},
	} {
		if got := c.WorkingDaysBetween(china(t, tc.a), china(t, tc.b)); got != tc.want {
			t.Errorf("WorkingDaysBetween(%s, %s) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestACountysOverridesWinOverTheNationalCalendar(t *testing.T) {
	years, err := NationalYears()
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(years, []Override{
		{Day: Date{2026, time.April, 16}, Note: "县级民族节日放假"},
		{Day: Date{2026, time.April, 18}, Working: true, Note: "县级民族节日调休上班"},
		{Day: Date{2026, time.October, 7}, Working: true, Note: "防汛值守，全县上班"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		day     string
		working bool
		reason  string
	}{
		{"2026-04-16", false, "县级民族节日放假"},
		{"2026-04-18", true, "县级民族节日调休上班"},
		{"2026-10-07", true, "防汛值守，全县上班"},
		{"2026-10-06", false, "国庆节"},
	} {
		working, reason := c.Explain(china(t, tc.day+" 12:00"))
		if working != tc.working || reason != tc.reason {
			t.Errorf("%s: working %v (%q), want %v (%q)", tc.day, working, reason, tc.working, tc.reason)
		}
	}
	if got, want := c.AddWorkingDays(china(t, "2026-04-15 09:00"), 2), china(t, "2026-04-18 17:30"); !got.Equal(want) {
		t.Errorf("two working days from 15 April end %s, want the county's working Saturday", got)
	}
}

func TestStatusSaysHowFarTheDataCanBeTrusted(t *testing.T) {
	official := validYear(2026)
	provisional := validYear(2027)
	provisional.Status = Provisional
	c, err := New([]Year{official, provisional}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Covers(2026) || !c.Covers(2027) || c.Covers(2028) {
		t.Error("Covers is wrong")
	}
	if c.Status(2026) != Official || c.Status(2027) != Provisional || c.Status(2028) != Missing {
		t.Errorf("statuses %s %s %s", c.Status(2026), c.Status(2027), c.Status(2028))
	}
	for _, tc := range []struct {
		a, b string
		want Status
	}{
		{"2026-03-01 09:00", "2026-12-01 09:00", Official},
		{"2026-12-20 09:00", "2027-01-20 09:00", Provisional},
		{"2027-01-20 09:00", "2026-12-20 09:00", Provisional},
		{"2027-12-20 09:00", "2028-01-20 09:00", Missing},
		{"2025-12-20 09:00", "2027-01-20 09:00", Missing},
		{"2001-01-01 09:00", "2099-01-01 09:00", Missing},
	} {
		if got := c.StatusBetween(china(t, tc.a), china(t, tc.b)); got != tc.want {
			t.Errorf("StatusBetween(%s, %s) = %s, want %s", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestADeadlineSaysHowFarTheYearsItWasCountedOverCanBeTrusted(t *testing.T) {
	c := national(t)
	for _, tc := range []struct {
		start    string
		n        int
		deadline string
		want     Status
	}{
		{"2026-03-02 09:00", 5, "2026-03-09 17:30", Official},
		{"2026-09-30 09:00", 1, "2026-10-08 17:30", Official},
		{"2026-12-28 09:00", 5, "2027-01-05 17:30", Provisional},
		{"2027-09-30 09:00", 1, "2027-10-08 17:30", Provisional},
		{"2027-01-04 09:00", -2, "2026-12-30 17:30", Provisional},
		// 2028 has no data: National Day is counted as working days.
		{"2028-09-29 09:00", 1, "2028-10-02 17:30", Missing},
		{"2027-12-27 09:00", 10, "2028-01-10 17:30", Missing},
	} {
		got, status := c.AddWorkingDaysStatus(china(t, tc.start), tc.n)
		if want := china(t, tc.deadline); !got.Equal(want) || status != tc.want {
			t.Errorf("%d working days from %s end %s (%s), want %s (%s)", tc.n, tc.start, got, status, want, tc.want)
		}
		if plain := c.AddWorkingDays(china(t, tc.start), tc.n); !plain.Equal(got) {
			t.Errorf("%d working days from %s: AddWorkingDays %s, AddWorkingDaysStatus %s", tc.n, tc.start, plain, got)
		}
	}
	for _, tc := range []struct {
		start string
		hours int
		want  Status
	}{
		{"2026-03-02 09:00", 8, Official},
		{"2027-03-01 09:00", 8, Provisional},
		{"2028-03-01 09:00", 8, Missing},
		{"2027-12-31 16:00", 4, Missing},
	} {
		if _, status := c.AddWorkingDurationStatus(china(t, tc.start), time.Duration(tc.hours)*time.Hour); status != tc.want {
			t.Errorf("%d working hours from %s: %s, want %s", tc.hours, tc.start, status, tc.want)
		}
	}
}

func TestACountysOwnDayGivesItsYearNoNationalData(t *testing.T) {
	c, err := New([]Year{validYear(2026)}, []Override{{Day: Date{2029, time.June, 5}, Note: "县庆"}})
	if err != nil {
		t.Fatal(err)
	}
	for year, want := range map[int]Status{2025: Missing, 2026: Official, 2027: Missing, 2028: Missing, 2029: Missing, 2030: Missing} {
		if got := c.Status(year); got != want {
			t.Errorf("%d: %s, want %s", year, got, want)
		}
	}
	if _, status := c.AddWorkingDaysStatus(china(t, "2029-06-01 09:00"), 3); status != Missing {
		t.Errorf("a deadline in 2029 is %s", status)
	}
	if _, status := c.AddWorkingDaysStatus(china(t, "2026-06-01 09:00"), 3); status != Official {
		t.Errorf("a deadline in 2026 is %s", status)
	}
}

func TestTheEmbeddedYearsAreNamedAfterTheirYearAndCovered(t *testing.T) {
	years, err := NationalYears()
	if err != nil {
		t.Fatal(err)
	}
	c := national(t)
	for _, want := range []int{2026, 2027} {
		if !c.Covers(want) {
			t.Errorf("no data for %d", want)
		}
	}
	if c.Status(2026) != Official {
		t.Errorf("2026 is %s; the notice is out", c.Status(2026))
	}
	for _, y := range years {
		if y.Source == "" {
			t.Errorf("%d has no source", y.Year)
		}
	}
}

func TestNewReportsEveryProblemOfTheData(t *testing.T) {
	bad := validYear(2026)
	bad.Workdays = append(bad.Workdays, Workday{Date: Date{2026, time.March, 3}, For: "春节"})
	_, err := New([]Year{validYear(2026), bad, validYear(2027)}, []Override{
		{Day: Date{2026, time.February, 30}, Note: "no such day"},
		{Day: Date{2026, time.April, 16}, Note: "县庆"},
		{Day: Date{2026, time.April, 16}, Note: "县庆"},
		{Day: Date{2026, time.April, 17}},
		{Day: Date{2200, time.April, 17}, Note: "far away"},
	})
	if errs.CodeOf(err) != CodeInvalidCalendar {
		t.Fatalf("err = %v, want code %s", err, CodeInvalidCalendar)
	}
	var e *errs.Error
	errors.As(err, &e)
	problems, _ := e.Details.([]string)
	for _, want := range []string{
		"year 2026: working day 2026-03-03",
		"year 2026 is given twice",
		"2026-02-30",
		"overridden twice",
		"has no note",
		"at most 100 years",
	} {
		if !containsPart(problems, want) {
			t.Errorf("no problem mentions %q in %q", want, problems)
		}
	}
	if len(problems) != 6 {
		t.Errorf("%d problems, want 6: %q", len(problems), problems)
	}
}

func TestACalendarWithoutDataCountsMondayToFriday(t *testing.T) {
	c, err := New(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.AddWorkingDays(china(t, "2026-02-13 10:00"), 2), china(t, "2026-02-17 17:30"); !got.Equal(want) {
		t.Errorf("got %s, want %s", got, want)
	}
	if c.Covers(2026) || c.Status(2026) != Missing {
		t.Error("a calendar without data covers no year")
	}
}

func containsPart(problems []string, part string) bool {
	for _, p := range problems {
		if strings.Contains(p, part) {
			return true
		}
	}
	return false
}

// validYear is a small, valid year for tests that must not depend on the
// embedded files.
func validYear(year int) Year {
	return Year{
		Year:   year,
		Status: Official,
		Source: "test",
		Holidays: []Holiday{
			{Name: "国庆节", From: Date{year, time.October, 1}, To: Date{year, time.October, 7}},
		},
	}
}

func BenchmarkAddWorkingDays(b *testing.B) {
	c := national(b)
	start := china(b, "2026-01-05 09:00")
	for _, n := range []int{5, 20, 300} {
		b.Run(fmt.Sprintf("%d_days", n), func(b *testing.B) {
			for i := range b.N {
				c.AddWorkingDays(start.Add(time.Duration(i%600)*time.Hour), n)
			}
		})
	}
}

func BenchmarkAddWorkingDuration(b *testing.B) {
	c := national(b)
	start := china(b, "2026-01-05 09:00")
	for i := range b.N {
		c.AddWorkingDuration(start.Add(time.Duration(i%600)*time.Hour), 40*time.Hour)
	}
}

func BenchmarkAddWorkingDaysStatus(b *testing.B) {
	c := national(b)
	start := china(b, "2026-01-05 09:00")
	for _, n := range []int{5, 20, 300} {
		b.Run(fmt.Sprintf("%d_days", n), func(b *testing.B) {
			for i := range b.N {
				c.AddWorkingDaysStatus(start.Add(time.Duration(i%600)*time.Hour), n)
			}
		})
	}
}

func BenchmarkAddWorkingDurationStatus(b *testing.B) {
	c := national(b)
	start := china(b, "2026-01-05 09:00")
	for i := range b.N {
		c.AddWorkingDurationStatus(start.Add(time.Duration(i%600)*time.Hour), 40*time.Hour)
	}
}

func BenchmarkStatusBetween(b *testing.B) {
	c := national(b)
	start := china(b, "2026-01-05 09:00")
	for i := range b.N {
		c.StatusBetween(start, start.Add(time.Duration(i%20000)*time.Hour))
	}
}
