package main

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/countycloud/countycloud/core/measure"
)

func newMeasuresCmd(e env) *cobra.Command {
	o := &orgCmd{e: e}
	var (
		measures []string
		unit     int64
		from, to string
		by       string
	)
	cmd := &cobra.Command{
		Use:   "measures --measure ID --from DAY --to DAY [--unit ID] [--by day|half_month|month]",
		Short: "Read a county's usage figures per unit and day, half-month or month",
		Long: `Read the usage figures of one county (--tenant or COUNTYCLOUD_TENANT): the
platform's own (platform.logins, platform.accounts.active,
platform.accounts.first_login, platform.notices.delivered.inbox|email|sms,
platform.tasks.on_time|late, platform.workflow.completed.<workflow>,
platform.files.stored; and the hourly census of the organisation, levels:
platform.org.units, platform.org.accounts, platform.org.accounts.mobile,
platform.org.accounts.signed_in, platform.org.credentials.issued,
platform.org.leaders, platform.org.clerks, platform.org.over_quota,
platform.seals.active) and what its modules declare and count
(oa.documents.sent), per unit and day, half-month (1st-15th, 16th-end) or
month. From and to are days, both included; by half-month or month they
start and end on a period's bounds. Without --unit, every unit's figures and
the county's own (unit 0). A period without a count shows no row; a level
carries its last figure forward. A unit admin reads only their units, and
names one.`,
		Example: `  countycloud measures --measure platform.logins,platform.accounts.active --from 2026-06-01 --to 2026-06-30 --by month
  countycloud measures --measure oa.documents.sent --from 2026-01-01 --to 2026-12-31 --by month
  countycloud measures --measure oa.documents.sent,oa.documents.received --unit 3 --from 2026-06-01 --to 2026-06-30`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			q := url.Values{"measure": {strings.Join(measures, ",")}, "from": {from}, "to": {to}, "by": {by}}
			if cmd.Flags().Changed("unit") {
				q.Set("unit", strconv.FormatInt(unit, 10))
			}
			var report measure.Report
			return o.call(cmd, http.MethodGet, "/measures", q, nil, &report, func() error {
				labels := map[string]string{}
				for _, d := range report.Measures {
					labels[d.ID] = d.Label.ZH
				}
				rows := make([][]string, len(report.Figures))
				for i, f := range report.Figures {
					rows[i] = []string{f.Measure, labels[f.Measure], strconv.FormatInt(f.Unit, 10), f.Period, strconv.FormatInt(f.Value, 10)}
				}
				return printTable(o.e.stdout, []string{"MEASURE", "指标", "UNIT", "PERIOD", "VALUE"}, rows)
			})
		},
	}
	o.opts.register(cmd)
	o.countyFlag(cmd.PersistentFlags())
	cmd.Flags().StringSliceVar(&measures, "measure", nil, "the measures to read, repeated or comma-separated: oa.documents.sent")
	cmd.Flags().Int64Var(&unit, "unit", 0, "one unit's id (0: the county's own figures); default every unit")
	cmd.Flags().StringVar(&from, "from", "", "the first day, such as 2026-01-01")
	cmd.Flags().StringVar(&to, "to", "", "the last day, such as 2026-12-31")
	cmd.Flags().StringVar(&by, "by", measure.ByDay, "day, half_month or month")
	return cmd
}
