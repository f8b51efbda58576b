package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/countycloud/countycloud/core/config"
	"github.com/countycloud/countycloud/tenants/org"
)

// orgCmd holds what every `org` command shares: the API client's flags
// and the county they act on.
type orgCmd struct {
	e      env
	opts   clientOptions
	tenant string
	extra  *pflag.FlagSet
}

func newOrgCmd(e env) *cobra.Command {
	o := &orgCmd{e: e}
	cmd := &cobra.Command{
		Use:   "org",
		Short: "Manage a county's organisation: units, accounts, roles, quotas, imports, passwords",
		Long: `Manage the organisation of one county (--tenant or COUNTYCLOUD_TENANT): its
units (a tree, as the staffing office lists them), the accounts in them, the
roles accounts carry, the account quota of each unit and the requests that
raise it, the import of a staffing-office file, and the credential sheets
that hand out accounts' passwords.`,
	}
	o.opts.register(cmd)
	o.countyFlag(cmd.PersistentFlags())
	cmd.AddCommand(o.unitsCmd(), o.accountsCmd(), o.rolesCmd(), o.quotaCmd(), o.importCmd(), o.templateCmd(), o.credentialsCmd())
	return cmd
}

// countyFlag declares --tenant, the county the commands act on, on flags.
func (o *orgCmd) countyFlag(flags *pflag.FlagSet) {
	o.extra = pflag.NewFlagSet("county", pflag.ContinueOnError)
	o.extra.StringVar(&o.tenant, "tenant", "", "county code, such as gd.shaoguan.wengyuan (COUNTYCLOUD_TENANT)")
	flags.AddFlagSet(o.extra)
}

// client returns the API client and the county's path prefix.
func (o *orgCmd) client() (*apiClient, string, error) {
	if err := config.ApplyEnv(o.extra, o.e.lookup); err != nil {
		return nil, "", usageError("%v", err)
	}
	if o.tenant == "" {
		return nil, "", usageError("no county: pass --tenant CODE or set COUNTYCLOUD_TENANT")
	}
	c, err := o.opts.client(o.e)
	if err != nil {
		return nil, "", err
	}
	return c, "/v1/tenants/" + url.PathEscape(o.tenant), nil
}

// call sends one request and prints the result as JSON or as table.
func (o *orgCmd) call(cmd *cobra.Command, method, path string, query url.Values, body any, out any, table func() error) error {
	c, base, err := o.client()
	if err != nil {
		return err
	}
	if err := c.do(cmd.Context(), method, base+path, query, body, out); err != nil {
		return err
	}
	if o.opts.output == "json" {
		return printJSON(o.e.stdout, out)
	}
	return table()
}

