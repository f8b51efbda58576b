package main

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/countycloud/countycloud/billing"
)

type billingCmd struct {
	e    env
	opts clientOptions
}

func newBillingCmd(e env) *cobra.Command {
	b := &billingCmd{e: e}
	cmd := &cobra.Command{
		Use:   "billing",
		Short: "Keep the accounts that pay for counties and the catalogue of prices on Stripe",
		Long: `Billing (计费) on Stripe: the accounts that pay (a province's office for its
counties, or a county for itself), which account pays for each county, and the
catalogue of prices (each module's monthly price per county, and a monthly
price per active account), in CNY, shown in yuan. Every change reaches Stripe
through an outbox that background jobs send, so a Stripe outage delays billing
and loses nothing; 'billing outbox' shows what still waits. 'billing status'
and 'billing accounts get' show a county's or an account's subscriptions and
standing, and whether a county is read-only. 'billing invoices' and 'billing
portal' read from Stripe at once (docs/billing.md). All of it is the province's
operators'.`,
	}
	b.opts.register(cmd)
	cmd.AddCommand(b.accountsCmd(), b.statusCmd(), b.pricesCmd(), b.syncCmd(), b.outboxCmd(), b.invoicesCmd(), b.portalCmd())
	return cmd
}

func (b *billingCmd) invoicesCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "invoices ACCOUNT",
		Short:   "List an account's newest invoices from Stripe, with what is paid and what is due, in yuan",
		Example: "  countycloud billing invoices gd\n  countycloud billing invoices gd -o json",
		Args:    exactArgs(1, "the account's code: a province's or a county's"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var list []billing.Invoice
			return b.call(cmd, http.MethodGet, "/v1/billing/accounts/"+url.PathEscape(args[0])+"/invoices", nil, &list, func() error {
				rows := make([][]string, len(list))
				for i, in := range list {
					due := ""
					if in.Due != nil {
						due = in.Due.Format(time.DateOnly)
					}
					rows[i] = []string{in.Number, in.Status, in.Total.String(), in.Paid.String(), in.Remaining.String(), in.Created.Format(time.DateOnly), due}
				}
				return printTable(b.e.stdout, []string{"编号 NUMBER", "状态 STATUS", "金额（元）TOTAL", "已付 PAID", "待付 DUE", "开具 ISSUED", "到期 DUE BY"}, rows)
			})
		},
	}
}

func (b *billingCmd) portalCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "portal ACCOUNT",
		Short: "Open a short-lived link to Stripe's customer portal for the paying office",
		Long: `Print a link to Stripe's customer portal for an account: the paying office sees
its invoices and how it pays there, and returns to the platform's console. The
link is Stripe's and lasts a short while; ask again for a new one.`,
		Example: "  countycloud billing portal gd",
		Args:    exactArgs(1, "the account's code: a province's or a county's"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var link billing.PortalLink
			return b.call(cmd, http.MethodPost, "/v1/billing/accounts/"+url.PathEscape(args[0])+"/portal", nil, &link, func() error {
				return printFields(b.e.stdout, [][2]string{{"账户 account", link.Account}, {"客户门户 portal", link.URL}})
			})
		},
	}
}

// call sends a request and prints its answer as JSON (-o json) or with
// table.
func (b *billingCmd) call(cmd *cobra.Command, method, path string, body, out any, table func() error) error {
	return callPrinting(cmd, b.e, &b.opts, method, path, nil, body, out, table)
}

func (b *billingCmd) accountsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "accounts",
		Short: "List, open and change the accounts that pay, and move a county to another",
		Long: `An account (计费账户) is an office that pays: a province's, paying for its
counties, or a county's, paying for itself. Each is one Stripe customer,
invoiced as governments pay (send_invoice, due after its net terms), with the
codes of the counties it pays for in the customer's metadata.`,
	}
	cmd.AddCommand(b.accountsListCmd(), b.accountsGetCmd(), b.accountsCreateCmd(), b.accountsUpdateCmd(), b.accountsAssignCmd())
	return cmd
}

