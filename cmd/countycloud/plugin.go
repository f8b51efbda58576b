package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/plugins/host"
	"github.com/countycloud/countycloud/plugins/host/sandbox"
)

func newPluginCmd(e env) *cobra.Command {
	o := &orgCmd{e: e}
	cmd := &cobra.Command{
		Use:   "plugin",
		Short: "Register plugins in the catalog and enable them for counties",
		Long: `Plugins are the modules counties run (视频点播, 公文, 网上审批…), each a process
the platform launches and supervises. An operator registers a vendor's binary
(placed in the server's --plugin-dir) with the SHA-256 expected of it; a county
admin enables a registered module for a county (--tenant or COUNTYCLOUD_TENANT)
with its settings. 'validate' checks a binary on this machine, without a server.`,
	}
	o.opts.register(cmd)
	o.countyFlag(cmd.PersistentFlags())
	cmd.AddCommand(newPluginRegisterCmd(o), newPluginListCmd(o), newPluginProcessesCmd(o), newPluginEnableCmd(o), newPluginDisableCmd(o), newPluginModulesCmd(o), newPluginValidateCmd(e))
	return cmd
}

func newPluginRegisterCmd(o *orgCmd) *cobra.Command {
	var sum, isolation, vendor string
	cmd := &cobra.Command{
		Use:   "register FILE --sha256 HEX [--isolation shared|county] [--vendor NAME]",
		Short: "Register the plugin binary FILE of the server's plugin directory",
		Long: `Register the plugin binary FILE, a file in the server's --plugin-dir. The
server checks that its SHA-256 is HEX, starts it once to read its manifest and
check its protocol, and enters that version in the catalog. The checksum is
checked again at every launch.

--isolation says how the counties that enable this version share it: shared
(the default) runs one process for all of them, which sees each county's data
during that county's requests; county runs one process per county, so that no
county's data is ever in a process serving another, at the cost of a process
(its memory and its start) per county. Choose county for a vendor you do not
trust with every county at once (docs/operations.md, "Plugins and trust").

The first registration of a plugin id binds it to its vendor: --vendor, the
vendor you received the binary from (its manifest must name the same), or
else the vendor its manifest names. Another vendor's binary under that id is
refused (plugin_id_taken), as is an id whose workflows would be named like
the operators' or counties' own (workflow_namespace_taken) and a version with
build metadata such as 1.0.0+build.`,
		Example: `  countycloud plugin register archive-1.2.0 --sha256 $(sha256sum plugins.d/archive-1.2.0 | cut -d' ' -f1) --vendor 韶关数科
  countycloud plugin register archive-1.2.0 --sha256 9f86d0… --isolation county`,
		Args: exactArgs(1, "the binary's file name in the plugin directory"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if sum == "" {
				return usageError("--sha256 is required: the SHA-256 you expect of the binary")
			}
			if _, err := host.ParseIsolation(isolation); err != nil {
				return usageError("--isolation: %s", errs.As(err).Message)
			}
			c, err := o.opts.client(o.e)
			if err != nil {
				return err
			}
			var entry host.Entry
			in := host.RegisterInput{File: args[0], SHA256: sum, Isolation: isolation, Vendor: vendor}
			if err := c.do(cmd.Context(), http.MethodPost, "/v1/plugins", nil, in, &entry); err != nil {
				return err
			}
			if o.opts.output == "json" {
				return printJSON(o.e.stdout, entry)
			}
			return printEntries(o.e.stdout, []host.Entry{entry})
		},
	}
	cmd.Flags().StringVar(&sum, "sha256", "", "the SHA-256 the binary must have, in hex")
	cmd.Flags().StringVar(&isolation, "isolation", string(host.IsolationShared), "shared: one process for every county that enables it; county: one process per county")
	cmd.Flags().StringVar(&vendor, "vendor", "", "the vendor the binary came from, which its manifest must name (default: the manifest's)")
	return cmd
}

