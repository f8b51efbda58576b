package main

import (
	"fmt"
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
change it.

Every filter narrows the list; without any, the newest 100 entries show.
An entry's action is what was done (org.accounts.create, auth.login,
tenant.update …); a refused request's action is its route's name and its
object is the route, with the refusal's code beside the outcome. Times are
RFC 3339 with a zone, such as 2026-11-01T00:00:00+08:00; --from is
inclusive, --to exclusive. Pages: pass the last ID shown as --before.`,
		Example: `  countycloud audit --tenant gd.shaoguan.wengyuan --action auth.login --outcome refused --from 2026-11-01T00:00:00+08:00
  countycloud audit --tenant gd.shaoguan.wengyuan --actor zhangsan --from 2026-11-01T00:00:00+08:00 --to 2026-11-02T00:00:00+08:00
  countycloud audit --tenant gd.shaoguan.wengyuan --object-type account --object-id 42
  countycloud audit --tenant gd.shaoguan.wengyuan --outcome refused --limit 500 --before 1234
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
				if err := printTable(o.e.stdout, []string{"ID", "AT", "ACTOR", "ACTION", "OBJECT", "OUTCOME", "SOURCE", "REQUEST"}, rows); err != nil || page.Next == 0 {
					return err
				}
				_, err := fmt.Fprintf(o.e.stdout, "Older entries: --before %d\n", page.Next)
				return err
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
	for _, f := range []struct{ flag, param, usage string }{
		{"actor", "actor", "only what this login did (an account's login, an operator's, or anonymous), such as zhangsan"},
		{"unit", "unit_id", "only what accounts of this unit did: the unit's id, such as 3"},
		{"object-type", "object_type", "only entries about this kind of object, such as account, unit, quota_request, tenant, or route (a refused request)"},
		{"object-id", "object_id", "only entries about the object with this id (an account's id, a county's code, a refused request's route), with --object-type"},
		{"action", "action", "only this action: a write such as org.accounts.create or auth.credentials.reissue, auth.login, or the route of a refused request"},
		{"outcome", "outcome", "only ok or refused entries"},
		{"from", "from", "only entries at or after this time, RFC 3339: 2026-11-01T00:00:00+08:00"},
		{"to", "to", "only entries before this time, RFC 3339: 2026-12-01T00:00:00+08:00"},
		{"limit", "limit", "show at most this many entries, 1 to 500 (default 100)"},
		{"before", "before", "page on: only entries older than this entry id, the one the previous page ends with"},
	} {
		v := new(string)
		q[f.param] = v
		cmd.Flags().StringVar(v, f.flag, "", f.usage)
	}
	return cmd
}
