package workday

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"time"

	"github.com/countycloud/countycloud/core/errs"
)

// CodeInvalidCalendar is the code of every error about calendar data: a
// year file, a Year or a county's overrides.
const CodeInvalidCalendar = "invalid_calendar"

// Status tells how far the data of a year can be trusted.
type Status string

const (
	// Official data is copied from the State Council General Office's
	// notice for the year.
	Official Status = "official"
	// Provisional data was worked out before the notice came out, from the
	// statutory holidays, the lunar calendar and the practice of past
	// notices. Deadlines that depend on it deserve a warning until the file
	// has been checked against the notice.
	Provisional Status = "provisional"
	// Missing is the status of a year without a file: Monday to Friday
	// are taken as its working days, so its holidays are missing.
	Missing Status = "missing"
)

// Least is the less trusted of a and b: Missing before Provisional before
// Official. A deadline counted in two steps is as trusted as the less
// trusted of them.
func Least(a, b Status) Status {
	switch {
	case a == Missing || b == Missing:
		return Missing
	case a == Provisional || b == Provisional:
		return Provisional
	}
	return Official
}

// Year is the national schedule of one year, as its year file gives it.
type Year struct {
	Year   int
	Status Status
	// Source names the notice the data comes from or, for provisional data,
	// how it was worked out.
	Source   string
	Holidays []Holiday
	Workdays []Workday
}

// Holiday is a run of days off, From to To inclusive, as a notice gives
// it: "春节：2月15日至23日放假调休".
type Holiday struct {
	Name     string
	From, To Date
}

// Workday is a Saturday or Sunday worked to make up for weekdays given off
// around a holiday (调休上班).
type Workday struct {
	Date Date
	// For is the holiday the day makes up for.
	For string
}

// yearFile is the JSON form of a Year. Dates stay strings until Parse has
// read them one by one, so that one bad date does not hide the others.
type yearFile struct {
	Year     int           `json:"year"`
	Status   string        `json:"status"`
	Source   string        `json:"source"`
	Holidays []holidayFile `json:"holidays"`
	Workdays []workdayFile `json:"workdays"`
}

type holidayFile struct {
	Name string `json:"name"`
	From string `json:"from"`
	// To may be left out for a holiday of one day.
	To string `json:"to"`
}

type workdayFile struct {
	Date string `json:"date"`
	For  string `json:"for"`
}

// Parse reads a year file (see data/README.md). It reports every problem
// it finds, not only the first, in one error with code
// CodeInvalidCalendar whose Details list them.
func Parse(b []byte) (Year, error) {
	var f yearFile
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return Year{}, errs.Wrap(err, errs.KindInvalid, CodeInvalidCalendar, "the year file is not the expected JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return Year{}, errs.Invalid(CodeInvalidCalendar, "the year file goes on after its JSON object")
	}

	var problems []string
	y := Year{Year: f.Year, Status: Status(f.Status), Source: f.Source}
	for _, h := range f.Holidays {
		if h.To == "" {
			h.To = h.From
		}
		from, errFrom := ParseDate(h.From)
		to, errTo := ParseDate(h.To)
		if errFrom != nil || errTo != nil {
			for _, err := range []error{errFrom, errTo} {
				if err != nil {
					problems = append(problems, fmt.Sprintf("holiday %q: %v", h.Name, err))
				}
			}
			continue
		}
		y.Holidays = append(y.Holidays, Holiday{Name: h.Name, From: from, To: to})
	}
	for _, w := range f.Workdays {
		date, err := ParseDate(w.Date)
		if err != nil {
			problems = append(problems, fmt.Sprintf("working day for %q: %v", w.For, err))
			continue
		}
		y.Workdays = append(y.Workdays, Workday{Date: date, For: w.For})
	}
	problems = append(problems, y.problems()...)
	if len(problems) > 0 {
		return Year{}, invalid("year file", problems)
	}
	return y, nil
}

