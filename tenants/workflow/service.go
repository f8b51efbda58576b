// Package workflow runs a county's workflows: the definitions it uses
// (its owner's, localised by the county), their instances, the tasks in
// people's and units' inboxes, and the full history of every instance.
// Deadlines are counted in the county's working-day calendar; electronic
// supervision (tenants/supervision) watches the tasks against them.
package workflow

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/audit"
	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/measure"
	"github.com/countycloud/countycloud/core/notify"
	"github.com/countycloud/countycloud/core/ttlcache"
	"github.com/countycloud/countycloud/core/workday"
	flow "github.com/countycloud/countycloud/core/workflow"
)

// Codes of the errors this package returns.
const (
	CodeWorkflowNotFound = "workflow_not_found"
	CodeInstanceNotFound = "instance_not_found"
	CodeTaskNotFound     = "task_not_found"
	CodeInvalidRequest   = "invalid_workflow_request"
	CodeNotYourTask      = "not_your_task"
	CodeTaskClosed       = "task_already_closed"
	CodeUnassignable     = "unassignable_step"
	CodeNotWithdrawable  = "not_withdrawable"
	// A mandatory step of a module's workflow acted on through the
	// platform's task API: the module does its work there.
	CodeModuleStep = "module_step"
	// A unit named as subject, route or recipient that is not the
	// county's, or where no active account could act.
	CodeUnknownUnit  = "unknown_unit"
	CodeInactiveUnit = "inactive_unit"
	// A route or recipients on an action whose definition allows none,
	// and a distributing action without recipients.
	CodeRoutingNotAllowed      = "routing_not_allowed"
	CodeDistributionNotAllowed = "distribution_not_allowed"
	CodeNoRecipients           = "no_recipient_units"
)

// Router reaches a county's schema (store.Router).
type Router interface {
	InTenant(ctx context.Context, code string, fn func(ctx context.Context, conn *sqlx.Conn) error) error
	InTenantTx(ctx context.Context, code string, fn func(ctx context.Context, tx *sqlx.Tx) error) error
}

// Calendars gives a county's working-day calendar (calendar.Service).
type Calendars interface {
	Calendar(ctx context.Context, tenant string) (*workday.Calendar, error)
}

// Kicker starts delivering a county's waiting notifications once the
// transaction that wrote them has committed (notify.Service).
type Kicker interface {
	Kick(ctx context.Context, tenant string) error
}

// Namespaces keeps the workflow codes that plugins own (plugins/host's
// catalog): a module's workflows are "<its id>.<code>", and it replaces
// and acts on those, so an operator's or a county's workflow must never
// be among them.
type Namespaces interface {
	// ClaimWorkflows keeps the prefix of code for operators' and
	// counties' workflows, or refuses code (errs.KindConflict) if a
	// plugin owns its prefix.
	ClaimWorkflows(ctx context.Context, code, by string) error
	// PluginWorkflow reports whether a plugin owns the prefix of code:
	// the workflow is a module's.
	PluginWorkflow(ctx context.Context, code string) (bool, error)
}

// Service runs the workflows of the counties behind its router.
type Service struct {
	router     Router
	calendars  Calendars
	kicker     Kicker
	namespaces Namespaces
	// processes holds parsed definitions a day; a stored revision never
	// changes, so none is ever stale.
	processes *ttlcache.Cache[revision, *flow.Process]
	// units holds the ids of unit codes that definitions name. A unit
	// keeps its id when its code changes; a code given to another unit is
	// followed within lookupTTL.
	units *ttlcache.Cache[unitCode, int64]
	// recipients are whom notices of opened tasks reach, per county and
	// directory version.
	recipients *notify.Recipients
	// count adds to the platform's measures in an action's transaction
	// (measure.Add); a benchmark turns it off for its baseline.
	count func(ctx context.Context, tx sqlx.ExecerContext, at time.Time, cs ...measure.Count) error
	now   func() time.Time
	log   *slog.Logger
}

type unitCode struct{ tenant, code string }

type revision struct {
	tenant, code string
	version      int
}

const (
	maxProcesses = 10000
	lookupTTL    = 30 * time.Second
)

// NewService returns the workflow service; now is the clock (time.Now
// outside tests), kicker may be nil where nothing delivers
// notifications, and namespaces nil where no plugins run.
func NewService(router Router, calendars Calendars, kicker Kicker, namespaces Namespaces, now func() time.Time, log *slog.Logger) *Service {
	return &Service{
		router: router, calendars: calendars, kicker: kicker, namespaces: namespaces, now: now, log: log,
		processes:  ttlcache.New[revision, *flow.Process](24*time.Hour, maxProcesses),
		units:      ttlcache.New[unitCode, int64](lookupTTL, maxProcesses),
		recipients: notify.NewRecipients(),
		count:      measure.Add,
	}
}

