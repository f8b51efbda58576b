package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/countycloud/countycloud/tenants/rollout"
)

// rolloutCmd holds what every rollout command shares.
type rolloutCmd struct {
	e    env
	opts clientOptions
}

func newRolloutCmd(e env) *cobra.Command {
	r := &rolloutCmd{e: e}
	cmd := &cobra.Command{
		Use:   "rollout",
		Short: "Carry counties through their phased rollout: plans, gates, waivers, phase changes",
		Long: `Every county goes through preparation (前期准备), system testing (系统测试), trial
operation (试运行), formal operation (正式运行) and expansion (拓展). A county's plan,
made from a template (the platform's default, or the province's own), gives each
phase its days, its tasks and the tasks that gate leaving it. Evidence tasks are
judged by the county's measures (what its staff actually did in the system),
never by a tick; manual tasks are marked done by whose they are; the province's
operators may waive a gating task with a reason. A county advances only when
its gate is open, and every phase change is recorded and audited.`,
	}
	r.opts.register(cmd)
	plan := &cobra.Command{Use: "plan", Short: "Create, show and edit a county's rollout plan"}
	plan.AddCommand(r.planCreateCmd(), r.planShowCmd(), r.planEditCmd())
	templates := &cobra.Command{Use: "templates", Short: "List the rollout templates or put the province's own"}
	templates.AddCommand(r.templatesListCmd(), r.templatesPutCmd())
	cmd.AddCommand(r.statusCmd(), r.advanceCmd(), r.waiveCmd(), r.doneCmd(), r.changesCmd(), plan, templates)
	cmd.AddCommand(r.reportCmds()...)
	cmd.AddCommand(r.feedbackCmd())
	return cmd
}

// call sends a request to path and prints out as JSON with -o json, or
// with table.
func (r *rolloutCmd) call(cmd *cobra.Command, method, path string, query url.Values, body, out any, table func() error) error {
	return callPrinting(cmd, r.e, &r.opts, method, path, query, body, out, table)
}

func countyPath(code, rest string) string {
	return "/v1/tenants/" + url.PathEscape(code) + "/rollout" + rest
}

func (r *rolloutCmd) statusCmd() *cobra.Command {
	var city, phase string
	cmd := &cobra.Command{
		Use:   "status [CODE] [--city CODE] [--phase PHASE]",
		Short: "Show every county's rollout, or one county's phase and gate with the units still missing",
		Long: `Without CODE, the provincial overview: every county with its phase, days in
phase, gate progress, blockers and key figures, as the overview job last
evaluated them (within a minute; a row older than that is marked stale),
narrowed by --city and --phase ("none": the counties without a plan).

With CODE, the county's gate evaluated now: each task that gates leaving its
phase, done (its check passes on the county's measures, or it was marked done),
waived (with the operator's reason) or open, with the check's figure against
its threshold and the units that do not meet it yet.`,
		Example: `  countycloud rollout status --city gd.shaoguan --phase testing
  countycloud rollout status gd.shaoguan.wengyuan`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usageError("%s takes at most one county code", cmd.CommandPath())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return r.overview(cmd, city, phase)
			}
			var st rollout.Status
			return r.call(cmd, http.MethodGet, countyPath(args[0], "/status"), nil, nil, &st, func() error {
				next := st.Next
				if next == "" {
					next = "-"
				}
				if err := printFields(r.e.stdout, [][2]string{{"county", st.County + " " + st.Name}, {"phase", st.Phase + " " + st.PhaseLabel.ZH},
					{"since", fmt.Sprintf("%s (%d days)", st.PhaseStarted, st.DaysInPhase)}, {"gate", fmt.Sprintf("%d of %d pass", st.Passed, st.Total)}, {"next", next}}); err != nil {
					return err
				}
				rows := make([][]string, len(st.Gate))
				for i, g := range st.Gate {
					rows[i] = []string{g.Task, gateState(g), gateFigure(g), g.Due, g.Name.ZH, gateMissing(g)}
				}
				return printTable(r.e.stdout, []string{"TASK", "STATE", "FIGURE", "DUE", "NAME", "MISSING"}, rows)
			})
		},
	}
	cmd.Flags().StringVar(&city, "city", "", "only the counties of this city (its code), in the overview")
	cmd.Flags().StringVar(&phase, "phase", "", "only the counties in this phase, in the overview: "+strings.Join(rollout.Phases(), ", ")+", or none")
	return cmd
}

