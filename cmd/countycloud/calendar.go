package main

import (
	"net/http"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/countycloud/countycloud/tenants/calendar"
)

func newCalendarCmd(e env) *cobra.Command {
	o := &orgCmd{e: e}
	cmd := &cobra.Command{
		Use:   "calendar",
		Short: "See a county's working-day calendar and give it days of its own",
		Long: `See the working-day calendar of one county (--tenant or COUNTYCLOUD_TENANT),
in which its deadlines are counted: the national holidays and adjusted working
days, and the county's own changes (a local festival as a day off, or a day
worked to make up for one).`,
	}
	o.opts.register(cmd)
	o.countyFlag(cmd.PersistentFlags())

	var year int
	show := &cobra.Command{
		Use:     "show [--year YEAR]",
		Short:   "List the year's holidays, adjusted working days and the county's own days",
		Example: "  countycloud calendar show --tenant gd.shaoguan.wengyuan --year 2026",
		Args:    exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var view calendar.YearView
			return o.call(cmd, http.MethodGet, "/calendar/"+strconv.Itoa(year), nil, nil, &view, func() error {
				rows := make([][]string, len(view.Days))
				for i, d := range view.Days {
					kind, by := "day off", "national"
					if d.Working {
						kind = "working"
					}
					if d.County {
						by = "county"
					}
					rows[i] = []string{d.Date, kind, d.Reason, by}
				}
				return printTable(o.e.stdout, []string{"DATE", "DAY", "REASON", "SET BY"}, rows)
			})
		},
	}
	show.Flags().IntVar(&year, "year", time.Now().Year(), "the year to show, such as 2026 (default: this year)")

	var working bool
	var note string
	set := &cobra.Command{
		Use:   "set DATE --note NOTE [--working]",
		Short: "Make a day a day off (or with --working, a working day) in the county",
		Example: `  countycloud calendar set 2026-06-05 --note 翁源县兰花节
  countycloud calendar set 2026-06-13 --working --note 兰花节调休上班`,
		Args: exactArgs(1, "the date, such as 2026-06-05"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var saved calendar.Override
			in := calendar.OverrideInput{Working: &working, Note: note}
			return o.call(cmd, http.MethodPut, "/calendar/overrides/"+args[0], nil, in, &saved, func() error {
				return printTable(o.e.stdout, []string{"DATE", "WORKING", "NOTE"}, [][]string{{saved.Day, strconv.FormatBool(saved.Working), saved.Note}})
			})
		},
	}
	set.Flags().BoolVar(&working, "working", false, "the day is worked (default: a day off)")
	set.Flags().StringVar(&note, "note", "", "why, as people will read it: 兰花节")

	unset := &cobra.Command{
		Use:     "unset DATE",
		Short:   "Give a day back to the national calendar",
		Example: "  countycloud calendar unset 2026-06-05",
		Args:    exactArgs(1, "the date, such as 2026-06-05"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var empty struct{}
			return o.call(cmd, http.MethodDelete, "/calendar/overrides/"+args[0], nil, nil, &empty, func() error { return nil })
		},
	}
	cmd.AddCommand(show, set, unset)
	return cmd
}
