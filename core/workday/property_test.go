package workday

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// The properties below are checked on random instants from mid-2025 to
// mid-2028, across the ends of the embedded data, against a reference
// that walks the calendar one day or one minute at a time.

const propertyRuns = 2000

func random(t *testing.T) *rand.Rand {
	const seed = 20260214
	t.Logf("seed %d", seed)
	return rand.New(rand.NewPCG(seed, seed))
}

// randomInstant is an instant between 2025-07-01 and 2028-06-30, in one
// of a few zones, on the minute or not.
func randomInstant(r *rand.Rand) time.Time {
	from := time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC).Unix()
	to := time.Date(2028, 6, 30, 0, 0, 0, 0, time.UTC).Unix()
	t := time.Unix(from+r.Int64N(to-from), 0)
	if r.IntN(2) == 0 {
		t = t.Add(time.Duration(r.Int64N(int64(time.Second))))
	}
	zones := []*time.Location{time.UTC, time.FixedZone("CST", chinaOffset), time.FixedZone("PDT", -7*3600)}
	return t.In(zones[r.IntN(len(zones))])
}

// reference answers from the data directly, a day at a time.
type reference struct {
	working map[Date]bool
}

func newReference(years []Year, overrides []Override) reference {
	ref := reference{working: make(map[Date]bool)}
	for _, y := range years {
		for _, h := range y.Holidays {
			for d := h.From; d != nextDate(h.To); d = nextDate(d) {
				ref.working[d] = false
			}
		}
		for _, w := range y.Workdays {
			ref.working[w.Date] = true
		}
	}
	for _, o := range overrides {
		ref.working[o.Day] = o.Working
	}
	return ref
}

func nextDate(d Date) Date {
	t := time.Date(d.Year, d.Month, d.Day+1, 0, 0, 0, 0, time.UTC)
	return Date{t.Year(), t.Month(), t.Day()}
}

func (ref reference) isWorking(d Date) bool {
	if working, listed := ref.working[d]; listed {
		return working
	}
	wd := time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC).Weekday()
	return wd != time.Saturday && wd != time.Sunday
}

// receipt is the day of receipt of start: its own day if working and not
// after 17:30, else the next working day.
func (ref reference) receipt(start time.Time) Date {
	local := start.In(time.FixedZone("CST", chinaOffset))
	d := Date{local.Year(), local.Month(), local.Day()}
	afterHours := local.Hour()*60+local.Minute() > 17*60+30 ||
		local.Hour()*60+local.Minute() == 17*60+30 && (local.Second() > 0 || local.Nanosecond() > 0)
	if ref.isWorking(d) && !afterHours {
		return d
	}
	for d = nextDate(d); !ref.isWorking(d); d = nextDate(d) {
	}
	return d
}

func (ref reference) addWorkingDays(start time.Time, n int) Date {
	d := ref.receipt(start)
	for n > 0 {
		d = nextDate(d)
		if ref.isWorking(d) {
			n--
		}
	}
	return d
}

// workedMinutesUntil walks minute by minute from a (on the minute) until
// minutes of working time have passed, and returns the end of that minute.
func (ref reference) workedMinutesUntil(a time.Time, minutes int) time.Time {
	t := a
	for minutes > 0 {
		if ref.isWorkingMinute(t) {
			minutes--
		}
		t = t.Add(time.Minute)
	}
	return t
}

func (ref reference) isWorkingMinute(t time.Time) bool {
	local := t.In(time.FixedZone("CST", chinaOffset))
	if !ref.isWorking(Date{local.Year(), local.Month(), local.Day()}) {
		return false
	}
	clock := time.Duration(local.Hour())*time.Hour + time.Duration(local.Minute())*time.Minute
	for _, p := range DefaultHours() {
		if clock >= p.Start && clock < p.End {
			return true
		}
	}
	return false
}

func TestEveryDayAgreesWithTheReference(t *testing.T) {
	years, err := NationalYears()
	if err != nil {
		t.Fatal(err)
	}
	c, ref := national(t), newReference(years, nil)
	for d := (Date{2024, time.January, 1}); d.Year < 2030; d = nextDate(d) {
		noon := time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, time.FixedZone("CST", chinaOffset))
		if c.IsWorkingDay(noon) != ref.isWorking(d) {
			t.Fatalf("%s: IsWorkingDay = %v", d, c.IsWorkingDay(noon))
		}
	}
}

