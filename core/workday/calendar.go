package workday

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Override is a county's own change to the national calendar: a local
// festival given as a day off, or a day worked to make up for one. It wins
// over the national data for its day.
type Override struct {
	Day     Date
	Working bool
	// Note says why, for the people who will see the deadline move.
	Note string
}

// maxSpanYears bounds the years a calendar's data may spread over, which
// bounds the memory of its table (8 bytes a day).
const maxSpanYears = 100

// Calendar tells working days from days off and counts deadlines in them.
// Build one with New or National. It never changes once built, so one
// calendar may serve any number of goroutines.
type Calendar struct {
	// first is the day number of the first day the table covers. Outside
	// the table, Monday to Friday are the working days.
	first int64
	// shift[i] is how many more working days the first i days of the table
	// hold than Monday to Friday alone would give: negative where holidays
	// outnumber the weekend days worked.
	shift []int64
	// maxShift is the largest |shift[i]|: no count of working days strays
	// further than that from the count of Mondays to Fridays, which bounds
	// nthWorkingDay's search.
	maxShift int64
	reasons  map[int64]string
	hours    Hours
	// dayLength is the working time of one working day.
	dayLength time.Duration
	zone      *time.Location
	// The fields above are those the arithmetic reads, kept together.
	// firstYear is the year the table starts in. yearStarts[i] is the day
	// number of 1 January of year firstYear+i, and its last entry the day
	// after the table ends; yearStatus[i] is that year's status (Missing
	// for a year the table holds only for a county's overrides). Status
	// is looked up in them by day number, without a map or a date.
	firstYear  int
	yearStarts []int64
	yearStatus []Status
}

// New builds a calendar from national years, such as NationalYears gives,
// and a county's overrides, with DefaultHours as its working hours. It
// reports every problem in the data at once, with code CodeInvalidCalendar.
func New(years []Year, overrides []Override) (*Calendar, error) {
	var problems []string
	status := make(map[int]Status, len(years))
	// spanned are the years the table must cover.
	var spanned []int
	for _, y := range years {
		for _, p := range y.problems() {
			problems = append(problems, fmt.Sprintf("year %d: %s", y.Year, p))
		}
		if _, twice := status[y.Year]; twice {
			problems = append(problems, fmt.Sprintf("year %d is given twice", y.Year))
		}
		status[y.Year] = y.Status
		spanned = append(spanned, y.Year)
	}
	overridden := make(map[Date]bool, len(overrides))
	for _, o := range overrides {
		what := fmt.Sprintf("override of %s (%q)", o.Day, o.Note)
		if !o.Day.valid() {
			problems = append(problems, what+": not a valid date")
			continue
		}
		if strings.TrimSpace(o.Note) == "" {
			problems = append(problems, what+" has no note: say why the county changes the day")
		}
		if overridden[o.Day] {
			problems = append(problems, what+": the day is overridden twice")
		}
		overridden[o.Day] = true
		spanned = append(spanned, o.Day.Year)
	}
	if len(spanned) > 0 && slices.Max(spanned)-slices.Min(spanned) >= maxSpanYears {
		problems = append(problems, fmt.Sprintf("the data spreads from %d to %d; a calendar holds at most %d years", slices.Min(spanned), slices.Max(spanned), maxSpanYears))
	}
	if len(problems) > 0 {
		return nil, invalid("calendar", problems)
	}

	c := &Calendar{
		shift:     []int64{0},
		reasons:   make(map[int64]string),
		hours:     DefaultHours(),
		dayLength: DefaultHours().Total(),
		zone:      time.FixedZone("CST", chinaOffset),
	}
	if len(spanned) == 0 {
		return c, nil
	}
	c.firstYear = slices.Min(spanned)
	for year := c.firstYear; year <= slices.Max(spanned)+1; year++ {
		c.yearStarts = append(c.yearStarts, Date{year, time.January, 1}.day())
		if s, ok := status[year]; ok {
			c.yearStatus = append(c.yearStatus, s)
		} else {
			c.yearStatus = append(c.yearStatus, Missing)
		}
	}
	// The entry of the year after the table only closes the last one.
	c.yearStatus = c.yearStatus[:len(c.yearStatus)-1]
	c.first = c.yearStarts[0]
	end := c.yearStarts[len(c.yearStarts)-1]
	working := make([]bool, end-c.first)
	for i := range working {
		working[i] = isMondayToFriday(c.first + int64(i))
	}
	for _, y := range years {
		for _, h := range y.Holidays {
			for d := h.From.day(); d <= h.To.day(); d++ {
				working[d-c.first] = false
				c.reasons[d] = h.Name
			}
		}
		for _, w := range y.Workdays {
			d := w.Date.day()
			working[d-c.first] = true
			c.reasons[d] = w.For + "调休上班"
		}
	}
	for _, o := range overrides {
		d := o.Day.day()
		working[d-c.first] = o.Working
		c.reasons[d] = o.Note
	}
	c.shift = make([]int64, len(working)+1)
	for i, w := range working {
		c.shift[i+1] = c.shift[i] + oneIf(w) - oneIf(isMondayToFriday(c.first+int64(i)))
		c.maxShift = max(c.maxShift, c.shift[i+1], -c.shift[i+1])
	}
	return c, nil
}

