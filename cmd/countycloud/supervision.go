package main

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/countycloud/countycloud/core/workday"
	"github.com/countycloud/countycloud/tenants/supervision"
)

func newSupervisionCmd(e env) *cobra.Command {
	o := &orgCmd{e: e}
	cmd := &cobra.Command{
		Use:   "supervision",
		Short: "Electronic supervision (电子监察): warned tasks, escalations, reassignments, each unit's figures",
		Long: `Watch how the units of one county (--tenant or COUNTYCLOUD_TENANT) handle their
workflow tasks against the time limits. A task turns yellow once a share of its
working time is used (the warn share, 0.8 unless the county sets another) and
red once the time is up; a red task is escalated to the county's supervising
unit, whose supervisors (role supervisor) are told. Supervisors escalate and
reassign tasks by hand and read each unit's on-time rate, overdue count and
average handling time in working days over any period.`,
	}
	o.opts.register(cmd)
	o.countyFlag(cmd.PersistentFlags())
	cmd.AddCommand(o.supervisionSettingsCmd(), o.supervisionTasksCmd(), o.supervisionStatsCmd(), o.supervisionEventsCmd(),
		o.supervisionEscalateCmd(), o.supervisionReassignCmd())
	return cmd
}

func (o *orgCmd) supervisionSettingsCmd() *cobra.Command {
	var share float64
	var unit string
	cmd := &cobra.Command{
		Use:   "settings [--warn-share F] [--supervising-unit CODE]",
		Short: "Show the county's supervision settings, or change them with the flags",
		Long: `Without flags, show the warn share and the supervising unit. With them, change
what they name: --warn-share, between 0.1 and 0.99, also moves the yellow warning
of every open green task (their time limits stay); --supervising-unit names the
unit red tasks are escalated to, by its code ("" for none). Only the county's
administrator may change them.`,
		Example: `  countycloud supervision settings
  countycloud supervision settings --warn-share 0.75 --supervising-unit JCJ`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var s supervision.Settings
			show := func() error {
				name := s.SupervisingUnit
				if s.SupervisingUnitName != "" {
					name += " (" + s.SupervisingUnitName + ")"
				}
				return printFields(o.e.stdout, [][2]string{{"warn share", strconv.FormatFloat(s.WarnShare, 'f', -1, 64)}, {"supervising unit", optional(name)}})
			}
			var in supervision.SettingsInput
			changed(cmd, "warn-share", share, &in.WarnShare)
			changed(cmd, "supervising-unit", unit, &in.SupervisingUnit)
			if in.WarnShare == nil && in.SupervisingUnit == nil {
				return o.call(cmd, http.MethodGet, "/supervision/settings", nil, nil, &s, show)
			}
			return o.call(cmd, http.MethodPut, "/supervision/settings", nil, in, &s, show)
		},
	}
	cmd.Flags().Float64Var(&share, "warn-share", 0, "share of a task's working time after which it turns yellow, 0.1 to 0.99")
	cmd.Flags().StringVar(&unit, "supervising-unit", "", `code of the unit red tasks are escalated to; "" for none`)
	return cmd
}

// clockCell writes an instant in China's time.
func clockCell(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.In(workday.China()).Format("2006-01-02 15:04")
}