func newPluginListCmd(o *orgCmd) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Short:   "List the catalog: every registered plugin version",
		Example: "  countycloud plugin list -o json",
		Args:    exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := o.opts.client(o.e)
			if err != nil {
				return err
			}
			var entries []host.Entry
			if err := c.do(cmd.Context(), http.MethodGet, "/v1/plugins", nil, nil, &entries); err != nil {
				return err
			}
			if o.opts.output == "json" {
				return printJSON(o.e.stdout, entries)
			}
			return printEntries(o.e.stdout, entries)
		},
	}
}

func printEntries(w io.Writer, entries []host.Entry) error {
	rows := make([][]string, len(entries))
	for i, e := range entries {
		source := e.File
		if e.Builtin {
			source = "built in"
		}
		rows[i] = []string{e.ID, e.Version, e.Manifest.Name, e.Manifest.Vendor, source, string(e.Isolation), e.SHA256[:12], e.At.Local().Format("2006-01-02 15:04")}
	}
	return printTable(w, []string{"ID", "VERSION", "NAME", "VENDOR", "FILE", "ISOLATION", "SHA-256", "REGISTERED"}, rows)
}

func newPluginProcessesCmd(o *orgCmd) *cobra.Command {
	return &cobra.Command{
		Use:   "processes",
		Short: "List the plugin processes this server runs, and the county of each isolated one",
		Long: `List the plugin processes the server answering has started: a shared
process serves every county that enabled its version (COUNTY is empty); a
county-isolated plugin has one process per county. An idle process (no call
under way) is stopped after its idle timeout or to make room under
--plugin-max-processes, and started again by the next request. Each replica
runs its own processes: this lists those of the replica that answers.`,
		Example: "  countycloud plugin processes\n  countycloud plugin processes -o json",
		Args:    exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := o.opts.client(o.e)
			if err != nil {
				return err
			}
			var list []host.Status
			if err := c.do(cmd.Context(), http.MethodGet, "/v1/plugins/processes", nil, nil, &list); err != nil {
				return err
			}
			if o.opts.output == "json" {
				return printJSON(o.e.stdout, list)
			}
			rows := make([][]string, len(list))
			for i, s := range list {
				state := "stopped"
				switch {
				case s.Failed:
					state = "failed until " + s.RetryAt.Local().Format("15:04:05")
				case s.Running:
					state = "running"
				}
				pid, used := "", ""
				if s.PID != 0 {
					pid = fmt.Sprint(s.PID)
				}
				if !s.LastUsed.IsZero() {
					used = s.LastUsed.Local().Format("2006-01-02 15:04:05")
				}
				rows[i] = []string{s.Plugin, s.Version, s.County, state, pid, fmt.Sprint(s.Calls), fmt.Sprint(s.Crashes), used}
			}
			return printTable(o.e.stdout, []string{"PLUGIN", "VERSION", "COUNTY", "STATE", "PID", "CALLS NOW", "CRASHES", "LAST USED"}, rows)
		},
	}
}

func newPluginEnableCmd(o *orgCmd) *cobra.Command {
	var version, settings string
	cmd := &cobra.Command{
		Use:   "enable PLUGIN [--version VERSION] [--settings JSON|@FILE]",
		Short: "Enable a module for the county, or move it to another version",
		Long: `Enable module PLUGIN for the county at VERSION (if not given, the newest, in
semantic-version order, registered for the vendor that owns the id), with settings its manifest's schema accepts. Enabling another version
of a module the county runs is an upgrade without downtime: requests under way
finish on the old version, new ones go to the new.`,
		Example: `  countycloud plugin enable vod --tenant gd.shaoguan.wengyuan --settings '{"categories":["meetings","training"]}'
  countycloud plugin enable vod --version 1.1.0 --settings @vod-settings.json`,
		Args: exactArgs(1, "the plugin's id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			in := host.EnableInput{Version: version}
			if settings != "" {
				raw, err := readArgument(settings)
				if err != nil {
					return err
				}
				if !json.Valid(raw) {
					return usageError("--settings is not JSON")
				}
				in.Settings = raw
			}
			var m host.Module
			return o.call(cmd, http.MethodPut, "/modules/"+args[0], nil, in, &m, func() error { return printModules(o.e.stdout, []host.Module{m}) })
		},
	}
	cmd.Flags().StringVar(&version, "version", "", "the version to run (default: the newest registered for the id's vendor)")
	cmd.Flags().StringVar(&settings, "settings", "", "the module's settings as JSON, or @FILE to read them from a file")
	return cmd
}