// problems checks a year as New and Parse need it: every date inside the
// year, no day listed twice, no day both off and worked, and only
// Saturdays and Sundays as adjusted working days.
func (y Year) problems() []string {
	var problems []string
	add := func(format string, args ...any) {
		problems = append(problems, fmt.Sprintf(format, args...))
	}
	yearValid := y.Year >= 1 && y.Year <= 9999
	if !yearValid {
		add("year %d is not between 1 and 9999", y.Year)
	}
	if y.Status != Official && y.Status != Provisional {
		add("status %q is neither %q nor %q", y.Status, Official, Provisional)
	}
	if strings.TrimSpace(y.Source) == "" {
		add("source is empty: name the notice the dates come from")
	}
	if len(y.Holidays) == 0 {
		add("no holidays are listed")
	}
	outside := func(d Date) bool { return yearValid && d.Year != y.Year }

	holidayOn := make(map[int64]string)
	for _, h := range y.Holidays {
		what := fmt.Sprintf("holiday %q (%s to %s)", h.Name, h.From, h.To)
		if strings.TrimSpace(h.Name) == "" {
			add("%s has no name", what)
		}
		switch {
		case !h.From.valid() || !h.To.valid():
			add("%s: not a valid date", what)
			continue
		case outside(h.From) || outside(h.To):
			add("%s is not all in %d", what, y.Year)
			continue
		case h.To.day() < h.From.day():
			add("%s ends before it starts", what)
			continue
		}
		overlapReported := false
		for d := h.From.day(); d <= h.To.day(); d++ {
			if earlier, taken := holidayOn[d]; taken && !overlapReported {
				add("%s: %s is already listed by %s", what, dateOfDay(d), earlier)
				overlapReported = true
			}
			holidayOn[d] = what
		}
	}

	workdayOn := make(map[int64]bool)
	for _, w := range y.Workdays {
		what := fmt.Sprintf("working day %s (for %q)", w.Date, w.For)
		if strings.TrimSpace(w.For) == "" {
			add("%s does not name the holiday it makes up for", what)
		}
		if !w.Date.valid() {
			add("%s: not a valid date", what)
			continue
		}
		if outside(w.Date) {
			add("%s is not in %d", what, y.Year)
			continue
		}
		d := w.Date.day()
		if wd := weekdayOf(d); wd != time.Saturday && wd != time.Sunday {
			add("%s is a %s: only a Saturday or Sunday can be an adjusted working day", what, wd)
		}
		if holiday, off := holidayOn[d]; off {
			add("%s is also a day off of %s", what, holiday)
		}
		if workdayOn[d] {
			add("%s is listed twice", what)
		}
		workdayOn[d] = true
	}
	return problems
}

// invalid reports problems found in what as one error listing them all.
func invalid(what string, problems []string) error {
	e := errs.Invalid(CodeInvalidCalendar, "%s: %s", what, strings.Join(problems, "; "))
	e.Details = problems
	return e
}

//go:embed data/*.json
var yearFiles embed.FS

// NationalYears parses the year files built into the binary, in order of
// year. It parses them at each call, so a caller keeps the result rather
// than the package.
func NationalYears() ([]Year, error) {
	names, err := fs.Glob(yearFiles, "data/*.json")
	if err != nil {
		return nil, fmt.Errorf("workday: listing the year files: %w", err)
	}
	years := make([]Year, 0, len(names))
	for _, name := range names {
		b, err := yearFiles.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("workday: %w", err)
		}
		y, err := Parse(b)
		if err != nil {
			return nil, fmt.Errorf("workday: %s: %w", name, err)
		}
		if want := fmt.Sprintf("data/cn-%d.json", y.Year); name != want {
			return nil, fmt.Errorf("workday: %s holds year %d; name it %s", name, y.Year, want)
		}
		years = append(years, y)
	}
	return years, nil
}