func (r *rolloutCmd) overview(cmd *cobra.Command, city, phase string) error {
	q := url.Values{}
	if city != "" {
		q.Set("city", city)
	}
	if phase != "" {
		q.Set("phase", phase)
	}
	var o rollout.Overview
	return r.call(cmd, http.MethodGet, "/v1/rollout/overview", q, nil, &o, func() error {
		rows := make([][]string, len(o.Counties))
		for i, c := range o.Counties {
			phase := c.PhaseLabel.ZH
			if c.Proposed != "" {
				phase += " → " + rollout.PhaseLabel(c.Proposed).ZH + "?"
			}
			gate, blockers := "-", make([]string, 0, len(c.Blockers))
			if c.Phase != "" {
				gate = fmt.Sprintf("%d/%d", c.Passed, c.Total)
			}
			if c.Stale {
				gate += " (stale)"
			}
			for _, b := range c.Blockers {
				text := b.Task
				if len(b.Missing) > 0 {
					text += "(" + strings.Join(b.Missing, "、")
					if b.More > 0 {
						text += fmt.Sprintf(" +%d", b.More)
					}
					text += ")"
				}
				blockers = append(blockers, text)
			}
			figures := make([]string, len(c.Figures))
			for j, f := range c.Figures {
				figures[j] = fmt.Sprintf("%s %d", f.Label.ZH, f.Value)
			}
			rows[i] = []string{c.County, c.Name, phase, strconv.Itoa(c.DaysInPhase), gate, optional(strings.Join(blockers, "; ")), optional(strings.Join(figures, ", "))}
		}
		return printTable(r.e.stdout, []string{"COUNTY", "NAME", "PHASE", "DAYS", "GATE", "BLOCKERS", "FIGURES"}, rows)
	})
}

func gateState(g rollout.GateItem) string {
	switch {
	case g.Done:
		return "done"
	case g.Waived != nil:
		return "waived"
	}
	return "open"
}

func gateFigure(g rollout.GateItem) string {
	if g.Check == nil {
		return "-"
	}
	return g.Check.Text()
}

func gateMissing(g rollout.GateItem) string {
	if g.Check == nil || g.Done {
		return "-"
	}
	names := make([]string, len(g.Check.Missing))
	for i, u := range g.Check.Missing {
		names[i] = fmt.Sprintf("%s(%s)", u.Name, strconv.FormatFloat(u.Figure, 'f', -1, 64))
	}
	return strings.Join(names, " ")
}

func (r *rolloutCmd) advanceCmd() *cobra.Command {
	var from string
	cmd := &cobra.Command{
		Use:   "advance CODE [--from PHASE]",
		Short: "Move a county to its next phase, if its gate is open",
		Long: `Move the county from the phase it is in to the next. It is refused, with every
gating task that does not pass and the units each still misses, while the gate
is closed. --from names the phase you expect the county in (by default the one
its status shows now), so that a repeated command never advances twice.`,
		Example: "  countycloud rollout advance gd.shaoguan.wengyuan --from preparation",
		Args:    exactArgs(1, "one county code"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if from == "" {
				c, err := r.opts.client(r.e)
				if err != nil {
					return err
				}
				var p rollout.Plan
				if err := c.do(cmd.Context(), http.MethodGet, countyPath(args[0], "/plan"), nil, nil, &p); err != nil {
					return err
				}
				from = p.Phase
			}
			var ch rollout.Change
			return r.call(cmd, http.MethodPost, countyPath(args[0], "/advance"), nil, rollout.AdvanceInput{From: from}, &ch, func() error {
				waived := "-"
				if len(ch.Waived) > 0 {
					waived = strings.Join(ch.Waived, ", ")
				}
				return printFields(r.e.stdout, [][2]string{{"county", ch.County}, {"from", ch.From}, {"to", ch.To}, {"waived", waived}})
			})
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "the phase the county is expected in: "+strings.Join(rollout.Phases(), ", "))
	return cmd
}

func (r *rolloutCmd) waiveCmd() *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   "waive CODE TASK --reason TEXT",
		Short: "Let a county through a gating task it does not pass, saying why (audited)",
		Long: `Waive one gating task of the phase the county is in: the gate counts it as
passed. A waiver needs a reason (1 to 500 characters), which is kept with the
operator's name and recorded in the province's audit trail and in the phase
change it lets through.`,
		Example: `  countycloud rollout waive gd.shaoguan.wengyuan org.within_quota --reason "民政局增编申请已报领导小组审批"`,
		Args:    exactArgs(2, "a county code and a task id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var w rollout.Waiver
			return r.call(cmd, http.MethodPost, countyPath(args[0], "/tasks/"+url.PathEscape(args[1])+"/waive"), nil, rollout.WaiveInput{Reason: reason}, &w, func() error {
				return printFields(r.e.stdout, [][2]string{{"task", w.Task}, {"phase", w.Phase}, {"reason", w.Reason}, {"by", w.By}})
			})
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why the county may pass without it (required)")
	return cmd
}

func (r *rolloutCmd) doneCmd() *cobra.Command {
	var note string
	cmd := &cobra.Command{
		Use:   "done CODE TASK [--note TEXT]",
		Short: "Mark a manual task of a county's plan done",
		Long: `Mark a manual task done (a leading group formed, staff trained). The province's
own tasks are its operators' to mark; the county's and its units' are also the
county administrator's. Evidence and automatic tasks are the platform's to judge.`,
		Example: `  countycloud rollout done gd.shaoguan.wengyuan training.done --note "三批共 120 人"`,
		Args:    exactArgs(2, "a county code and a task id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var m rollout.Mark
			return r.call(cmd, http.MethodPost, countyPath(args[0], "/tasks/"+url.PathEscape(args[1])+"/done"), nil, rollout.DoneInput{Note: note}, &m, func() error {
				return printFields(r.e.stdout, [][2]string{{"task", args[1]}, {"by", m.By}, {"note", optional(m.Note)}})
			})
		},
	}
	cmd.Flags().StringVar(&note, "note", "", "what was done, for the record")
	return cmd
}

func (r *rolloutCmd) changesCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "changes CODE",
		Short:   "List a county's phase changes, oldest first",
		Example: "  countycloud rollout changes gd.shaoguan.wengyuan -o json",
		Args:    exactArgs(1, "one county code"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var changes []rollout.Change
			return r.call(cmd, http.MethodGet, countyPath(args[0], "/changes"), nil, nil, &changes, func() error {
				rows := make([][]string, len(changes))
				for i, c := range changes {
					rows[i] = []string{clockCell(&c.At), c.From, c.To, c.By, optional(strings.Join(c.Waived, ", "))}
				}
				return printTable(r.e.stdout, []string{"AT", "FROM", "TO", "BY", "WAIVED"}, rows)
			})
		},
	}
}

