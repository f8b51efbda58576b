package supervision

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/workday"
)

// Page sizes of the lists.
const (
	DefaultPageSize = 100
	MaxPageSize     = 1000
)

func pageSize(limit int) (int, error) {
	switch {
	case limit == 0:
		return DefaultPageSize, nil
	case limit < 0 || limit > MaxPageSize:
		return 0, errs.Invalid(CodeInvalidQuery, "limit %d is not between 1 and %d", limit, MaxPageSize)
	}
	return limit, nil
}

// Task is an open task supervision has warned about.
type Task struct {
	ID         int64      `json:"id" db:"id"`
	InstanceID int64      `json:"instance_id" db:"instance_id"`
	Title      string     `json:"title" db:"title"`
	Step       string     `json:"step" db:"step"`
	StepName   string     `json:"step_name" db:"step_name"`
	UnitID     int64      `json:"unit_id" db:"unit_id"`
	UnitName   string     `json:"unit_name" db:"unit_name"`
	AccountID  *int64     `json:"assignee_account_id,omitempty" db:"assignee_account_id"`
	Role       *string    `json:"assignee_role,omitempty" db:"assignee_role"`
	Level      Level      `json:"level" db:"level"`
	CreatedAt  time.Time  `json:"created_at" db:"created_at"`
	WarnAt     *time.Time `json:"warn_at,omitempty" db:"warn_at"`
	DueAt      *time.Time `json:"due_at,omitempty" db:"due_at"`
	// DueCalendar says how far the calendar DueAt was counted in can be
	// trusted: official, provisional, or missing (a year without holiday
	// data was counted Monday to Friday).
	DueCalendar *workday.Status `json:"due_calendar,omitempty" db:"due_calendar"`
	// LateHours is the working time since the deadline, in hours: how
	// late a red task is; negative, the time a yellow one has left.
	LateHours float64 `json:"late_hours"`
	Version   int     `json:"version" db:"version"`
}

// TaskFilter selects warned tasks: of one colour (yellow or red; both if
// zero) and one unit (all if zero), after the cursor a page gave.
type TaskFilter struct {
	Level  Level
	UnitID int64
	After  string
	Limit  int
}

// TaskPage is a page of warned tasks, the earliest deadline first.
type TaskPage struct {
	Tasks []Task `json:"tasks"`
	// Next is the cursor of the next page, empty on the last.
	Next string `json:"next,omitempty"`
}

// noDeadline orders tasks without a deadline last; dueOrLast is a task's
// deadline or that, typed as a DATETIME (a bare parameter in COALESCE
// would make it a string, compared as text).
func noDeadline() time.Time { return time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC) }

const dueOrLast = "COALESCE(t.due_at, CAST('9999-12-31 00:00:00' AS DATETIME(6)))"

// Tasks lists tenant's open yellow and red tasks at now.
func (s *Service) Tasks(ctx context.Context, tenant string, f TaskFilter, now time.Time) (TaskPage, error) {
	limit, err := pageSize(f.Limit)
	if err != nil {
		return TaskPage{}, err
	}
	query := `SELECT t.id, t.instance_id, i.title, t.step, t.step_name, t.unit_id, u.name AS unit_name, t.assignee_account_id, t.assignee_role,
t.level, t.created_at, t.warn_at, t.due_at, t.due_calendar, t.version
FROM workflow_tasks t JOIN workflow_instances i ON i.id = t.instance_id JOIN units u ON u.id = t.unit_id
WHERE t.status = 'open'`
	var args []any
	switch f.Level {
	case Green:
		query += " AND t.level >= 1"
	case Yellow, Red:
		query += " AND t.level = ?"
		args = append(args, f.Level)
	default:
		return TaskPage{}, errs.Invalid(CodeInvalidQuery, "level %d is not yellow or red", f.Level)
	}
	if f.UnitID != 0 {
		query += " AND t.unit_id = ?"
		args = append(args, f.UnitID)
	}
	if f.After != "" {
		due, id, err := parseCursor(f.After)
		if err != nil {
			return TaskPage{}, err
		}
		query += " AND (" + dueOrLast + " > ? OR (" + dueOrLast + " = ? AND t.id > ?))"
		args = append(args, due, due, id)
	}
	query += " ORDER BY " + dueOrLast + ", t.id LIMIT ?"
	args = append(args, limit+1)
	cal, err := s.calendars.Calendar(ctx, tenant)
	if err != nil {
		return TaskPage{}, err
	}
	page := TaskPage{Tasks: []Task{}}
	err = s.router.InTenant(ctx, tenant, func(ctx context.Context, conn *sqlx.Conn) error {
		if err := conn.SelectContext(ctx, &page.Tasks, query, args...); err != nil {
			return fmt.Errorf("list warned tasks: %w", err)
		}
		return nil
	})
	if err != nil {
		return TaskPage{}, err
	}
	if len(page.Tasks) > limit {
		page.Tasks = page.Tasks[:limit]
		last := page.Tasks[limit-1]
		due := noDeadline()
		if last.DueAt != nil {
			due = *last.DueAt
		}
		page.Next = strconv.FormatInt(due.UnixMicro(), 10) + "." + strconv.FormatInt(last.ID, 10)
	}
	for i := range page.Tasks {
		if t := &page.Tasks[i]; t.DueAt != nil {
			t.LateHours = round(cal.WorkingDuration(*t.DueAt, now).Hours(), 2)
		}
	}
	return page, nil
}

