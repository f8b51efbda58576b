package supervision

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/audit"
	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/workday"
	"github.com/countycloud/countycloud/core/workflow"
)

// Settings are a county's supervision settings.
type Settings struct {
	// WarnShare is the share of a task's working time after which it
	// turns yellow.
	WarnShare float64 `json:"warn_share"`
	// SupervisingUnit is the code of the unit red tasks are escalated
	// to, "" while the county has named none.
	SupervisingUnit     string `json:"supervising_unit"`
	SupervisingUnitName string `json:"supervising_unit_name,omitempty"`
}

// SettingsInput changes settings; a field left out stays as it is. An
// empty SupervisingUnit names none.
type SettingsInput struct {
	WarnShare       *float64 `json:"warn_share"`
	SupervisingUnit *string  `json:"supervising_unit"`
}

// Problem is one thing wrong with a request, by field.
type Problem struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// invalid reports every problem at once under code.
func invalid(code string, problems []Problem) error {
	msgs := make([]string, len(problems))
	for i, p := range problems {
		msgs[i] = p.Field + ": " + p.Message
	}
	e := errs.Invalid(code, "%s", strings.Join(msgs, "; "))
	e.Details = problems
	return e
}

// queryer is what reading settings needs: a connection or a transaction.
type queryer interface {
	sqlx.QueryerContext
	GetContext(ctx context.Context, dest any, query string, args ...any) error
	SelectContext(ctx context.Context, dest any, query string, args ...any) error
}

// readSettings reads the county's settings, locking their rows when lock
// is set so that two changes cannot interleave.
func readSettings(ctx context.Context, q queryer, lock bool) (Settings, error) {
	query := "SELECT name, value FROM settings WHERE name IN (?, ?)"
	if lock {
		query += " FOR UPDATE"
	}
	var rows []struct {
		Name  string `db:"name"`
		Value string `db:"value"`
	}
	if err := q.SelectContext(ctx, &rows, query, workflow.SettingWarnShare, SettingUnit); err != nil {
		return Settings{}, fmt.Errorf("read supervision settings: %w", err)
	}
	s := Settings{WarnShare: workflow.DefaultWarnShare}
	for _, r := range rows {
		switch r.Name {
		case workflow.SettingWarnShare:
			s.WarnShare = parseShare(r.Value)
		case SettingUnit:
			s.SupervisingUnit = r.Value
		}
	}
	if s.SupervisingUnit != "" {
		err := q.GetContext(ctx, &s.SupervisingUnitName, "SELECT name FROM units WHERE code = ?", s.SupervisingUnit)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return Settings{}, fmt.Errorf("read the supervising unit: %w", err)
		}
	}
	return s, nil
}

// parseShare reads a stored warn share; one that is not a usable share
// (set by hand in the database) counts as the default, as the engine
// counts it.
func parseShare(v string) float64 {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || !validShare(f) {
		return workflow.DefaultWarnShare
	}
	return f
}

func validShare(f float64) bool {
	return !math.IsNaN(f) && f >= workflow.MinWarnShare && f <= workflow.MaxWarnShare
}

// Settings are tenant's supervision settings.
func (s *Service) Settings(ctx context.Context, tenant string) (Settings, error) {
	var out Settings
	err := s.router.InTenant(ctx, tenant, func(ctx context.Context, conn *sqlx.Conn) error {
		var err error
		out, err = readSettings(ctx, conn, false)
		return err
	})
	return out, err
}