func optional(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func quotaCell(q *int) string {
	if q == nil {
		return "-"
	}
	return strconv.Itoa(*q)
}

func (o *orgCmd) printUnits(units ...org.Unit) error {
	rows := make([][]string, len(units))
	for i, u := range units {
		parent := "-"
		if u.ParentID != nil {
			parent = strconv.FormatInt(*u.ParentID, 10)
		}
		rows[i] = []string{strconv.FormatInt(u.ID, 10), u.Name, optional(u.Code), parent, strconv.Itoa(u.Sort), fmt.Sprintf("%d/%s", u.Accounts, quotaCell(u.Quota))}
	}
	return printTable(o.e.stdout, []string{"ID", "NAME", "CODE", "PARENT", "SORT", "ACCOUNTS/QUOTA"}, rows)
}

func (o *orgCmd) printAccounts(accounts ...org.Account) error {
	rows := make([][]string, len(accounts))
	for i, a := range accounts {
		rows[i] = []string{strconv.FormatInt(a.ID, 10), a.Login, a.Name, strconv.FormatInt(a.UnitID, 10), optional(strings.Join(a.Roles, ",")), optional(a.Mobile), optional(a.Email), a.Status}
	}
	return printTable(o.e.stdout, []string{"ID", "LOGIN", "NAME", "UNIT", "ROLES", "MOBILE", "EMAIL", "STATUS"}, rows)
}

func (o *orgCmd) printRequests(requests ...org.QuotaRequest) error {
	rows := make([][]string, len(requests))
	for i, r := range requests {
		rows[i] = []string{strconv.FormatInt(r.ID, 10), strconv.FormatInt(r.UnitID, 10), strconv.Itoa(r.Quota), r.Status, r.RequestedBy, optional(r.DecidedBy), r.Reason}
	}
	return printTable(o.e.stdout, []string{"ID", "UNIT", "QUOTA", "STATUS", "REQUESTED BY", "DECIDED BY", "REASON"}, rows)
}

// idArg parses the one positional argument, an id.
func idArg(args []string) (string, error) {
	if _, err := strconv.ParseInt(args[0], 10, 64); err != nil {
		return "", usageError("%q is not an id (a number)", args[0])
	}
	return args[0], nil
}

// changed sets *dst to value when the flag was given, so PATCH sends only
// what the user asked to change.
func changed[T any](cmd *cobra.Command, flag string, value T, dst **T) {
	if cmd.Flags().Changed(flag) {
		*dst = &value
	}
}

func (o *orgCmd) unitsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "units", Short: "List, create and change units"}
	list := &cobra.Command{Use: "list", Short: "List the county's units", Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var units []org.Unit
			return o.call(cmd, http.MethodGet, "/units", nil, nil, &units, func() error { return o.printUnits(units...) })
		}}
	var in org.UnitInput
	var parent int64
	var quota int
	create := &cobra.Command{Use: "create --name NAME [--code CODE] [--parent ID] [--sort N] [--quota N]", Short: "Create a unit",
		Example: "  countycloud org units create --tenant gd.shaoguan.wengyuan --name 县发展和改革局 --code DW002 --quota 15",
		Args:    exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			changed(cmd, "parent", parent, &in.ParentID)
			changed(cmd, "quota", quota, &in.Quota)
			var u org.Unit
			return o.call(cmd, http.MethodPost, "/units", nil, in, &u, func() error { return o.printUnits(u) })
		}}
	create.Flags().StringVar(&in.Name, "name", "", "the unit's name as the staffing office writes it, such as 县民政局")
	create.Flags().StringVar(&in.Code, "code", "", "the unit's code, such as DW002: up to 32 letters, digits, dots, dashes or underscores")
	create.Flags().Int64Var(&parent, "parent", 0, "id of the unit above it")
	create.Flags().IntVar(&in.Sort, "sort", 0, "place among its siblings")
	create.Flags().IntVar(&quota, "quota", 0, "account quota (default: none)")
	get := &cobra.Command{Use: "get ID", Short: "Show a unit", Args: exactArgs(1, "a unit id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := idArg(args)
			if err != nil {
				return err
			}
			var u org.Unit
			return o.call(cmd, http.MethodGet, "/units/"+id, nil, nil, &u, func() error { return o.printUnits(u) })
		}}
	var p org.UnitPatch
	var name, code string
	var sort int
	update := &cobra.Command{Use: "update ID [--name NAME] [--code CODE] [--parent ID|0] [--sort N] [--quota N]", Short: "Change a unit (--parent 0 makes it a top unit)",
		Args: exactArgs(1, "a unit id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := idArg(args)
			if err != nil {
				return err
			}
			changed(cmd, "name", name, &p.Name)
			changed(cmd, "code", code, &p.Code)
			changed(cmd, "parent", parent, &p.ParentID)
			changed(cmd, "sort", sort, &p.Sort)
			changed(cmd, "quota", quota, &p.Quota)
			var u org.Unit
			return o.call(cmd, http.MethodPatch, "/units/"+id, nil, p, &u, func() error { return o.printUnits(u) })
		}}
	update.Flags().StringVar(&name, "name", "", "the unit's new name")
	update.Flags().StringVar(&code, "code", "", "the unit's new code, such as DW002")
	update.Flags().Int64Var(&parent, "parent", 0, "id of the new parent; 0 for none")
	update.Flags().IntVar(&sort, "sort", 0, "new place among its siblings")
	update.Flags().IntVar(&quota, "quota", 0, "new account quota")
	cmd.AddCommand(list, create, get, update)
	return cmd
}