// National builds the calendar of the embedded national data alone. It
// parses the data at each call: build it once and keep it.
func National() (*Calendar, error) {
	years, err := NationalYears()
	if err != nil {
		return nil, err
	}
	return New(years, nil)
}

func oneIf(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// Covers reports whether the calendar has national data for year.
func (c *Calendar) Covers(year int) bool { return c.Status(year) != Missing }

// Status tells how far the calendar's data for year can be trusted.
func (c *Calendar) Status(year int) Status {
	if i := year - c.firstYear; i >= 0 && i < len(c.yearStatus) {
		return c.yearStatus[i]
	}
	return Missing
}

// StatusBetween is the least trusted status of the years from a to b,
// either way round: the one to show beside a deadline counted from a that
// fell on b.
func (c *Calendar) StatusBetween(a, b time.Time) Status {
	return c.statusOfDays(dayOf(a), dayOf(b))
}

// statusOfDays is the least trusted status of the years of the days from
// one to the other, either way round. It finds the years from the day
// numbers and walks only those the span touches, so its cost is a few
// comparisons for any deadline.
func (c *Calendar) statusOfDays(from, to int64) Status {
	if to < from {
		from, to = to, from
	}
	if len(c.yearStatus) == 0 || from < c.first || to >= c.yearStarts[len(c.yearStarts)-1] {
		return Missing
	}
	least := Official
	for i := c.yearIndex(from); i < len(c.yearStatus) && c.yearStarts[i] <= to; i++ {
		switch c.yearStatus[i] {
		case Missing:
			return Missing
		case Provisional:
			least = Provisional
		}
	}
	return least
}

// yearIndex is the index in yearStarts of the year of day, a day the
// table covers: first guessed from the average length of a year, which
// is off by at most one, then corrected.
func (c *Calendar) yearIndex(day int64) int {
	i := int(min((day-c.first)*400/146097, int64(len(c.yearStatus)-1)))
	for i > 0 && c.yearStarts[i] > day {
		i--
	}
	for i+1 < len(c.yearStatus) && c.yearStarts[i+1] <= day {
		i++
	}
	return i
}

// IsWorkingDay reports whether t falls on a working day in China.
func (c *Calendar) IsWorkingDay(t time.Time) bool { return c.working(dayOf(t)) }

// Explain tells whether t falls on a working day and why, when the reason
// is not simply the day of the week: the holiday ("春节"), the holiday an
// adjusted working day makes up for ("春节调休上班"), or the note of a
// county's override. The reason is empty for an ordinary day.
func (c *Calendar) Explain(t time.Time) (working bool, reason string) {
	d := dayOf(t)
	return c.working(d), c.reasons[d]
}

// AddWorkingDays returns the deadline of a time limit of n working days
// for something that arrived at start: the close of business (17:30 with
// the default hours) in China on the n-th working day after the day of
// receipt. The day of receipt is the day of start if that is a working day
// and start is not after its close of business; otherwise it is the next
// working day. It does not count itself. So n = 0 gives the end of the day
// of receipt and, in an ordinary week, a limit of 1 working day ends on
// Monday for a request made on Friday morning and on Tuesday for one made
// on Friday evening or on Saturday.
//
// For n >= 0 the deadline is never before start. It is always a working
// day, and grows with n. Chaining adds up: AddWorkingDays(
// AddWorkingDays(t, a), b) equals AddWorkingDays(t, a+b) for any a and b,
// since a deadline is its own day of receipt. A negative n counts back
// from the day of receipt: -1 gives the working day before.
func (c *Calendar) AddWorkingDays(start time.Time, n int) time.Time {
	d := c.nthWorkingDay(c.workingBeforeReceipt(start) + int64(n))
	return c.at(d, c.hours.end())
}

// AddWorkingDaysStatus is AddWorkingDays, and how far the deadline can be
// trusted: the least trusted status of the years from the day of start to
// the deadline's, the days it counted over. A deadline counted over a year
// without data (Missing) took Monday to Friday as that year's working
// days and knows none of its holidays.
func (c *Calendar) AddWorkingDaysStatus(start time.Time, n int) (time.Time, Status) {
	d := c.nthWorkingDay(c.workingBeforeReceipt(start) + int64(n))
	return c.at(d, c.hours.end()), c.statusOfDays(dayOf(start), d)
}

// WorkingDaysBetween counts the working days after the day of receipt of
// a (as AddWorkingDays defines it) up to and including the day of b: how
// many working days of a limit counted from a have been used by b, which
// is n when b is AddWorkingDays(a, n). It is 0 while b is still on or
// before the day of receipt, and -WorkingDaysBetween(b, a) when b is
// before a.
func (c *Calendar) WorkingDaysBetween(a, b time.Time) int {
	if b.Before(a) {
		return -c.WorkingDaysBetween(b, a)
	}
	n := c.workingBefore(dayOf(b)+1) - c.workingBeforeReceipt(a) - 1
	return int(max(n, 0))
}

// workingBeforeReceipt counts, as workingBefore does, the working days
// before the day on which something arriving at t is received.
func (c *Calendar) workingBeforeReceipt(t time.Time) int64 {
	day := dayOf(t)
	n := c.workingBefore(day)
	if c.working(day) && clockOf(t) > c.hours.end() {
		n++
	}
	return n
}

// workingBefore counts the working days before day, from an arbitrary
// origin: only differences of it, and its inverse nthWorkingDay, matter.
func (c *Calendar) workingBefore(day int64) int64 {
	i := min(max(day-c.first, 0), int64(len(c.shift)-1))
	return mondaysToFridaysBefore(day) + c.shift[i]
}

func (c *Calendar) working(day int64) bool {
	return c.workingBefore(day+1) > c.workingBefore(day)
}

// nthWorkingDay returns the working day with n working days before it, as
// workingBefore counts them. It bisects a window around the day where the
// count of Mondays to Fridays alone reaches n, widened by maxShift on each
// side, so its cost does not grow with n.
func (c *Calendar) nthWorkingDay(n int64) int64 {
	lo := floorDiv(7*(n-c.maxShift), 5) - 14
	hi := floorDiv(7*(n+c.maxShift), 5) + 14
	// Invariant: workingBefore(lo+1) <= n < workingBefore(hi+1).
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		if c.workingBefore(mid+1) > n {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi
}

// at returns the instant clock after midnight of day, in China.
func (c *Calendar) at(day int64, clock time.Duration) time.Time {
	return time.Unix(day*secondsPerDay-chinaOffset, 0).Add(clock).In(c.zone)
}