func (b *billingCmd) printAccount(a billing.Account) error {
	customer := "待创建 pending"
	if a.Customer != nil {
		customer = *a.Customer
	}
	return printFields(b.e.stdout, [][2]string{
		{"账户 account", a.Code}, {"类型 kind", kindName(a.Kind)}, {"名称 name", a.Name}, {"邮箱 e-mail", a.Email},
		{"付款期限 net terms", strconv.Itoa(a.NetTermsDays) + " 天 days"}, {"免税 tax exempt", a.TaxExempt},
		{"Stripe 客户 customer", customer}, {"付费的县 counties", fmt.Sprint(a.Counties)},
	})
}

func kindName(kind string) string {
	if kind == billing.KindProvince {
		return "省 province"
	}
	return "县 county"
}

func (b *billingCmd) accountsListCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Short:   "List every account with the counties it pays for",
		Example: "  countycloud billing accounts list\n  countycloud billing accounts list -o json",
		Args:    exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var list []billing.Account
			return b.call(cmd, http.MethodGet, "/v1/billing/accounts", nil, &list, func() error {
				rows := make([][]string, len(list))
				for i, a := range list {
					rows[i] = []string{a.Code, kindName(a.Kind), a.Name, strconv.Itoa(a.NetTermsDays), a.TaxExempt, strconv.Itoa(len(a.Counties)), strconv.FormatBool(a.Customer != nil)}
				}
				return printTable(b.e.stdout, []string{"账户 ACCOUNT", "类型 KIND", "名称 NAME", "付款天数 NET DAYS", "免税 TAX EXEMPT", "县数 COUNTIES", "已同步 SYNCED"}, rows)
			})
		},
	}
}

func (b *billingCmd) accountsGetCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "get CODE",
		Short: "Show an account, its standing and the subscriptions of the counties it pays for",
		Long: `Show an account (计费账户): its terms and Stripe customer, its standing (良好
good, or 逾期 past due since a day, its counties read-only from the end of the
grace) and, for each county it pays for, the subscription billing keeps: its
state, what Stripe last reported, the trial's end and the current period's.
A county not yet in trial operation has no subscription.`,
		Example: "  countycloud billing accounts get gd\n  countycloud billing accounts get gd -o json",
		Args:    exactArgs(1, "the account's code: a province's or a county's"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var a billing.AccountStatus
			return b.call(cmd, http.MethodGet, "/v1/billing/accounts/"+url.PathEscape(args[0]), nil, &a, func() error {
				if err := b.printAccount(a.Account); err != nil {
					return err
				}
				if err := printFields(b.e.stdout, standingFields(a.Standing)); err != nil {
					return err
				}
				rows := make([][]string, len(a.Counties))
				for i, county := range a.Counties {
					rows[i] = append([]string{county}, subscriptionCells(nil)...)
					if j := slices.IndexFunc(a.Subscriptions, func(s billing.CountySubscription) bool { return s.County == county }); j >= 0 {
						rows[i] = append([]string{county}, subscriptionCells(&a.Subscriptions[j])...)
					}
				}
				fmt.Fprintln(b.e.stdout)
				return printTable(b.e.stdout, []string{"县 COUNTY", "订阅 SUBSCRIPTION", "Stripe 状态 STATUS", "试用至 TRIAL END", "本期至 PERIOD END", "计费模块 ITEMS"}, rows)
			})
		},
	}
}

// subscriptionCells are sub's state, Stripe's status, the trial's end,
// the current period's end and its items, "-" where there is none.
func subscriptionCells(sub *billing.CountySubscription) []string {
	if sub == nil {
		return []string{"无 none", "-", "-", "-", "-"}
	}
	periodEnd := "-"
	if sub.CurrentPeriodEnd != nil {
		periodEnd = sub.CurrentPeriodEnd.Local().Format(time.DateOnly)
	}
	return []string{subscriptionStateName(sub.State), optional(sub.StripeStatus), sub.TrialEnd, periodEnd, optional(strings.Join(sub.Items, ", "))}
}