func (o *orgCmd) accountsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "accounts", Short: "List, create and change accounts"}
	var unit int64
	var status string
	list := &cobra.Command{Use: "list [--unit ID] [--status active|disabled]", Short: "List accounts (all pages)", Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, base, err := o.client()
			if err != nil {
				return err
			}
			all := []org.Account{}
			for after := int64(0); ; {
				q := url.Values{"limit": {strconv.Itoa(org.MaxPageSize)}, "after": {strconv.FormatInt(after, 10)}}
				if unit != 0 {
					q.Set("unit_id", strconv.FormatInt(unit, 10))
				}
				if status != "" {
					q.Set("status", status)
				}
				var page org.AccountPage
				if err := c.do(cmd.Context(), http.MethodGet, base+"/accounts", q, nil, &page); err != nil {
					return err
				}
				all = append(all, page.Accounts...)
				if page.NextAfter == 0 {
					break
				}
				after = page.NextAfter
			}
			if o.opts.output == "json" {
				return printJSON(o.e.stdout, all)
			}
			return o.printAccounts(all...)
		}}
	list.Flags().Int64Var(&unit, "unit", 0, "only the accounts of this unit (its id)")
	list.Flags().StringVar(&status, "status", "", "only active or disabled accounts")
	var in org.AccountInput
	create := &cobra.Command{Use: "create --login LOGIN --name NAME --unit ID [--role CODE]... [--mobile N] [--email E]", Short: "Create an account",
		Example: "  countycloud org accounts create --tenant gd.shaoguan.wengyuan --login zhangsan --name 张三 --unit 1 --role leader --mobile 13800138000",
		Args:    exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var a org.Account
			return o.call(cmd, http.MethodPost, "/accounts", nil, in, &a, func() error { return o.printAccounts(a) })
		}}
	create.Flags().StringVar(&in.Login, "login", "", "what the person logs in with, such as zhangsan: 2 to 64 lowercase letters, digits, dots, dashes or underscores")
	create.Flags().StringVar(&in.Name, "name", "", "the person's name")
	create.Flags().Int64Var(&in.UnitID, "unit", 0, "id of the account's unit")
	create.Flags().StringSliceVar(&in.Roles, "role", nil, "role code (repeatable)")
	create.Flags().StringVar(&in.Mobile, "mobile", "", "mobile number, for SMS reminders")
	create.Flags().StringVar(&in.Email, "email", "", "e-mail address")
	get := &cobra.Command{Use: "get ID", Short: "Show an account", Args: exactArgs(1, "an account id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := idArg(args)
			if err != nil {
				return err
			}
			var a org.Account
			return o.call(cmd, http.MethodGet, "/accounts/"+id, nil, nil, &a, func() error { return o.printAccounts(a) })
		}}
	var p org.AccountPatch
	var name, mobile, email string
	var roles []string
	update := &cobra.Command{Use: "update ID [--name N] [--unit ID] [--role CODE]... [--mobile N] [--email E] [--status active|disabled]", Short: "Change an account",
		Args: exactArgs(1, "an account id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := idArg(args)
			if err != nil {
				return err
			}
			changed(cmd, "name", name, &p.Name)
			changed(cmd, "unit", unit, &p.UnitID)
			changed(cmd, "role", roles, &p.Roles)
			changed(cmd, "mobile", mobile, &p.Mobile)
			changed(cmd, "email", email, &p.Email)
			changed(cmd, "status", status, &p.Status)
			var a org.Account
			return o.call(cmd, http.MethodPatch, "/accounts/"+id, nil, p, &a, func() error { return o.printAccounts(a) })
		}}
	update.Flags().StringVar(&name, "name", "", "the person's new name")
	update.Flags().Int64Var(&unit, "unit", 0, "id of the new unit")
	update.Flags().StringSliceVar(&roles, "role", nil, "the account's roles, replacing the old ones (repeatable)")
	update.Flags().StringVar(&mobile, "mobile", "", "new mobile number")
	update.Flags().StringVar(&email, "email", "", "new e-mail address")
	update.Flags().StringVar(&status, "status", "", "active or disabled")
	cmd.AddCommand(list, create, get, update)
	return cmd
}