// readArgument is s, or the contents of the file s names after an @.
func readArgument(s string) ([]byte, error) {
	name, ok := strings.CutPrefix(s, "@")
	if !ok {
		return []byte(s), nil
	}
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, usageError("%v", err)
	}
	return data, nil
}

func newPluginDisableCmd(o *orgCmd) *cobra.Command {
	return &cobra.Command{
		Use:     "disable PLUGIN",
		Short:   "Stop serving a module to the county (its data and settings stay)",
		Example: "  countycloud plugin disable vod --tenant gd.shaoguan.wengyuan",
		Args:    exactArgs(1, "the plugin's id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var m host.Module
			return o.call(cmd, http.MethodDelete, "/modules/"+args[0], nil, nil, &m, func() error { return printModules(o.e.stdout, []host.Module{m}) })
		},
	}
}

func newPluginModulesCmd(o *orgCmd) *cobra.Command {
	return &cobra.Command{
		Use:     "modules",
		Short:   "List the county's modules, enabled or not",
		Example: "  countycloud plugin modules --tenant gd.shaoguan.wengyuan",
		Args:    exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var list []host.Module
			return o.call(cmd, http.MethodGet, "/modules", nil, nil, &list, func() error { return printModules(o.e.stdout, list) })
		},
	}
}

func printModules(w io.Writer, list []host.Module) error {
	rows := make([][]string, len(list))
	for i, m := range list {
		rows[i] = []string{m.Plugin, m.Version, fmt.Sprint(m.Enabled), string(m.Settings), m.By, m.At.Local().Format("2006-01-02 15:04")}
	}
	return printTable(w, []string{"MODULE", "VERSION", "ENABLED", "SETTINGS", "BY", "CHANGED"}, rows)
}

func newPluginValidateCmd(e env) *cobra.Command {
	var sum, output string
	cmd := &cobra.Command{
		Use:   "validate BINARY [--sha256 HEX]",
		Short: "Check a plugin binary on this machine: handshake, protocol and manifest",
		Long: `Start the plugin binary BINARY as the server would, check its handshake,
protocol version and manifest (including its settings schema), print the
manifest and stop it. With --sha256, also check the binary's checksum. Nothing
is registered and no server is needed.`,
		Example: `  countycloud plugin validate ./archive-1.2.0
  countycloud plugin validate ./archive-1.2.0 --sha256 9f86d0… -o json`,
		Args: exactArgs(1, "the path of the plugin binary"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "table" && output != "json" {
				return usageError("--output %q: use table or json", output)
			}
			actual, err := host.FileSHA256(args[0])
			if err != nil {
				return usageError("%v", err)
			}
			want := actual
			if sum != "" {
				if want, err = host.ParseSHA256(sum); err != nil {
					return usageError("%v", err)
				}
			}
			caps := host.NewCapabilities(time.Minute, time.Now)
			quiet := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelError}))
			ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
			defer cancel()
			// A vendor's binary runs here as the server would run it.
			if err := sandbox.KeepSecrets(); err != nil {
				return err
			}
			sb, err := sandbox.New(sandbox.Options{UID: sandbox.Nobody, GID: sandbox.Nobody})
			if err != nil {
				return err
			}
			m, err := host.Probe(ctx, host.Binary{Path: args[0], SHA256: want}, host.Deps{Capabilities: caps, Log: quiet, Now: time.Now, Sandbox: sb})
			if err != nil {
				return err
			}
			if output == "json" {
				return printJSON(e.stdout, struct {
					SHA256   string `json:"sha256"`
					Manifest any    `json:"manifest"`
				}{fmt.Sprintf("%x", actual), m})
			}
			return printTable(e.stdout, []string{"ID", "VERSION", "NAME", "VENDOR", "PROTOCOL", "SHA-256"},
				[][]string{{m.ID, m.Version, m.Name, m.Vendor, fmt.Sprint(m.Protocol), fmt.Sprintf("%x", actual)}})
		},
	}
	cmd.Flags().StringVar(&sum, "sha256", "", "the SHA-256 the binary must have, in hex")
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table or json")
	return cmd
}