func subscriptionStateName(state string) string {
	switch state {
	case billing.StateTrialing:
		return "试用 trialing"
	case billing.StateActive:
		return "付费 active"
	case billing.StateEnded:
		return "已结束 ended"
	}
	return state
}

// standingFields show an account's standing: good, or past due since a
// day, its counties read-only from the end of the grace.
func standingFields(s billing.Standing) [][2]string {
	if s.Standing != billing.StandingPastDue || s.PastDueSince == nil || s.HoldFrom == nil {
		return [][2]string{{"付款状况 standing", "良好 good"}}
	}
	fields := [][2]string{{"付款状况 standing", "逾期 past due，自 since " + s.PastDueSince.Local().Format(time.DateOnly)}}
	if s.Invoice != nil {
		fields = append(fields, [2]string{"逾期发票 invoice", *s.Invoice})
	}
	return append(fields, [2]string{"宽限至 grace until", s.HoldFrom.Local().Format(time.DateTime)})
}

// accountFlags declares the flags an account's terms are set with.
func accountFlags(cmd *cobra.Command, name, email, taxExempt *string, netTerms *int) {
	cmd.Flags().StringVar(name, "name", "", "the paying office's name as invoices show it, such as 广东省政务服务数据管理局")
	cmd.Flags().StringVar(email, "email", "", "where Stripe sends the invoices, such as billing@gd.gov.cn")
	cmd.Flags().IntVar(netTerms, "net-terms-days", billing.DefaultNetTermsDays, "days an invoice is due after it is sent (0 to 365)")
	cmd.Flags().StringVar(taxExempt, "tax-exempt", billing.DefaultTaxExempt, "the customer's tax status at Stripe: none, exempt or reverse")
}

func (b *billingCmd) accountsCreateCmd() *cobra.Command {
	var in billing.AccountInput
	var taxExempt string
	var netTerms int
	cmd := &cobra.Command{
		Use:   "create --code CODE --name NAME [--email E-MAIL] [--net-terms-days N] [--tax-exempt none|exempt|reverse]",
		Short: "Open the account of a province or of a county (its Stripe customer is made by the outbox)",
		Example: `  countycloud billing accounts create --code gd --name 广东省政务服务数据管理局 --email billing@gd.gov.cn --net-terms-days 45
  countycloud billing accounts create --code gd.shaoguan.lechang --name 乐昌市财政局`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("code") || !cmd.Flags().Changed("name") {
				return usageError("give both --code and --name; see '%s --help'", cmd.CommandPath())
			}
			in.NetTermsDays, in.TaxExempt = &netTerms, &taxExempt
			var a billing.Account
			return b.call(cmd, http.MethodPost, "/v1/billing/accounts", in, &a, func() error { return b.printAccount(a) })
		},
	}
	cmd.Flags().StringVar(&in.Code, "code", "", "the code of the province or county that pays, such as gd or gd.shaoguan.lechang (required)")
	accountFlags(cmd, &in.Name, &in.Email, &taxExempt, &netTerms)
	return cmd
}

