package measure

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/countycloud/countycloud/core/errs"
)

// Bounds of a query.
const (
	MaxQueryMeasures = 64
	// maxDays bounds a query by day; by half-month or month it may span
	// up to maxPeriodDays.
	maxDays       = 366
	maxPeriodDays = 5*366 + 1
)

// Query asks for figures of Measures from From to To (both days, both
// included), per By (ByDay, ByHalfMonth, ByMonth), of one unit or, with
// Unit nil, of every unit and the county as a whole.
type Query struct {
	Measures []string `json:"measures"`
	Unit     *int64   `json:"unit_id,omitempty"`
	From     string   `json:"from"`
	To       string   `json:"to"`
	By       string   `json:"by"`
}

// ParseQuery reads a query from URL parameters: measure (repeated or
// comma-separated), unit (optional), from, to, by (day when absent).
// Half-month and month queries start and end on their periods' bounds, so
// that every figure they answer is a whole period.
func ParseQuery(v url.Values) (Query, error) {
	for name := range v {
		if !slices.Contains([]string{"measure", "unit", "from", "to", "by"}, name) {
			return Query{}, invalid("unknown parameter %q: the parameters are measure, unit, from, to and by", name)
		}
	}
	for _, name := range []string{"from", "to", "by"} {
		if len(v[name]) > 1 {
			return Query{}, invalid("%s is given %d times; a query has one", name, len(v[name]))
		}
	}
	q := Query{From: v.Get("from"), To: v.Get("to"), By: v.Get("by")}
	for _, list := range v["measure"] {
		for _, id := range strings.Split(list, ",") {
			id = strings.TrimSpace(id)
			if err := ValidID(id); err != nil {
				return Query{}, invalid("%v", err)
			}
			if !slices.Contains(q.Measures, id) {
				q.Measures = append(q.Measures, id)
			}
		}
	}
	if len(q.Measures) == 0 {
		return Query{}, invalid("name the measures to read: measure=platform.logins (several: repeat it, or separate them with commas)")
	}
	if len(q.Measures) > MaxQueryMeasures {
		return Query{}, invalid("%d measures; a query reads at most %d", len(q.Measures), MaxQueryMeasures)
	}
	if units := v["unit"]; len(units) > 1 {
		return Query{}, invalid("one unit per query, or none for every unit")
	} else if len(units) == 1 {
		id, err := strconv.ParseInt(units[0], 10, 64)
		if err != nil || id < 0 {
			return Query{}, invalid("unit %q: a unit's id, or 0 for the figures of the whole county", units[0])
		}
		q.Unit = &id
	}
	if q.By == "" {
		q.By = ByDay
	}
	if _, ok := grainCode[q.By]; !ok {
		return Query{}, invalid("by %q: day, half_month or month", q.By)
	}
	from, err := parseDay(q.From)
	if err != nil {
		return Query{}, invalid("from: %v", err)
	}
	to, err := parseDay(q.To)
	if err != nil {
		return Query{}, invalid("to: %v", err)
	}
	days := int(to.Sub(from).Hours()/24) + 1
	switch {
	case days < 1:
		return Query{}, invalid("from %s is after to %s", q.From, q.To)
	case q.By == ByDay && days > maxDays:
		return Query{}, invalid("%d days; by day a query spans at most %d (by half_month or month, five years)", days, maxDays)
	case days > maxPeriodDays:
		return Query{}, invalid("%d days; a query spans at most five years", days)
	}
	if !periodStart(q.By, from).Equal(from) || !periodEnd(q.By, periodStart(q.By, to)).Equal(to) {
		return Query{}, invalid("by %s, from is the first day of a period and to the last (half-months are the 1st to the 15th and the 16th to the month's end): from %s to %s is %s to %s",
			q.By, q.From, q.To, periodStart(q.By, from).Format(time.DateOnly), periodEnd(q.By, periodStart(q.By, to)).Format(time.DateOnly))
	}
	return q, nil
}

func invalid(format string, args ...any) error {
	return errs.Invalid(CodeInvalidQuery, format, args...)
}

// parseDay reads a day such as 2026-06-05, between 2000 and 2100.
func parseDay(s string) (time.Time, error) {
	day, err := time.Parse(time.DateOnly, s)
	if err != nil || day.Format(time.DateOnly) != s {
		return time.Time{}, fmt.Errorf("%q is not a day such as 2026-06-05", s)
	}
	if day.Year() < 2000 || day.Year() > 2100 {
		return time.Time{}, fmt.Errorf("%s is outside 2000 to 2100", s)
	}
	return day, nil
}