func (o *orgCmd) rolesCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "roles", Short: "List and create roles"}
	printRoles := func(roles ...org.Role) error {
		rows := make([][]string, len(roles))
		for i, r := range roles {
			rows[i] = []string{r.Code, r.Name, strconv.FormatBool(r.Builtin)}
		}
		return printTable(o.e.stdout, []string{"CODE", "NAME", "BUILT-IN"}, rows)
	}
	list := &cobra.Command{Use: "list", Short: "List the county's roles", Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var roles []org.Role
			return o.call(cmd, http.MethodGet, "/roles", nil, nil, &roles, func() error { return printRoles(roles...) })
		}}
	var in org.RoleInput
	create := &cobra.Command{Use: "create --code CODE --name NAME", Short: "Create a role", Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var r org.Role
			return o.call(cmd, http.MethodPost, "/roles", nil, in, &r, func() error { return printRoles(r) })
		}}
	create.Flags().StringVar(&in.Code, "code", "", "role code, such as archivist")
	create.Flags().StringVar(&in.Name, "name", "", "role name, such as 档案员")
	cmd.AddCommand(list, create)
	return cmd
}

func (o *orgCmd) quotaCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "quota", Short: "Request, approve and reject account-quota increases"}
	var status string
	list := &cobra.Command{Use: "list [--status pending|approved|rejected]", Short: "List quota requests", Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var requests []org.QuotaRequest
			q := url.Values{}
			if status != "" {
				q.Set("status", status)
			}
			return o.call(cmd, http.MethodGet, "/quota-requests", q, nil, &requests, func() error { return o.printRequests(requests...) })
		}}
	list.Flags().StringVar(&status, "status", "", "only pending, approved or rejected requests")
	var in org.QuotaInput
	request := &cobra.Command{Use: "request --unit ID --quota N --reason TEXT", Short: "Ask for a unit's account quota to be raised",
		Example: "  countycloud org quota request --tenant gd.shaoguan.wengyuan --unit 3 --quota 20 --reason 新增窗口人员，领导小组已批复",
		Args:    exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var r org.QuotaRequest
			return o.call(cmd, http.MethodPost, "/quota-requests", nil, in, &r, func() error { return o.printRequests(r) })
		}}
	request.Flags().Int64Var(&in.UnitID, "unit", 0, "id of the unit")
	request.Flags().IntVar(&in.Quota, "quota", 0, "how many active accounts the unit should be allowed, more than it is now")
	request.Flags().StringVar(&in.Reason, "reason", "", "why, as the written request says")
	decide := func(verb, short string) *cobra.Command {
		var d org.Decision
		c := &cobra.Command{Use: verb + " ID [--note TEXT]", Short: short, Args: exactArgs(1, "a request id"),
			RunE: func(cmd *cobra.Command, args []string) error {
				id, err := idArg(args)
				if err != nil {
					return err
				}
				var r org.QuotaRequest
				return o.call(cmd, http.MethodPost, "/quota-requests/"+id+"/"+verb, nil, d, &r, func() error { return o.printRequests(r) })
			}}
		c.Flags().StringVar(&d.Note, "note", "", "why, kept with the decision for the requester to read, such as 同意")
		return c
	}
	cmd.AddCommand(list, request, decide("approve", "Approve a request, raising the unit's quota"), decide("reject", "Reject a request"))
	return cmd
}

func (o *orgCmd) importCmd() *cobra.Command {
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "import FILE [--dry-run]",
		Short: "Import a staffing-office file (CSV in UTF-8 or GBK, or XLSX), all or nothing",
		Long: `Import units and accounts from the staffing office's list: one row per
account, or per unit without accounts (see 'countycloud org template'). The file
is applied whole or not at all; importing it again changes nothing, and an
updated file updates in place. A unit's quota raised by an approved quota
request stays unless the file raises it further. --dry-run lists every
problem of every row with its column, what would be created or updated, and
the quotas that would change (before → after).`,
		Example: `  countycloud org import --tenant gd.shaoguan.wengyuan 编办名单.xlsx --dry-run
  countycloud org import --tenant gd.shaoguan.wengyuan 编办名单.csv`,
		Args: exactArgs(1, "one file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			file, err := os.ReadFile(args[0])
			if err != nil {
				return usageError("%v", err)
			}
			c, base, err := o.client()
			if err != nil {
				return err
			}
			q := url.Values{"dry_run": {strconv.FormatBool(dryRun)}}
			data, err := c.send(cmd.Context(), http.MethodPost, base+"/org/import", q, "application/octet-stream", file)
			var report org.ImportReport
			var ae *apiError
			switch {
			case err == nil:
				if err := json.Unmarshal(data, &report); err != nil {
					return err
				}
			case errors.As(err, &ae) && ae.Code == org.CodeImportInvalid && o.opts.output != "json":
				if json.Unmarshal(ae.Details, &report.Errors) == nil {
					_ = o.printImportErrors(report.Errors)
				}
				return err
			default:
				return err
			}
			if o.opts.output == "json" {
				return printJSON(o.e.stdout, report)
			}
			return o.printImport(report)
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "check the file and say what would change; change nothing")
	return cmd
}