// parseCursor reads a TaskPage.Next.
func parseCursor(s string) (time.Time, int64, error) {
	bad := errs.Invalid(CodeInvalidQuery, "after %q is not a cursor this API gave", s)
	micros, id, ok := strings.Cut(s, ".")
	if !ok {
		return time.Time{}, 0, bad
	}
	m, err1 := strconv.ParseInt(micros, 10, 64)
	n, err2 := strconv.ParseInt(id, 10, 64)
	if err1 != nil || err2 != nil || n < 0 {
		return time.Time{}, 0, bad
	}
	return time.UnixMicro(m).UTC(), n, nil
}

func round(v float64, places int) float64 {
	p := math.Pow(10, float64(places))
	return math.Round(v*p) / p
}

// Period is a span of whole days in China, From to To inclusive.
type Period struct {
	From, To workday.Date
}

// Start and End are the instants the period begins and ends.
func (p Period) Start() time.Time { return midnight(p.From, 0) }

// End is the first instant after the period.
func (p Period) End() time.Time { return midnight(p.To, 1) }

func midnight(d workday.Date, plusDays int) time.Time {
	return time.Date(d.Year, d.Month, d.Day+plusDays, 0, 0, 0, 0, workday.China()).UTC()
}

// Years a period may span: those the working-day calendar reasons about.
const (
	minYear = 2000
	maxYear = 2100
)

// ParsePeriod reads a period given as two dates, 2026-01-01 and
// 2026-12-31, reporting every problem at once.
func ParsePeriod(from, to string) (Period, error) {
	var problems []Problem
	var p Period
	for _, f := range []struct {
		name, value string
		dst         *workday.Date
	}{{"from", from, &p.From}, {"to", to, &p.To}} {
		d, err := workday.ParseDate(f.value)
		switch {
		case f.value == "":
			problems = append(problems, Problem{f.name, "give the date, such as 2026-01-01"})
		case err != nil || d.String() != f.value:
			problems = append(problems, Problem{f.name, fmt.Sprintf("%q is not a date such as 2026-01-01", f.value)})
		case d.Year < minYear || d.Year > maxYear:
			problems = append(problems, Problem{f.name, fmt.Sprintf("%s is outside the years %d to %d", f.value, minYear, maxYear)})
		default:
			*f.dst = d
		}
	}
	if len(problems) == 0 && p.Start().After(midnight(p.To, 0)) {
		problems = append(problems, Problem{"to", fmt.Sprintf("%s is before from, %s", to, from)})
	}
	if len(problems) > 0 {
		return Period{}, invalid(CodeInvalidQuery, problems)
	}
	return p, nil
}