// parseKeyUnits reads --key-units oa=XWB,FGJ;approval=FGJ.
func parseKeyUnits(s string) (map[string][]string, error) {
	out := map[string][]string{}
	for part := range strings.SplitSeq(s, ";") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		module, codes, ok := strings.Cut(part, "=")
		if !ok {
			return nil, usageError("--key-units %q: write module=CODE,CODE;module=CODE", part)
		}
		for code := range strings.SplitSeq(codes, ",") {
			if code = strings.TrimSpace(code); code != "" {
				out[strings.TrimSpace(module)] = append(out[strings.TrimSpace(module)], code)
			}
		}
	}
	return out, nil
}

func (r *rolloutCmd) planCreateCmd() *cobra.Command {
	var in rollout.PlanInput
	var keys string
	cmd := &cobra.Command{
		Use:   "create CODE --key-units 'oa=XWB,FGJ;approval=FGJ' [--template ID] [--start DAY] [--trial DAY]",
		Short: "Plan a county's rollout from a template",
		Long: `Make the county's plan from a template (the platform's default unless
--template names the province's own): preparation starts on --start (today by
default), each phase follows the one before after its days, and --trial fixes
the first day of trial operation when a notice sets it. --key-units names each
module's key units (重点单位) by their codes; checks per key unit are on them.
The county starts in preparation. A plan that cannot be followed (a unit the
county does not have, a check on a measure it does not have) is refused whole,
with every problem listed.`,
		Example: `  countycloud rollout plan create gd.shaoguan.wengyuan --start 2026-09-01 --trial 2026-11-13 --key-units 'oa=XWB,FGJ;approval=FGJ;disclosure=XWB,FGJ'`,
		Args:    exactArgs(1, "one county code"),
		RunE: func(cmd *cobra.Command, args []string) error {
			units, err := parseKeyUnits(keys)
			if err != nil {
				return err
			}
			in.KeyUnits = units
			var p rollout.Plan
			return r.call(cmd, http.MethodPost, countyPath(args[0], "/plan"), nil, in, &p, func() error { return r.printPlan(p) })
		},
	}
	cmd.Flags().StringVar(&in.Template, "template", "", "the template's id (default: the platform's)")
	cmd.Flags().StringVar(&in.Start, "start", "", "first day of preparation, such as 2026-09-01 (default: today)")
	cmd.Flags().StringVar(&in.Trial, "trial", "", "first day of trial operation, when a notice fixes it")
	cmd.Flags().StringVar(&keys, "key-units", "", "each module's key units by code: 'oa=XWB,FGJ;approval=FGJ'")
	return cmd
}

