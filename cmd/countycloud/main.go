// Command countycloud is the CountyCloud server, the operator CLI that talks
// to it, and the host of the built-in plugins: one binary.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/kit"
)

// Exit codes scripts can trust.
const (
	exitOK          = 0
	exitFailed      = 1 // the request was refused or the operation failed
	exitUsage       = 2 // bad flags or arguments; nothing was sent
	exitUnavailable = 3 // the server or its database cannot be reached now; try again
	exitNotFound    = 4 // the thing asked for does not exist
	exitUnknown     = 5 // the request was sent but no answer came back (timeout, broken connection); the outcome is unknown
)

// exitError carries the exit code an error should end the process with.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageError(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// exactArgs is cobra.ExactArgs with the usage exit code.
func exactArgs(n int, names string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usageError("%s takes %s; see '%s --help'", cmd.CommandPath(), names, cmd.CommandPath())
		}
		return nil
	}
}

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	os.Exit(runWithInput(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.LookupEnv))
}

// env is what commands read from the process, passed in so that tests can
// run commands in-process.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	lookup         func(string) (string, bool)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer, lookup func(string) (string, bool)) int {
	return runWithInput(ctx, args, strings.NewReader(""), stdout, stderr, lookup)
}

func runWithInput(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, lookup func(string) (string, bool)) int {
	root := newRootCmd(env{stdin: stdin, stdout: stdout, stderr: stderr, lookup: lookup})
	root.SetArgs(normalizeSingleDash(root, args))
	cmd, err := root.ExecuteContextC(ctx)
	return exitCode(cmd, err, stderr)
}

// newRootCmd is the command tree.
func newRootCmd(e env) *cobra.Command {
	root := &cobra.Command{
		Use:   "countycloud",
		Short: "CountyCloud: the e-government platform of a province's counties",
		Long: `CountyCloud hosts the e-government of every county in a province, each county
a tenant with its own schema and the modules it enables.

Run the platform with 'countycloud server'; every other command is a client of
its API, configured by COUNTYCLOUD_ADDR and COUNTYCLOUD_TOKEN.`,
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		// A group's flags are few: a mistyped subcommand's flags end here.
		if args := c.Flags().Args(); c.HasSubCommands() && len(args) > 0 {
			return unknownCommand(c, args[0])
		}
		return usageError("%v\nSee '%s --help'.", err, c.CommandPath())
	})
	root.AddCommand(newServerCmd(e), newTenantCmd(e), newLoginCmd(e), newOrgCmd(e), newAuditCmd(e), newCalendarCmd(e), newMeasuresCmd(e), newSealsCmd(e), newWorkflowCmd(e), newSupervisionCmd(e), newRolloutCmd(e), newConvenienceCmd(e), newNotifyCmd(e), newJobsCmd(e), newMigrateCmd(e), newBenchCmd(e), newPluginCmd(e), newApprovalCmd(e), newDisclosureCmd(e), newVendorCmd(e), newBillingCmd(e), newModuleCmd())
	refuseUnknownSubcommands(root)
	return root
}

// refuseUnknownSubcommands makes every command below cmd that only
// groups others (tenant, org units, …) refuse an argument naming none of
// them, as cobra does only for the root: otherwise it prints the group's
// help and exits 0, and a typo (`tenant lst`) reads as success to a
// script.
func refuseUnknownSubcommands(cmd *cobra.Command) {
	for _, sub := range cmd.Commands() {
		if sub.HasSubCommands() && !sub.Runnable() {
			sub.RunE = func(c *cobra.Command, args []string) error {
				if len(args) == 0 {
					return c.Help()
				}
				return unknownCommand(c, args[0])
			}
		}
		refuseUnknownSubcommands(sub)
	}
}

// unknownCommand is the usage error for name under group, worded as
// cobra words it at the root, with its suggestions.
func unknownCommand(group *cobra.Command, name string) error {
	msg := fmt.Sprintf("unknown command %q for %q", name, group.CommandPath())
	group.SuggestionsMinimumDistance = 2
	if suggestions := group.SuggestionsFor(name); len(suggestions) > 0 {
		msg += "\n\nDid you mean this?\n\t" + strings.Join(suggestions, "\n\t")
	}
	return usageError("%s\n\nRun '%s --help' for usage.", msg, group.CommandPath())
}

// exitCode reports a command's error on stderr and returns the exit code
// it deserves.
func exitCode(cmd *cobra.Command, err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	code := exitFailed
	var ee *exitError
	switch {
	case errors.As(err, &ee):
		code = ee.code
	case strings.HasPrefix(err.Error(), "unknown command"):
		// cobra reports an unknown subcommand only as text.
		code = exitUsage
	}
	if f := cmd.Flags().Lookup("output"); f != nil && f.Value.String() == "json" {
		_ = printJSON(stderr, errorBody(err, code))
	} else {
		fmt.Fprintln(stderr, "Error:", err)
	}
	return code
}

// errorBody is a failed command's error in the API's JSON shape: the
// server's own, or one whose code names the exit code's class.
func errorBody(err error, exit int) kit.ErrorBody {
	var ae *apiError
	if errors.As(err, &ae) {
		detail := kit.ErrorDetail{Code: ae.Code, Message: ae.Message}
		if len(ae.Details) > 0 {
			detail.Details = ae.Details
		}
		return kit.ErrorBody{Error: detail}
	}
	// A refusal of the platform's own, made on this machine (validate).
	var pe *errs.Error
	if errors.As(err, &pe) {
		return kit.ErrorBody{Error: kit.ErrorDetail{Code: pe.Code, Message: pe.Message}}
	}
	code := map[int]string{exitUsage: "usage", exitUnavailable: "unavailable", exitUnknown: "unknown_outcome"}[exit]
	if code == "" {
		code = "failed"
	}
	return kit.ErrorBody{Error: kit.ErrorDetail{Code: code, Message: err.Error()}}
}

// normalizeSingleDash lets long flags be written with one dash, as in
// `countycloud server -dev`, the way Vault's and Go's own tools accept
// them: an argument -name that names a long flag of the command becomes
// --name. Shorthands (-o json) are untouched.
func normalizeSingleDash(root *cobra.Command, args []string) []string {
	cmd, _, err := root.Find(args)
	if err != nil {
		return args
	}
	known := func(name string) bool {
		// cobra adds --help only when the command runs.
		return name == "help" || cmd.Flags().Lookup(name) != nil || cmd.InheritedFlags().Lookup(name) != nil
	}
	out := make([]string, 0, len(args))
	for i, a := range args {
		if a == "--" {
			return append(out, args[i:]...)
		}
		if len(a) > 2 && a[0] == '-' && a[1] != '-' {
			if name, _, _ := strings.Cut(a[1:], "="); len(name) > 1 && known(name) {
				a = "-" + a
			}
		}
		out = append(out, a)
	}
	return out
}
