package main

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/countycloud/countycloud/core/workday"
	"github.com/countycloud/countycloud/tenants/calendar"
)

// calendarMarks are the words a table puts beside a deadline counted over
// years whose national holidays are guessed or unknown, and the line
// under the table that says what they mean, in English and in Chinese.
var calendarMarks = map[workday.Status]struct{ mark, meaning string }{
	workday.Provisional: {"provisional", "counted in holidays worked out before the State Council's notice for the year; it may move when the notice is out " +
		"(节假日安排为推定，国务院办公厅通知发布后时限可能调整)"},
	workday.Missing: {"no calendar data", "counted Monday to Friday over a year without holiday data: its public holidays count as working days " +
		"(该年份尚无节假日数据，按周一至周五计算，未计法定节假日)"},
}

// deadlineMarks collects the calendar marks a table used, to explain them
// under it.
type deadlineMarks map[workday.Status]bool

// cell is a deadline's cell, "2028-10-16 17:30 (no calendar data)" when
// its calendar is not official.
func (m deadlineMarks) cell(due string, status *workday.Status) string {
	if status == nil {
		return due
	}
	mark, ok := calendarMarks[*status]
	if !ok {
		return due
	}
	m[*status] = true
	return due + " (" + mark.mark + ")"
}

// explain writes a line under the table for each mark it used.
func (m deadlineMarks) explain(w io.Writer) {
	for _, status := range []workday.Status{workday.Provisional, workday.Missing} {
		if m[status] {
			fmt.Fprintf(w, "%s: %s.\n", calendarMarks[status].mark, calendarMarks[status].meaning)
		}
	}
}

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
				if err := printTable(o.e.stdout, []string{"DATE", "DAY", "REASON", "SET BY"}, rows); err != nil {
					return err
				}
				return printYearStatus(o.e.stdout, view)
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

// printYearStatus says under a year's table how far its national data can
// be trusted, and where it comes from.
func printYearStatus(w io.Writer, view calendar.YearView) error {
	var err error
	switch view.Status {
	case workday.Official:
		_, err = fmt.Fprintf(w, "%d: official national data.\n", view.Year)
	case workday.Provisional:
		_, err = fmt.Fprintf(w, "%d: provisional national data, worked out before the State Council's notice; deadlines counted over it may move when the notice is out "+
			"(节假日安排为推定，以国务院办公厅通知为准).\n", view.Year)
	default:
		_, err = fmt.Fprintf(w, "%d: no calendar data. Deadlines over it are counted Monday to Friday and its public holidays count as working days "+
			"(该年份尚无节假日数据，按周一至周五计算). Upgrade countycloud once the State Council's notice is out, or add the holidays as the county's days.\n", view.Year)
	}
	if err == nil && view.Source != "" {
		_, err = fmt.Fprintf(w, "source: %s\n", view.Source)
	}
	return err
}
