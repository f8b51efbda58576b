package main

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/countycloud/countycloud/core/workday"
	"github.com/countycloud/countycloud/plugins/convenience"
)

// newConvenienceCmd reaches the built-in convenience module (便民服务,
// 公众监督) of a county from scripts: its oversight report.
func newConvenienceCmd(e env) *cobra.Command {
	// The county is the command's argument, not --tenant.
	o := &orgCmd{e: e, extra: pflag.NewFlagSet("county", pflag.ContinueOnError)}
	cmd := &cobra.Command{
		Use:   "convenience",
		Short: "Convenience services and public supervision (便民服务, 公众监督): the oversight report",
		Long: `Read what the built-in module convenience keeps of a county's citizens'
messages (docs/convenience.md): the oversight report of the IT office and the
supervising unit.`,
	}
	o.opts.register(cmd)
	cmd.AddCommand(o.convenienceOversightCmd())
	return cmd
}

func (o *orgCmd) convenienceOversightCmd() *cobra.Command {
	var from, to string
	cmd := &cobra.Command{
		Use:   "oversight CODE [--from DATE] [--to DATE]",
		Short: "Each unit's messages over a period: open, overdue, answered late, satisfaction (督办报表)",
		Long: `For county CODE, each unit's citizens' messages routed to it over the days from
--from to --to (both included, in China's time; by default this month until
today): received (受理), still open (未办结) and of those overdue now (超期未办),
answered (已答复) and of those answered late (超期答复), the citizens' ratings
(满意, 基本满意, 不满意), the satisfaction rate ((满意 + 基本满意) / rated) and
the messages an unsatisfied rating reopened (重新督办), which are listed below
the table. Messages left in the period and not yet routed are counted apart.

The caller must be of the county's IT office or its supervising unit (the
module's settings name them), a county admin or an operator.`,
		Example: "  countycloud convenience oversight gd.shaoguan.wengyuan --from 2026-06-01 --to 2026-06-30\n" +
			"  countycloud convenience oversight gd.shaoguan.wengyuan -o json",
		Args: exactArgs(1, "the county's code"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.tenant = args[0]
			today := time.Now().In(workday.China())
			if from == "" {
				from = today.Format("2006-01") + "-01"
			}
			if to == "" {
				to = today.Format(time.DateOnly)
			}
			var r convenience.Report
			q := url.Values{"from": {from}, "to": {to}}
			return o.call(cmd, http.MethodGet, "/modules/convenience/oversight", q, nil, &r, func() error {
				row := func(name string, u convenience.UnitFigures) []string {
					rate := "-"
					if u.Satisfaction != nil {
						rate = strconv.FormatFloat(*u.Satisfaction*100, 'f', 1, 64) + "%"
					}
					return []string{name, strconv.Itoa(u.Received), strconv.Itoa(u.Open), strconv.Itoa(u.Overdue), strconv.Itoa(u.Answered),
						strconv.Itoa(u.AnsweredLate), strconv.Itoa(u.Satisfied), strconv.Itoa(u.BasicallySatisfied), strconv.Itoa(u.Unsatisfied),
						rate, strconv.Itoa(u.Reopened)}
				}
				rows := make([][]string, 0, len(r.Units)+1)
				for _, u := range r.Units {
					rows = append(rows, row(fmt.Sprintf("%s (%d)", u.UnitName, u.UnitID), u))
				}
				rows = append(rows, row("合计", r.Total))
				fmt.Fprintf(o.e.stdout, "%s 至 %s，未转办 %d 条\n", r.From, r.To, r.Unrouted)
				if err := printTable(o.e.stdout, []string{"单位", "受理", "未办结", "超期未办", "已答复", "超期答复", "满意", "基本满意", "不满意", "满意率", "重新督办"}, rows); err != nil {
					return err
				}
				if len(r.Reopened) == 0 {
					return nil
				}
				fmt.Fprintln(o.e.stdout, "\n重新督办（不满意）:")
				reopened := make([][]string, 0, len(r.Reopened))
				for _, m := range r.Reopened {
					reopened = append(reopened, []string{m.Number, m.Category, strconv.FormatInt(m.UnitID, 10), clockCell(m.RatedAt)})
				}
				return printTable(o.e.stdout, []string{"编号", "类别", "单位", "评价时间"}, reopened)
			})
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "first day, such as 2026-06-01 (default: the first of this month)")
	cmd.Flags().StringVar(&to, "to", "", "last day, such as 2026-06-30 (default: today)")
	return cmd
}
