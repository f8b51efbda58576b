package main

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/countycloud/countycloud/core/notify"
)

func newNotifyCmd(e env) *cobra.Command {
	o := &orgCmd{e: e}
	cmd := &cobra.Command{
		Use:   "notify",
		Short: "See a county's notifications, their delivery, and its SMS gateway",
		Long: `Notifications of one county (--tenant or COUNTYCLOUD_TENANT): every account's
inbox, and the e-mail and SMS sent to it as its preferences (or an action's
SMS reminder) ask. E-mail goes out through the server's --smtp-* mail server,
SMS through the county's own gateway. A channel that is down delays delivery;
after its attempts a message is failed, and an admin retries it.

The inbox is an account's own: call it with an account's API token.`,
	}
	o.opts.register(cmd)
	o.countyFlag(cmd.PersistentFlags())
	cmd.AddCommand(o.inboxCmd(), o.readCmd(), o.outboxCmd(), o.retryCmd(), o.testCmd(), o.gatewayCmd())
	return cmd
}

func when(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

func (o *orgCmd) printNotifications(list ...notify.Notification) error {
	rows := make([][]string, len(list))
	for i, n := range list {
		created := n.CreatedAt
		rows[i] = []string{strconv.FormatInt(n.ID, 10), n.Kind, n.Subject, when(&created), when(n.ReadAt)}
	}
	return printTable(o.e.stdout, []string{"ID", "KIND", "SUBJECT", "AT", "READ"}, rows)
}

func (o *orgCmd) inboxCmd() *cobra.Command {
	var unread bool
	var before int64
	var limit int
	cmd := &cobra.Command{
		Use:   "inbox [--unread] [--before ID] [--limit N]",
		Short: "List your notifications, newest first",
		Example: `  countycloud notify inbox --unread --token "$MY_ACCOUNT_TOKEN"
  countycloud notify inbox --before 120 -o json`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			q := url.Values{"limit": {strconv.Itoa(limit)}}
			if unread {
				q.Set("unread", "true")
			}
			if before > 0 {
				q.Set("before", strconv.FormatInt(before, 10))
			}
			var page notify.InboxPage
			return o.call(cmd, http.MethodGet, "/notifications", q, nil, &page, func() error {
				if err := o.printNotifications(page.Notifications...); err != nil {
					return err
				}
				_, err := fmt.Fprintf(o.e.stdout, "%d unread%s\n", page.Unread, more(page.Next))
				return err
			})
		},
	}
	cmd.Flags().BoolVar(&unread, "unread", false, "only what you have not read")
	cmd.Flags().Int64Var(&before, "before", 0, "only notifications older than this id (the next page)")
	cmd.Flags().IntVar(&limit, "limit", 50, "list at most this many (1 to 500)")
	return cmd
}

// more says how to get the next page, if there is one.
func more(next int64) string {
	if next == 0 {
		return ""
	}
	return fmt.Sprintf("; more with --before %d", next)
}

func (o *orgCmd) readCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "read ID",
		Short:   "Mark one of your notifications read",
		Example: "  countycloud notify read 120",
		Args:    exactArgs(1, "the notification's id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := idArg(args)
			if err != nil {
				return err
			}
			var n notify.Notification
			return o.call(cmd, http.MethodPost, "/notifications/"+id+"/read", nil, nil, &n, func() error { return o.printNotifications(n) })
		},
	}
}

func (o *orgCmd) printDeliveries(list ...notify.Delivery) error {
	rows := make([][]string, len(list))
	for i, d := range list {
		lastError := "-"
		if d.LastError != nil {
			lastError = *d.LastError
		}
		rows[i] = []string{strconv.FormatInt(d.ID, 10), d.Login, d.Channel, d.Address, d.Kind, d.Status, strconv.Itoa(d.Attempts),
			when(d.NextAttemptAt), when(d.SentAt), lastError}
	}
	return printTable(o.e.stdout, []string{"ID", "ACCOUNT", "CHANNEL", "ADDRESS", "KIND", "STATUS", "ATTEMPTS", "NEXT ATTEMPT", "SENT", "LAST ERROR"}, rows)
}

