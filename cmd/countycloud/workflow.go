package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	flow "github.com/countycloud/countycloud/core/workflow"
	"github.com/countycloud/countycloud/tenants/workflow"
)

func newWorkflowCmd(e env) *cobra.Command {
	o := &orgCmd{e: e}
	cmd := &cobra.Command{
		Use:   "workflow",
		Short: "Run a county's workflows: definitions, instances, inboxes and actions",
		Long: `Work with the workflows of one county (--tenant or COUNTYCLOUD_TENANT): put a
definition (its owner: an operator), localise it (the county's admin), start
instances, read an inbox and act on tasks (the county's accounts).`,
	}
	o.opts.register(cmd)
	o.countyFlag(cmd.PersistentFlags())

	readJSON := func(path string) (json.RawMessage, error) {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, usageError("%v", err)
		}
		if !json.Valid(b) {
			return nil, usageError("%s is not JSON", path)
		}
		return b, nil
	}
	printDefinitions := func(list ...workflow.DefinitionView) error {
		rows := make([][]string, len(list))
		for i, d := range list {
			local := "-"
			if len(d.Localization) > 0 {
				local = "localised"
			}
			rows[i] = []string{d.Code, d.Name, strconv.Itoa(d.Version), local, d.UpdatedBy, d.UpdatedAt.Format(time.DateTime)}
		}
		return printTable(o.e.stdout, []string{"WORKFLOW", "NAME", "REVISION", "LOCAL", "BY", "AT"}, rows)
	}

	list := &cobra.Command{
		Use:   "list",
		Short: "List the county's workflows at their current revisions",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var defs []workflow.DefinitionView
			return o.call(cmd, http.MethodGet, "/workflows", nil, nil, &defs, func() error { return printDefinitions(defs...) })
		},
	}
	show := &cobra.Command{
		Use:   "show WORKFLOW",
		Short: "Show a workflow as the county runs it (-o json for the whole definition)",
		Args:  exactArgs(1, "the workflow's code, such as office.incoming"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var d workflow.DefinitionView
			return o.call(cmd, http.MethodGet, "/workflows/"+url.PathEscape(args[0]), nil, nil, &d, func() error {
				var def flow.Definition
				if err := json.Unmarshal(d.Effective, &def); err != nil {
					return err
				}
				rows := make([][]string, len(def.Steps))
				for i, s := range def.Steps {
					limit := "-"
					if s.TimeLimit != nil {
						limit = fmt.Sprintf("%dd %dh", s.TimeLimit.Days, s.TimeLimit.Hours)
					}
					var actions []string
					for _, a := range s.Actions {
						actions = append(actions, a.Name+"→"+a.To)
					}
					rows[i] = []string{s.ID, s.Name, limit, fmt.Sprint(actions)}
				}
				return printTable(o.e.stdout, []string{"STEP", "NAME", "LIMIT", "ACTIONS"}, rows)
			})
		},
	}
	put := &cobra.Command{
		Use:     "put FILE",
		Short:   "Store the owner's new version of a workflow (a JSON definition) for the county",
		Example: "  countycloud workflow put oa_incoming.json",
		Args:    exactArgs(1, "the definition's JSON file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			body, err := readJSON(args[0])
			if err != nil {
				return err
			}
			var def flow.Definition
			if err := json.Unmarshal(body, &def); err != nil {
				return usageError("%s: %v", args[0], err)
			}
			var d workflow.DefinitionView
			return o.call(cmd, http.MethodPut, "/workflows/"+url.PathEscape(def.Code), nil, body, &d, func() error { return printDefinitions(d) })
		},
	}
	localize := &cobra.Command{
		Use:   "localize WORKFLOW FILE",
		Short: "Make the county's version of a workflow: steps added, limits shortened, optional steps removed",
		Example: `  countycloud workflow localize office.incoming local.json
  # local.json: {"time_limits": {"handle": {"working_days": 3}}, "remove": ["archive"]}`,
		Args: exactArgs(2, "the workflow's code and the localisation's JSON file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			body, err := readJSON(args[1])
			if err != nil {
				return err
			}
			var d workflow.DefinitionView
			return o.call(cmd, http.MethodPut, "/workflows/"+url.PathEscape(args[0])+"/localization", nil, body, &d, func() error { return printDefinitions(d) })
		},
	}

	// printTasks lists tasks, then explains the calendar marks used in
	// them or already in marks (an instance's deadline above them).
	printTasks := func(tasks []workflow.Task, marks deadlineMarks) error {
		rows := make([][]string, len(tasks))
		for i, t := range tasks {
			who := "-"
			switch {
			case t.AccountID != nil:
				who = "account " + strconv.FormatInt(*t.AccountID, 10)
			case t.Role != nil:
				who = fmt.Sprintf("%s of unit %d", *t.Role, t.UnitID)
			}
			rows[i] = []string{strconv.FormatInt(t.ID, 10), t.StepName, t.Status, who, marks.cell(timeCell(t.DueAt), t.DueCalendar), colour(t.Level)}
		}
		if err := printTable(o.e.stdout, []string{"TASK", "STEP", "STATUS", "FOR", "DUE", "SUPERVISION"}, rows); err != nil {
			return err
		}
		marks.explain(o.e.stdout)
		return nil
	}
	var title, reference, comment string
	var sms bool
	var subject, route int64
	var recipients []int64
	var limitDays int
	var recipientDays []int
	start := &cobra.Command{
		Use:   "start WORKFLOW --title TITLE [--subject-unit ID] [--time-limit-days N]",
		Short: "Start an instance of a workflow as the logged-in account",
		Example: `  countycloud workflow start office.incoming --title 关于做好防汛工作的通知 --sms
  countycloud workflow start office.receiving --title 关于报送低保数据的通知 --subject-unit 2`,
		Args: exactArgs(1, "the workflow's code"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var out workflow.Outcome
			in := workflow.StartInput{Workflow: args[0], Title: title, Reference: reference, SMSReminder: sms, SubjectUnitID: subject, TimeLimitDays: limitDays}
			return o.call(cmd, http.MethodPost, "/instances", nil, in, &out, func() error {
				fmt.Fprintf(o.e.stdout, "instance %d started\n", out.Instance.ID)
				return printTasks(out.Opened, deadlineMarks{})
			})
		},
	}
	start.Flags().StringVar(&title, "title", "", "what the instance is about")
	start.Flags().StringVar(&reference, "reference", "", "the module's own reference, such as a document number")
	start.Flags().BoolVar(&sms, "sms", false, "also text the first step's assignees (短信提醒)")
	start.Flags().Int64Var(&subject, "subject-unit", 0, "the unit the instance runs for (主体单位); your own unless given")
	start.Flags().IntVar(&limitDays, "time-limit-days", 0, "the instance's whole limit in working days, in place of the definition's (承诺时限)")

	var unit int64
	inbox := &cobra.Command{
		Use:   "inbox [--unit ID]",
		Short: "List the tasks waiting for the logged-in account, or for a unit",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var items []workflow.InboxItem
			q := url.Values{}
			if unit != 0 {
				q.Set("unit_id", strconv.FormatInt(unit, 10))
			}
			return o.call(cmd, http.MethodGet, "/tasks", q, nil, &items, func() error {
				marks := deadlineMarks{}
				rows := make([][]string, len(items))
				for i, it := range items {
					rows[i] = []string{strconv.FormatInt(it.ID, 10), it.Title, it.StepName, marks.cell(timeCell(it.DueAt), it.DueCalendar), colour(it.Level)}
				}
				if err := printTable(o.e.stdout, []string{"TASK", "TITLE", "STEP", "DUE", "SUPERVISION"}, rows); err != nil {
					return err
				}
				marks.explain(o.e.stdout)
				return nil
			})
		},
	}
	inbox.Flags().Int64Var(&unit, "unit", 0, "a unit's inbox instead of your own")

	act := &cobra.Command{
		Use:   "act TASK ACTION [--comment TEXT] [--sms] [--route-unit ID] [--recipient ID [--recipient-days N]]...",
		Short: "Do an action on a task, as the logged-in account",
		Example: `  countycloud workflow act 42 approve --comment 同意 --sms
  countycloud workflow act 43 assign --route-unit 2 --comment 请民政局办理
  countycloud workflow act 44 distribute --recipient 2 --recipient 3
  countycloud workflow act 45 distribute --recipient 2 --recipient-days 5 --recipient 3 --recipient-days 8`,
		Args: exactArgs(2, "the task's id and the action"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil {
				return usageError("task %q is not an id", args[0])
			}
			var out workflow.Outcome
			in := workflow.ActInput{Action: args[1], Comment: comment, SMSReminder: sms, RouteUnitID: route, RecipientUnitIDs: recipients,
				RecipientTimeLimitDays: recipientDays}
			return o.call(cmd, http.MethodPost, "/tasks/"+strconv.FormatInt(id, 10)+"/act", nil, in, &out, func() error {
				fmt.Fprintf(o.e.stdout, "instance %d is %s\n", out.Instance.ID, out.Instance.Status)
				if err := printTasks(out.Opened, deadlineMarks{}); err != nil {
					return err
				}
				if len(out.Distributed) == 0 {
					return nil
				}
				return printInstances(o.e.stdout, out.Distributed)
			})
		},
	}
	act.Flags().StringVar(&comment, "comment", "", "your opinion (办理意见)")
	act.Flags().BoolVar(&sms, "sms", false, "also text the next steps' assignees (短信提醒)")
	act.Flags().Int64Var(&route, "route-unit", 0, "send the routed step the action opens to this unit (转办)")
	act.Flags().Int64SliceVar(&recipients, "recipient", nil, "a recipient unit of a distributing action (分发), once per unit")
	act.Flags().IntSliceVar(&recipientDays, "recipient-days", nil, "a recipient's limit in working days, once per --recipient in the same order (联合审批)")

	instance := &cobra.Command{
		Use:   "instance ID",
		Short: "Show an instance with its tasks and history",
		Args:  exactArgs(1, "the instance's id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var v workflow.InstanceView
			return o.call(cmd, http.MethodGet, "/instances/"+url.PathEscape(args[0]), nil, nil, &v, func() error {
				marks := deadlineMarks{}
				fmt.Fprintf(o.e.stdout, "%s (%s, revision %d): %s, due %s\n", v.Title, v.Workflow, v.Revision, v.Status, marks.cell(timeCell(v.DueAt), v.DueCalendar))
				if err := printTasks(v.Tasks, marks); err != nil {
					return err
				}
				rows := make([][]string, len(v.History))
				for i, h := range v.History {
					c := "-"
					if h.Comment != nil {
						c = *h.Comment
					}
					rows[i] = []string{h.At.Format(time.DateTime), h.Step, h.Action, h.ActorLogin, c}
				}
				return printTable(o.e.stdout, []string{"AT", "STEP", "ACTION", "BY", "COMMENT"}, rows)
			})
		},
	}
	distributed := &cobra.Command{
		Use:     "distributed ID",
		Short:   "List the instances an instance's distribution started, one per recipient unit (送达回执)",
		Example: "  countycloud workflow distributed 12 -o json",
		Args:    exactArgs(1, "the sending instance's id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var list []workflow.Instance
			return o.call(cmd, http.MethodGet, "/instances/"+url.PathEscape(args[0])+"/distributed", nil, nil, &list, func() error {
				return printInstances(o.e.stdout, list)
			})
		},
	}
	withdraw := &cobra.Command{
		Use:   "withdraw ID [--comment TEXT]",
		Short: "Take back an instance you started, while nobody else has acted on it",
		Args:  exactArgs(1, "the instance's id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var inst workflow.Instance
			body := map[string]string{"comment": comment}
			return o.call(cmd, http.MethodPost, "/instances/"+url.PathEscape(args[0])+"/withdraw", nil, body, &inst, func() error {
				fmt.Fprintf(o.e.stdout, "instance %d is %s\n", inst.ID, inst.Status)
				return nil
			})
		},
	}
	withdraw.Flags().StringVar(&comment, "comment", "", "why it is withdrawn, for the instance's history")
	var reason string
	suspend := &cobra.Command{
		Use:   "suspend ID --reason TEXT",
		Short: "Stop an instance's clock while it waits on the applicant (补正), with those distributed from it",
		Long: "Suspend an instance and every running instance distributed from it: their tasks wait, supervision does not\n" +
			"watch them, and on resume every deadline moves on by the working time waited. For an assignee of one of their tasks.",
		Example: "  countycloud workflow suspend 12 --reason 缺少营业执照副本",
		Args:    exactArgs(1, "the instance's id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var out workflow.Suspension
			return o.call(cmd, http.MethodPost, "/instances/"+url.PathEscape(args[0])+"/suspend", nil, map[string]string{"reason": reason}, &out, func() error {
				return printInstances(o.e.stdout, out.Instances)
			})
		},
	}
	suspend.Flags().StringVar(&reason, "reason", "", "what the instance waits for (补正材料), for its history; required")
	resume := &cobra.Command{
		Use:     "resume ID [--comment TEXT]",
		Short:   "Start a suspended instance's clock again, its deadlines moved on by the working time waited",
		Example: "  countycloud workflow resume 12 --comment 材料已补正",
		Args:    exactArgs(1, "the instance's id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var out workflow.Suspension
			return o.call(cmd, http.MethodPost, "/instances/"+url.PathEscape(args[0])+"/resume", nil, map[string]string{"comment": comment}, &out, func() error {
				return printInstances(o.e.stdout, out.Instances)
			})
		},
	}
	resume.Flags().StringVar(&comment, "comment", "", "a note for the instance's history")
	cmd.AddCommand(list, show, put, localize, start, inbox, act, instance, distributed, withdraw, suspend, resume)
	return cmd
}

// printInstances lists instances started by distribution, with the unit
// each runs for.
func printInstances(w io.Writer, list []workflow.Instance) error {
	rows := make([][]string, len(list))
	for i, inst := range list {
		rows[i] = []string{strconv.FormatInt(inst.ID, 10), strconv.FormatInt(inst.SubjectUnitID, 10), inst.Workflow, inst.Status, timeCell(&inst.StartedAt)}
	}
	return printTable(w, []string{"INSTANCE", "SUBJECT UNIT", "WORKFLOW", "STATUS", "STARTED"}, rows)
}

func timeCell(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04")
}

// colour is a task's supervision level as people say it.
func colour(level int) string {
	switch level {
	case 1:
		return "yellow"
	case 2:
		return "red"
	}
	return "green"
}
