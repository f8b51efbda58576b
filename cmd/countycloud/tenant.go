package main

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/countycloud/countycloud/tenants/registry"
)

func newTenantCmd(e env) *cobra.Command {
	var opts clientOptions
	cmd := &cobra.Command{
		Use:   "tenant",
		Short: "Manage provinces, cities and counties",
		Long: `Manage the tenants of the platform: provinces, cities and counties.

Codes are lowercase pinyin segments joined by dots (gd, gd.shaoguan,
gd.shaoguan.wengyuan); names are the official Chinese names. Every county gets
a schema of its own. Tenants are archived, never deleted.`,
	}
	opts.register(cmd)
	cmd.AddCommand(
		newTenantCreateCmd(e, &opts),
		newTenantListCmd(e, &opts),
		newTenantGetCmd(e, &opts),
		newTenantUpdateCmd(e, &opts),
		newTenantArchiveCmd(e, &opts),
		newTenantRetryCmd(e, &opts),
		newTenantHoldCmd(e, &opts),
		newTenantUnholdCmd(e, &opts),
	)
	return cmd
}

func newTenantCreateCmd(e env, opts *clientOptions) *cobra.Command {
	var req registry.CreateRequest
	cmd := &cobra.Command{
		Use:   "create --code CODE --name NAME [--level province|city|county]",
		Short: "Create a province, city or county (a county is provisioned before this returns)",
		Example: `  countycloud tenant create --code gd --name 广东省
  countycloud tenant create --code gd.shaoguan --name 韶关市
  countycloud tenant create --code gd.shaoguan.wengyuan --name 翁源县
  countycloud tenant create --code bj.haidian --name 海淀区 --level county`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("code") || !cmd.Flags().Changed("name") {
				return usageError("give both --code and --name; see '%s --help'", cmd.CommandPath())
			}
			c, err := opts.client(e)
			if err != nil {
				return err
			}
			var t registry.Tenant
			if err := c.do(cmd.Context(), http.MethodPost, "/v1/tenants", nil, req, &t); err != nil {
				return err
			}
			if err := printTenant(e, opts, t); err != nil {
				return err
			}
			return provisioningOutcome(t)
		},
	}
	cmd.Flags().StringVar(&req.Code, "code", "", "tenant code, such as gd.shaoguan.wengyuan (required)")
	cmd.Flags().StringVar(&req.Name, "name", "", "official name, such as 翁源县 (required)")
	cmd.Flags().StringVar(&req.Level, "level", "", "province, city or county (default: from the code's depth)")
	cmd.Flags().StringVar(&req.Cluster, "cluster", "", "cluster to place a county on (default: the one holding the fewest counties)")
	return cmd
}

// provisioningOutcome turns a county that failed to provision into a
// non-zero exit, so scripts notice.
func provisioningOutcome(t registry.Tenant) error {
	if t.Status != registry.StatusFailed {
		return nil
	}
	return &exitError{code: exitFailed, err: fmt.Errorf("provisioning %s failed: %s\nFix the cause, then run: countycloud tenant retry %s", t.Code, t.Failure, t.Code)}
}

func newTenantListCmd(e env, opts *clientOptions) *cobra.Command {
	var parent, status, level string
	var limit int
	cmd := &cobra.Command{
		Use:   "list [--parent CODE] [--status STATUS] [--level LEVEL]",
		Short: "List tenants, ordered by code",
		Example: `  countycloud tenant list
  countycloud tenant list --parent gd.shaoguan -o json
  countycloud tenant list --status failed`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := opts.client(e)
			if err != nil {
				return err
			}
			if limit < 0 {
				return usageError("--limit must not be negative")
			}
			tenants := []registry.Tenant{}
			cursor := ""
			for {
				q := url.Values{}
				for k, v := range map[string]string{"parent": parent, "status": status, "level": level, "cursor": cursor} {
					if v != "" {
						q.Set(k, v)
					}
				}
				q.Set("limit", strconv.Itoa(registry.MaxPageSize))
				var page registry.Page
				if err := c.do(cmd.Context(), http.MethodGet, "/v1/tenants", q, nil, &page); err != nil {
					return err
				}
				tenants = append(tenants, page.Tenants...)
				if page.NextCursor == "" || (limit > 0 && len(tenants) >= limit) {
					break
				}
				cursor = page.NextCursor
			}
			if limit > 0 && len(tenants) > limit {
				tenants = tenants[:limit]
			}
			if opts.output == "json" {
				return printJSON(e.stdout, tenants)
			}
			rows := make([][]string, len(tenants))
			for i, t := range tenants {
				rows[i] = []string{t.Code, t.Name, string(t.Level), statusOf(t), t.Schema, versionOf(t)}
			}
			return printTable(e.stdout, []string{"CODE", "NAME", "LEVEL", "STATUS", "SCHEMA", "VERSION"}, rows)
		},
	}
	cmd.Flags().StringVar(&parent, "parent", "", "only the tenants directly under this code")
	cmd.Flags().StringVar(&status, "status", "", "only tenants in this status: provisioning, ready, failed, suspended, archived")
	cmd.Flags().StringVar(&level, "level", "", "only tenants of this level: province, city, county")
	cmd.Flags().IntVar(&limit, "limit", 0, "list at most this many (default: all)")
	return cmd
}