func (o *orgCmd) supervisionTasksCmd() *cobra.Command {
	var level, after string
	var unit int64
	var limit int
	cmd := &cobra.Command{
		Use:   "tasks [--level yellow|red] [--unit ID] [--limit N] [--after CURSOR]",
		Short: "List the open yellow and red tasks, the earliest deadline first",
		Long: `List the open tasks supervision has warned about, the earliest deadline first,
with how late each is in working hours (negative: the working time a yellow one
has left). A longer list goes on with --after, as the command says.`,
		Example: "  countycloud supervision tasks --level red --unit 3",
		Args:    exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if level != "" && level != "yellow" && level != "red" {
				return usageError("--level %q: use yellow or red", level)
			}
			q := url.Values{}
			for name, v := range map[string]string{"level": level, "after": after} {
				if v != "" {
					q.Set(name, v)
				}
			}
			if unit != 0 {
				q.Set("unit_id", strconv.FormatInt(unit, 10))
			}
			if limit != 0 {
				q.Set("limit", strconv.Itoa(limit))
			}
			var page supervision.TaskPage
			return o.call(cmd, http.MethodGet, "/supervision/tasks", q, nil, &page, func() error {
				marks := deadlineMarks{}
				rows := make([][]string, len(page.Tasks))
				for i, t := range page.Tasks {
					assignee := "-"
					switch {
					case t.AccountID != nil:
						assignee = "account " + strconv.FormatInt(*t.AccountID, 10)
					case t.Role != nil:
						assignee = *t.Role
					}
					rows[i] = []string{strconv.FormatInt(t.ID, 10), t.Level.String(), marks.cell(clockCell(t.DueAt), t.DueCalendar), strconv.FormatFloat(t.LateHours, 'f', 2, 64),
						t.UnitName, assignee, t.StepName, t.Title}
				}
				if err := printTable(o.e.stdout, []string{"TASK", "LEVEL", "DUE", "LATE (H)", "UNIT", "ASSIGNEE", "STEP", "TITLE"}, rows); err != nil {
					return err
				}
				marks.explain(o.e.stdout)
				if page.Next != "" {
					fmt.Fprintf(o.e.stderr, "more: %s --after %s\n", cmd.CommandPath(), page.Next)
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&level, "level", "", "only yellow or only red tasks")
	cmd.Flags().Int64Var(&unit, "unit", 0, "only the tasks of this unit (its id)")
	cmd.Flags().IntVar(&limit, "limit", 0, fmt.Sprintf("tasks per page (default %d, at most %d)", supervision.DefaultPageSize, supervision.MaxPageSize))
	cmd.Flags().StringVar(&after, "after", "", "the cursor of the next page, as the previous page said")
	return cmd
}

func (o *orgCmd) supervisionStatsCmd() *cobra.Command {
	var from, to string
	var unit int64
	cmd := &cobra.Command{
		Use:   "stats [--from DATE] [--to DATE] [--unit ID]",
		Short: "Each unit's on-time rate, overdue count and average handling time over a period",
		Long: `For each unit, over the days from --from to --to (both included, in China's
time; by default this year until today): the tasks finished, those finished by
their deadline and the on-time rate; the overdue ones (finished late, or still
open at the end with their deadline passed); and the average handling time in
working days of the county's calendar.`,
		Example: "  countycloud supervision stats --from 2026-01-01 --to 2026-06-30",
		Args:    exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			today := time.Now().In(workday.China())
			if from == "" {
				from = today.Format("2006") + "-01-01"
			}
			if to == "" {
				to = today.Format(time.DateOnly)
			}
			q := url.Values{"from": {from}, "to": {to}}
			if unit != 0 {
				q.Set("unit_id", strconv.FormatInt(unit, 10))
			}
			var s supervision.Stats
			return o.call(cmd, http.MethodGet, "/supervision/stats", q, nil, &s, func() error {
				ratio := func(p *float64, percent bool) string {
					switch {
					case p == nil:
						return "-"
					case percent:
						return strconv.FormatFloat(*p*100, 'f', 1, 64) + "%"
					}
					return strconv.FormatFloat(*p, 'f', 2, 64)
				}
				row := func(name string, u supervision.UnitStats) []string {
					return []string{name, strconv.Itoa(u.Finished), strconv.Itoa(u.OnTime), ratio(u.OnTimeRate, true),
						strconv.Itoa(u.Overdue), strconv.Itoa(u.FinishedLate), strconv.Itoa(u.OpenOverdue), ratio(u.AverageWorkingDays, false)}
				}
				rows := make([][]string, 0, len(s.Units)+1)
				for _, u := range s.Units {
					rows = append(rows, row(fmt.Sprintf("%s (%d)", u.UnitName, u.UnitID), u))
				}
				rows = append(rows, row("total", s.Total))
				fmt.Fprintf(o.e.stdout, "%s to %s\n", s.From, s.To)
				return printTable(o.e.stdout, []string{"UNIT", "FINISHED", "ON TIME", "RATE", "OVERDUE", "LATE", "OPEN OVERDUE", "AVG DAYS"}, rows)
			})
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "first day, such as 2026-01-01 (default: the first of this year)")
	cmd.Flags().StringVar(&to, "to", "", "last day, such as 2026-12-31 (default: today)")
	cmd.Flags().Int64Var(&unit, "unit", 0, "only this unit (its id)")
	return cmd
}

func (o *orgCmd) supervisionEventsCmd() *cobra.Command {
	var task, unit, before int64
	var kind string
	cmd := &cobra.Command{
		Use:     "events [--task ID] [--unit ID] [--kind warning|overdue|escalated|reassigned] [--before ID]",
		Short:   "List what supervision did: warnings, overdue notices, escalations, reassignments, newest first",
		Example: "  countycloud supervision events --task 42",
		Args:    exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			q := url.Values{}
			for name, v := range map[string]int64{"task_id": task, "unit_id": unit, "before": before} {
				if v != 0 {
					q.Set(name, strconv.FormatInt(v, 10))
				}
			}
			if kind != "" {
				q.Set("kind", kind)
			}
			var page supervision.EventPage
			return o.call(cmd, http.MethodGet, "/supervision/events", q, nil, &page, func() error {
				rows := make([][]string, len(page.Events))
				for i, ev := range page.Events {
					note := "-"
					if ev.Note != nil {
						note = *ev.Note
					}
					rows[i] = []string{strconv.FormatInt(ev.ID, 10), clockCell(&ev.At), strconv.FormatInt(ev.TaskID, 10), ev.Kind, ev.Level.String(),
						strconv.FormatInt(ev.UnitID, 10), ev.ActorLogin, note}
				}
				if err := printTable(o.e.stdout, []string{"ID", "AT", "TASK", "KIND", "LEVEL", "UNIT", "BY", "NOTE"}, rows); err != nil {
					return err
				}
				if page.NextBefore != 0 {
					fmt.Fprintf(o.e.stderr, "more: %s --before %d\n", cmd.CommandPath(), page.NextBefore)
				}
				return nil
			})
		},
	}
	cmd.Flags().Int64Var(&task, "task", 0, "only this task's events")
	cmd.Flags().Int64Var(&unit, "unit", 0, "only the events of this unit's tasks")
	cmd.Flags().StringVar(&kind, "kind", "", "only warning, overdue, escalated or reassigned")
	cmd.Flags().Int64Var(&before, "before", 0, "events older than this id, as the previous page said")
	return cmd
}

func (o *orgCmd) printEvent(ev supervision.Event) error {
	note := ""
	if ev.Note != nil {
		note = *ev.Note
	}
	return printFields(o.e.stdout, [][2]string{{"event", strconv.FormatInt(ev.ID, 10)}, {"task", strconv.FormatInt(ev.TaskID, 10)},
		{"kind", ev.Kind}, {"level", ev.Level.String()}, {"by", ev.ActorLogin}, {"note", note}})
}

func (o *orgCmd) supervisionEscalateCmd() *cobra.Command {
	var note string
	cmd := &cobra.Command{
		Use:     "escalate TASK [--note TEXT]",
		Short:   "Send an open task to the county's supervising unit, whose supervisors are told",
		Example: `  countycloud supervision escalate 42 --note 请县民政局说明超时原因`,
		Args:    exactArgs(1, "the task's id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := idArg(args)
			if err != nil {
				return err
			}
			var ev supervision.Event
			return o.call(cmd, http.MethodPost, "/supervision/tasks/"+id+"/escalate", nil, supervision.EscalateInput{Note: note}, &ev,
				func() error { return o.printEvent(ev) })
		},
	}
	cmd.Flags().StringVar(&note, "note", "", "what the supervisors should know")
	return cmd
}

func (o *orgCmd) supervisionReassignCmd() *cobra.Command {
	var account, unit int64
	var role, note string
	cmd := &cobra.Command{
		Use:   "reassign TASK (--account ID | --unit ID --role CODE) [--note TEXT]",
		Short: "Give an open task to another account, or to the holders of a role in a unit",
		Long: `Give an open task to another assignee: an active account of the county, or the
holders of a role in a unit (at least one of them active). The new assignee is
told. If the task is acted on at the same moment, the action wins and the
reassignment is refused (task_changed); look at the task again.`,
		Example: `  countycloud supervision reassign 42 --account 17 --note 原经办人休假
  countycloud supervision reassign 42 --unit 3 --role clerk`,
		Args: exactArgs(1, "the task's id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := idArg(args)
			if err != nil {
				return err
			}
			in := supervision.ReassignInput{Role: role, Note: note}
			switch {
			case account != 0 && (unit != 0 || role != ""):
				return usageError("give --account, or --unit with --role, not both")
			case account != 0:
				in.AccountID = &account
			case unit != 0 && role != "":
				in.UnitID = &unit
			default:
				return usageError("give --account ID, or --unit ID with --role CODE; see '%s --help'", cmd.CommandPath())
			}
			var a supervision.Assignment
			return o.call(cmd, http.MethodPost, "/supervision/tasks/"+id+"/reassign", nil, in, &a, func() error {
				to := "-"
				switch {
				case a.AccountID != nil:
					to = "account " + strconv.FormatInt(*a.AccountID, 10)
				case a.Role != nil:
					to = *a.Role + " of unit " + strconv.FormatInt(a.UnitID, 10)
				}
				return printFields(o.e.stdout, [][2]string{{"task", strconv.FormatInt(a.TaskID, 10)}, {"assigned to", to},
					{"version", strconv.Itoa(a.Version)}, {"notified", strconv.Itoa(a.Notified)}})
			})
		},
	}
	cmd.Flags().Int64Var(&account, "account", 0, "id of the account that takes the task")
	cmd.Flags().Int64Var(&unit, "unit", 0, "id of the unit whose role holders take the task")
	cmd.Flags().StringVar(&role, "role", "", "code of the role, such as clerk")
	cmd.Flags().StringVar(&note, "note", "", "why, for the task's history")
	return cmd
}
