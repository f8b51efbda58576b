package main

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/countycloud/countycloud/core/measure"
	"github.com/countycloud/countycloud/tenants/org"
)

// The approval module's measures a report reads (docs/approval.md).
const (
	approvalDecided  = "approval.applications.decided"
	approvalOnline   = "approval.applications.decided_online"
	approvalOnTime   = "approval.applications.decided_on_time"
	approvalOverdue  = "approval.applications.overdue"
	approvalHandling = "approval.applications.handling_centidays"
)

// approvalDepartment is one department's line of an approval report.
type approvalDepartment struct {
	UnitID int64 `json:"unit_id"`
	// UnitName is the unit's name now, empty for a unit the county no
	// longer lists.
	UnitName      string   `json:"unit_name"`
	Decided       int64    `json:"decided"`
	DecidedOnline int64    `json:"decided_online"`
	DecidedOnTime int64    `json:"decided_on_time"`
	Overdue       int64    `json:"overdue"`
	OnlineRate    *float64 `json:"online_rate"`
	OnTimeRate    *float64 `json:"on_time_rate"`
	// AverageWorkingDays is the handling time's sum over decided.
	AverageWorkingDays *float64 `json:"average_working_days"`
}

// approvalByDepartment sums the period's figures per department and derives
// the rates from the sums (never averaging the days' rates).
func approvalByDepartment(figures []measure.Figure) []approvalDepartment {
	byUnit := map[int64]*approvalDepartment{}
	for _, f := range figures {
		d := byUnit[f.Unit]
		if d == nil {
			d = &approvalDepartment{UnitID: f.Unit}
			byUnit[f.Unit] = d
		}
		switch f.Measure {
		case approvalDecided:
			d.Decided += f.Value
		case approvalOnline:
			d.DecidedOnline += f.Value
		case approvalOnTime:
			d.DecidedOnTime += f.Value
		case approvalOverdue:
			d.Overdue += f.Value
		case approvalHandling:
			// Kept in the average below, in hundredths of a day.
			avg := float64(f.Value)
			if d.AverageWorkingDays != nil {
				avg += *d.AverageWorkingDays
			}
			d.AverageWorkingDays = &avg
		}
	}
	out := make([]approvalDepartment, 0, len(byUnit))
	for _, d := range byUnit {
		ratio := func(n int64) *float64 {
			if d.Decided == 0 {
				return nil
			}
			r := float64(n) / float64(d.Decided)
			return &r
		}
		d.OnlineRate, d.OnTimeRate = ratio(d.DecidedOnline), ratio(d.DecidedOnTime)
		switch {
		case d.Decided == 0:
			d.AverageWorkingDays = nil
		case d.AverageWorkingDays == nil:
			zero := 0.0
			d.AverageWorkingDays = &zero
		default:
			avg := *d.AverageWorkingDays / 100 / float64(d.Decided)
			d.AverageWorkingDays = &avg
		}
		out = append(out, *d)
	}
	slices.SortFunc(out, func(a, b approvalDepartment) int { return int(a.UnitID - b.UnitID) })
	return out
}

// nameDepartments gives each line the name of its unit among units.
func nameDepartments(lines []approvalDepartment, units []org.Unit) {
	names := make(map[int64]string, len(units))
	for _, u := range units {
		names[u.ID] = u.Name
	}
	for i := range lines {
		lines[i].UnitName = names[lines[i].UnitID]
	}
}

// departmentCell is a line's department as the table shows it: its
// unit's name, or its id where the county no longer lists the unit.
func departmentCell(d approvalDepartment) string {
	if d.UnitName == "" {
		return "单位 " + strconv.FormatInt(d.UnitID, 10)
	}
	return d.UnitName
}

