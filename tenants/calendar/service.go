// Package calendar is a county's working-day calendar: the national
// holidays and adjusted working days shipped with the platform
// (core/workday), with the county's own overrides kept in its schema. Every
// deadline of the county's workflows is counted in it.
package calendar

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/audit"
	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/names"
	"github.com/countycloud/countycloud/core/ttlcache"
	"github.com/countycloud/countycloud/core/workday"
)

// Codes of the errors this package returns.
const (
	CodeInvalidOverride  = "invalid_calendar_override"
	CodeOverrideNotFound = "calendar_override_not_found"
)

// Router reaches a county's schema (store.Router).
type Router interface {
	InTenant(ctx context.Context, code string, fn func(ctx context.Context, conn *sqlx.Conn) error) error
	InTenantTx(ctx context.Context, code string, fn func(ctx context.Context, tx *sqlx.Tx) error) error
}

// Service keeps counties' calendars.
type Service struct {
	router   Router
	national []workday.Year
	// cache spares every deadline a read of the county's overrides. A
	// change made through another replica is seen within cacheTTL; one
	// made here at once.
	cache *ttlcache.Cache[string, *workday.Calendar]
}

// A county's calendar is kept this long, for at most maxCached counties.
const (
	cacheTTL  = 30 * time.Second
	maxCached = 10000
)

// NewService returns the calendars of the counties behind router, on the
// national data shipped with the platform.
func NewService(router Router) (*Service, error) {
	years, err := workday.NationalYears()
	if err != nil {
		return nil, fmt.Errorf("national calendar: %w", err)
	}
	return &Service{router: router, national: years, cache: ttlcache.New[string, *workday.Calendar](cacheTTL, maxCached)}, nil
}

// Override is a county's change to one day.
type Override struct {
	Day       string    `json:"day" db:"day"`
	Working   bool      `json:"working" db:"working"`
	Note      string    `json:"note" db:"note"`
	UpdatedAt time.Time `json:"updated_at" db:"updated_at"`
}

// OverrideInput sets a day: Working says whether it is worked.
type OverrideInput struct {
	Working *bool  `json:"working"`
	Note    string `json:"note"`
}

func (s *Service) overrides(ctx context.Context, q sqlx.QueryerContext) ([]Override, error) {
	var list []Override
	if err := sqlx.SelectContext(ctx, q, &list, "SELECT DATE_FORMAT(day, '%Y-%m-%d') AS day, working, note, updated_at FROM calendar_overrides ORDER BY day"); err != nil {
		return nil, fmt.Errorf("read calendar overrides: %w", err)
	}
	return list, nil
}

// build makes the calendar of the national data and overrides.
func (s *Service) build(list []Override) (*workday.Calendar, error) {
	overrides := make([]workday.Override, len(list))
	for i, o := range list {
		day, err := workday.ParseDate(o.Day)
		if err != nil {
			return nil, err
		}
		overrides[i] = workday.Override{Day: day, Working: o.Working, Note: o.Note}
	}
	return workday.New(s.national, overrides)
}