func (o *orgCmd) outboxCmd() *cobra.Command {
	var status, channel string
	var before int64
	var limit int
	cmd := &cobra.Command{
		Use:   "outbox [--status pending|sent|failed] [--channel email|sms]",
		Short: "List the county's e-mail and SMS with their delivery status, newest first",
		Example: `  countycloud notify outbox --status failed
  countycloud notify outbox --channel sms --status pending -o json`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			q := url.Values{"limit": {strconv.Itoa(limit)}}
			for k, v := range map[string]string{"status": status, "channel": channel} {
				if v != "" {
					q.Set(k, v)
				}
			}
			if before > 0 {
				q.Set("before", strconv.FormatInt(before, 10))
			}
			var page notify.OutboxPage
			return o.call(cmd, http.MethodGet, "/notifications/outbox", q, nil, &page, func() error {
				if err := o.printDeliveries(page.Deliveries...); err != nil {
					return err
				}
				if page.Next != 0 {
					_, err := fmt.Fprintln(o.e.stdout, strings.TrimPrefix(more(page.Next), "; "))
					return err
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&status, "status", "", "only pending, sent or failed ones")
	cmd.Flags().StringVar(&channel, "channel", "", "only email or sms")
	cmd.Flags().Int64Var(&before, "before", 0, "only ones older than this id (the next page)")
	cmd.Flags().IntVar(&limit, "limit", 50, "list at most this many (1 to 500)")
	return cmd
}

func (o *orgCmd) retryCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "retry ID",
		Short: "Send a failed e-mail or SMS again",
		Long: `Send a failed e-mail or SMS again, with its attempts renewed, to the account's
current address (correct a wrong number with 'org accounts update' first).`,
		Example: "  countycloud notify retry 57",
		Args:    exactArgs(1, "the id of the failed e-mail or SMS (see notify outbox --status failed)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := idArg(args)
			if err != nil {
				return err
			}
			var d notify.Delivery
			return o.call(cmd, http.MethodPost, "/notifications/outbox/"+id+"/retry", nil, nil, &d, func() error { return o.printDeliveries(d) })
		},
	}
}

func (o *orgCmd) testCmd() *cobra.Command {
	var in notify.TestNotice
	cmd := &cobra.Command{
		Use:   "test (--unit ID | --account ID...) --subject TEXT [--body TEXT] [--sms]",
		Short: "Send a test notice to every account of a unit and the units below it",
		Long: `Send a test notice to every active account of a unit and the units below it,
or to the accounts named: in the system-testing phase the IT office sends one
to every unit. With --sms it goes by SMS too, whatever the accounts'
preferences, and the answer lists who has no mobile number to reach.`,
		Example: `  countycloud notify test --unit 3 --subject 系统测试通知 --body "请回复“收到”。" --sms
  countycloud notify test --account 12 --account 13 --subject 测试`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var res notify.TestResult
			return o.call(cmd, http.MethodPost, "/notifications/test", nil, in, &res, func() error {
				fields := [][2]string{{"accounts", strconv.Itoa(res.Accounts)}, {"e-mail and SMS to send", strconv.Itoa(res.Deliveries)}}
				if len(res.WithoutMobile) > 0 {
					names := make([]string, len(res.WithoutMobile))
					for i, r := range res.WithoutMobile {
						names[i] = fmt.Sprintf("%s (%s, %d)", r.Name, r.Login, r.ID)
					}
					fields = append(fields, [2]string{"no mobile number", strings.Join(names, ", ")})
				}
				return printFields(o.e.stdout, fields)
			})
		},
	}
	cmd.Flags().Int64Var(&in.UnitID, "unit", 0, "the unit (its accounts and those of the units below it)")
	cmd.Flags().Int64SliceVar(&in.AccountIDs, "account", nil, "an account's id (repeatable), instead of --unit")
	cmd.Flags().StringVar(&in.Subject, "subject", "", "the subject, as people will read it")
	cmd.Flags().StringVar(&in.Body, "body", "", "the text")
	cmd.Flags().BoolVar(&in.SMS, "sms", false, "send it by SMS too, whatever the accounts' preferences")
	return cmd
}

func (o *orgCmd) gatewayCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sms-gateway",
		Short: "Show or set the county's SMS gateway",
		Long: `The county's SMS gateway: an HTTP endpoint speaking the platform's JSON
protocol (docs/notifications.md), usually a small adapter in front of the
county's SMS provider. Its token is never shown, only whether one is set.`,
	}
	printGateway := func(v notify.GatewayView) error {
		if !v.Configured {
			_, err := fmt.Fprintln(o.e.stdout, "no SMS gateway: SMS notifications fail until one is set")
			return err
		}
		return printFields(o.e.stdout, [][2]string{{"url", v.URL}, {"sign", v.Sign}, {"token set", strconv.FormatBool(v.TokenSet)}, {"updated", when(v.UpdatedAt)}})
	}
	show := &cobra.Command{
		Use:     "show",
		Short:   "Show the county's SMS gateway",
		Example: "  countycloud notify sms-gateway show --tenant gd.shaoguan.wengyuan",
		Args:    exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var v notify.GatewayView
			return o.call(cmd, http.MethodGet, "/notifications/sms-gateway", nil, nil, &v, func() error { return printGateway(v) })
		},
	}
	var in notify.GatewayInput
	var token, sign string
	set := &cobra.Command{
		Use:   "set --url URL [--gateway-token TOKEN] [--sign SIGN]",
		Short: "Set the county's SMS gateway",
		Long: `Set the county's SMS gateway. A token or sign left out stays as it is;
--gateway-token "" removes the token. (--token is the API token of this
command, as everywhere.)`,
		Example: `  countycloud notify sms-gateway set --url https://sms.wengyuan.gov.cn/send --gateway-token "$SMS_TOKEN" --sign 翁源县政务服务`,
		Args:    exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			changed(cmd, "gateway-token", token, &in.Token)
			changed(cmd, "sign", sign, &in.Sign)
			var v notify.GatewayView
			return o.call(cmd, http.MethodPut, "/notifications/sms-gateway", nil, in, &v, func() error { return printGateway(v) })
		},
	}
	set.Flags().StringVar(&in.URL, "url", "", "the gateway's http(s) URL")
	set.Flags().StringVar(&token, "gateway-token", "", "the gateway's bearer token")
	set.Flags().StringVar(&sign, "sign", "", "the SMS signature (签名) registered with the provider, without brackets")
	cmd.AddCommand(show, set)
	return cmd
}