// DefinitionView is a workflow as a county runs it. Version is the
// county's revision: every new owner's version and every localisation
// is a new revision, and an instance keeps the revision it started on.
type DefinitionView struct {
	Code         string          `json:"code" db:"code"`
	Version      int             `json:"revision" db:"version"`
	Name         string          `json:"name" db:"name"`
	Base         json.RawMessage `json:"base" db:"base"`
	Localization json.RawMessage `json:"localization,omitempty" db:"localization"`
	Effective    json.RawMessage `json:"effective" db:"effective"`
	UpdatedAt    time.Time       `json:"updated_at" db:"updated_at"`
	UpdatedBy    string          `json:"updated_by" db:"updated_by"`
}

// definitionColumns reads a missing localisation as empty, which the JSON
// leaves out.
const definitionColumns = "code, version, name, base, COALESCE(localization, '') AS localization, effective, updated_at, updated_by"

// roles are the codes of the county's roles, which definitions name.
func roles(ctx context.Context, q sqlx.QueryerContext) ([]string, error) {
	var codes []string
	if err := sqlx.SelectContext(ctx, q, &codes, "SELECT code FROM roles ORDER BY code"); err != nil {
		return nil, fmt.Errorf("read roles: %w", err)
	}
	return codes, nil
}

// latest is the county's current revision of workflow code, locked when
// lock is set so that two changes make two revisions.
func latest(ctx context.Context, q sqlx.QueryerContext, code string, lock bool) (DefinitionView, error) {
	query := "SELECT " + definitionColumns + " FROM workflow_definitions WHERE code = ? ORDER BY version DESC LIMIT 1"
	if lock {
		query += " FOR UPDATE"
	}
	var d DefinitionView
	err := sqlx.GetContext(ctx, q, &d, query, code)
	if errors.Is(err, sql.ErrNoRows) {
		return DefinitionView{}, errs.NotFound(CodeWorkflowNotFound, "the county has no workflow %q", code)
	}
	if err != nil {
		return DefinitionView{}, fmt.Errorf("read workflow %s: %w", code, err)
	}
	return d, nil
}

// PutDefinition stores a new owner's version of a workflow as the
// county's next revision. A county's localisation belongs to the version
// it was made for: the new version runs as its owner wrote it until the
// county localises it again. A code under a plugin's id is refused: the
// plugin's workflows are its own.
func (s *Service) PutDefinition(ctx context.Context, tenant, code string, raw []byte) (DefinitionView, error) {
	return s.putDefinition(ctx, tenant, code, raw, s.namespaces)
}

// PutModuleDefinition is PutDefinition for the plugin host, installing
// a module's workflow under the module's own id.
func (s *Service) PutModuleDefinition(ctx context.Context, tenant, code string, raw []byte) (DefinitionView, error) {
	return s.putDefinition(ctx, tenant, code, raw, nil)
}

// putDefinition stores the definition, first claiming its code's prefix
// in namespaces unless that is nil.
func (s *Service) putDefinition(ctx context.Context, tenant, code string, raw []byte, namespaces Namespaces) (DefinitionView, error) {
	var view DefinitionView
	err := s.router.InTenantTx(ctx, tenant, func(ctx context.Context, tx *sqlx.Tx) error {
		codes, err := roles(ctx, tx)
		if err != nil {
			return err
		}
		d, err := flow.Parse(raw, codes)
		if err != nil {
			return err
		}
		if d.Code != code {
			return errs.Invalid(CodeInvalidRequest, "the definition's code %q is not the %q of the path", d.Code, code)
		}
		if namespaces != nil {
			if err := namespaces.ClaimWorkflows(ctx, code, audit.ActorFrom(ctx).Login+"@"+tenant); err != nil {
				return err
			}
		}
		prev, err := latest(ctx, tx, code, true)
		next := 1
		switch {
		case err == nil:
			next = prev.Version + 1
			var was flow.Definition
			if err := json.Unmarshal(prev.Base, &was); err != nil {
				return fmt.Errorf("read workflow %s: %w", code, err)
			}
			if d.Version <= was.Version {
				return errs.Conflict(CodeInvalidRequest, "the county runs version %d of %s; a new one must be higher than that, not %d", was.Version, code, d.Version)
			}
		case errs.CodeOf(err) != CodeWorkflowNotFound:
			return err
		}
		effective, err := json.Marshal(d)
		if err != nil {
			return err
		}
		view, err = s.insertRevision(ctx, tx, d, next, effective, nil, effective)
		if err != nil {
			return err
		}
		return audit.Write(ctx, tx, audit.New(ctx, "workflow.definition.put", "workflow", code+"@"+strconv.Itoa(next), nil, view))
	})
	return view, err
}

