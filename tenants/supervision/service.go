// Package supervision is electronic supervision (电子监察): it watches
// every unit's workflow tasks against their time limits. A task turns
// yellow once a share of its working time is used and red once the time
// is up; each change is recorded, its assignee is told, and a red task is
// escalated to the county's supervising unit. Supervisors escalate and
// reassign tasks by hand, and read each unit's on-time rate, overdue count
// and average handling time over any period.
//
// The engine (tenants/workflow) opens tasks with their warn_at, due_at
// and next_check_at; this package only reads those and moves a task's
// colour forward.
package supervision

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/workday"
	"github.com/countycloud/countycloud/tenants/registry"
)

// Codes of the errors this package returns.
const (
	CodeInvalidSettings  = "invalid_supervision_settings"
	CodeInvalidQuery     = "invalid_supervision_query"
	CodeInvalidReassign  = "invalid_reassignment"
	CodeInvalidNote      = "invalid_supervision_note"
	CodeTaskNotFound     = "task_not_found"
	CodeTaskClosed       = "task_closed"
	CodeTaskChanged      = "task_changed"
	CodeNoSupervisorUnit = "no_supervising_unit"
)

// SettingUnit names the county setting holding the code of the
// supervising unit (监察局, say), to which red tasks are escalated. The
// warn share is workflow.SettingWarnShare.
const SettingUnit = "supervision.unit"

// Router reaches a county's schema (store.Router).
type Router interface {
	InTenant(ctx context.Context, code string, fn func(ctx context.Context, conn *sqlx.Conn) error) error
	InTenantTx(ctx context.Context, code string, fn func(ctx context.Context, tx *sqlx.Tx) error) error
}

// Calendars give a county's working-day calendar (calendar.Service).
type Calendars interface {
	Calendar(ctx context.Context, tenant string) (*workday.Calendar, error)
}

// Counties lists the counties a sweep goes over (registry.Service).
type Counties interface {
	List(ctx context.Context, req registry.ListRequest) (registry.Page, error)
}

// Kicker starts delivering a county's pending e-mail and SMS at once,
// rather than at the outbox's next poll (notify's service).
type Kicker interface {
	Kick(ctx context.Context, tenant string) error
}

// Options tune the service; zero fields take the defaults.
type Options struct {
	// Workers is how many counties SweepAll sweeps at once (default 8).
	Workers int
}

// Service is electronic supervision over the counties behind its router.
type Service struct {
	router    Router
	calendars Calendars
	counties  Counties
	kicker    Kicker
	workers   int
	log       *slog.Logger
}

// New returns the service. kicker may be nil: committed notifications are
// then delivered at the outbox's own pace.
func New(router Router, calendars Calendars, counties Counties, kicker Kicker, opts Options, log *slog.Logger) *Service {
	if opts.Workers <= 0 {
		opts.Workers = 8
	}
	return &Service{router: router, calendars: calendars, counties: counties, kicker: kicker, workers: opts.Workers, log: log}
}

// kick asks for tenant's pending notifications to go out now. The
// notifications are committed already, so a failure only delays them.
func (s *Service) kick(ctx context.Context, tenant string, pending int) {
	if pending == 0 || s.kicker == nil {
		return
	}
	if err := s.kicker.Kick(ctx, tenant); err != nil {
		s.log.WarnContext(ctx, "kicking the notification outbox failed; it will deliver at its next poll", "tenant", tenant, "err", err)
	}
}

// Level is a task's supervision colour, written by its name in JSON.
type Level int

// Levels, as workflow_tasks.level holds them.
const (
	Green  Level = 0
	Yellow Level = 1
	Red    Level = 2
)

func (l Level) String() string {
	switch l {
	case Green:
		return "green"
	case Yellow:
		return "yellow"
	case Red:
		return "red"
	}
	return "level " + strconv.Itoa(int(l))
}

// ParseLevel reads a colour's name.
func ParseLevel(s string) (Level, error) {
	for _, l := range []Level{Green, Yellow, Red} {
		if s == l.String() {
			return l, nil
		}
	}
	return 0, fmt.Errorf("%q is not one of green, yellow, red", s)
}

// MarshalText writes the colour's name.
func (l Level) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// UnmarshalText reads a colour's name.
func (l *Level) UnmarshalText(b []byte) error {
	v, err := ParseLevel(string(b))
	if err != nil {
		return err
	}
	*l = v
	return nil
}

// Kinds of supervision event.
const (
	EventWarning    = "warning"
	EventOverdue    = "overdue"
	EventEscalated  = "escalated"
	EventReassigned = "reassigned"
)

// sweeper is the actor the sweep's events are recorded against.
const sweeper = "supervision"

// refTask is the notifications' reference type for a task.
const refTask = "workflow_task"
