package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/countycloud/countycloud/core/auth"
)

func (o *orgCmd) credentialsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "credentials",
		Short: "Hand out accounts' first passwords, or new ones, as a sheet to print",
		Long: `Hand out passwords as a credential sheet (XLSX or CSV, in Chinese: 单位, 姓名,
登录名, 初始密码) to print and hand over. Every password on a sheet must be
changed at first login. The server keeps only hashes: a sheet shows each
password once, so 'issue' gives passwords only to accounts that have none,
and says so when every account has one. 'reissue' replaces passwords.`,
	}
	cmd.AddCommand(o.issueCmd(), o.reissueCmd())
	return cmd
}

// sheetFlags are the flags of a command that fetches a credential sheet.
type sheetFlags struct {
	format, out string
}

func (f *sheetFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.format, "format", "xlsx", "the sheet's format: xlsx or csv (with -o json, the passwords are printed as JSON instead)")
	cmd.Flags().StringVar(&f.out, "out", "", "file to write the sheet to; never overwritten (default credentials.FORMAT)")
}

// fetchSheet asks for a sheet at path and writes it to a new file, or
// prints the passwords as JSON with -o json.
func (o *orgCmd) fetchSheet(cmd *cobra.Command, path string, f sheetFlags, body any, done string) error {
	if f.format != "xlsx" && f.format != "csv" {
		return usageError("--format %q: use xlsx or csv", f.format)
	}
	if o.opts.output == "json" {
		var issued []auth.IssuedCredential
		return o.call(cmd, http.MethodPost, path, url.Values{"format": {"json"}}, body, &issued, nil)
	}
	c, base, err := o.client()
	if err != nil {
		return err
	}
	payload, err := json.Marshal(body)
	if err != nil {
		return err
	}
	out := f.out
	if out == "" {
		out = "credentials." + f.format
	}
	// A sheet shows passwords once: never overwrite an earlier one.
	if _, err := os.Stat(out); err == nil {
		return usageError("%s exists; it may hold passwords handed out earlier: give another --out", out)
	}
	data, err := c.send(cmd.Context(), http.MethodPost, base+path, url.Values{"format": {f.format}}, "application/json", payload)
	if err != nil {
		return err
	}
	if err := writeNew(out, data); err != nil {
		return fmt.Errorf("the passwords were issued but cannot be written (%w); reissue them to another --out", err)
	}
	_, err = fmt.Fprintf(o.e.stdout, "Wrote %s. %s Every password on it must be changed at first login.\n", filepath.Clean(out), done)
	return err
}

func (o *orgCmd) issueCmd() *cobra.Command {
	var in auth.IssueRequest
	var f sheetFlags
	cmd := &cobra.Command{
		Use:   "issue [--unit ID] [--format xlsx|csv] [--out FILE]",
		Short: "Give every active account without a password its first one (county admins)",
		Long: `Give every active account of the county (or of --unit) that has no password
yet a random first password, and write them to a credential sheet. Accounts
that have a password keep it; when all have one, nothing is issued and the
answer says so (credentials_issued_already): use 'reissue' to replace them.`,
		Example: `  countycloud org credentials issue --tenant gd.shaoguan.wengyuan --out 初始密码.xlsx
  countycloud org credentials issue --tenant gd.shaoguan.wengyuan --unit 3 --format csv
  countycloud org credentials issue --tenant gd.shaoguan.wengyuan -o json`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.fetchSheet(cmd, "/credentials", f, in, "First passwords for the accounts that had none.")
		},
	}
	cmd.Flags().Int64Var(&in.UnitID, "unit", 0, "only the accounts of this unit (its id; default: the whole county)")
	f.register(cmd)
	return cmd
}

func (o *orgCmd) reissueCmd() *cobra.Command {
	var in auth.ReissueRequest
	var f sheetFlags
	cmd := &cobra.Command{
		Use:   "reissue (--login LOGIN... | --unit ID) [--format xlsx|csv] [--out FILE]",
		Short: "Replace the passwords of named accounts or of a unit; the old ones stop working",
		Long: `Give the accounts named by --login (repeatable), or every active account of
--unit, new random passwords, written to a credential sheet. Their old
passwords stop working at once, and their sessions and API tokens end; each
replacement is in the county's audit trail (auth.credentials.reissue).
County admins reissue any account; a unit admin only the accounts of their
unit and the units below it, never a county admin's.`,
		Example: `  countycloud org credentials reissue --tenant gd.shaoguan.wengyuan --login zhangsan --login lisi --out 新密码.xlsx
  countycloud org credentials reissue --tenant gd.shaoguan.wengyuan --unit 3 --format csv
  countycloud org credentials reissue --tenant gd.shaoguan.wengyuan --login zhangsan -o json`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (len(in.Logins) == 0) == (in.UnitID == 0) {
				return usageError("name the accounts with --login or their unit with --unit, one of the two")
			}
			return o.fetchSheet(cmd, "/credentials/reissue", f, in, "New passwords; the old ones, their sessions and API tokens are ended.")
		},
	}
	cmd.Flags().StringSliceVar(&in.Logins, "login", nil, "login of an account whose password to replace (repeatable, or comma-separated)")
	cmd.Flags().Int64Var(&in.UnitID, "unit", 0, "id of a unit: replace the passwords of all its active accounts")
	f.register(cmd)
	return cmd
}

// writeNew writes data to a file that must not exist yet, readable by its
// owner only.
func writeNew(name string, data []byte) error {
	file, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = file.Write(data)
	if cerr := file.Close(); err == nil {
		err = cerr
	}
	return err
}