// UnitStats are one unit's figures over a period.
type UnitStats struct {
	UnitID   int64  `json:"unit_id,omitempty"`
	UnitName string `json:"unit_name,omitempty"`
	UnitCode string `json:"unit_code,omitempty"`
	// Finished counts the tasks done in the period; OnTime those done by
	// their deadline (or without one).
	Finished int `json:"finished"`
	OnTime   int `json:"on_time"`
	// OnTimeRate is OnTime / Finished, nil when nothing was finished.
	OnTimeRate *float64 `json:"on_time_rate"`
	// Overdue is FinishedLate plus OpenOverdue: the tasks still open at
	// the end of the period with their deadline passed.
	Overdue      int `json:"overdue"`
	FinishedLate int `json:"finished_late"`
	OpenOverdue  int `json:"open_overdue"`
	// AverageWorkingDays is the mean working time from a finished task's
	// creation to its completion, in working days of the county's
	// calendar; nil when nothing was finished.
	AverageWorkingDays *float64 `json:"average_working_days"`

	handling time.Duration
}

func (u *UnitStats) finish(dayLength time.Duration) {
	u.Overdue = u.FinishedLate + u.OpenOverdue
	if u.Finished > 0 {
		rate := round(float64(u.OnTime)/float64(u.Finished), 4)
		days := round(float64(u.handling)/float64(u.Finished)/float64(dayLength), 2)
		u.OnTimeRate, u.AverageWorkingDays = &rate, &days
	}
}

// Stats are every unit's figures over a period, and the county's.
type Stats struct {
	From  string      `json:"from"`
	To    string      `json:"to"`
	Units []UnitStats `json:"units"`
	Total UnitStats   `json:"total"`
}

// Stats computes the figures of tenant's units over p (of unit alone if
// it is not zero) as they stand at now: the units with a task finished in
// the period or open and overdue at its end. A period that has not ended
// counts the tasks overdue by now.
func (s *Service) Stats(ctx context.Context, tenant string, p Period, unit int64, now time.Time) (Stats, error) {
	cal, err := s.calendars.Calendar(ctx, tenant)
	if err != nil {
		return Stats{}, err
	}
	start, end := p.Start(), p.End()
	overdueBy := end
	if now.Before(end) {
		overdueBy = now.UTC()
	}
	out := Stats{From: p.From.String(), To: p.To.String(), Units: []UnitStats{}}
	err = s.router.InTenant(ctx, tenant, func(ctx context.Context, conn *sqlx.Conn) error {
		filter, args := "", []any{}
		if unit != 0 {
			var n int
			if err := conn.GetContext(ctx, &n, "SELECT COUNT(*) FROM units WHERE id = ?", unit); err != nil {
				return fmt.Errorf("look up unit %d: %w", unit, err)
			}
			if n == 0 {
				return invalid(CodeInvalidQuery, []Problem{{"unit_id", fmt.Sprintf("the county has no unit %d", unit)}})
			}
			filter, args = " AND unit_id = ?", []any{unit}
		}
		byUnit := map[int64]*UnitStats{}
		get := func(id int64) *UnitStats {
			u := byUnit[id]
			if u == nil {
				u = &UnitStats{UnitID: id}
				byUnit[id] = u
			}
			return u
		}
		if unit != 0 {
			get(unit)
		}
		rows, err := conn.QueryxContext(ctx, `SELECT unit_id, created_at, acted_at, due_at, suspended_seconds FROM workflow_tasks
WHERE acted_at >= ? AND acted_at < ? AND status = 'done'`+filter, append([]any{start, end}, args...)...)
		if err != nil {
			return fmt.Errorf("read finished tasks: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var t struct {
				Unit    int64      `db:"unit_id"`
				Created time.Time  `db:"created_at"`
				Acted   time.Time  `db:"acted_at"`
				Due     *time.Time `db:"due_at"`
				// Suspended is the working time the task waited on the
				// applicant (补正), which its handling time does not count.
				Suspended int64 `db:"suspended_seconds"`
			}
			if err := rows.StructScan(&t); err != nil {
				return fmt.Errorf("read finished tasks: %w", err)
			}
			u := get(t.Unit)
			u.Finished++
			if t.Due == nil || !t.Acted.After(*t.Due) {
				u.OnTime++
			} else {
				u.FinishedLate++
			}
			u.handling += max(cal.WorkingDuration(t.Created, t.Acted)-time.Duration(t.Suspended)*time.Second, 0)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read finished tasks: %w", err)
		}
		var open []struct {
			Unit int64 `db:"unit_id"`
			N    int   `db:"n"`
		}
		// Open at the end of the period (created before it ends, not done
		// or cancelled before it ends) with its deadline passed by then;
		// a task suspended now (waiting on the applicant, its deadline
		// to move on when it resumes) is not overdue.
		err = conn.SelectContext(ctx, &open, `SELECT unit_id, COUNT(*) AS n FROM workflow_tasks
WHERE due_at < ? AND created_at < ? AND status NOT IN ('cancelled', 'suspended') AND (acted_at IS NULL OR acted_at >= ?)`+filter+` GROUP BY unit_id`,
			append([]any{overdueBy, end, end}, args...)...)
		if err != nil {
			return fmt.Errorf("count overdue open tasks: %w", err)
		}
		for _, o := range open {
			get(o.Unit).OpenOverdue = o.N
		}
		var units []struct {
			ID   int64   `db:"id"`
			Name string  `db:"name"`
			Code *string `db:"code"`
		}
		if err := conn.SelectContext(ctx, &units, "SELECT id, name, code FROM units ORDER BY sort_order, id"); err != nil {
			return fmt.Errorf("read units: %w", err)
		}
		dayLength := cal.Hours().Total()
		for _, row := range units {
			u := byUnit[row.ID]
			if u == nil {
				continue
			}
			u.UnitName = row.Name
			if row.Code != nil {
				u.UnitCode = *row.Code
			}
			u.finish(dayLength)
			out.Units = append(out.Units, *u)
			out.Total.Finished += u.Finished
			out.Total.OnTime += u.OnTime
			out.Total.FinishedLate += u.FinishedLate
			out.Total.OpenOverdue += u.OpenOverdue
			out.Total.handling += u.handling
		}
		out.Total.finish(dayLength)
		return nil
	})
	if err != nil {
		return Stats{}, err
	}
	return out, nil
}

