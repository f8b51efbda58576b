package rollout

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/audit"
	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/measure"
	"github.com/countycloud/countycloud/core/names"
	"github.com/countycloud/countycloud/core/workday"
	"github.com/countycloud/countycloud/core/workflow"
	"github.com/countycloud/countycloud/tenants/supervision"
)

// The statuses of a feedback item: reported by a unit, assigned by the IT
// office to the module's vendor, answered by the vendor, then confirmed
// by the unit, or reopened, which is the vendor's to answer again.
const (
	FeedbackReported  = "reported"
	FeedbackAssigned  = "assigned"
	FeedbackAnswered  = "answered"
	FeedbackConfirmed = "confirmed"
	FeedbackReopened  = "reopened"
)

// Codes of the feedback's errors.
const (
	CodeFeedbackNotFound = "rollout_feedback_not_found"
	CodeFeedbackStep     = "rollout_feedback_wrong_step"
	CodeInvalidFeedback  = "invalid_rollout_feedback"
	CodeFeedbackModule   = "rollout_feedback_module"
	CodeNotTheVendor     = "rollout_feedback_not_your_vendor"
)

// FeedbackLimits are the time limits of the steps, in the county's
// working days: the IT office's to assign a reported item, the vendor's
// to answer an assigned or reopened one, the unit's to confirm or reopen
// an answer.
type FeedbackLimits struct {
	Assign  int `json:"assign_working_days"`
	Answer  int `json:"answer_working_days"`
	Confirm int `json:"confirm_working_days"`
}

// DefaultFeedbackLimits are the limits the trial's notices set: two
// working days to assign, five to answer, three to confirm.
func DefaultFeedbackLimits() FeedbackLimits { return FeedbackLimits{Assign: 2, Answer: 5, Confirm: 3} }

// limit is the time limit of the step an item in status waits on; none
// once confirmed.
func (l FeedbackLimits) limit(status string) int {
	switch status {
	case FeedbackReported:
		return l.Assign
	case FeedbackAssigned, FeedbackReopened:
		return l.Answer
	case FeedbackAnswered:
		return l.Confirm
	}
	return 0
}

// Router reaches a county's schema (store.Router).
type Router interface {
	InTenant(ctx context.Context, code string, fn func(ctx context.Context, conn *sqlx.Conn) error) error
	InTenantTx(ctx context.Context, code string, fn func(ctx context.Context, tx *sqlx.Tx) error) error
}

// Catalog says whose each module is and where it is enabled
// (host.MySQLRepository).
type Catalog interface {
	// ModuleVendor is the vendor owning plugin id, "" if none.
	ModuleVendor(ctx context.Context, id string) (string, error)
	ModuleEnabled(ctx context.Context, county, id string) (bool, error)
	// VendorModules are, by county, the vendor's modules each enabled.
	VendorModules(ctx context.Context, vendor string) (map[string][]string, error)
}

// Calendars give a county's working-day calendar (calendar.Service).
type Calendars interface {
	Calendar(ctx context.Context, tenant string) (*workday.Calendar, error)
}

// Supervision gives a county's supervision settings, whose warn share
// turns a step yellow as it turns a task yellow (supervision.Service).
type Supervision interface {
	Settings(ctx context.Context, tenant string) (supervision.Settings, error)
}

// Feedback is the trial's feedback tracker, kept in each county's schema.
type Feedback struct {
	control     *sqlx.DB
	router      Router
	catalog     Catalog
	calendars   Calendars
	supervision Supervision
	limits      FeedbackLimits
	now         func() time.Time
}

// NewFeedback returns the feedback tracker of the counties behind router;
// control lists the counties in rollout for its sweep.
func NewFeedback(control *sqlx.DB, router Router, catalog Catalog, calendars Calendars, sup Supervision, limits FeedbackLimits, now func() time.Time) *Feedback {
	return &Feedback{control: control, router: router, catalog: catalog, calendars: calendars, supervision: sup, limits: limits, now: now}
}