func (b *billingCmd) accountsUpdateCmd() *cobra.Command {
	var name, email, taxExempt string
	var netTerms int
	cmd := &cobra.Command{
		Use:     "update CODE [--name NAME] [--email E-MAIL] [--net-terms-days N] [--tax-exempt none|exempt|reverse]",
		Short:   "Change an account's name, e-mail, net terms or tax status (Stripe's customer follows)",
		Example: "  countycloud billing accounts update gd --net-terms-days 60 --tax-exempt exempt",
		Args:    exactArgs(1, "the account's code"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var p billing.AccountPatch
			changed := cmd.Flags().Changed
			if changed("name") {
				p.Name = &name
			}
			if changed("email") {
				p.Email = &email
			}
			if changed("tax-exempt") {
				p.TaxExempt = &taxExempt
			}
			if cmd.Flags().Changed("net-terms-days") {
				p.NetTermsDays = &netTerms
			}
			if p == (billing.AccountPatch{}) {
				return usageError("nothing to change: give --name, --email, --net-terms-days or --tax-exempt")
			}
			var a billing.Account
			return b.call(cmd, http.MethodPatch, "/v1/billing/accounts/"+args[0], p, &a, func() error { return b.printAccount(a) })
		},
	}
	accountFlags(cmd, &name, &email, &taxExempt, &netTerms)
	return cmd
}

func (b *billingCmd) printCounty(s billing.CountyBilling) error {
	return printFields(b.e.stdout, countyFields(s))
}

// countyFields show who pays for a county, on what terms.
func countyFields(s billing.CountyBilling) [][2]string {
	return [][2]string{
		{"县 county", s.County}, {"付费账户 account", s.Account + " (" + kindName(s.AccountKind) + ")"}, {"名称 name", s.AccountName},
		{"付款期限 net terms", strconv.Itoa(s.NetTermsDays) + " 天 days"}, {"免税 tax exempt", s.TaxExempt},
		{"Stripe 客户已建 customer ready", strconv.FormatBool(s.CustomerReady)},
	}
}

func (b *billingCmd) accountsAssignCmd() *cobra.Command {
	var account string
	cmd := &cobra.Command{
		Use:   "assign COUNTY --account CODE",
		Short: "Make an account pay for a county: the county's own or its province's",
		Example: `  countycloud billing accounts assign gd.shaoguan.wengyuan --account gd
  countycloud billing accounts assign gd.shaoguan.lechang --account gd.shaoguan.lechang`,
		Args: exactArgs(1, "the county's code"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if account == "" {
				return usageError("--account is required: the account that is to pay for %s", args[0])
			}
			var s billing.CountyBilling
			return b.call(cmd, http.MethodPut, "/v1/tenants/"+url.PathEscape(args[0])+"/billing", billing.AssignInput{Account: account}, &s, func() error { return b.printCounty(s) })
		},
	}
	cmd.Flags().StringVar(&account, "account", "", "the paying account's code: the county's own or its province's, such as gd (required)")
	return cmd
}

func (b *billingCmd) statusCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "status COUNTY",
		Short: "Show a county's billing in one place: who pays, its subscription, the account's standing, whether it is read-only",
		Long: `Show a county's billing (计费状态), for the province's operators: the account that
pays for it and its terms; the county's subscription as billing keeps it (its
state: 试用 trialing until formal operation, 付费 active, 已结束 ended; what
Stripe last reported; the trial's end, the current period's end and the
modules billed), or 无 none before trial operation; the paying account's
standing (良好 good, or 逾期 past due since a day, with the end of the grace);
and whether the county is held read-only (writes refused with
billing_suspended), since when and why.`,
		Example: "  countycloud billing status gd.shaoguan.wengyuan\n  countycloud billing status gd.shaoguan.wengyuan -o json",
		Args:    exactArgs(1, "the county's code"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var s billing.CountyStatus
			return b.call(cmd, http.MethodGet, "/v1/tenants/"+url.PathEscape(args[0])+"/billing", nil, &s, func() error {
				sub := subscriptionCells(s.Subscription)
				held := "否 no"
				if s.HeldSince != nil {
					held = "是 yes，自 since " + s.HeldSince.Local().Format(time.DateTime) + "（写入被拒 writes refused: billing_suspended）"
				}
				fields := append(countyFields(s.CountyBilling),
					[2]string{"订阅 subscription", sub[0]}, [2]string{"Stripe 状态 status", sub[1]}, [2]string{"试用至 trial end", sub[2]},
					[2]string{"本期至 period end", sub[3]}, [2]string{"计费模块 items", sub[4]})
				fields = append(fields, standingFields(s.Standing)...)
				fields = append(fields, [2]string{"只读 read-only", held}, [2]string{"原因 reason", s.HoldReason})
				return printFields(b.e.stdout, fields)
			})
		},
	}
}