// Localize makes the county's own version of workflow code from its
// current owner's version, within what the owner allows.
func (s *Service) Localize(ctx context.Context, tenant, code string, local flow.Local) (DefinitionView, error) {
	var view DefinitionView
	err := s.router.InTenantTx(ctx, tenant, func(ctx context.Context, tx *sqlx.Tx) error {
		prev, err := latest(ctx, tx, code, true)
		if err != nil {
			return err
		}
		codes, err := roles(ctx, tx)
		if err != nil {
			return err
		}
		var base flow.Definition
		if err := json.Unmarshal(prev.Base, &base); err != nil {
			return fmt.Errorf("read workflow %s: %w", code, err)
		}
		d, err := flow.Localize(base, local, codes)
		if err != nil {
			return err
		}
		effective, err := json.Marshal(d)
		if err != nil {
			return err
		}
		localJSON, err := json.Marshal(local)
		if err != nil {
			return err
		}
		view, err = s.insertRevision(ctx, tx, d, prev.Version+1, prev.Base, localJSON, effective)
		if err != nil {
			return err
		}
		return audit.Write(ctx, tx, audit.New(ctx, "workflow.definition.localize", "workflow", code+"@"+strconv.Itoa(view.Version), prev, view))
	})
	return view, err
}

func (s *Service) insertRevision(ctx context.Context, tx *sqlx.Tx, d flow.Definition, version int, base, local, effective []byte) (DefinitionView, error) {
	now := s.now().UTC().Truncate(time.Microsecond)
	view := DefinitionView{Code: d.Code, Version: version, Name: d.Name, Base: base, Localization: local, Effective: effective,
		UpdatedAt: now, UpdatedBy: audit.ActorFrom(ctx).Login}
	var localization *string
	if local != nil {
		l := string(local)
		localization = &l
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO workflow_definitions (code, version, name, base, localization, effective, created_at, updated_at, updated_by)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, view.Code, view.Version, view.Name, string(base), localization, string(effective), now, now, view.UpdatedBy); err != nil {
		return DefinitionView{}, fmt.Errorf("store workflow %s: %w", d.Code, err)
	}
	return view, nil
}

// Definitions lists the county's workflows at their current revisions.
func (s *Service) Definitions(ctx context.Context, tenant string) ([]DefinitionView, error) {
	list := []DefinitionView{}
	err := s.router.InTenant(ctx, tenant, func(ctx context.Context, conn *sqlx.Conn) error {
		return sqlx.SelectContext(ctx, conn, &list, "SELECT "+definitionColumns+` FROM workflow_definitions d
WHERE version = (SELECT MAX(version) FROM workflow_definitions WHERE code = d.code) ORDER BY code`)
	})
	return list, err
}

// Measures are the measures of the county's workflows: the instances of
// each completed (measure.WorkflowCompleted), labelled with its name.
func (s *Service) Measures(ctx context.Context, tenant string) ([]measure.Definition, error) {
	var list []struct {
		Code string `db:"code"`
		Name string `db:"name"`
	}
	err := s.router.InTenant(ctx, tenant, func(ctx context.Context, conn *sqlx.Conn) error {
		return sqlx.SelectContext(ctx, conn, &list, `SELECT code, name FROM workflow_definitions d
WHERE version = (SELECT MAX(version) FROM workflow_definitions WHERE code = d.code) ORDER BY code`)
	})
	if err != nil {
		return nil, fmt.Errorf("list the measures of workflows: %w", err)
	}
	defs := make([]measure.Definition, len(list))
	for i, d := range list {
		defs[i] = measure.WorkflowCompletedDef(d.Code, d.Name)
	}
	return defs, nil
}

// Definition is the county's current revision of workflow code.
func (s *Service) Definition(ctx context.Context, tenant, code string) (DefinitionView, error) {
	var d DefinitionView
	err := s.router.InTenant(ctx, tenant, func(ctx context.Context, conn *sqlx.Conn) error {
		var err error
		d, err = latest(ctx, conn, code, false)
		return err
	})
	return d, err
}

// process is revision version of workflow code, parsed once.
func (s *Service) process(ctx context.Context, q sqlx.QueryerContext, tenant, code string, version int) (*flow.Process, error) {
	key := revision{tenant, code, version}
	if p, ok := s.processes.Get(key); ok {
		return p, nil
	}
	var effective []byte
	if err := sqlx.GetContext(ctx, q, &effective, "SELECT effective FROM workflow_definitions WHERE code = ? AND version = ?", code, version); err != nil {
		return nil, fmt.Errorf("read workflow %s revision %d: %w", code, version, err)
	}
	var d flow.Definition
	if err := json.Unmarshal(effective, &d); err != nil {
		return nil, fmt.Errorf("read workflow %s revision %d: %w", code, version, err)
	}
	p := flow.NewProcess(d)
	s.processes.Put(key, p)
	return p, nil
}

