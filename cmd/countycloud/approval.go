package main

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
)

// approvalMaxBody is the platform's bound on a request's body, and
// approvalEnvelope what an import's body holds besides the workbook.
const (
	approvalMaxBody  = 1 << 20
	approvalEnvelope = 64
)

// approvalItems is the path of the approval module's catalogue in a
// county.
const approvalItems = "/modules/approval/items"

func newApprovalCmd(e env) *cobra.Command {
	o := &orgCmd{e: e}
	cmd := &cobra.Command{
		Use:   "approval",
		Short: "Online administrative approval (网上行政审批): the county's catalogue of items",
		Long: `Work with a county's approval module (--tenant or COUNTYCLOUD_TENANT; the
county must have enabled it: countycloud plugin enable approval). The catalogue
of approval items (事项目录) travels as an XLSX workbook with Chinese headers:
download the template, fill it in or export the catalogue, and import it back.
See docs/approval.md.`,
	}
	o.opts.register(cmd)
	o.countyFlag(cmd.PersistentFlags())
	items := &cobra.Command{Use: "items", Short: "The catalogue of approval items (事项目录): list, template, export, import"}
	items.AddCommand(o.approvalListCmd(), o.approvalTemplateCmd(), o.approvalExportCmd(), o.approvalImportCmd())
	applications := &cobra.Command{Use: "applications", Short: "Applications (办件): list"}
	applications.AddCommand(o.approvalApplicationsListCmd())
	cmd.AddCommand(items, applications, o.approvalReportCmd())
	return cmd
}

// approvalItem is what the CLI shows of an item.
type approvalItem struct {
	Code        string `json:"code"`
	Name        string `json:"name"`
	Category    string `json:"category"`
	UnitID      int64  `json:"unit_id"`
	Departments []struct {
		UnitID int64 `json:"unit_id"`
		Days   int   `json:"days"`
	} `json:"departments"`
	PromisedDays  int   `json:"promised_days"`
	StatutoryDays int   `json:"statutory_days"`
	Complete      bool  `json:"complete"`
	Version       int64 `json:"version"`
}

func (o *orgCmd) approvalListCmd() *cobra.Command {
	var (
		unit     int64
		category string
		complete string
	)
	cmd := &cobra.Command{
		Use:   "list [--unit ID] [--category 行政许可|非行政许可|公共服务] [--complete true|false]",
		Short: "List the catalogue's items, all pages, in the order of their codes",
		Example: `  countycloud approval items list --tenant jx.yichun.yuanzhou --unit 20
  countycloud approval items list --complete false -o json`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, base, err := o.client()
			if err != nil {
				return err
			}
			q := url.Values{"limit": {"100"}}
			if cmd.Flags().Changed("unit") {
				q.Set("unit_id", strconv.FormatInt(unit, 10))
			}
			if category != "" {
				q.Set("category", category)
			}
			if complete != "" {
				q.Set("complete", complete)
			}
			all, err := modulePages[approvalItem](cmd.Context(), c, base+approvalItems, q, "items")
			if err != nil {
				return err
			}
			if o.opts.output == "json" {
				return printJSON(o.e.stdout, all)
			}
			rows := make([][]string, len(all))
			for i, it := range all {
				deps := make([]string, len(it.Departments))
				for j, d := range it.Departments {
					deps[j] = fmt.Sprintf("%d:%d", d.UnitID, d.Days)
				}
				done := "否"
				if it.Complete {
					done = "是"
				}
				rows[i] = []string{it.Code, it.Name, it.Category, strings.Join(deps, ","), strconv.Itoa(it.PromisedDays), strconv.Itoa(it.StatutoryDays), done}
			}
			return printTable(o.e.stdout, []string{"编码 CODE", "名称 NAME", "类别 CATEGORY", "部门:时限 UNITS:DAYS", "承诺 PROMISED", "法定 STATUTORY", "齐全 COMPLETE"}, rows)
		},
	}
	cmd.Flags().Int64Var(&unit, "unit", 0, "the lead department's unit id")
	cmd.Flags().StringVar(&category, "category", "", "行政许可, 非行政许可 or 公共服务")
	cmd.Flags().StringVar(&complete, "complete", "", "true: items with every required field; false: the others")
	return cmd
}

// approvalDownload fetches a workbook of the catalogue into out.
func (o *orgCmd) approvalDownload(cmd *cobra.Command, path, out string) error {
	c, base, err := o.client()
	if err != nil {
		return err
	}
	data, err := c.send(cmd.Context(), http.MethodGet, base+approvalItems+path, nil, "", nil)
	if err != nil {
		return err
	}
	if err := os.WriteFile(out, data, 0o644); err != nil {
		return err
	}
	if o.opts.output == "json" {
		return printJSON(o.e.stdout, map[string]any{"file": filepath.Clean(out), "bytes": len(data)})
	}
	_, err = fmt.Fprintf(o.e.stdout, "Wrote %s (%d bytes).\n", filepath.Clean(out), len(data))
	return err
}

func (o *orgCmd) approvalTemplateCmd() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:     "template [--out FILE]",
		Short:   "Download the catalogue's workbook to fill in, with its instructions (填写说明)",
		Example: "  countycloud approval items template --tenant jx.yichun.yuanzhou --out 事项目录模板.xlsx",
		Args:    exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.approvalDownload(cmd, "/template", out)
		},
	}
	cmd.Flags().StringVar(&out, "out", "approval-items-template.xlsx", "file to write")
	return cmd
}

