package workflow

import (
	"testing"
	"time"

	"github.com/countycloud/countycloud/core/workday"
)

func TestALimitsDeadlineSaysHowFarTheCalendarItWasCountedInCanBeTrusted(t *testing.T) {
	cal, err := workday.National()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		start string
		limit Limit
		due   string
		want  workday.Status
	}{
		{"2026-09-30 10:00", Limit{Days: 3}, "2026-10-10 17:30", workday.Official},
		{"2027-09-30 10:00", Limit{Days: 3}, "2027-10-11 17:30", workday.Provisional},
		// No data for 2028: National Day is counted as working days.
		{"2028-09-29 10:00", Limit{Days: 3}, "2028-10-04 17:30", workday.Missing},
		{"2027-12-31 10:00", Limit{Hours: 8}, "2028-01-03 11:00", workday.Missing},
		{"2026-12-31 10:00", Limit{Days: 1, Hours: 2}, "2027-01-05 10:30", workday.Provisional},
		{"2026-06-01 10:00", Limit{}, "2026-06-01 10:00", workday.Official},
	} {
		start, err := time.ParseInLocation("2006-01-02 15:04", tc.start, workday.China())
		if err != nil {
			t.Fatal(err)
		}
		due, status := tc.limit.Deadline(cal, start)
		if got := due.In(workday.China()).Format("2006-01-02 15:04"); got != tc.due || status != tc.want {
			t.Errorf("%+v from %s: due %s (%s), want %s (%s)", tc.limit, tc.start, got, status, tc.due, tc.want)
		}
	}
}