// county is what acting in a county reads of it in the transaction: the
// share of a time limit after which a task is yellow, and the version of
// its directory, whose recipients notify remembers.
type county struct {
	Share     *string `db:"warn_share"`
	Directory *int64  `db:"directory_version"`
}

// countyColumns read a county's, in a statement of their own or beside
// what another reads.
var countyColumns = "(SELECT value FROM settings WHERE name = '" + flow.SettingWarnShare + "') AS warn_share, " +
	notify.DirectoryVersion + " AS directory_version"

// readCounty reads the county's in a statement of its own.
func readCounty(ctx context.Context, q sqlx.QueryerContext) (county, error) {
	var c county
	if err := sqlx.GetContext(ctx, q, &c, "SELECT "+countyColumns); err != nil {
		return county{}, fmt.Errorf("read the county's settings: %w", err)
	}
	return c, nil
}

// startUnits are the units a start names, 0 for none: the subject unit,
// and an anonymous caller's initiator unit.
type startUnits struct{ subject, initiator int64 }

// unitStaffed reads whether the unit of its argument is the county's
// and has an active account, someone to act there: NULL if the county
// has no such unit (a unit of another county is not this county's,
// whatever its id), else 1 or 0.
const unitStaffed = "(SELECT " + staffed + " FROM units u WHERE u.id = ?)"

// readCountyFor reads the county's, the current revision of workflow and
// the units a start names in one statement, and refuses the start as
// checkUnits would a unit (the subject's first), or for want of the
// workflow.
func readCountyFor(ctx context.Context, q sqlx.QueryerContext, workflow string, named startUnits) (county, int, error) {
	var row struct {
		county
		Revision  *int  `db:"revision"`
		Subject   *bool `db:"subject_staffed"`
		Initiator *bool `db:"initiator_staffed"`
	}
	checks := []struct {
		field, column string
		id            int64
		staffed       **bool
	}{{"subject_unit_id", "subject_staffed", named.subject, &row.Subject}, {"initiator_unit_id", "initiator_staffed", named.initiator, &row.Initiator}}
	query, args := "SELECT (SELECT MAX(version) FROM workflow_definitions WHERE code = ?) AS revision, "+countyColumns, []any{workflow}
	for _, c := range checks {
		if c.id != 0 {
			query += ", " + unitStaffed + " AS " + c.column
			args = append(args, c.id)
		}
	}
	if err := sqlx.GetContext(ctx, q, &row, query, args...); err != nil {
		return county{}, 0, fmt.Errorf("read the county's settings and workflow %s: %w", workflow, err)
	}
	for _, c := range checks {
		switch {
		case c.id == 0:
		case *c.staffed == nil:
			return county{}, 0, unknownUnit(c.field, c.id)
		case !**c.staffed:
			return county{}, 0, unstaffedUnit(c.field, c.id)
		}
	}
	if row.Revision == nil {
		return county{}, 0, errs.NotFound(CodeWorkflowNotFound, "the county has no workflow %q", workflow)
	}
	return row.county, *row.Revision, nil
}

// currentRevision is the revision of workflow a start runs: its latest.
func currentRevision(ctx context.Context, q sqlx.QueryerContext, workflow string) (int, error) {
	var revision *int
	if err := sqlx.GetContext(ctx, q, &revision, "SELECT MAX(version) FROM workflow_definitions WHERE code = ?", workflow); err != nil {
		return 0, fmt.Errorf("read workflow %s: %w", workflow, err)
	}
	if revision == nil {
		return 0, errs.NotFound(CodeWorkflowNotFound, "the county has no workflow %q", workflow)
	}
	return *revision, nil
}

// share is the county's warning share.
func (c county) share() float64 { return parseShare(c.Share) }

// parseShare is a stored share, or the default where none is stored or
// it is out of bounds.
func parseShare(value *string) float64 {
	if value == nil {
		return flow.DefaultWarnShare
	}
	v, err := strconv.ParseFloat(*value, 64)
	if err != nil || v < flow.MinWarnShare || v > flow.MaxWarnShare {
		return flow.DefaultWarnShare
	}
	return v
}

// unitID is the id of the county's unit with code.
func (s *Service) unitID(ctx context.Context, q sqlx.QueryerContext, tenant, code string) (int64, error) {
	key := unitCode{tenant, code}
	if id, ok := s.units.Get(key); ok {
		return id, nil
	}
	var id int64
	err := sqlx.GetContext(ctx, q, &id, "SELECT id FROM units WHERE code = ?", code)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, errs.Invalid(CodeUnassignable, "the county has no unit with code %s", code)
	}
	if err != nil {
		return 0, fmt.Errorf("read unit %s: %w", code, err)
	}
	s.units.Put(key, id)
	return id, nil
}
