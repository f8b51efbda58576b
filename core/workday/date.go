package workday

import (
	"fmt"
	"time"
)

const (
	// chinaOffset is China Standard Time's distance from UTC, in seconds.
	chinaOffset   = 8 * 60 * 60
	secondsPerDay = 24 * 60 * 60
	dateLayout    = "2006-01-02"
)

// Date is a day of the calendar, with no clock and no zone.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// ParseDate reads a date written as 2006-01-02.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(dateLayout, s)
	if err != nil {
		return Date{}, fmt.Errorf("%q is not a date written as YYYY-MM-DD: %w", s, err)
	}
	return Date{t.Year(), t.Month(), t.Day()}, nil
}

// DateOf returns the date that t falls on in China.
func DateOf(t time.Time) Date { return dateOfDay(dayOf(t)) }

func (d Date) String() string {
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
}

// valid reports whether d names a real day between years 1 and 9999,
// the dates a year file can write.
func (d Date) valid() bool {
	if d.Year < 1 || d.Year > 9999 {
		return false
	}
	t := time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC)
	return t.Year() == d.Year && t.Month() == d.Month && t.Day() == d.Day
}

// The arithmetic works on day numbers, days counted from 1970-01-01, on
// which dates and instants in China meet; a time.Time is built only for a
// result.

func (d Date) day() int64 {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC).Unix() / secondsPerDay
}

func dateOfDay(day int64) Date {
	t := time.Unix(day*secondsPerDay, 0).UTC()
	return Date{t.Year(), t.Month(), t.Day()}
}

// dayOf returns the number of the day t falls on in China.
func dayOf(t time.Time) int64 { return floorDiv(t.Unix()+chinaOffset, secondsPerDay) }

// clockOf returns how long after midnight in China t is.
func clockOf(t time.Time) time.Duration {
	seconds := t.Unix() + chinaOffset - dayOf(t)*secondsPerDay
	return time.Duration(seconds)*time.Second + time.Duration(t.Nanosecond())
}

// 1970-01-01 was a Thursday: day+3 counts from Monday 1969-12-29.

func weekdayOf(day int64) time.Weekday { return time.Weekday(floorMod(day+4, 7)) }

func isMondayToFriday(day int64) bool { return floorMod(day+3, 7) < 5 }

// mondaysToFridaysBefore counts the days Monday to Friday from Monday
// 1969-12-29 up to day, negative before it. Only differences of it matter.
func mondaysToFridaysBefore(day int64) int64 {
	sinceMonday := day + 3
	weeks := floorDiv(sinceMonday, 7)
	return 5*weeks + min(sinceMonday-7*weeks, 5)
}

// floorDiv divides rounding down, so that days before 1970 fall on the
// right side of midnight; b must be positive.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b < 0 {
		q--
	}
	return q
}

func floorMod(a, b int64) int64 { return a - floorDiv(a, b)*b }

// China is the zone days are counted in: UTC+8 all year, with no
// daylight saving.
func China() *time.Location { return time.FixedZone("CST", chinaOffset) }
