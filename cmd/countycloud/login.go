package main

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/core/config"
)

func newLoginCmd(e env) *cobra.Command {
	o := &orgCmd{e: e}
	cmd := &cobra.Command{
		Use:   "login LOGIN [--tenant CODE]",
		Short: "Log in as an account of a county (or, without --tenant, an operator) and print an access token",
		Long: `Log in with a login and password and print the access token on stdout, so that
'token=$(countycloud login zhangsan)' keeps it for --token or COUNTYCLOUD_TOKEN.
An access token lasts 10 minutes; log in again after that.

On a terminal the password is asked for without echo. Otherwise the first
line of standard input is the password. A password handed out by an
administrator (the credential sheet, a reset) must be changed at the first
login: the new one is asked for too, or read from the second line of
standard input, and the token returned is the new password's.

Without --tenant (or COUNTYCLOUD_TENANT) the login is a provincial operator's.`,
		Example: `  countycloud login zhangsan --tenant gd.shaoguan.wengyuan
  token=$(printf '%s\n%s\n' "$first_password" "$new_password" | countycloud login zhangsan --tenant gd.shaoguan.wengyuan)`,
		Args: exactArgs(1, "the login"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := config.ApplyEnv(o.extra, o.e.lookup); err != nil {
				return usageError("%v", err)
			}
			c, err := o.opts.anonymousClient(o.e)
			if err != nil {
				return err
			}
			ask := o.e.prompter()
			password, err := ask("Password: ")
			if err != nil {
				return err
			}
			path := "/v1/auth/login"
			if o.tenant != "" {
				path = "/v1/tenants/" + o.tenant + "/auth/login"
			}
			var tokens auth.Tokens
			if err := c.do(cmd.Context(), http.MethodPost, path, nil, auth.Credentials{Login: args[0], Password: password}, &tokens); err != nil {
				return err
			}
			if tokens.Principal.MustChange {
				fmt.Fprintln(o.e.stderr, "This password was handed out by an administrator: choose your own: 10 characters or more, mixing three of lower case, upper case, digits and others, without your login.")
				fresh, err := ask("New password: ")
				if err != nil {
					return err
				}
				c.token = tokens.AccessToken
				if err := c.do(cmd.Context(), http.MethodPost, "/v1/auth/password", nil, auth.PasswordChange{Current: password, New: fresh}, &tokens); err != nil {
					return err
				}
			}
			if o.opts.output == "json" {
				return printJSON(o.e.stdout, tokens)
			}
			who := tokens.Principal.Login
			if tokens.Principal.Name != "" {
				who = tokens.Principal.Name + " (" + who + ")"
			}
			until := time.Now().Add(time.Duration(tokens.ExpiresIn) * time.Second).Format("15:04")
			fmt.Fprintf(o.e.stderr, "Logged in as %s until %s.\n", who, until)
			_, err = fmt.Fprintln(o.e.stdout, tokens.AccessToken)
			return err
		},
	}
	o.opts.register(cmd)
	o.countyFlag(cmd.Flags())
	return cmd
}

// prompter returns what asks for one secret after another: on a
// terminal without echo, else line by line from standard input.
func (e env) prompter() func(prompt string) (string, error) {
	if f, ok := e.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return func(prompt string) (string, error) {
			fmt.Fprint(e.stderr, prompt)
			b, err := term.ReadPassword(int(f.Fd()))
			fmt.Fprintln(e.stderr)
			if err != nil {
				return "", fmt.Errorf("reading the password: %w", err)
			}
			return string(b), nil
		}
	}
	lines := bufio.NewReader(e.stdin)
	return func(prompt string) (string, error) {
		line, err := lines.ReadString('\n')
		if err != nil && (err != io.EOF || line == "") {
			return "", usageError("%sstandard input has no line left to read it from", strings.ToLower(prompt))
		}
		return strings.TrimRight(line, "\r\n"), nil
	}
}