// FeedbackItem is a problem a unit reported with a module, where it
// stands and whose step it waits on.
type FeedbackItem struct {
	ID          int64   `json:"id" db:"id"`
	County      string  `json:"county,omitempty" db:"-"`
	Module      string  `json:"module" db:"module"`
	UnitID      int64   `json:"unit_id" db:"unit_id"`
	UnitName    string  `json:"unit_name" db:"unit_name"`
	ReporterID  int64   `json:"reporter_id" db:"reporter_id"`
	Reporter    string  `json:"reporter" db:"reporter"`
	Title       string  `json:"title" db:"title"`
	Description string  `json:"description" db:"description"`
	Status      string  `json:"status" db:"status"`
	Vendor      *string `json:"vendor,omitempty" db:"vendor"`
	Answer      *string `json:"answer,omitempty" db:"answer"`
	Step        int     `json:"step" db:"step"`
	// StepAt is when the current step began; WarnAt and DueAt when it
	// turns yellow and red (none once confirmed).
	StepAt     time.Time  `json:"step_at" db:"step_at"`
	WarnAt     *time.Time `json:"warn_at,omitempty" db:"warn_at"`
	DueAt      *time.Time `json:"due_at,omitempty" db:"due_at"`
	RedNoticed int        `json:"-" db:"red_noticed"`
	CreatedAt  time.Time  `json:"created_at" db:"created_at"`
	// Level is the current step's colour now, Overdue whether it is red.
	Level   supervision.Level `json:"level" db:"-"`
	Overdue bool              `json:"overdue" db:"-"`
	// Waits is who the current step is for: it_office, vendor, unit.
	Waits string         `json:"waits_on,omitempty" db:"-"`
	Steps []FeedbackStep `json:"steps,omitempty" db:"-"`
}

// FeedbackStep is one step of an item's history.
type FeedbackStep struct {
	Step      int       `json:"step" db:"step"`
	Status    string    `json:"status" db:"status"`
	ActorKind string    `json:"actor_kind" db:"actor_kind"`
	Actor     string    `json:"actor" db:"actor"`
	Note      string    `json:"note,omitempty" db:"note"`
	Late      bool      `json:"late" db:"late"`
	At        time.Time `json:"at" db:"at"`
}

// colour sets the item's level at now.
func (f *FeedbackItem) colour(now time.Time) {
	switch {
	case f.DueAt != nil && !f.DueAt.After(now):
		f.Level, f.Overdue = supervision.Red, true
	case f.WarnAt != nil && !f.WarnAt.After(now):
		f.Level = supervision.Yellow
	default:
		f.Level = supervision.Green
	}
	switch f.Status {
	case FeedbackReported:
		f.Waits = "it_office"
	case FeedbackAssigned, FeedbackReopened:
		f.Waits = "vendor"
	case FeedbackAnswered:
		f.Waits = "unit"
	}
}

// ReportInput is a unit's problem with a module.
type ReportInput struct {
	Module string `json:"module"`
	// UnitID is the unit it concerns; the reporter's own if zero.
	UnitID      int64  `json:"unit_id"`
	Title       string `json:"title"`
	Description string `json:"description"`
}

// NoteInput goes with a step: the vendor's answer, the IT office's note
// on assigning, the unit's word on confirming or why it reopens.
type NoteInput struct {
	Note string `json:"note"`
}

// maxText bounds a description, an answer or a note, in characters.
const maxText = 5000

func text(what, s string, required bool) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "" && required:
		return "", errs.Invalid(CodeInvalidFeedback, "%s is empty", what)
	case utf8.RuneCountInString(s) > maxText:
		return "", errs.Invalid(CodeInvalidFeedback, "%s is %d characters long; at most %d are allowed", what, utf8.RuneCountInString(s), maxText)
	}
	return s, nil
}

const feedbackColumns = `f.id, f.module, f.unit_id, (SELECT u.name FROM units u WHERE u.id = f.unit_id) AS unit_name, f.reporter_id,
(SELECT a.login FROM accounts a WHERE a.id = f.reporter_id) AS reporter, f.title, f.description, f.status, f.vendor, f.answer, f.step,
f.step_at, f.warn_at, f.due_at, f.red_noticed, f.created_at`

