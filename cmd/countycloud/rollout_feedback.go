package main

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/go-kit/kit/endpoint"
	httptransport "github.com/go-kit/kit/transport/http"
	"github.com/spf13/cobra"

	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/core/kit"
	"github.com/countycloud/countycloud/plugins/host"
	"github.com/countycloud/countycloud/tenants/rollout"
)

// feedback is the trial's feedback tracker over this platform's counties,
// the plugin catalog saying whose each module is.
func (p *platform) feedback() *rollout.Feedback {
	return rollout.NewFeedback(p.db.control, p.db.router(p.locator), host.NewMySQLRepository(p.db.control), p.calendars, p.supervision,
		rollout.DefaultFeedbackLimits(), time.Now)
}

// feedbackRoutes are the feedback's routes and the vendors' tokens'.
func (p *platform) feedbackRoutes(guard func(string) endpoint.Middleware, opts ...httptransport.ServerOption) []kit.Route {
	routes := p.feedback().Routes(guard, opts...)
	return append(routes, p.auth.VendorRoutes(host.NewMySQLRepository(p.db.control), opts...)...)
}

func (r *rolloutCmd) feedbackCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "feedback",
		Short: "Track the trial's feedback: a unit reports, the IT office assigns, the vendor answers, the unit confirms",
		Long: `During trial operation a unit's contact reports a problem with a module; the
county's IT office (or the province's operators) assigns it to the module's
vendor; the vendor answers with a vendor's token ("countycloud vendor token
create"); the unit confirms the answer or reopens it for the vendor. Each step
has a time limit in the county's working days (assign 2, answer 5, confirm 3),
turns yellow at the county's supervision warn share and red when it runs out;
the sweep tells whom a red step waits on.`,
	}
	cmd.AddCommand(r.feedbackListCmd(), r.feedbackShowCmd(), r.feedbackReportCmd(),
		r.feedbackStepCmd("assign", "Assign a reported item to its module's vendor (the IT office)", false),
		r.feedbackStepCmd("answer", "Answer an item assigned to your vendor or reopened (a vendor's token)", true),
		r.feedbackStepCmd("confirm", "Confirm that the vendor's answer solved the problem (the reporting unit)", false),
		r.feedbackStepCmd("reopen", "Send the answer back to the vendor, saying why (the reporting unit)", true))
	return cmd
}

func feedbackPath(code, rest string) string { return countyPath(code, "/feedback"+rest) }

func (r *rolloutCmd) printFeedback(items []rollout.FeedbackItem) error {
	rows := make([][]string, len(items))
	for i, f := range items {
		due := "-"
		if f.DueAt != nil {
			due = f.DueAt.Local().Format("2006-01-02 15:04")
		}
		id := strconv.FormatInt(f.ID, 10)
		if f.County != "" {
			id = f.County + "/" + id
		}
		rows[i] = []string{id, f.Module, f.UnitName, f.Status, f.Level.String(), due, f.Title}
	}
	return printTable(r.e.stdout, []string{"ID", "MODULE", "UNIT", "STATUS", "LEVEL", "DUE", "TITLE"}, rows)
}

func (r *rolloutCmd) feedbackListCmd() *cobra.Command {
	var module, status, vendor string
	var unit int64
	var overdue bool
	cmd := &cobra.Command{
		Use:   "list [CODE] [--module ID] [--unit ID] [--status STATUS] [--overdue] [--vendor NAME]",
		Short: "List a county's feedback, or a vendor's across the counties, newest first",
		Long: `List the feedback of county CODE that your token may see: a unit's staff those
of the units they reach, the county's administrators and the province's
operators all, a vendor those assigned to it. With --vendor and no CODE, a
vendor's token lists its items in every county that enabled its modules.`,
		Example: `  countycloud rollout feedback list gd.shaoguan.wengyuan --overdue
  countycloud rollout feedback list --vendor CountyCloud --status assigned -o json`,
		Args: func(cmd *cobra.Command, args []string) error {
			if (len(args) == 1) == (vendor != "") || len(args) > 1 {
				return usageError("%s takes one county code, or --vendor without one", cmd.CommandPath())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			q := url.Values{}
			for name, v := range map[string]string{"module": module, "status": status} {
				if v != "" {
					q.Set(name, v)
				}
			}
			if unit != 0 {
				q.Set("unit", strconv.FormatInt(unit, 10))
			}
			if cmd.Flags().Changed("overdue") {
				q.Set("overdue", strconv.FormatBool(overdue))
			}
			path := "/v1/vendors/" + url.PathEscape(vendor) + "/feedback"
			if len(args) == 1 {
				path = feedbackPath(args[0], "")
			}
			var items []rollout.FeedbackItem
			return r.call(cmd, http.MethodGet, path, q, nil, &items, func() error { return r.printFeedback(items) })
		},
	}
	cmd.Flags().StringVar(&module, "module", "", "only the feedback on this module (its id, such as oa)")
	cmd.Flags().Int64Var(&unit, "unit", 0, "only the feedback of this unit (its id)")
	cmd.Flags().StringVar(&status, "status", "", "only the feedback in this status: reported, assigned, answered, confirmed or reopened")
	cmd.Flags().BoolVar(&overdue, "overdue", false, "only the feedback whose current step ran past its time limit (--overdue=false: only the rest)")
	cmd.Flags().StringVar(&vendor, "vendor", "", "list this vendor's feedback in every county instead of one county's (a vendor's token)")
	return cmd
}

func (r *rolloutCmd) feedbackShowCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "show CODE ID",
		Short:   "Show one feedback item with every step taken, by whom and when",
		Example: "  countycloud rollout feedback show gd.shaoguan.wengyuan 12",
		Args:    exactArgs(2, "a county code and a feedback id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var f rollout.FeedbackItem
			return r.call(cmd, http.MethodGet, feedbackPath(args[0], "/"+url.PathEscape(args[1])), nil, nil, &f, func() error {
				return r.printItem(f)
			})
		},
	}
}

