package workday

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/countycloud/countycloud/core/errs"
)

// CodeInvalidHours is the code of the error about working hours that do
// not make sense.
const CodeInvalidHours = "invalid_working_hours"

// Period is a stretch of working time in a day, from Start to End, both
// measured from midnight.
type Period struct {
	Start, End time.Duration
}

// Hours are the working periods of a working day, in order.
type Hours []Period

// DefaultHours are the hours a calendar keeps unless a county sets its
// own: 08:30–12:00 and 14:00–17:30, seven hours a day.
func DefaultHours() Hours {
	return Hours{
		{Start: 8*time.Hour + 30*time.Minute, End: 12 * time.Hour},
		{Start: 14 * time.Hour, End: 17*time.Hour + 30*time.Minute},
	}
}

// ParseHours reads hours written as String writes them:
// "08:30-12:00,14:00-17:30".
func ParseHours(s string) (Hours, error) {
	var h Hours
	var problems []string
	for _, period := range strings.Split(s, ",") {
		start, end, ok := strings.Cut(strings.TrimSpace(period), "-")
		from, errFrom := time.Parse("15:04", strings.TrimSpace(start))
		to, errTo := time.Parse("15:04", strings.TrimSpace(end))
		if !ok || errFrom != nil || errTo != nil {
			problems = append(problems, fmt.Sprintf("%q is not a period written as HH:MM-HH:MM", period))
			continue
		}
		h = append(h, Period{Start: sinceMidnight(from), End: sinceMidnight(to)})
	}
	if len(problems) > 0 {
		e := errs.Invalid(CodeInvalidHours, "working hours %q: %s", s, strings.Join(problems, "; "))
		e.Details = problems
		return nil, e
	}
	if err := h.Validate(); err != nil {
		return nil, err
	}
	return h, nil
}

func sinceMidnight(t time.Time) time.Duration {
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute
}

func (h Hours) String() string {
	periods := make([]string, len(h))
	for i, p := range h {
		periods[i] = clockString(p.Start) + "-" + clockString(p.End)
	}
	return strings.Join(periods, ",")
}

func clockString(d time.Duration) string {
	return fmt.Sprintf("%02d:%02d", int(d/time.Hour), int(d%time.Hour/time.Minute))
}

// Validate checks that there is at least one period, that each is a whole
// number of minutes within the day and not empty, and that the periods are
// in order without overlapping.
func (h Hours) Validate() error {
	var problems []string
	if len(h) == 0 {
		problems = append(problems, "no working period is given")
	}
	for i, p := range h {
		what := fmt.Sprintf("period %d (%v to %v)", i+1, p.Start, p.End)
		switch {
		case p.Start%time.Minute != 0 || p.End%time.Minute != 0:
			problems = append(problems, what+" is not in whole minutes")
		case p.Start < 0 || p.End > 24*time.Hour:
			problems = append(problems, what+" is not within a day")
		case p.End <= p.Start:
			problems = append(problems, what+" does not end after it starts")
		case i > 0 && p.Start < h[i-1].End:
			problems = append(problems, what+" starts before the previous period ends")
		}
	}
	if len(problems) > 0 {
		e := errs.Invalid(CodeInvalidHours, "working hours %s: %s", h, strings.Join(problems, "; "))
		e.Details = problems
		return e
	}
	return nil
}

// Total is the working time of one working day.
func (h Hours) Total() time.Duration {
	var total time.Duration
	for _, p := range h {
		total += p.End - p.Start
	}
	return total
}

// end is the close of business.
func (h Hours) end() time.Duration { return h[len(h)-1].End }

// workedBy is the working time of a working day that has passed at clock.
func (h Hours) workedBy(clock time.Duration) time.Duration {
	var worked time.Duration
	for _, p := range h {
		worked += min(max(clock-p.Start, 0), p.End-p.Start)
	}
	return worked
}

// clockAt is the earliest clock at which worked (0 < worked <= Total) of
// the day's working time has passed: the end of a period rather than the
// start of the next, so that a limit used up exactly at noon ends at noon.
func (h Hours) clockAt(worked time.Duration) time.Duration {
	for _, p := range h {
		if worked <= p.End-p.Start {
			return p.Start + worked
		}
		worked -= p.End - p.Start
	}
	return h.end()
}

// WithHours returns a copy of the calendar with other working hours, for a
// county whose offices keep different ones.
func (c *Calendar) WithHours(h Hours) (*Calendar, error) {
	if err := h.Validate(); err != nil {
		return nil, err
	}
	with := *c
	with.hours = slices.Clone(h)
	with.dayLength = h.Total()
	return &with, nil
}

// Hours returns the calendar's working hours.
func (c *Calendar) Hours() Hours { return slices.Clone(c.hours) }

// AddWorkingDuration returns the instant at which d of working time has
// passed since start, counting only the working hours of working days:
// the deadline of a limit given in working hours. Where several instants
// qualify (a limit used up at 12:00 is also used up at 14:00, or at 17:30
// on Friday and 08:30 on Monday) it returns the earliest. A negative d
// counts back; d = 0 returns start.
func (c *Calendar) AddWorkingDuration(start time.Time, d time.Duration) time.Time {
	if d == 0 {
		return start.In(c.zone)
	}
	workingDays, worked := c.position(start)
	wholeDays := floorDiv(int64(d), int64(c.dayLength))
	workingDays += wholeDays
	worked += d - time.Duration(wholeDays)*c.dayLength
	// Bring worked into (0, dayLength]: a limit used up exactly at the
	// close of business ends then, not at the next opening.
	if worked > c.dayLength {
		workingDays++
		worked -= c.dayLength
	}
	if worked == 0 {
		workingDays--
		worked = c.dayLength
	}
	return c.at(c.nthWorkingDay(workingDays), c.hours.clockAt(worked))
}

// AddWorkingDurationStatus is AddWorkingDuration, and how far the result
// can be trusted: the least trusted status of the years from the day of
// start to the result's (see AddWorkingDaysStatus).
func (c *Calendar) AddWorkingDurationStatus(start time.Time, d time.Duration) (time.Time, Status) {
	end := c.AddWorkingDuration(start, d)
	return end, c.statusOfDays(dayOf(start), dayOf(end))
}

// WorkingDuration is the working time between a and b, negative when b is
// before a: the part of a limit in working hours that has been used, say
// to warn when 80% of it is gone. WorkingDuration(a,
// AddWorkingDuration(a, d)) is d. Like any time.Duration, the result holds
// at most about 290 years.
func (c *Calendar) WorkingDuration(a, b time.Time) time.Duration {
	dayA, workedA := c.position(a)
	dayB, workedB := c.position(b)
	return time.Duration(dayB-dayA)*c.dayLength + workedB - workedA
}

// position places t on the line of working time: the working days before
// its day (as workingBefore counts them) and the working time of its day
// passed by t. A day off adds nothing, so all its instants share the
// position of the close of the working day before.
func (c *Calendar) position(t time.Time) (workingDays int64, worked time.Duration) {
	day := dayOf(t)
	workingDays = c.workingBefore(day)
	if c.working(day) {
		worked = c.hours.workedBy(clockOf(t))
	}
	return workingDays, worked
}
