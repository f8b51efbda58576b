package main

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/countycloud/countycloud/core/audit"
)

func newAuditCmd(e env) *cobra.Command {
	o := &orgCmd{e: e}
	q := map[string]*string{}
	var province bool
	cmd := &cobra.Command{
		Use:   "audit [--tenant CODE | --province] [--actor LOGIN] [--unit ID] [--object-type T] [--object-id ID] [--action A] [--outcome ok|refused] [--from T] [--to T] [--limit N]",
		Short: "Read a county's or the province's audit trail, newest first",
		Long: `Read the audit trail of one county (--tenant or COUNTYCLOUD_TENANT), or with
--province the province's own (operators' logins, their API tokens, and every
change to the registry of counties): who did what to which object, when and
from where, including refused requests. A trail only grows; nothing can
change it. --from and --to take RFC 3339 times.`,
		Example: `  countycloud audit --tenant gd.shaoguan.wengyuan --action auth.login --outcome refused --from 2026-11-01T00:00:00+08:00
  countycloud audit --province --action tenant.update -o json`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			values := url.Values{}
			for name, v := range q {
				if *v != "" {
					values.Set(name, *v)
				}
			}
			if _, err := audit.ParseFilter(values); err != nil {
				return usageError("%v", err)
			}
			var page audit.Page
			show := func() error {
				rows := make([][]string, len(page.Entries))
				for i, e := range page.Entries {
					code := ""
					if e.Code != nil {
						code = *e.Code
					}
					rows[i] = []string{strconv.FormatInt(e.ID, 10), e.At.Local().Format("2006-01-02 15:04:05"), e.ActorKind + ":" + e.ActorLogin,
						e.Action, e.ObjectType + " " + e.ObjectID, e.Outcome + " " + code, e.Source, e.RequestID}
				}
				return printTable(o.e.stdout, []string{"ID", "AT", "ACTOR", "ACTION", "OBJECT", "OUTCOME", "SOURCE", "REQUEST"}, rows)
			}
			if !province {
				return o.call(cmd, http.MethodGet, "/audit", values, nil, &page, show)
			}
			c, err := o.opts.client(o.e)
			if err != nil {
				return err
			}
			if err := c.do(cmd.Context(), http.MethodGet, "/v1/audit", values, nil, &page); err != nil {
				return err
			}
			if o.opts.output == "json" {
				return printJSON(o.e.stdout, page)
			}
			return show()
		},
	}
	cmd.Flags().BoolVar(&province, "province", false, "the province's own trail instead of a county's: operators' logins and changes to the registry")
	o.opts.register(cmd)
	o.countyFlag(cmd.Flags())
	for flag, param := range map[string]string{"actor": "actor", "unit": "unit_id", "object-type": "object_type", "object-id": "object_id",
		"action": "action", "outcome": "outcome", "from": "from", "to": "to", "limit": "limit", "before": "before"} {
		v := new(string)
		q[param] = v
		cmd.Flags().StringVar(v, flag, "", "only entries with this "+param)
	}
	return cmd
}