func (r *rolloutCmd) printItem(f rollout.FeedbackItem) error {
	due, vendor, answer := "-", "-", "-"
	if f.DueAt != nil {
		due = f.DueAt.Local().Format("2006-01-02 15:04") + " (" + f.Level.String() + ")"
	}
	if f.Vendor != nil {
		vendor = *f.Vendor
	}
	if f.Answer != nil {
		answer = *f.Answer
	}
	if err := printFields(r.e.stdout, [][2]string{{"id", strconv.FormatInt(f.ID, 10)}, {"module", f.Module}, {"unit", f.UnitName},
		{"reporter", f.Reporter}, {"title", f.Title}, {"description", f.Description}, {"status", f.Status}, {"waits on", optional(f.Waits)},
		{"due", due}, {"vendor", vendor}, {"answer", answer}}); err != nil {
		return err
	}
	rows := make([][]string, len(f.Steps))
	for i, s := range f.Steps {
		late := ""
		if s.Late {
			late = "late"
		}
		rows[i] = []string{strconv.Itoa(s.Step), s.Status, s.ActorKind + ":" + s.Actor, s.At.Local().Format("2006-01-02 15:04"), late, s.Note}
	}
	if len(rows) == 0 {
		return nil
	}
	return printTable(r.e.stdout, []string{"STEP", "STATUS", "BY", "AT", "LATE", "NOTE"}, rows)
}

func (r *rolloutCmd) feedbackReportCmd() *cobra.Command {
	var in rollout.ReportInput
	cmd := &cobra.Command{
		Use:   "report CODE --module ID --title TEXT --description TEXT [--unit ID]",
		Short: "Report a problem with a module, for your unit or one below it",
		Long: `Report a problem a unit has with one of the county's modules. The IT office has
two working days to assign it to the module's vendor. Nothing classified may be
written in it (绝密, 机密, 秘密 marks are refused).`,
		Example: `  countycloud rollout feedback report gd.shaoguan.wengyuan --module oa --title 收文无法登记 --description "点击登记后提示错误"`,
		Args:    exactArgs(1, "a county code"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var f rollout.FeedbackItem
			return r.call(cmd, http.MethodPost, feedbackPath(args[0], ""), nil, in, &f, func() error { return r.printItem(f) })
		},
	}
	cmd.Flags().StringVar(&in.Module, "module", "", "the module the problem is with (its id, such as oa)")
	cmd.Flags().Int64Var(&in.UnitID, "unit", 0, "the unit that has the problem (its id); your own by default")
	cmd.Flags().StringVar(&in.Title, "title", "", "the problem in a few words (at most 100 characters)")
	cmd.Flags().StringVar(&in.Description, "description", "", "what happens, and what you did before it (at most 5000 characters)")
	return cmd
}