func TestAddWorkingDaysAgreesWithTheReference(t *testing.T) {
	years, err := NationalYears()
	if err != nil {
		t.Fatal(err)
	}
	c, ref, r := national(t), newReference(years, nil), random(t)
	for range propertyRuns {
		start, n := randomInstant(r), r.IntN(301)
		got := c.AddWorkingDays(start, n)
		want := ref.addWorkingDays(start, n)
		if DateOf(got) != want || got.Hour() != 17 || got.Minute() != 30 || got.Location().String() != "CST" {
			t.Fatalf("AddWorkingDays(%s, %d) = %s, want %s 17:30 CST", start, n, got, want)
		}
	}
}

func TestAddWorkingDaysProperties(t *testing.T) {
	c, r := national(t), random(t)
	for range propertyRuns {
		start, n := randomInstant(r), r.IntN(301)
		deadline := c.AddWorkingDays(start, n)
		if !c.IsWorkingDay(deadline) {
			t.Fatalf("AddWorkingDays(%s, %d) = %s, a day off", start, n, deadline)
		}
		if deadline.Before(start) {
			t.Fatalf("AddWorkingDays(%s, %d) = %s, before the start", start, n, deadline)
		}
		if got := c.WorkingDaysBetween(start, deadline); got != n {
			t.Fatalf("WorkingDaysBetween(%s, AddWorkingDays(…, %d)) = %d", start, n, got)
		}
		if next := c.AddWorkingDays(start, n+1); !next.After(deadline) {
			t.Fatalf("AddWorkingDays(%s, %d) = %s is not before %s for %d", start, n+1, next, deadline, n)
		}
		if earlier := c.AddWorkingDays(start, n-60); !earlier.Before(deadline) {
			t.Fatalf("AddWorkingDays(%s, %d) = %s is not before %s for %d", start, n-60, earlier, deadline, n)
		}
		if in := c.AddWorkingDays(start.In(time.UTC), n); !in.Equal(deadline) {
			t.Fatalf("the zone of the start moved the deadline: %s, %s", in, deadline)
		}
		a, b := r.IntN(301)-100, r.IntN(301)-100
		if chained, direct := c.AddWorkingDays(c.AddWorkingDays(start, a), b), c.AddWorkingDays(start, a+b); !chained.Equal(direct) {
			t.Fatalf("from %s: %d then %d working days end %s; %d end %s", start, a, b, chained, a+b, direct)
		}
	}
}

func TestWorkingDaysBetweenProperties(t *testing.T) {
	years, err := NationalYears()
	if err != nil {
		t.Fatal(err)
	}
	c, ref, r := national(t), newReference(years, nil), random(t)
	for range propertyRuns {
		a, b := randomInstant(r), randomInstant(r)
		if b.Before(a) {
			a, b = b, a
		}
		got := c.WorkingDaysBetween(a, b)
		if back := c.WorkingDaysBetween(b, a); back != -got {
			t.Fatalf("WorkingDaysBetween(%s, %s) = %d but backwards %d", a, b, got, back)
		}
		want := 0
		end := DateOf(b)
		for d := ref.receipt(a); d.day() < end.day(); {
			d = nextDate(d)
			if ref.isWorking(d) {
				want++
			}
		}
		if got != want {
			t.Fatalf("WorkingDaysBetween(%s, %s) = %d, want %d", a, b, got, want)
		}
	}
}

func TestACountysDayOffNeverBringsADeadlineForward(t *testing.T) {
	years, err := NationalYears()
	if err != nil {
		t.Fatal(err)
	}
	plain, r := national(t), random(t)
	for range propertyRuns / 10 {
		off := DateOf(randomInstant(r))
		county, err := New(years, []Override{{Day: off, Note: "县级节日"}})
		if err != nil {
			t.Fatal(err)
		}
		for range 10 {
			start, n := randomInstant(r), r.IntN(301)
			if got, was := county.AddWorkingDays(start, n), plain.AddWorkingDays(start, n); got.Before(was) {
				t.Fatalf("a day off on %s moves AddWorkingDays(%s, %d) forward from %s to %s", off, start, n, was, got)
			}
			d := time.Duration(r.Int64N(int64(300 * time.Hour)))
			if got, was := county.AddWorkingDuration(start, d), plain.AddWorkingDuration(start, d); got.Before(was) {
				t.Fatalf("a day off on %s moves AddWorkingDuration(%s, %v) forward from %s to %s", off, start, d, was, got)
			}
		}
	}
}