// SetSettings changes tenant's settings. A new warn share moves the
// yellow warning of every open green task to the new share of its
// working time, in the same transaction; its time limit stays.
func (s *Service) SetSettings(ctx context.Context, tenant string, in SettingsInput) (Settings, error) {
	var problems []Problem
	if in.WarnShare == nil && in.SupervisingUnit == nil {
		problems = append(problems, Problem{"warn_share", "give warn_share, supervising_unit or both"})
	}
	if in.WarnShare != nil && !validShare(*in.WarnShare) {
		problems = append(problems, Problem{"warn_share", fmt.Sprintf("%v is not between %v and %v", *in.WarnShare, workflow.MinWarnShare, workflow.MaxWarnShare)})
	}
	unit := ""
	if in.SupervisingUnit != nil {
		unit = strings.TrimSpace(*in.SupervisingUnit)
		if len(unit) > 32 {
			problems = append(problems, Problem{"supervising_unit", "a unit code has at most 32 characters"})
		}
	}
	var cal *workday.Calendar
	if in.WarnShare != nil && len(problems) == 0 {
		var err error
		if cal, err = s.calendars.Calendar(ctx, tenant); err != nil {
			return Settings{}, err
		}
	}
	var after Settings
	err := s.router.InTenantTx(ctx, tenant, func(ctx context.Context, tx *sqlx.Tx) error {
		before, err := readSettings(ctx, tx, true)
		if err != nil {
			return err
		}
		after = before
		if in.SupervisingUnit != nil {
			after.SupervisingUnit, after.SupervisingUnitName = unit, ""
			if unit != "" && len(unit) <= 32 {
				err := tx.GetContext(ctx, &after.SupervisingUnitName, "SELECT name FROM units WHERE code = ?", unit)
				switch {
				case errors.Is(err, sql.ErrNoRows):
					problems = append(problems, Problem{"supervising_unit", fmt.Sprintf("the county has no unit with code %q", unit)})
				case err != nil:
					return fmt.Errorf("look up unit %s: %w", unit, err)
				}
			}
		}
		if len(problems) > 0 {
			return invalid(CodeInvalidSettings, problems)
		}
		now := time.Now().UTC().Truncate(time.Microsecond)
		if in.SupervisingUnit != nil {
			if err := putSetting(ctx, tx, SettingUnit, unit, now); err != nil {
				return err
			}
		}
		if in.WarnShare != nil {
			after.WarnShare = *in.WarnShare
			if err := putSetting(ctx, tx, workflow.SettingWarnShare, strconv.FormatFloat(after.WarnShare, 'f', -1, 64), now); err != nil {
				return err
			}
			if after.WarnShare != before.WarnShare {
				if err := rewarn(ctx, tx, cal, after.WarnShare); err != nil {
					return err
				}
			}
		}
		return audit.Write(ctx, tx, audit.New(ctx, "supervision.settings.set", "supervision_settings", tenant, before, after))
	})
	if err != nil {
		return Settings{}, err
	}
	return after, nil
}

// putSetting stores a setting, or removes it for an empty value.
func putSetting(ctx context.Context, tx *sqlx.Tx, name, value string, now time.Time) error {
	var err error
	if value == "" {
		_, err = tx.ExecContext(ctx, "DELETE FROM settings WHERE name = ?", name)
	} else {
		_, err = tx.ExecContext(ctx, `INSERT INTO settings (name, value, updated_at) VALUES (?, ?, ?)
ON DUPLICATE KEY UPDATE value = VALUES(value), updated_at = VALUES(updated_at)`, name, value, now)
	}
	if err != nil {
		return fmt.Errorf("set %s: %w", name, err)
	}
	return nil
}

// batch bounds the rows one statement writes, so that a county with a
// great many tasks never sends a statement larger than the server takes.
const batch = 500

// rewarn moves the warning of every open green task with a time limit to
// share of its working time. Such a task's next check is its warning (the
// index on next_check_at finds them); one whose new warning has passed
// turns yellow at the next sweep.
func rewarn(ctx context.Context, tx *sqlx.Tx, cal *workday.Calendar, share float64) error {
	var tasks []struct {
		ID      int64     `db:"id"`
		Created time.Time `db:"created_at"`
		Due     time.Time `db:"due_at"`
	}
	err := tx.SelectContext(ctx, &tasks, `SELECT id, created_at, due_at FROM workflow_tasks
WHERE next_check_at IS NOT NULL AND status = 'open' AND level = 0 AND due_at IS NOT NULL ORDER BY id FOR UPDATE`)
	if err != nil {
		return fmt.Errorf("read open green tasks: %w", err)
	}
	for start := 0; start < len(tasks); start += batch {
		chunk := tasks[start:min(start+batch, len(tasks))]
		var cases strings.Builder
		args := make([]any, 0, 4*len(chunk))
		for _, t := range chunk {
			cases.WriteString(" WHEN ? THEN ?")
			args = append(args, t.ID, workflow.WarnAt(cal, t.Created, t.Due, share).UTC())
		}
		// The CASE is given twice rather than next_check_at = warn_at,
		// which would depend on the server's order of assignment.
		args = append(args, args...)
		ids := make([]string, len(chunk))
		for i, t := range chunk {
			ids[i] = strconv.FormatInt(t.ID, 10)
		}
		query := "UPDATE workflow_tasks SET warn_at = CASE id" + cases.String() + " END, next_check_at = CASE id" + cases.String() +
			" END WHERE id IN (" + strings.Join(ids, ", ") + ")"
		if _, err := tx.ExecContext(ctx, query, args...); err != nil {
			return fmt.Errorf("move warnings: %w", err)
		}
	}
	return nil
}