func versionOf(t registry.Tenant) string {
	if t.Level != registry.LevelCounty {
		return ""
	}
	return strconv.FormatInt(t.SchemaVersion, 10)
}

// statusOf is t's status, and whether its writes are held for billing.
func statusOf(t registry.Tenant) string {
	if t.HeldSince != nil {
		return string(t.Status) + ",held"
	}
	return string(t.Status)
}

func printTenant(e env, opts *clientOptions, t registry.Tenant) error {
	if opts.output == "json" {
		return printJSON(e.stdout, t)
	}
	return printFields(e.stdout, [][2]string{
		{"Code", t.Code},
		{"Name", t.Name},
		{"Level", string(t.Level)},
		{"Parent", t.Parent},
		{"Status", string(t.Status)},
		{"Failure", t.Failure},
		{"Held since", heldSince(t)},
		{"Hold reason", t.HoldReason},
		{"Schema", t.Schema},
		{"Cluster", t.Cluster},
		{"Schema version", versionOf(t)},
		{"Created", t.CreatedAt.Local().Format(time.DateTime)},
		{"Updated", t.UpdatedAt.Local().Format(time.DateTime)},
	})
}

// heldSince is when t's writes were held for billing, "" if they are not.
func heldSince(t registry.Tenant) string {
	if t.HeldSince == nil {
		return ""
	}
	return t.HeldSince.Local().Format(time.DateTime) + " (read-only: writes refused with billing_suspended)"
}

// tenantAction is a command that takes one code, sends one request and
// prints the tenant that comes back.
type tenantAction struct {
	use, short, example string
	send                func(cmd *cobra.Command, c *apiClient, code string, t *registry.Tenant) error
	// provisions: the request provisions, so a county that failed to is a
	// failed command.
	provisions bool
}

func newTenantActionCmd(e env, opts *clientOptions, a tenantAction) *cobra.Command {
	return &cobra.Command{
		Use:     a.use,
		Short:   a.short,
		Example: a.example,
		Args:    exactArgs(1, "one tenant code"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := opts.client(e)
			if err != nil {
				return err
			}
			var t registry.Tenant
			if err := a.send(cmd, c, args[0], &t); err != nil {
				return err
			}
			if err := printTenant(e, opts, t); err != nil {
				return err
			}
			if a.provisions {
				return provisioningOutcome(t)
			}
			return nil
		},
	}
}

func newTenantGetCmd(e env, opts *clientOptions) *cobra.Command {
	return newTenantActionCmd(e, opts, tenantAction{
		use: "get CODE", short: "Show one tenant (exit code 4 if it does not exist)",
		example: "  countycloud tenant get gd.shaoguan.wengyuan -o json",
		send: func(cmd *cobra.Command, c *apiClient, code string, t *registry.Tenant) error {
			return c.do(cmd.Context(), http.MethodGet, "/v1/tenants/"+url.PathEscape(code), nil, nil, t)
		}})
}

func newTenantArchiveCmd(e env, opts *clientOptions) *cobra.Command {
	return newTenantActionCmd(e, opts, tenantAction{
		use: "archive CODE", short: "Archive a tenant: out of service, its data kept",
		example: "  countycloud tenant archive gd.shaoguan.wengyuan",
		send: func(cmd *cobra.Command, c *apiClient, code string, t *registry.Tenant) error {
			status := string(registry.StatusArchived)
			return c.do(cmd.Context(), http.MethodPatch, "/v1/tenants/"+url.PathEscape(code), nil, registry.Patch{Status: &status}, t)
		}})
}