func TestWorkingDurationUndoesAddWorkingDuration(t *testing.T) {
	c, r := national(t), random(t)
	for range propertyRuns {
		start := randomInstant(r)
		d := time.Duration(r.Int64N(int64(700*time.Hour))) - 200*time.Hour
		end := c.AddWorkingDuration(start, d)
		if got := c.WorkingDuration(start, end); got != d {
			t.Fatalf("WorkingDuration(%s, AddWorkingDuration(…, %v) = %s) = %v", start, d, end, got)
		}
		if d > 0 && !end.After(start) || d < 0 && !end.Before(start) {
			t.Fatalf("AddWorkingDuration(%s, %v) = %s goes the wrong way", start, d, end)
		}
		if d > 0 && !c.IsWorkingDay(end) {
			t.Fatalf("AddWorkingDuration(%s, %v) = %s, a day off", start, d, end)
		}
		other := randomInstant(r)
		if sum, whole := c.WorkingDuration(start, end)+c.WorkingDuration(end, other), c.WorkingDuration(start, other); sum != whole {
			t.Fatalf("working durations do not add up: %v + … = %v, not %v", d, sum, whole)
		}
	}
}

func TestWorkingHoursAgreeWithAMinuteByMinuteWalk(t *testing.T) {
	years, err := NationalYears()
	if err != nil {
		t.Fatal(err)
	}
	c, ref, r := national(t), newReference(years, nil), random(t)
	for range propertyRuns / 4 {
		start := randomInstant(r).Truncate(time.Minute)
		minutes := 1 + r.IntN(30*60)
		want := ref.workedMinutesUntil(start, minutes)
		if got := c.AddWorkingDuration(start, time.Duration(minutes)*time.Minute); !got.Equal(want) {
			t.Fatalf("AddWorkingDuration(%s, %d min) = %s, want %s", start, minutes, got, want)
		}
		end := start.Add(time.Duration(r.IntN(6*24*60)) * time.Minute)
		worked := 0
		for m := start; m.Before(end); m = m.Add(time.Minute) {
			if ref.isWorkingMinute(m) {
				worked++
			}
		}
		if got := c.WorkingDuration(start, end); got != time.Duration(worked)*time.Minute {
			t.Fatalf("WorkingDuration(%s, %s) = %v, want %d min", start, end, got, worked)
		}
	}
}

// statusOver is the least trusted status of the years from a's date to
// b's, read from the year files directly.
func statusOver(years []Year, a, b time.Time) Status {
	from, to := DateOf(a).Year, DateOf(b).Year
	if to < from {
		from, to = to, from
	}
	least := Official
	for year := from; year <= to; year++ {
		i := slices.IndexFunc(years, func(y Year) bool { return y.Year == year })
		switch {
		case i < 0:
			return Missing
		case years[i].Status == Provisional:
			least = Provisional
		}
	}
	return least
}

func TestADeadlinesStatusIsTheLeastTrustedYearItWasCountedOver(t *testing.T) {
	years, err := NationalYears()
	if err != nil {
		t.Fatal(err)
	}
	c, r := national(t), random(t)
	seen := map[Status]int{}
	for range propertyRuns {
		start, n := randomInstant(r), r.IntN(401)-100
		deadline, status := c.AddWorkingDaysStatus(start, n)
		if plain := c.AddWorkingDays(start, n); !deadline.Equal(plain) {
			t.Fatalf("AddWorkingDaysStatus(%s, %d) = %s, AddWorkingDays %s", start, n, deadline, plain)
		}
		if want := statusOver(years, start, deadline); status != want {
			t.Fatalf("AddWorkingDaysStatus(%s, %d) = %s, %s; the years between are %s", start, n, deadline, status, want)
		}
		if between := c.StatusBetween(start, deadline); between != status {
			t.Fatalf("StatusBetween(%s, %s) = %s, the deadline's %s", start, deadline, between, status)
		}
		seen[status]++
		d := time.Duration(r.Int64N(int64(700*time.Hour))) - 200*time.Hour
		end, status := c.AddWorkingDurationStatus(start, d)
		if plain := c.AddWorkingDuration(start, d); !end.Equal(plain) {
			t.Fatalf("AddWorkingDurationStatus(%s, %v) = %s, AddWorkingDuration %s", start, d, end, plain)
		}
		if want := statusOver(years, start, end); status != want {
			t.Fatalf("AddWorkingDurationStatus(%s, %v) = %s, %s; the years between are %s", start, d, end, status, want)
		}
	}
	for _, s := range []Status{Official, Provisional, Missing} {
		if seen[s] == 0 {
			t.Errorf("no deadline was %s: the instants do not cover the ends of the data", s)
		}
	}
}