func (b *billingCmd) pricesCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "prices",
		Short:   "List the catalogue as last synced to Stripe, in yuan a month",
		Example: "  countycloud billing prices -o json",
		Args:    exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var list []billing.SyncedPrice
			return b.call(cmd, http.MethodGet, "/v1/billing/prices", nil, &list, func() error {
				rows := make([][]string, len(list))
				for i, p := range list {
					rows[i] = []string{p.ProductName, p.LookupKey, p.Monthly.String(), strconv.Itoa(p.Revision), optional(p.StripePrice)}
				}
				return printTable(b.e.stdout, []string{"名称 NAME", "查找键 LOOKUP KEY", "月价（元）YUAN/MONTH", "版本 REVISION", "STRIPE PRICE"}, rows)
			})
		},
	}
}

func (b *billingCmd) syncCmd() *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "sync [--file CATALOGUE.json]",
		Short: "Bring Stripe's products and prices to the catalogue; running it again changes nothing",
		Long: `Sync the catalogue to Stripe: a new entry makes its product and price, a changed
amount makes a new price that takes the lookup key over (Stripe's prices never
change), a changed name renames the product, and an entry as last synced sends
nothing. Without --file, the catalogue countycloud ships with. A catalogue is
JSON, amounts in yuan as strings:
  {"seat_monthly_yuan": "5.00",
   "modules": [{"module": "oa", "name": "协同办公", "monthly_yuan": "3000.00"}]}`,
		Example: "  countycloud billing sync\n  countycloud billing sync --file catalogue.json -o json",
		Args:    exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var body any
			if file != "" {
				f, err := os.Open(file)
				if err != nil {
					return usageError("--file: %v", err)
				}
				defer f.Close()
				c, err := billing.ParseCatalogue(f)
				if err != nil {
					return err
				}
				body = c
			}
			var res billing.SyncResult
			return b.call(cmd, http.MethodPost, "/v1/billing/sync", body, &res, func() error {
				var rows [][]string
				for _, group := range []struct {
					what    string
					entries []billing.CatalogueEntry
				}{{"新建 created", res.Created}, {"调价 repriced", res.Repriced}, {"改名 renamed", res.Renamed}, {"不变 unchanged", res.Unchanged}} {
					for _, e := range group.entries {
						rows = append(rows, []string{e.ProductName, e.LookupKey, e.Monthly.String(), group.what})
					}
				}
				return printTable(b.e.stdout, []string{"名称 NAME", "查找键 LOOKUP KEY", "月价（元）YUAN/MONTH", "变化 CHANGE"}, rows)
			})
		},
	}
	cmd.Flags().StringVar(&file, "file", "", "the catalogue to sync, a JSON file (default: the one countycloud ships with)")
	return cmd
}

func (b *billingCmd) outboxCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "outbox",
		Short:   "List the calls to Stripe still waiting to be sent, oldest first",
		Example: "  countycloud billing outbox -o json",
		Args:    exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var rows []billing.OutboxRow
			return b.call(cmd, http.MethodGet, "/v1/billing/outbox", nil, &rows, func() error {
				table := make([][]string, len(rows))
				for i, r := range rows {
					lastError := ""
					if r.LastError != nil {
						lastError = *r.LastError
					}
					table[i] = []string{strconv.FormatInt(r.ID, 10), r.Operation, r.Subject, strconv.Itoa(r.Attempts), lastError}
				}
				return printTable(b.e.stdout, []string{"ID", "调用 CALL", "对象 SUBJECT", "尝试 ATTEMPTS", "上次错误 LAST ERROR"}, table)
			})
		},
	}
}