// Report records p's problem with a module of county, for a unit p
// reaches.
func (s *Feedback) Report(ctx context.Context, county string, in ReportInput) (FeedbackItem, error) {
	p := auth.PrincipalFrom(ctx)
	title, err := names.Clean("title", in.Title, 100)
	if err != nil {
		return FeedbackItem{}, errs.Invalid(CodeInvalidFeedback, "%v", err)
	}
	desc, err := text("description", in.Description, true)
	if err != nil {
		return FeedbackItem{}, err
	}
	if in.UnitID == 0 {
		in.UnitID = p.Unit
	}
	vendor, err := s.catalog.ModuleVendor(ctx, in.Module)
	if err != nil {
		return FeedbackItem{}, err
	}
	enabled, err := s.catalog.ModuleEnabled(ctx, county, in.Module)
	if err != nil {
		return FeedbackItem{}, err
	}
	if vendor == "" || !enabled {
		return FeedbackItem{}, errs.Invalid(CodeFeedbackModule, "module %q is not one the county has enabled (countycloud module list)", in.Module)
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	warn, due, err := s.deadline(ctx, county, FeedbackReported, now)
	if err != nil {
		return FeedbackItem{}, err
	}
	var id int64
	err = s.router.InTenantTx(ctx, county, func(ctx context.Context, tx *sqlx.Tx) error {
		var units int
		if err := tx.GetContext(ctx, &units, "SELECT COUNT(*) FROM units WHERE id = ?", in.UnitID); err != nil {
			return fmt.Errorf("read unit %d: %w", in.UnitID, err)
		}
		if units == 0 {
			return errs.Invalid(CodeInvalidFeedback, "the county has no unit %d", in.UnitID)
		}
		if err := auth.CheckReach(ctx, tx, in.UnitID, nil); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO rollout_feedback (module, unit_id, reporter_id, title, description, status, step, step_at, warn_at, due_at, created_at)
VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?)`, in.Module, in.UnitID, p.ID, title, desc, FeedbackReported, now, warn, due, now)
		if err != nil {
			return fmt.Errorf("report feedback: %w", err)
		}
		if id, err = res.LastInsertId(); err != nil {
			return err
		}
		item := FeedbackItem{ID: id, Module: in.Module, UnitID: in.UnitID, Title: title, Description: desc, Status: FeedbackReported, Step: 1}
		return s.logStep(ctx, tx, item, FeedbackReported, "", false, now, measure.Count{Measure: measure.FeedbackReported, Unit: in.UnitID})
	})
	if err != nil {
		return FeedbackItem{}, err
	}
	return s.Get(ctx, county, id)
}

// deadline is when a step begun at start waiting in status turns yellow
// and red, by the county's calendar and warn share.
func (s *Feedback) deadline(ctx context.Context, county, status string, start time.Time) (*time.Time, *time.Time, error) {
	days := s.limits.limit(status)
	if days == 0 {
		return nil, nil, nil
	}
	cal, err := s.calendars.Calendar(ctx, county)
	if err != nil {
		return nil, nil, err
	}
	settings, err := s.supervision.Settings(ctx, county)
	if err != nil {
		return nil, nil, err
	}
	due, _ := workflow.Limit{Days: days}.Deadline(cal, start)
	warn := workflow.WarnAt(cal, start, due, settings.WarnShare)
	due, warn = due.UTC(), warn.UTC()
	return &warn, &due, nil
}

// logStep writes the step that brought item to status, counts it and
// puts it in the county's audit trail, in tx.
func (s *Feedback) logStep(ctx context.Context, tx *sqlx.Tx, item FeedbackItem, status, note string, late bool, at time.Time, counts ...measure.Count) error {
	p := auth.PrincipalFrom(ctx)
	if _, err := tx.ExecContext(ctx, "INSERT INTO rollout_feedback_steps (feedback_id, step, status, actor_kind, actor, note, late, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		item.ID, item.Step, status, string(p.Kind), p.Login, note, late, at); err != nil {
		return fmt.Errorf("record feedback step: %w", err)
	}
	if err := measure.Add(ctx, tx, at, counts...); err != nil {
		return err
	}
	item.Status = status
	return audit.Write(ctx, tx, audit.New(ctx, "rollout.feedback."+status, "rollout_feedback", strconv.FormatInt(item.ID, 10), nil, item))
}

// Assign gives a reported item to its module's vendor.
func (s *Feedback) Assign(ctx context.Context, county string, id int64, in NoteInput) (FeedbackItem, error) {
	return s.advance(ctx, county, id, in, FeedbackAssigned, false, func(item *FeedbackItem, _ string) error {
		vendor, err := s.catalog.ModuleVendor(ctx, item.Module)
		if err != nil {
			return err
		}
		item.Vendor = &vendor
		return nil
	}, FeedbackReported)
}

// Answer is the vendor's answer to an item assigned to it or reopened.
func (s *Feedback) Answer(ctx context.Context, county string, id int64, in NoteInput) (FeedbackItem, error) {
	return s.advance(ctx, county, id, in, FeedbackAnswered, true, func(item *FeedbackItem, answer string) error {
		item.Answer = &answer
		return nil
	}, FeedbackAssigned, FeedbackReopened)
}

// Confirm is the unit's word that the answer solved the problem.
func (s *Feedback) Confirm(ctx context.Context, county string, id int64, in NoteInput) (FeedbackItem, error) {
	return s.advance(ctx, county, id, in, FeedbackConfirmed, false, nil, FeedbackAnswered)
}

// Reopen sends an answer that did not solve the problem back to the
// vendor, saying why.
func (s *Feedback) Reopen(ctx context.Context, county string, id int64, in NoteInput) (FeedbackItem, error) {
	return s.advance(ctx, county, id, in, FeedbackReopened, true, nil, FeedbackAnswered)
}

// advance takes item id of county from one of from to status under its
// row's lock: the caller must see the item (visible) and, for a unit's
// step, reach its unit; change sets what the step sets. The step is late
// when the one it ends was due before now; a late step not yet counted
// overdue by the sweep is counted now, so that each counts once.
func (s *Feedback) advance(ctx context.Context, county string, id int64, in NoteInput, status string, noteRequired bool, change func(item *FeedbackItem, note string) error, from ...string) (FeedbackItem, error) {
	note, err := text("note", in.Note, noteRequired)
	if err != nil {
		return FeedbackItem{}, err
	}
	p := auth.PrincipalFrom(ctx)
	// The step's time limit is read before its transaction, which then
	// holds one connection only.
	now := s.now().UTC().Truncate(time.Microsecond)
	warn, due, err := s.deadline(ctx, county, status, now)
	if err != nil {
		return FeedbackItem{}, err
	}
	err = s.router.InTenantTx(ctx, county, func(ctx context.Context, tx *sqlx.Tx) error {
		item, err := s.read(ctx, tx, id, " FOR UPDATE")
		if err != nil {
			return err
		}
		if err := visible(p, item); err != nil {
			return err
		}
		if p.Kind == auth.KindAccount && (status == FeedbackConfirmed || status == FeedbackReopened) {
			if err := auth.CheckReach(ctx, tx, item.UnitID, nil); err != nil {
				return err
			}
		}
		if !slices.Contains(from, item.Status) {
			return errs.Conflict(CodeFeedbackStep, "feedback %d is %s; only one %s can be %s", id, item.Status, strings.Join(from, " or "), status)
		}
		if change != nil {
			if err := change(&item, note); err != nil {
				return err
			}
		}
		late := item.DueAt != nil && !item.DueAt.After(now)
		counts := []measure.Count{}
		if status == FeedbackAnswered {
			counts = append(counts, measure.Count{Measure: measure.FeedbackAnswered, Unit: item.UnitID})
		}
		if late && item.RedNoticed < item.Step {
			counts = append(counts, measure.Count{Measure: measure.FeedbackOverdue, Unit: item.UnitID})
			item.RedNoticed = item.Step
		}
		item.Step++
		if _, err := tx.ExecContext(ctx, `UPDATE rollout_feedback SET status = ?, vendor = ?, answer = ?, step = ?, step_at = ?, warn_at = ?, due_at = ?,
red_noticed = ? WHERE id = ?`, status, item.Vendor, item.Answer, item.Step, now, warn, due, item.RedNoticed, id); err != nil {
			return fmt.Errorf("feedback %d to %s: %w", id, status, err)
		}
		return s.logStep(ctx, tx, item, status, note, late, now, counts...)
	})
	if err != nil {
		return FeedbackItem{}, err
	}
	return s.Get(ctx, county, id)
}

// errNoFeedback is what a caller gets for an item it may not see, as for
// one that does not exist.
func errNoFeedback(id int64) error {
	return errs.NotFound(CodeFeedbackNotFound, "no feedback %d", id)
}

// visible refuses p an item that is not its to see: a vendor sees the
// items assigned to it, nothing else. A unit's staff are kept to the
// units they reach by the reads (reachable) and the steps (CheckReach).
func visible(p auth.Principal, item FeedbackItem) error {
	if p.Kind == auth.KindVendor && (item.Vendor == nil || *item.Vendor != p.Login) {
		return errNoFeedback(item.ID)
	}
	return nil
}

type queryer interface {
	GetContext(ctx context.Context, dest any, query string, args ...any) error
	SelectContext(ctx context.Context, dest any, query string, args ...any) error
}

func (s *Feedback) read(ctx context.Context, q queryer, id int64, lock string) (FeedbackItem, error) {
	var item FeedbackItem
	err := q.GetContext(ctx, &item, "SELECT "+feedbackColumns+" FROM rollout_feedback f WHERE f.id = ?"+lock, id)
	if errors.Is(err, sql.ErrNoRows) {
		return FeedbackItem{}, errNoFeedback(id)
	}
	if err != nil {
		return FeedbackItem{}, fmt.Errorf("read feedback %d: %w", id, err)
	}
	return item, nil
}

// Get is item id of county with its history.
func (s *Feedback) Get(ctx context.Context, county string, id int64) (FeedbackItem, error) {
	p := auth.PrincipalFrom(ctx)
	var item FeedbackItem
	err := s.router.InTenant(ctx, county, func(ctx context.Context, conn *sqlx.Conn) error {
		var err error
		if item, err = s.read(ctx, conn, id, ""); err != nil {
			return err
		}
		if err := visible(p, item); err != nil {
			return err
		}
		if keptToReach(p) && auth.CheckReach(ctx, conn, item.UnitID, nil) != nil {
			return errNoFeedback(id)
		}
		item.Steps = []FeedbackStep{}
		if err := conn.SelectContext(ctx, &item.Steps, "SELECT step, status, actor_kind, actor, note, late, at FROM rollout_feedback_steps WHERE feedback_id = ? ORDER BY step", id); err != nil {
			return fmt.Errorf("read the steps of feedback %d: %w", id, err)
		}
		return nil
	})
	item.colour(s.now())
	return item, err
}