func (r *rolloutCmd) printPlan(p rollout.Plan) error {
	if err := printFields(r.e.stdout, [][2]string{{"county", p.County}, {"template", p.Template}, {"phase", p.Phase + " since " + p.PhaseStarted}, {"version", strconv.FormatInt(p.Version, 10)}}); err != nil {
		return err
	}
	var rows [][]string
	for _, ph := range p.Phases {
		for _, t := range ph.Tasks {
			gate := ""
			if slices.Contains(ph.Gate, t.ID) {
				gate = "gate"
			}
			rows = append(rows, []string{ph.Phase, ph.Start, t.ID, t.Kind, t.Owner, strconv.Itoa(t.DueDays), gate, t.Name.ZH})
		}
	}
	if err := printTable(r.e.stdout, []string{"PHASE", "START", "TASK", "KIND", "OWNER", "DUE DAY", "GATE", "NAME"}, rows); err != nil {
		return err
	}
	for _, m := range slices.Sorted(maps.Keys(p.KeyUnits)) {
		fmt.Fprintf(r.e.stdout, "key units of %s: %s\n", m, strings.Join(p.KeyUnits[m], ", "))
	}
	return nil
}

func (r *rolloutCmd) planShowCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "show CODE",
		Short: "Show a county's plan: its phases' days, tasks, gates and key units",
		Long: `Show the county's plan. With -o json it is the file 'rollout plan edit' takes
back: change the days, tasks, gates or key units and send it.`,
		Example: "  countycloud rollout plan show gd.shaoguan.wengyuan -o json > plan.json",
		Args:    exactArgs(1, "one county code"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var p rollout.Plan
			return r.call(cmd, http.MethodGet, countyPath(args[0], "/plan"), nil, nil, &p, func() error { return r.printPlan(p) })
		},
	}
}

func (r *rolloutCmd) planEditCmd() *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "edit CODE --file PLAN.json",
		Short: "Replace a county's plan with an edited one, whole",
		Long: `Send back the plan 'rollout plan show CODE -o json' wrote, edited. It replaces
the plan whole if nobody changed it since it was read (its version), and is
refused whole, with every problem listed, if it cannot be followed: days out of
order, a gate on a task the phase does not have, a key unit the county does not
have, a check on a measure it does not have.`,
		Example: "  countycloud rollout plan edit gd.shaoguan.wengyuan --file plan.json",
		Args:    exactArgs(1, "one county code"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if file == "" {
				return usageError("--file is required: the plan to send, as 'rollout plan show -o json' writes it")
			}
			data, err := os.ReadFile(file)
			if err != nil {
				return usageError("%v", err)
			}
			var p rollout.Plan
			if err := json.Unmarshal(data, &p); err != nil {
				return usageError("%s is not a plan: %v", file, err)
			}
			var after rollout.Plan
			return r.call(cmd, http.MethodPut, countyPath(args[0], "/plan"), nil, rollout.EditInput{Version: p.Version, Plan: p.PlanBody}, &after, func() error { return r.printPlan(after) })
		},
	}
	cmd.Flags().StringVar(&file, "file", "", "the edited plan (JSON)")
	return cmd
}

func (r *rolloutCmd) templatesListCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Short:   "List the rollout templates: the platform's default and the province's own",
		Example: "  countycloud rollout templates list -o json",
		Args:    exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var ts []rollout.Template
			return r.call(cmd, http.MethodGet, "/v1/rollout/templates", nil, nil, &ts, func() error {
				rows := make([][]string, len(ts))
				for i, t := range ts {
					tasks := 0
					for _, ph := range t.Phases {
						tasks += len(ph.Tasks)
					}
					rows[i] = []string{t.ID, t.Name.ZH, strconv.Itoa(tasks)}
				}
				return printTable(r.e.stdout, []string{"ID", "NAME", "TASKS"}, rows)
			})
		},
	}
}

func (r *rolloutCmd) templatesPutCmd() *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "put --file TEMPLATE.json",
		Short: "Keep the province's own template (new, or replacing the one of its id)",
		Long: `Send a template: its id, its name in zh-CN and en, and the five phases in order,
each with its days, tasks (owner, due day, kind: manual, automatic with an
action, or evidence with a check on a measure) and the tasks that gate leaving
it. It is refused whole, with every problem listed. Start from the default:
'countycloud rollout templates list -o json'.`,
		Example: "  countycloud rollout templates put --file gd-template.json",
		Args:    exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file == "" {
				return usageError("--file is required: the template, as JSON")
			}
			data, err := os.ReadFile(file)
			if err != nil {
				return usageError("%v", err)
			}
			var t rollout.Template
			return r.call(cmd, http.MethodPut, "/v1/rollout/templates", nil, json.RawMessage(data), &t, func() error {
				return printFields(r.e.stdout, [][2]string{{"id", t.ID}, {"name", t.Name.ZH}})
			})
		},
	}
	cmd.Flags().StringVar(&file, "file", "", "the template (JSON)")
	return cmd
}
