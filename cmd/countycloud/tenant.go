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
				rows[i] = []string{t.Code, t.Name, string(t.Level), string(t.Status), t.Schema, versionOf(t)}
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
		{"Schema", t.Schema},
		{"Cluster", t.Cluster},
		{"Schema version", versionOf(t)},
		{"Created", t.CreatedAt.Local().Format(time.DateTime)},
		{"Updated", t.UpdatedAt.Local().Format(time.DateTime)},
	})
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