// EventFilter selects events, newest first, before the id Before.
type EventFilter struct {
	TaskID int64
	UnitID int64
	Kind   string
	Before int64
	Limit  int
}

// EventPage is a page of events.
type EventPage struct {
	Events []Event `json:"events"`
	// NextBefore is the Before of the next page, 0 on the last.
	NextBefore int64 `json:"next_before,omitempty"`
}

// Events lists tenant's supervision events.
func (s *Service) Events(ctx context.Context, tenant string, f EventFilter) (EventPage, error) {
	limit, err := pageSize(f.Limit)
	if err != nil {
		return EventPage{}, err
	}
	query := "SELECT id, task_id, instance_id, unit_id, kind, level, at, actor_login, note FROM supervision_events WHERE 1 = 1"
	var args []any
	switch f.Kind {
	case "", EventWarning, EventOverdue, EventEscalated, EventReassigned:
	default:
		return EventPage{}, errs.Invalid(CodeInvalidQuery, "kind %q is not one of warning, overdue, escalated, reassigned", f.Kind)
	}
	for _, c := range []struct {
		set    bool
		clause string
		arg    any
	}{
		{f.TaskID != 0, " AND task_id = ?", f.TaskID},
		{f.UnitID != 0, " AND unit_id = ?", f.UnitID},
		{f.Kind != "", " AND kind = ?", f.Kind},
		{f.Before != 0, " AND id < ?", f.Before},
	} {
		if c.set {
			query += c.clause
			args = append(args, c.arg)
		}
	}
	query += " ORDER BY id DESC LIMIT ?"
	args = append(args, limit+1)
	page := EventPage{Events: []Event{}}
	err = s.router.InTenant(ctx, tenant, func(ctx context.Context, conn *sqlx.Conn) error {
		if err := conn.SelectContext(ctx, &page.Events, query, args...); err != nil {
			return fmt.Errorf("list supervision events: %w", err)
		}
		return nil
	})
	if err != nil {
		return EventPage{}, err
	}
	if len(page.Events) > limit {
		page.Events = page.Events[:limit]
		page.NextBefore = page.Events[limit-1].ID
	}
	return page, nil
}