func (o *orgCmd) approvalExportCmd() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:     "export [--out FILE]",
		Short:   "Download the whole catalogue as a workbook the import takes back",
		Example: "  countycloud approval items export --tenant jx.yichun.yuanzhou --out 事项目录.xlsx",
		Args:    exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				out = "approval-items-" + time.Now().Format("20060102") + ".xlsx"
			}
			return o.approvalDownload(cmd, "/export", out)
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "file to write (default approval-items-YYYYMMDD.xlsx)")
	return cmd
}

// approvalReport is the module's report of an import.
type approvalReport struct {
	DryRun    bool               `json:"dry_run"`
	Rows      int                `json:"rows"`
	Created   int                `json:"created"`
	Updated   int                `json:"updated"`
	Unchanged int                `json:"unchanged"`
	Errors    []approvalRowError `json:"errors"`
}

type approvalRowError struct {
	Row     int    `json:"row"`
	Column  string `json:"column"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (o *orgCmd) approvalImportCmd() *cobra.Command {
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "import FILE.xlsx [--dry-run]",
		Short: "Import a catalogue workbook: checked whole, then items created or updated in place by code",
		Long: `Import the catalogue's workbook (see 'countycloud approval items template'):
the whole file is checked before anything is written. A file with missing
columns or repeated codes is refused; rows with errors are listed (row,
column, problem) and nothing is imported. An item whose code the catalogue
has is updated in place; items the file leaves out stay. --dry-run says what
would be created, updated and left unchanged, with every row's problems, and
changes nothing. The workbook travels in the request's body, base64-encoded:
up to about 750 KB (the platform's 1 MiB body).`,
		Example: `  countycloud approval items import --tenant jx.yichun.yuanzhou 事项目录.xlsx --dry-run
  countycloud approval items import --tenant jx.yichun.yuanzhou 事项目录.xlsx -o json`,
		Args: exactArgs(1, "one file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			file, err := os.ReadFile(args[0])
			if err != nil {
				return usageError("%v", err)
			}
			// The platform refuses a body over 1 MiB: say so before
			// sending one.
			if base64.StdEncoding.EncodedLen(len(file))+approvalEnvelope > approvalMaxBody {
				return usageError("%s is %d KB; one import takes a workbook of up to about %d KB (the platform's 1 MiB body, in base64): split it, by department", args[0], len(file)>>10, (approvalMaxBody-approvalEnvelope)*3/4>>10)
			}
			c, base, err := o.client()
			if err != nil {
				return err
			}
			stop := ticking(o.e.stderr, fmt.Sprintf("importing %s (%d KB)", filepath.Base(args[0]), len(file)>>10))
			var report approvalReport
			err = c.do(cmd.Context(), http.MethodPost, base+approvalItems+"/import", nil, map[string]any{"workbook": file, "dry_run": dryRun}, &report)
			stop()
			var ae *apiError
			if errors.As(err, &ae) && o.opts.output != "json" {
				var problems []approvalRowError
				if json.Unmarshal(ae.Details, &problems) == nil && len(problems) > 0 {
					_ = o.printApprovalErrors(problems)
				}
			}
			if err != nil {
				return err
			}
			if o.opts.output == "json" {
				return printJSON(o.e.stdout, report)
			}
			if len(report.Errors) > 0 {
				if err := o.printApprovalErrors(report.Errors); err != nil {
					return err
				}
			}
			verb := "Imported"
			if report.DryRun {
				verb = "Dry run: would import"
			}
			if _, err := fmt.Fprintf(o.e.stdout, "%s %d items: %d created, %d updated, %d unchanged.\n", verb, report.Rows-rowsOf(report.Errors),
				report.Created, report.Updated, report.Unchanged); err != nil {
				return err
			}
			if len(report.Errors) > 0 {
				return &exitError{code: exitFailed, err: fmt.Errorf("%d rows have problems; importing the file would be refused", rowsOf(report.Errors))}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "check the file and say what would change; change nothing")
	return cmd
}

// rowsOf counts the rows problems name.
func rowsOf(problems []approvalRowError) int {
	rows := map[int]bool{}
	for _, p := range problems {
		rows[p.Row] = true
	}
	return len(rows)
}

func (o *orgCmd) printApprovalErrors(problems []approvalRowError) error {
	rows := make([][]string, len(problems))
	for i, p := range problems {
		rows[i] = []string{strconv.Itoa(p.Row), optional(p.Column), p.Code, p.Message}
	}
	return printTable(o.e.stdout, []string{"行 ROW", "列 COLUMN", "问题 PROBLEM", "说明 MESSAGE"}, rows)
}

// ticking shows label on a terminal with the time since it began, every
// half second, until stop is called: an import is one request, checked
// and written by the server, whose only progress to show is its time.
func ticking(w io.Writer, label string) (stop func()) {
	bar := newProgressBar(w, label)
	if bar == nil {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			fmt.Fprintf(bar.w, "\r%s … %s\033[K", label, time.Since(bar.start).Round(time.Second))
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
		bar.finish()
	}
}