func (o *orgCmd) printImportErrors(problems []org.RowError) error {
	rows := make([][]string, len(problems))
	for i, p := range problems {
		rows[i] = []string{strconv.Itoa(p.Row), optional(p.Column), p.Code, p.Message}
	}
	return printTable(o.e.stdout, []string{"ROW", "COLUMN", "PROBLEM", "MESSAGE"}, rows)
}

func (o *orgCmd) printImport(r org.ImportReport) error {
	if len(r.Errors) > 0 {
		if err := o.printImportErrors(r.Errors); err != nil {
			return err
		}
		problems := fmt.Sprintf("%d problems", len(r.Errors))
		if len(r.Errors) == 1 {
			problems = "1 problem"
		}
		return &exitError{code: exitFailed, err: fmt.Errorf("%s in the file; nothing would be changed", problems)}
	}
	verb := "Imported"
	if r.DryRun {
		verb = "Dry run: would import"
	}
	_, err := fmt.Fprintf(o.e.stdout, "%s %d rows (%s).\nUnits:    %d created, %d updated, %d unchanged\nAccounts: %d created, %d updated, %d unchanged\n",
		verb, r.Rows, r.Format, r.Units.Created, r.Units.Updated, r.Units.Unchanged, r.Accounts.Created, r.Accounts.Updated, r.Accounts.Unchanged)
	if err == nil && len(r.IgnoredColumns) > 0 {
		_, err = fmt.Fprintf(o.e.stdout, "Ignored columns: %s\n", strings.Join(r.IgnoredColumns, ", "))
	}
	if err != nil || len(r.Quotas) == 0 {
		return err
	}
	if _, err := fmt.Fprintln(o.e.stdout, "Quotas (- is no cap):"); err != nil {
		return err
	}
	rows := make([][]string, len(r.Quotas))
	for i, q := range r.Quotas {
		rows[i] = []string{"  " + q.Unit, quotaCell(q.Before) + " → " + quotaCell(q.After), ""}
		if q.File != nil {
			rows[i][2] = fmt.Sprintf("kept: the file says %d, below the raise approved by quota request %d", *q.File, q.Request)
		}
	}
	return printTable(o.e.stdout, []string{"  UNIT", "BEFORE → AFTER", "NOTE"}, rows)
}

func (o *orgCmd) templateCmd() *cobra.Command {
	var format, out string
	cmd := &cobra.Command{
		Use:     "template [--format xlsx|csv] [--out FILE]",
		Short:   "Download the staffing-office file to fill in",
		Example: "  countycloud org template --tenant gd.shaoguan.wengyuan --format xlsx --out 编办名单.xlsx",
		Args:    exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != org.TemplateXLSX && format != org.TemplateCSV {
				return usageError("--format %q: use xlsx or csv", format)
			}
			c, base, err := o.client()
			if err != nil {
				return err
			}
			data, err := c.send(cmd.Context(), http.MethodGet, base+"/org/template", url.Values{"format": {format}}, "", nil)
			if err != nil {
				return err
			}
			if out == "" {
				out = "staffing-template." + format
			}
			if err := os.WriteFile(out, data, 0o644); err != nil {
				return err
			}
			_, err = fmt.Fprintf(o.e.stdout, "Wrote %s (%d bytes).\n", filepath.Clean(out), len(data))
			return err
		},
	}
	cmd.Flags().StringVar(&format, "format", org.TemplateXLSX, "xlsx or csv")
	cmd.Flags().StringVar(&out, "out", "", "file to write (default staffing-template.FORMAT)")
	return cmd
}
