package convenience

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/countycloud/countycloud/plugins/sdk"
)

func oversightRoutes() []route {
	return []route{
		{"GET", "/oversight", oversight},
	}
}

// UnitFigures are one unit's figures in the oversight report.
type UnitFigures struct {
	UnitID   int64  `json:"unit_id"`
	UnitName string `json:"unit_name"`
	// Received: messages routed to the unit in the period.
	Received int `json:"received"`
	// Open: of those, not yet answered; Overdue: open past the reply's
	// deadline now.
	Open    int `json:"open"`
	Overdue int `json:"overdue"`
	// Answered: replies accepted; AnsweredLate: of them, replied after
	// the deadline.
	Answered     int `json:"answered"`
	AnsweredLate int `json:"answered_late"`
	// Ratings by kind, and the satisfaction rate: (满意 + 基本满意) /
	// rated, null while nothing is rated.
	Satisfied          int      `json:"satisfied"`
	BasicallySatisfied int      `json:"basically_satisfied"`
	Unsatisfied        int      `json:"unsatisfied"`
	Satisfaction       *float64 `json:"satisfaction"`
	Reopened           int      `json:"reopened"`
}

func (f *UnitFigures) add(m message, now time.Time) {
	f.Received++
	if m.Status != statusAnswered {
		f.Open++
		if m.Status == statusRouted && m.DueAt != nil && now.After(*m.DueAt) {
			f.Overdue++
		}
	} else {
		f.Answered++
		if m.Late {
			f.AnsweredLate++
		}
	}
	switch m.Rating {
	case "满意":
		f.Satisfied++
	case "基本满意":
		f.BasicallySatisfied++
	case "不满意":
		f.Unsatisfied++
	}
	if m.Reopened {
		f.Reopened++
	}
}

func (f *UnitFigures) rate() {
	if rated := f.Satisfied + f.BasicallySatisfied + f.Unsatisfied; rated > 0 {
		r := float64(f.Satisfied+f.BasicallySatisfied) / float64(rated)
		f.Satisfaction = &r
	}
}

// ReopenedMessage is a message an unsatisfied rating reopened.
type ReopenedMessage struct {
	ID       string     `json:"id"`
	Number   string     `json:"number"`
	Category string     `json:"category"`
	UnitID   int64      `json:"unit_id"`
	RatedAt  *time.Time `json:"rated_at"`
}

// Report is the oversight report of a period: the answer of GET
// /oversight, which the CLI reads too.
type Report struct {
	From string `json:"from"`
	To   string `json:"to"`
	// Unrouted: messages left in the period the IT office has not routed.
	Unrouted int               `json:"unrouted"`
	Units    []UnitFigures     `json:"units"`
	Total    UnitFigures       `json:"total"`
	Reopened []ReopenedMessage `json:"reopened"`
}

// maxPeriodDays bounds a report's period.
const maxPeriodDays = 366

// oversight: GET /oversight?from=YYYY-MM-DD&to=YYYY-MM-DD, for the IT
// office, the supervising unit, the county's admins and the province's
// operators: per unit, the messages routed to it in the period (days in
// China) and what became of them.
func oversight(c *call, _ params) (int, any, error) {
	q, err := parseQuery(c.req.Query, "from", "to")
	if err != nil {
		return 0, nil, err
	}
	if !c.who.oversees() {
		return 0, nil, forbidden("the IT office and the supervising unit read the oversight report (it_office_unit_id, supervising_unit_id)")
	}
	from, errFrom := time.ParseInLocation(time.DateOnly, q["from"], china)
	to, errTo := time.ParseInLocation(time.DateOnly, q["to"], china)
	switch {
	case errFrom != nil || errTo != nil:
		return 0, nil, badRequest(codeInvalidQuery, "give from and to as days, 2026-06-01")
	case to.Before(from):
		return 0, nil, badRequest(codeInvalidQuery, "to %s is before from %s", q["to"], q["from"])
	case to.Sub(from) > maxPeriodDays*24*time.Hour:
		return 0, nil, badRequest(codeInvalidQuery, "a period is at most %d days", maxPeriodDays)
	}
	end := to.AddDate(0, 0, 1)
	in := func(t *time.Time) bool { return t != nil && !t.Before(from) && t.Before(end) }
	rep := Report{From: q["from"], To: q["to"], Units: []UnitFigures{}, Reopened: []ReopenedMessage{}}
	byUnit := map[int64]*UnitFigures{}
	// Only the messages of the period's months are read, through the
	// months indexed: those routed in them, and those left in them that
	// wait for routing.
	for _, month := range months(from, to) {
		err := c.eachMessage(map[string]string{"routed_month": month}, func(id string, m message) {
			if !in(m.RoutedAt) {
				return
			}
			f := byUnit[m.UnitID]
			if f == nil {
				f = &UnitFigures{UnitID: m.UnitID}
				byUnit[m.UnitID] = f
			}
			f.add(m, c.now)
			rep.Total.add(m, c.now)
			if m.Reopened {
				rep.Reopened = append(rep.Reopened, ReopenedMessage{ID: id, Number: m.Number, Category: m.Category, UnitID: m.UnitID, RatedAt: m.RatedAt})
			}
		})
		if err != nil {
			return 0, nil, err
		}
		err = c.eachMessage(map[string]string{"status": statusNew, "submitted_month": month}, func(_ string, m message) {
			if in(&m.SubmittedAt) {
				rep.Unrouted++
			}
		})
		if err != nil {
			return 0, nil, err
		}
	}
	// Newest first, as the messages are listed.
	slices.SortFunc(rep.Reopened, func(a, b ReopenedMessage) int { return strings.Compare(a.ID, b.ID) })
	ids := slices.Sorted(maps.Keys(byUnit))
	names := map[int64]string{}
	if len(ids) > 0 {
		units, err := c.host.Units(c.ctx, ids...)
		if err != nil {
			return 0, nil, fromHost(err, "the units")
		}
		for _, u := range units {
			names[u.ID] = u.Name
		}
	}
	for _, id := range ids {
		f := byUnit[id]
		f.UnitName = names[id]
		f.rate()
		rep.Units = append(rep.Units, *f)
	}
	rep.Total.rate()
	return http.StatusOK, rep, nil
}

// months are the months in China, 2026-06, from the one of day from to
// the one of day to: a period of at most 366 days spans at most 13.
func months(from, to time.Time) []string {
	var out []string
	last := to.Format(monthLayout)
	for m := time.Date(from.Year(), from.Month(), 1, 0, 0, 0, 0, china); ; m = m.AddDate(0, 1, 0) {
		out = append(out, m.Format(monthLayout))
		if out[len(out)-1] == last {
			return out
		}
	}
}

// eachMessage calls fn with every message where matches, a page at a
// time.
func (c *call) eachMessage(where map[string]string, fn func(id string, m message)) error {
	for after := ""; ; {
		page, err := c.host.Query(c.ctx, collMessages, sdk.Query{Where: where, Limit: 200, After: after})
		if err != nil {
			return fromHost(err, "the messages")
		}
		for _, r := range page.Records {
			var m message
			if err := json.Unmarshal(r.Document, &m); err != nil {
				return fmt.Errorf("message %s: %w", r.ID, err)
			}
			fn(r.ID, m)
		}
		if page.Next == "" {
			return nil
		}
		after = page.Next
	}
}