func (o *orgCmd) approvalReportCmd() *cobra.Command {
	var from, to string
	cmd := &cobra.Command{
		Use:   "report CODE --from DAY --to DAY",
		Short: "Per department: applications decided, online rate, on-time rate, average working days, overdue",
		Long: `Report a county's approval figures per department over a period (both days
included), read from its measures (GET /v1/tenants/{code}/measures): the
applications each department decided (a joint item's reviewing departments
count their reviews), the online handling rate (网上办理率, online over
decided), the on-time rate (按时办结率), the average handling time in working
days (平均办理工作日, waits on the applicant not counted) and those decided
late. Rates come from the period's sums. Who may read it is as for
countycloud measures (the county's admins, the province's operators).
See docs/approval.md.`,
		Example: `  countycloud approval report gd.shaoguan.wengyuan --from 2026-06-01 --to 2026-06-30
  countycloud approval report gd.shaoguan.wengyuan --from 2026-01-01 --to 2026-12-31 -o json`,
		Args: exactArgs(1, "the county's code"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.extra.Set("tenant", args[0]); err != nil {
				return usageError("%v", err)
			}
			if from == "" || to == "" {
				return usageError("--from and --to are required")
			}
			q := url.Values{"measure": {strings.Join([]string{approvalDecided, approvalOnline, approvalOnTime, approvalOverdue, approvalHandling}, ",")},
				"from": {from}, "to": {to}, "by": {measure.ByDay}}
			var report measure.Report
			c, base, err := o.client()
			if err != nil {
				return err
			}
			if err := c.do(cmd.Context(), http.MethodGet, base+"/measures", q, nil, &report); err != nil {
				return err
			}
			var units []org.Unit
			if err := c.do(cmd.Context(), http.MethodGet, base+"/units", nil, nil, &units); err != nil {
				return err
			}
			lines := approvalByDepartment(report.Figures)
			nameDepartments(lines, units)
			if o.opts.output == "json" {
				return printJSON(o.e.stdout, lines)
			}
			percent := func(r *float64) string {
				if r == nil {
					return "-"
				}
				return fmt.Sprintf("%.1f%%", *r*100)
			}
			rows := make([][]string, len(lines))
			for i, d := range lines {
				avg := "-"
				if d.AverageWorkingDays != nil {
					avg = fmt.Sprintf("%.2f", *d.AverageWorkingDays)
				}
				rows[i] = []string{departmentCell(d), strconv.FormatInt(d.Decided, 10), percent(d.OnlineRate), percent(d.OnTimeRate), avg, strconv.FormatInt(d.Overdue, 10)}
			}
			return printTable(o.e.stdout, []string{"部门", "办结件数", "网上办理率", "按时办结率", "平均办理工作日", "超期件数"}, rows)
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "the first day, such as 2026-06-01")
	cmd.Flags().StringVar(&to, "to", "", "the last day, such as 2026-06-30")
	return cmd
}

// approvalApplication is what the CLI shows of an application.
type approvalApplication struct {
	ID          string    `json:"id"`
	Number      string    `json:"number"`
	ItemCode    string    `json:"item_code"`
	ItemName    string    `json:"item_name"`
	UnitID      int64     `json:"unit_id"`
	Channel     string    `json:"channel"`
	Status      string    `json:"status"`
	SubmittedAt time.Time `json:"submitted_at"`
	Applicant   struct {
		Name string `json:"name"`
	} `json:"applicant"`
}

func (o *orgCmd) approvalApplicationsListCmd() *cobra.Command {
	var (
		status     string
		department int64
	)
	cmd := &cobra.Command{
		Use:   "list CODE [--status STATUS] [--department ID]",
		Short: "List a county's applications (办件), newest first, all pages",
		Long: `List the applications of a county's approval module, newest first: a
department's staff see their department's, the county's admins any
department's (--department) or all. --status is submitted, correcting,
accepted, rejected, approved or denied. See docs/approval.md.`,
		Example: `  countycloud approval applications list gd.shaoguan.wengyuan --status submitted
  countycloud approval applications list gd.shaoguan.wengyuan --department 2 -o json`,
		Args: exactArgs(1, "the county's code"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.extra.Set("tenant", args[0]); err != nil {
				return usageError("%v", err)
			}
			c, base, err := o.client()
			if err != nil {
				return err
			}
			q := url.Values{"limit": {"100"}}
			if status != "" {
				q.Set("status", status)
			}
			if cmd.Flags().Changed("department") {
				q.Set("unit_id", strconv.FormatInt(department, 10))
			}
			all, err := modulePages[approvalApplication](cmd.Context(), c, base+"/modules/approval/applications", q, "applications")
			if err != nil {
				return err
			}
			if o.opts.output == "json" {
				return printJSON(o.e.stdout, all)
			}
			rows := make([][]string, len(all))
			for i, a := range all {
				rows[i] = []string{a.Number, a.ItemCode, a.ItemName, a.Applicant.Name, strconv.FormatInt(a.UnitID, 10), a.Channel, a.Status,
					clockCell(&a.SubmittedAt)}
			}
			return printTable(o.e.stdout, []string{"受理编号", "事项编码", "事项名称", "申请人", "部门", "渠道", "状态", "提交时间"}, rows)
		},
	}
	cmd.Flags().StringVar(&status, "status", "", "only applications in this state: submitted (待受理), correcting (补正中), accepted (已受理), rejected (不予受理), approved (准予) or denied (不予)")
	cmd.Flags().Int64Var(&department, "department", 0, "only this department's (unit id)")
	return cmd
}