func newTenantRetryCmd(e env, opts *clientOptions) *cobra.Command {
	return newTenantActionCmd(e, opts, tenantAction{
		use: "retry CODE", short: "Finish provisioning a county that failed or was interrupted",
		example:    "  countycloud tenant retry gd.shaoguan.wengyuan",
		provisions: true,
		send: func(cmd *cobra.Command, c *apiClient, code string, t *registry.Tenant) error {
			return c.do(cmd.Context(), http.MethodPost, "/v1/tenants/"+url.PathEscape(code)+"/retry", nil, nil, t)
		}})
}

func newTenantUpdateCmd(e env, opts *clientOptions) *cobra.Command {
	var name, status string
	cmd := newTenantActionCmd(e, opts, tenantAction{
		use:   "update CODE [--name NAME] [--status ready|suspended|archived]",
		short: "Rename a tenant or change its status",
		example: `  countycloud tenant update gd.shaoguan.wengyuan --name 翁源县
  countycloud tenant update gd.shaoguan.wengyuan --status suspended`,
		send: func(cmd *cobra.Command, c *apiClient, code string, t *registry.Tenant) error {
			var p registry.Patch
			if cmd.Flags().Changed("name") {
				p.Name = &name
			}
			if cmd.Flags().Changed("status") {
				p.Status = &status
			}
			if p.Name == nil && p.Status == nil {
				return usageError("nothing to change: give --name or --status")
			}
			return c.do(cmd.Context(), http.MethodPatch, "/v1/tenants/"+url.PathEscape(code), nil, p, t)
		}})
	cmd.Flags().StringVar(&name, "name", "", "new official name")
	cmd.Flags().StringVar(&status, "status", "", "new status: ready, suspended or archived")
	return cmd
}

func newTenantHoldCmd(e env, opts *clientOptions) *cobra.Command {
	var reason string
	cmd := newTenantActionCmd(e, opts, tenantAction{
		use:     "hold CODE --reason REASON",
		short:   "Make a county read-only for billing: writes refused (billing_suspended), reads and public routes go on, nothing deleted",
		example: `  countycloud tenant hold gd.shaoguan.wengyuan --reason "账户逾期未付（2026年11月发票）"`,
		send: func(cmd *cobra.Command, c *apiClient, code string, t *registry.Tenant) error {
			if !cmd.Flags().Changed("reason") {
				return usageError("give --reason: why the county's writes are held")
			}
			return c.do(cmd.Context(), http.MethodPut, "/v1/tenants/"+url.PathEscape(code)+"/hold", nil, registry.HoldRequest{Reason: reason}, t)
		}})
	cmd.Long = `Make a county read-only for billing. Every replica refuses its writes within
a second, with billing_suspended (HTTP 409): its staff's and its modules'
alike. Reads, public routes (citizens' submissions included) and the
platform's background jobs go on, and nothing is deleted. Operators may
still change the county's record (status, hold) and its modules.

Holding a county held already keeps the first hold (its time and reason).
Billing holds a county whose account is past due and lifts the hold once
payment arrives; this command is for an operator's decision.`
	cmd.Flags().StringVar(&reason, "reason", "", "why the writes are held, shown to operators (required; at most 200 characters)")
	return cmd
}

func newTenantUnholdCmd(e env, opts *clientOptions) *cobra.Command {
	cmd := newTenantActionCmd(e, opts, tenantAction{
		use: "unhold CODE", short: "Lift a county's billing hold: its writes are restored within a second, on every replica",
		example: "  countycloud tenant unhold gd.shaoguan.wengyuan",
		send: func(cmd *cobra.Command, c *apiClient, code string, t *registry.Tenant) error {
			return c.do(cmd.Context(), http.MethodDelete, "/v1/tenants/"+url.PathEscape(code)+"/hold", nil, nil, t)
		}})
	cmd.Long = `Lift a county's billing hold (countycloud tenant hold): every replica admits
its writes again within a second. A county that is not held is left as it is.`
	return cmd
}
