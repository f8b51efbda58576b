package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/spf13/cobra"
)

// newDisclosureCmd reads the government information disclosure module
// (政务公开) of a county: docs/disclosure.md.
func newDisclosureCmd(e env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "disclosure",
		Short: "Read a county's government information disclosure (政务公开): the disclosure index",
	}
	cmd.AddCommand(newDisclosureIndexCmd(e))
	return cmd
}

// disclosureUnit is a unit's row of the index, as the module answers it.
type disclosureUnit struct {
	UnitID      int64   `json:"unit_id"`
	UnitName    string  `json:"unit_name"`
	Required    int64   `json:"required"`
	Published   int64   `json:"published"`
	Percent     float64 `json:"percent"`
	MeetsTarget bool    `json:"meets_target"`
}

// disclosureIndex is the county's index, or one unit's (Units empty).
type disclosureIndex struct {
	Day    string `json:"day"`
	Target int    `json:"target"`
	disclosureUnit
	Units []disclosureUnit `json:"units"`
}

func newDisclosureIndexCmd(e env) *cobra.Command {
	var (
		opts clientOptions
		unit int64
	)
	cmd := &cobra.Command{
		Use:   "index CODE [--unit ID]",
		Short: "Read the disclosure index (公开指数) of county CODE, or of one of its units",
		Long: `Read the disclosure index of county CODE (gd.shaoguan.wengyuan): the items
each unit has published over the items it must disclose (the six parts of its
basic information, and every normative document and procurement notice
registered for it), and the county's sum of them, against the county's target
(index_target, 90% unless its settings say otherwise). Every unit's row and
the county's (全县) with the county office, a county admin or an operator's
token; one unit's with --unit, which its own accounts may read too. Reading
the index records the day's figures (disclosure.index.*, see 'countycloud
measures'). The module's routes are in docs/disclosure.md.`,
		Example: `  countycloud disclosure index gd.shaoguan.wengyuan
  countycloud disclosure index gd.shaoguan.wengyuan --unit 2
  countycloud disclosure index gd.shaoguan.wengyuan -o json`,
		Args: exactArgs(1, "the county's code"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := opts.client(e)
			if err != nil {
				return err
			}
			path := "/v1/tenants/" + url.PathEscape(args[0]) + "/modules/disclosure/index"
			if cmd.Flags().Changed("unit") {
				if unit <= 0 {
					return usageError("--unit is a unit's id, a positive number")
				}
				path += "/units/" + strconv.FormatInt(unit, 10)
			}
			var raw json.RawMessage
			if err := c.do(cmd.Context(), http.MethodGet, path, nil, nil, &raw); err != nil {
				return err
			}
			if opts.output == "json" {
				return printJSON(e.stdout, raw)
			}
			var ix disclosureIndex
			if err := json.Unmarshal(raw, &ix); err != nil {
				return fmt.Errorf("read the index: %w", err)
			}
			if _, err := fmt.Fprintf(e.stdout, "日期 %s  目标 %d%%\n", ix.Day, ix.Target); err != nil {
				return err
			}
			rows := [][]string{}
			for _, u := range ix.Units {
				rows = append(rows, disclosureRow(strconv.FormatInt(u.UnitID, 10), u.UnitName, u))
			}
			if cmd.Flags().Changed("unit") {
				rows = append(rows, disclosureRow(strconv.FormatInt(ix.UnitID, 10), ix.UnitName, ix.disclosureUnit))
			} else {
				rows = append(rows, disclosureRow("-", "全县", ix.disclosureUnit))
			}
			return printTable(e.stdout, []string{"单位ID", "单位", "应公开", "已公开", "公开指数", "达标"}, rows)
		},
	}
	opts.register(cmd)
	cmd.Flags().Int64Var(&unit, "unit", 0, "one unit's id; default every unit and the county")
	return cmd
}

func disclosureRow(id, name string, u disclosureUnit) []string {
	meets := "否"
	if u.MeetsTarget {
		meets = "是"
	}
	return []string{id, name, strconv.FormatInt(u.Required, 10), strconv.FormatInt(u.Published, 10), strconv.FormatFloat(u.Percent, 'f', 1, 64) + "%", meets}
}