func (r *rolloutCmd) feedbackStepCmd(step, short string, noteRequired bool) *cobra.Command {
	var note string
	use := step + " CODE ID [--note TEXT]"
	if noteRequired {
		use = step + " CODE ID --note TEXT"
	}
	cmd := &cobra.Command{
		Use:     use,
		Short:   short,
		Example: fmt.Sprintf("  countycloud rollout feedback %s gd.shaoguan.wengyuan 12 --note \"…\"", step),
		Args:    exactArgs(2, "a county code and a feedback id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var f rollout.FeedbackItem
			return r.call(cmd, http.MethodPost, feedbackPath(args[0], "/"+url.PathEscape(args[1])+"/"+step), nil, rollout.NoteInput{Note: note}, &f, func() error {
				return r.printItem(f)
			})
		},
	}
	what := "a note for the record"
	switch step {
	case "answer":
		what = "the vendor's answer: what was wrong and what was done"
	case "reopen":
		what = "why the answer did not solve the problem"
	}
	cmd.Flags().StringVar(&note, "note", "", what)
	return cmd
}

// newVendorCmd is the operators' commands on modules' vendors.
func newVendorCmd(e env) *cobra.Command {
	var opts clientOptions
	cmd := &cobra.Command{
		Use:   "vendor",
		Short: "Issue and revoke the tokens modules' vendors answer feedback with",
		Long: `A module's vendor answers the trial's feedback on its modules through the API,
with a token an operator issues for it. The token reaches the feedback assigned
to the vendor in every county that enabled its modules, and nothing else.`,
	}
	opts.register(cmd)
	token := &cobra.Command{Use: "token", Short: "Create, list and revoke a vendor's tokens"}
	call := func(cmd *cobra.Command, method, path string, body, out any, table func() error) error {
		c, err := opts.client(e)
		if err != nil {
			return err
		}
		if err := c.do(cmd.Context(), method, path, nil, body, out); err != nil {
			return err
		}
		if opts.output == "json" {
			return printJSON(e.stdout, out)
		}
		return table()
	}
	tokensPath := func(vendor string) string { return "/v1/vendors/" + url.PathEscape(vendor) + "/tokens" }
	var req auth.VendorTokenRequest
	create := &cobra.Command{
		Use:   "create VENDOR --name TEXT [--expires-in-days N]",
		Short: "Issue a token for a vendor; it is shown this once",
		Long: `Issue a token for VENDOR, the vendor as the plugin catalog names it (a module's
manifest). Give it to the vendor over a safe channel: it is shown this once and
kept only hashed.`,
		Example: `  countycloud vendor token create CountyCloud --name 试运行答复`,
		Args:    exactArgs(1, "the vendor's name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var t auth.NewVendorToken
			return call(cmd, http.MethodPost, tokensPath(args[0]), req, &t, func() error {
				return printFields(e.stdout, [][2]string{{"id", strconv.FormatInt(t.ID, 10)}, {"vendor", t.Vendor}, {"name", t.Name},
					{"expires", t.ExpiresAt.Local().Format(time.DateOnly)}, {"token", t.Token}})
			})
		},
	}
	create.Flags().StringVar(&req.Name, "name", "", "what the token is for, to tell it from the vendor's others")
	create.Flags().IntVar(&req.ExpiresInDays, "expires-in-days", 0, "how many days the token works (1 to 366; 90 if not given)")
	list := &cobra.Command{
		Use:     "list VENDOR",
		Short:   "List a vendor's tokens, revoked ones included (never their secrets)",
		Example: `  countycloud vendor token list CountyCloud -o json`,
		Args:    exactArgs(1, "the vendor's name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var tokens []auth.VendorToken
			return call(cmd, http.MethodGet, tokensPath(args[0]), nil, &tokens, func() error {
				rows := make([][]string, len(tokens))
				for i, t := range tokens {
					revoked := "-"
					if t.RevokedAt != nil {
						revoked = t.RevokedAt.Local().Format(time.DateOnly)
					}
					rows[i] = []string{strconv.FormatInt(t.ID, 10), t.Name, t.ExpiresAt.Local().Format(time.DateOnly), revoked, t.CreatedBy}
				}
				return printTable(e.stdout, []string{"ID", "NAME", "EXPIRES", "REVOKED", "BY"}, rows)
			})
		},
	}
	revoke := &cobra.Command{
		Use:     "revoke VENDOR ID",
		Short:   "Revoke a vendor's token: it is refused from its next request on",
		Example: `  countycloud vendor token revoke CountyCloud 3`,
		Args:    exactArgs(2, "the vendor's name and the token's id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var out struct{}
			return call(cmd, http.MethodDelete, tokensPath(args[0])+"/"+url.PathEscape(args[1]), nil, &out, func() error {
				_, err := fmt.Fprintf(e.stdout, "token %s of %s revoked\n", args[1], args[0])
				return err
			})
		},
	}
	token.AddCommand(create, list, revoke)
	cmd.AddCommand(token)
	return cmd
}