// Calendar is tenant's calendar as it stands.
func (s *Service) Calendar(ctx context.Context, tenant string) (*workday.Calendar, error) {
	if c, ok := s.cache.Get(tenant); ok {
		return c, nil
	}
	var c *workday.Calendar
	err := s.router.InTenant(ctx, tenant, func(ctx context.Context, conn *sqlx.Conn) error {
		list, err := s.overrides(ctx, conn)
		if err != nil {
			return err
		}
		c, err = s.build(list)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.cache.Put(tenant, c)
	return c, nil
}

// Day is a day that is not an ordinary weekday or weekend: a holiday, an
// adjusted working day, or one the county changed.
type Day struct {
	Date    string `json:"date"`
	Working bool   `json:"working"`
	Reason  string `json:"reason"`
	County  bool   `json:"county,omitempty"`
}

// YearView is a year of a county's calendar.
type YearView struct {
	Year int `json:"year"`
	// Status says how far the national data for the year can be trusted:
	// official, provisional, or missing (Monday to Friday are counted).
	Status workday.Status `json:"status"`
	// Source names the notice the national data comes from or, for
	// provisional data, how it was worked out; empty when missing.
	Source string `json:"source,omitempty"`
	Days   []Day  `json:"days"`
}

// Year lists year's days that differ from Monday to Friday working, with
// how far the national data for it can be trusted.
func (s *Service) Year(ctx context.Context, tenant string, year int) (YearView, error) {
	if year < 2000 || year > 2100 {
		return YearView{}, errs.Invalid(CodeInvalidOverride, "year %d is outside 2000 to 2100", year)
	}
	view := YearView{Year: year, Days: []Day{}}
	err := s.router.InTenant(ctx, tenant, func(ctx context.Context, conn *sqlx.Conn) error {
		list, err := s.overrides(ctx, conn)
		if err != nil {
			return err
		}
		c, err := s.build(list)
		if err != nil {
			return err
		}
		county := map[string]bool{}
		for _, o := range list {
			county[o.Day] = true
		}
		view.Status = c.Status(year)
		for _, y := range s.national {
			if y.Year == year {
				view.Source = y.Source
			}
		}
		// Noon in China, so that every instant lands on its day.
		china := time.FixedZone("CST", 8*60*60)
		for day := time.Date(year, 1, 1, 12, 0, 0, 0, china); day.Year() == year; day = day.AddDate(0, 0, 1) {
			working, reason := c.Explain(day)
			weekday := day.Weekday() != time.Saturday && day.Weekday() != time.Sunday
			date := day.Format(time.DateOnly)
			if working != weekday || county[date] {
				view.Days = append(view.Days, Day{Date: date, Working: working, Reason: reason, County: county[date]})
			}
		}
		return nil
	})
	return view, err
}

// SetOverride makes day of tenant a working day or a day off.
func (s *Service) SetOverride(ctx context.Context, tenant, day string, in OverrideInput) (Override, error) {
	if _, err := workday.ParseDate(day); err != nil {
		return Override{}, errs.Invalid(CodeInvalidOverride, "day %q is not a date such as 2026-06-05", day)
	}
	if in.Working == nil {
		return Override{}, errs.Invalid(CodeInvalidOverride, "say whether the day is worked: \"working\": true or false")
	}
	note, err := names.Clean("note", in.Note, 200)
	if err != nil {
		return Override{}, errs.Invalid(CodeInvalidOverride, "%v", err)
	}
	o := Override{Day: day, Working: *in.Working, Note: note, UpdatedAt: time.Now().UTC().Truncate(time.Microsecond)}
	err = s.router.InTenantTx(ctx, tenant, func(ctx context.Context, tx *sqlx.Tx) error {
		list, err := s.overrides(ctx, tx)
		if err != nil {
			return err
		}
		before := find(list, day)
		if _, err := s.build(append(without(list, day), o)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO calendar_overrides (day, working, note, updated_at) VALUES (?, ?, ?, ?)
ON DUPLICATE KEY UPDATE working = VALUES(working), note = VALUES(note), updated_at = VALUES(updated_at)`, o.Day, o.Working, o.Note, o.UpdatedAt); err != nil {
			return fmt.Errorf("set calendar override %s: %w", day, err)
		}
		return audit.Write(ctx, tx, audit.New(ctx, "calendar.override.set", "calendar_day", day, before, o))
	})
	s.cache.Delete(tenant)
	return o, err
}

// DeleteOverride gives day back to the national calendar.
func (s *Service) DeleteOverride(ctx context.Context, tenant, day string) error {
	err := s.router.InTenantTx(ctx, tenant, func(ctx context.Context, tx *sqlx.Tx) error {
		list, err := s.overrides(ctx, tx)
		if err != nil {
			return err
		}
		before := find(list, day)
		if before == nil {
			return errs.NotFound(CodeOverrideNotFound, "the county has not changed %s", day)
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM calendar_overrides WHERE day = ?", day); err != nil {
			return fmt.Errorf("delete calendar override %s: %w", day, err)
		}
		return audit.Write(ctx, tx, audit.New(ctx, "calendar.override.delete", "calendar_day", day, before, nil))
	})
	s.cache.Delete(tenant)
	return err
}

func find(list []Override, day string) *Override {
	for _, o := range list {
		if o.Day == day {
			return &o
		}
	}
	return nil
}

func without(list []Override, day string) []Override {
	var rest []Override
	for _, o := range list {
		if o.Day != day {
			rest = append(rest, o)
		}
	}
	return rest
}
