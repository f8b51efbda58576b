package rollout

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/audit"
	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/measure"
	"github.com/countycloud/countycloud/core/store"
)

// Codes of the errors of usage reports.
const (
	CodeReportNotFound   = "rollout_report_not_found"
	CodeInvalidPeriod    = "rollout_invalid_period"
	CodePeriodNotEnded   = "rollout_period_not_ended"
	CodeInvalidTargets   = "rollout_invalid_targets"
	CodeInvalidReportReq = "rollout_invalid_report_query"
	CodeReportTampered   = "rollout_report_tampered"
	CodeNoKeyUnits       = "rollout_no_key_units"
)

// Kinds of usage report.
const (
	// KindHalfMonth is a county's half-monthly usage report (使用情况报告),
	// a row per unit, for the 1st to the 15th or the 16th to the month's
	// end.
	KindHalfMonth = "half_month"
	// KindEndOfTrial is a key unit's usage report at the end of trial
	// operation (用户使用报告).
	KindEndOfTrial = "end_of_trial"
)

// The measures the reports read that are not the platform's own
// (measure.Logins and the others): the modules' (plugins/oa,
// plugins/approval, plugins/disclosure, plugins/vod).
const (
	measureDocsSent       = "oa.documents.sent"
	measureDocsReceived   = "oa.documents.received"
	measureDocsPaper      = "oa.documents.paper"
	measureNoticesRead    = "oa.notices.read"
	measureDecided        = "approval.applications.decided"
	measureDecidedOnline  = "approval.applications.decided_online"
	measureDecidedOnTime  = "approval.applications.decided_on_time"
	measureOverdue        = "approval.applications.overdue"
	measureVideoViews     = "vod.videos.played"
	measureDisclosure     = "disclosure.index.percent"
	measureDisclosureWide = "disclosure.index.county_percent"
)

// figureSpec is a figure of the reports: measures added up, or a rate of
// two other figures.
type figureSpec struct {
	id       string
	label    Label
	quantity string
	// measures are added up, per unit; a county without any of them
	// (its module not enabled) has the figure absent.
	measures []string
	// countyMeasure, when set, is the county's figure in the total row
	// instead of its units' added up (an index is not a sum).
	countyMeasure string
	// of and over make a rate: of / over × 100, at most 100; inverse
	// makes it 100 less that.
	of, over string
	inverse  bool
	// level: a figure standing at a time (an index), which a unit never
	// recorded has none of; a count a unit has none of is 0.
	level bool
	// halfMonths: the figure is read by half-month (measure.Read), not
	// added up by day: each account counts once a period
	// (measure.ActiveAccounts), so a sum of days would count it again
	// every day it was active.
	halfMonths bool
	// targetable: the province may set a target for it.
	targetable bool
}

func (f figureSpec) rate() bool { return f.of != "" }

// reportFigures are the reports' figures, in their order (the order of
// the columns). A rate comes after the figures it is of.
var reportFigures = []figureSpec{
	{id: "docs_sent", label: Label{ZH: "发文数", EN: "Documents sent"}, quantity: "件", measures: []string{measureDocsSent}},
	{id: "docs_received", label: Label{ZH: "收文数", EN: "Documents received"}, quantity: "件", measures: []string{measureDocsReceived}},
	{id: "docs_online", label: Label{ZH: "网上办文数", EN: "Documents handled online"}, quantity: "件", measures: []string{measureDocsSent, measureDocsReceived}},
	{id: "docs_paper", label: Label{ZH: "纸质发文数", EN: "Documents also sent on paper"}, quantity: "件", measures: []string{measureDocsPaper}},
	{id: "dual_track_share", label: Label{ZH: "双轨运行占比（%）", EN: "Dual-track share (%)"}, quantity: "%", of: "docs_paper", over: "docs_sent"},
	{id: "docs_online_rate", label: Label{ZH: "网上发文率（%）", EN: "Documents online (%)"}, quantity: "%", of: "docs_paper", over: "docs_sent", inverse: true, targetable: true},
	{id: "approvals_decided", label: Label{ZH: "审批办结数", EN: "Applications decided"}, quantity: "件", measures: []string{measureDecided}},
	{id: "approvals_online", label: Label{ZH: "网上办结数", EN: "Decided online"}, quantity: "件", measures: []string{measureDecidedOnline}},
	{id: "approvals_online_rate", label: Label{ZH: "网上办理率（%）", EN: "Handled online (%)"}, quantity: "%", of: "approvals_online", over: "approvals_decided", targetable: true},
	{id: "approvals_on_time", label: Label{ZH: "按时办结数", EN: "Decided on time"}, quantity: "件", measures: []string{measureDecidedOnTime}},
	{id: "approvals_on_time_rate", label: Label{ZH: "按时办结率（%）", EN: "Decided on time (%)"}, quantity: "%", of: "approvals_on_time", over: "approvals_decided", targetable: true},
	{id: "approvals_overdue", label: Label{ZH: "超期办结数", EN: "Applications decided late"}, quantity: "件", measures: []string{measureOverdue}},
	{id: "tasks_late", label: Label{ZH: "超时办理任务数", EN: "Tasks finished late"}, quantity: "项", measures: []string{measure.TasksLate}},
	{id: "logins", label: Label{ZH: "登录次数", EN: "Logins"}, quantity: "次", measures: []string{measure.Logins}},
	{id: "active_accounts", label: Label{ZH: "活跃账号数", EN: "Active accounts"}, quantity: "个", measures: []string{measure.ActiveAccounts}, halfMonths: true},
	{id: "video_views", label: Label{ZH: "视频点播次数", EN: "Video views"}, quantity: "次", measures: []string{measureVideoViews}},
	{id: "notices_read", label: Label{ZH: "通知阅读数", EN: "Notices read"}, quantity: "次", measures: []string{measureNoticesRead}},
	{id: "disclosure_index", label: Label{ZH: "公开指数（%）", EN: "Disclosure index (%)"}, quantity: "%", measures: []string{measureDisclosure}, countyMeasure: measureDisclosureWide, level: true, targetable: true},
}

// FigureColumn is a figure of a report, as its document describes it.
type FigureColumn struct {
	ID       string `json:"id"`
	Label    Label  `json:"label"`
	Quantity string `json:"quantity"`
	// Measures are the measures it is read from (a rate: none).
	Measures []string `json:"measures,omitempty"`
	// Absent: the county has none of its measures (the module is not
	// enabled): the figure is not there, which is not 0.
	Absent bool `json:"absent,omitempty"`
	// Target is the province's target when the report was generated:
	// the figure is to reach it.
	Target *float64 `json:"target,omitempty"`
}

// ReportRow is a unit's figures, or the county's (Unit.ID 0, 全县).
type ReportRow struct {
	Unit Unit `json:"unit"`
	// Figures are by the column's id; a figure absent, or a rate of
	// nothing (no document sent), has none.
	Figures map[string]float64 `json:"figures"`
	// Met says, for each figure with a target, whether it reached it.
	Met map[string]bool `json:"met,omitempty"`
}

// ReportDocument is a generated report as archived: its canonical JSON
// is the bytes kept, and digested, once.
type ReportDocument struct {
	Format      int            `json:"format"`
	Title       string         `json:"title"`
	County      string         `json:"county"`
	CountyName  string         `json:"county_name"`
	Kind        string         `json:"kind"`
	From        string         `json:"from"`
	To          string         `json:"to"`
	Unit        *Unit          `json:"unit,omitempty"`
	GeneratedAt time.Time      `json:"generated_at"`
	Columns     []FigureColumn `json:"columns"`
	Rows        []ReportRow    `json:"rows"`
	Total       ReportRow      `json:"total"`
}

// documentFormat is the version of ReportDocument's layout.
const documentFormat = 1

// Report is an archived report: what it is of, and its document's
// digest.
type Report struct {
	ID     int64  `json:"id" db:"id"`
	County string `json:"county" db:"county"`
	Kind   string `json:"kind" db:"kind"`
	From   string `json:"from" db:"period_from"`
	To     string `json:"to" db:"period_to"`
	// UnitID is the key unit of an end-of-trial report; 0 for a county's
	// half-monthly one.
	UnitID      int64     `json:"unit_id" db:"unit_id"`
	UnitCode    string    `json:"unit_code,omitempty" db:"unit_code"`
	SHA256      string    `json:"sha256" db:"sha256"`
	Size        int64     `json:"size" db:"size"`
	GeneratedBy string    `json:"generated_by" db:"generated_by"`
	GeneratedAt time.Time `json:"generated_at" db:"generated_at"`
}

// UsageFigures reads a county's measures for the reports
// (measure.Service).
type UsageFigures interface {
	Figures
	Read(ctx context.Context, county string, q measure.Query) (measure.Report, error)
}

// ReportService generates, archives and lists the counties' usage
// reports, and keeps the province's targets.
type ReportService struct {
	control *sqlx.DB
	plans   *Service
	figures UsageFigures
	queue   Queue
	now     func() time.Time
}

// NewReports returns the usage reports of the counties in control's
// registry; queue takes the jobs that generate them.
func NewReports(control *sqlx.DB, reg Registry, units Directory, figures UsageFigures, queue Queue, now func() time.Time) *ReportService {
	return &ReportService{control: control, plans: New(control, reg, units, figures, now, Options{}), figures: figures, queue: queue, now: now}
}

// china is the time zone of the reports' days.
var china = time.FixedZone("CST", 8*60*60)

// ParsePeriod reads a half-month by its first day (2026-11-16: the 16th
// to the 30th; 2026-11-01: the 1st to the 15th) and returns its first and
// last days.
func ParsePeriod(day string) (from, to string, err error) {
	d, err := time.Parse(time.DateOnly, day)
	if err != nil || d.Format(time.DateOnly) != day || d.Year() < 2000 || d.Year() > 2100 {
		return "", "", errs.Invalid(CodeInvalidPeriod, "period %q: a half-month's first day, such as 2026-11-01 or 2026-11-16", day)
	}
	switch d.Day() {
	case 1:
		return day, d.AddDate(0, 0, 14).Format(time.DateOnly), nil
	case 16:
		return day, time.Date(d.Year(), d.Month()+1, 0, 0, 0, 0, 0, time.UTC).Format(time.DateOnly), nil
	}
	return "", "", errs.Invalid(CodeInvalidPeriod, "period %s: half-months start on the 1st and the 16th", day)
}

// halfMonthStart is the first day of the half-month d is in.
func halfMonthStart(d time.Time) time.Time {
	if d.Day() <= 15 {
		return time.Date(d.Year(), d.Month(), 1, 0, 0, 0, 0, time.UTC)
	}
	return time.Date(d.Year(), d.Month(), 16, 0, 0, 0, 0, time.UTC)
}

// LastHalfMonth is the first day of the last half-month that ended
// before now, in China.
func LastHalfMonth(now time.Time) string {
	today, _ := time.Parse(time.DateOnly, measure.Day(now))
	return halfMonthStart(halfMonthStart(today).AddDate(0, 0, -1)).Format(time.DateOnly)
}

// ended refuses a period whose last day is not over yet in China: its
// figures are still moving, and a report is archived once.
func (s *ReportService) ended(to string) error {
	if today := measure.Day(s.now()); to >= today {
		return errs.Conflict(CodePeriodNotEnded, "the period ends on %s, and today is %s in China: a report is generated once its period is over", to, today)
	}
	return nil
}

// GenerateHalfMonth returns county's half-monthly report of the
// half-month starting on period, generating and archiving it the first
// time. The county must be in rollout (have a plan).
func (s *ReportService) GenerateHalfMonth(ctx context.Context, county, period string) (Report, error) {
	from, to, err := ParsePeriod(period)
	if err != nil {
		return Report{}, err
	}
	if err := s.ended(to); err != nil {
		return Report{}, err
	}
	if r, err := s.archived(ctx, county, KindHalfMonth, from, to, 0); err == nil || !errors.Is(err, sql.ErrNoRows) {
		return r, err
	}
	if _, err := s.plans.Plan(ctx, county); err != nil {
		return Report{}, err
	}
	sh, err := s.sheet(ctx, county, from, to)
	if err != nil {
		return Report{}, err
	}
	return s.archive(ctx, sh.document(KindHalfMonth, nil))
}

// EndOfTrial returns the end-of-trial usage report (用户使用报告) of each
// key unit of county's plan (of every module, each unit once, in the
// county's order of units) over the days from to to (both included, in
// China), generating and archiving each the first time. The period must
// be over.
func (s *ReportService) EndOfTrial(ctx context.Context, county, from, to string) ([]Report, error) {
	f, errFrom := time.Parse(time.DateOnly, from)
	t, errTo := time.Parse(time.DateOnly, to)
	if errFrom != nil || errTo != nil || f.After(t) || f.Format(time.DateOnly) != from || t.Format(time.DateOnly) != to || t.Sub(f) > 366*24*time.Hour {
		return nil, errs.Invalid(CodeInvalidPeriod, "from %q to %q: two days such as 2026-11-13 and 2026-12-12, in order, at most a year apart", from, to)
	}
	if err := s.ended(to); err != nil {
		return nil, err
	}
	plan, err := s.plans.Plan(ctx, county)
	if err != nil {
		return nil, err
	}
	var codes []string
	for _, us := range plan.KeyUnits {
		codes = append(codes, us...)
	}
	units, err := s.plans.units.Units(ctx, county)
	if err != nil {
		return nil, err
	}
	var keys []Unit
	for _, u := range units {
		if slices.Contains(codes, u.Code) {
			keys = append(keys, u)
		}
	}
	if len(keys) == 0 {
		return nil, errs.Invalid(CodeNoKeyUnits, "the plan of %s names no key unit the county has", county)
	}
	out := make([]Report, 0, len(keys))
	var sh *sheet
	for _, u := range keys {
		r, err := s.archived(ctx, county, KindEndOfTrial, from, to, u.ID)
		if err == nil {
			out = append(out, r)
			continue
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return nil, err
		}
		if sh == nil {
			if sh, err = s.sheet(ctx, county, from, to); err != nil {
				return nil, err
			}
		}
		if r, err = s.archive(ctx, sh.document(KindEndOfTrial, &u)); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

const reportColumns = `id, county, kind, DATE_FORMAT(period_from, '%Y-%m-%d') AS period_from, DATE_FORMAT(period_to, '%Y-%m-%d') AS period_to,
unit_id, unit_code, sha256, LENGTH(body) AS size, generated_by, generated_at`

// archived is the report archived under the key, or sql.ErrNoRows.
func (s *ReportService) archived(ctx context.Context, county, kind, from, to string, unit int64) (Report, error) {
	var r Report
	err := s.control.GetContext(ctx, &r, "SELECT "+reportColumns+" FROM rollout_reports WHERE county = ? AND kind = ? AND period_from = ? AND period_to = ? AND unit_id = ?", county, kind, from, to, unit)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return Report{}, fmt.Errorf("read archived report: %w", err)
	}
	return r, err
}

// archive keeps doc's canonical bytes and their digest, once: a report
// archived meanwhile under the same key (another worker's) is the one
// returned.
func (s *ReportService) archive(ctx context.Context, doc ReportDocument) (Report, error) {
	body, err := json.Marshal(doc)
	if err != nil {
		return Report{}, err
	}
	sum := sha256.Sum256(body)
	r := Report{County: doc.County, Kind: doc.Kind, From: doc.From, To: doc.To, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(body)),
		GeneratedBy: audit.ActorFrom(ctx).Login, GeneratedAt: doc.GeneratedAt}
	if doc.Unit != nil {
		r.UnitID, r.UnitCode = doc.Unit.ID, doc.Unit.Code
	}
	duplicate := errors.New("archived meanwhile")
	err = store.InTx(ctx, s.control, nil, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO rollout_reports (county, kind, period_from, period_to, unit_id, unit_code, body, sha256, generated_by, generated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, r.County, r.Kind, r.From, r.To, r.UnitID, r.UnitCode, body, r.SHA256, r.GeneratedBy, r.GeneratedAt)
		if store.IsDuplicate(err) {
			return duplicate
		}
		if err == nil {
			r.ID, err = res.LastInsertId()
		}
		if err != nil {
			return fmt.Errorf("archive the report: %w", err)
		}
		return audit.Write(ctx, tx, audit.New(ctx, "rollout.report.generate", "rollout_report", fmt.Sprint(r.ID), nil, r))
	})
	if errors.Is(err, duplicate) {
		return s.archived(ctx, r.County, r.Kind, r.From, r.To, r.UnitID)
	}
	if err != nil {
		return Report{}, err
	}
	return r, nil
}

// sheet is a county's figures over a period, before it is a document.
type sheet struct {
	county, name string
	from, to     string
	at           time.Time
	columns      []FigureColumn
	rows         []ReportRow
	total        ReportRow
}

// document is the report of kind on sh: every unit's row, or unit's
// alone beside the county's.
func (sh *sheet) document(kind string, unit *Unit) ReportDocument {
	doc := ReportDocument{Format: documentFormat, County: sh.county, CountyName: sh.name, Kind: kind, From: sh.from, To: sh.to,
		GeneratedAt: sh.at, Columns: sh.columns, Rows: sh.rows, Total: sh.total}
	doc.Title = fmt.Sprintf("%s使用情况报告（%s至%s）", sh.name, sh.from, sh.to)
	if unit != nil {
		doc.Unit = unit
		doc.Title = fmt.Sprintf("%s%s用户使用报告（%s至%s）", sh.name, unit.Name, sh.from, sh.to)
		doc.Rows = nil
		for _, r := range sh.rows {
			if r.Unit.ID == unit.ID {
				doc.Rows = append(doc.Rows, r)
			}
		}
	}
	if doc.Rows == nil {
		doc.Rows = []ReportRow{}
	}
	return doc
}

// sheet reads county's figures from from to to: every unit's and the
// county's, against the province's targets.
func (s *ReportService) sheet(ctx context.Context, county, from, to string) (*sheet, error) {
	t, err := s.plans.county(ctx, county)
	if err != nil {
		return nil, err
	}
	units, err := s.plans.units.Units(ctx, county)
	if err != nil {
		return nil, err
	}
	defs, err := s.figures.Definitions(ctx, county)
	if err != nil {
		return nil, err
	}
	targets, err := s.targetPercents(ctx)
	if err != nil {
		return nil, err
	}
	has := func(id string) bool {
		return slices.ContainsFunc(defs, func(d measure.Definition) bool { return d.ID == id })
	}
	var summed, byHalfMonth []string
	for _, f := range reportFigures {
		for _, id := range append(slices.Clone(f.measures), f.countyMeasure) {
			switch {
			case id == "" || !has(id):
			case f.halfMonths:
				byHalfMonth = append(byHalfMonth, id)
			default:
				summed = append(summed, id)
			}
		}
	}
	values := figures{}
	if len(summed) > 0 {
		slices.Sort(summed)
		totals, err := s.figures.Totals(ctx, county, defs, measure.Window{Measures: slices.Compact(summed), From: from, To: to})
		if err != nil {
			return nil, err
		}
		values = figuresOf(totals[0])
	}
	if len(byHalfMonth) > 0 {
		if err := s.readHalfMonths(ctx, county, byHalfMonth, from, to, values); err != nil {
			return nil, err
		}
	}
	sh := &sheet{county: county, name: t.Name, from: from, to: to, at: s.now().UTC().Truncate(time.Second)}
	for _, f := range reportFigures {
		c := FigureColumn{ID: f.id, Label: f.label, Quantity: f.quantity, Measures: f.measures}
		c.Absent = absent(f, has)
		if p, ok := targets[f.id]; ok && f.targetable {
			c.Target = &p
		}
		sh.columns = append(sh.columns, c)
	}
	for _, u := range units {
		sh.rows = append(sh.rows, sh.row(u, values, false))
	}
	sh.total = sh.row(Unit{Name: "全县"}, values, true)
	return sh, nil
}

// readHalfMonths reads ids by half-month over the half-months from to to
// touches and keeps each unit's highest into values: for a half-month
// report, its figure; over a longer window (the end of trial), the
// busiest half-month's, since no figure counts each account once over an
// arbitrary window.
func (s *ReportService) readHalfMonths(ctx context.Context, county string, ids []string, from, to string, values figures) error {
	f, _ := time.Parse(time.DateOnly, from)
	t, _ := time.Parse(time.DateOnly, to)
	last := halfMonthStart(t)
	end := time.Date(last.Year(), last.Month()+1, 0, 0, 0, 0, 0, time.UTC)
	if last.Day() == 1 {
		end = last.AddDate(0, 0, 14)
	}
	rep, err := s.figures.Read(ctx, county, measure.Query{Measures: ids, From: halfMonthStart(f).Format(time.DateOnly), To: end.Format(time.DateOnly), By: measure.ByHalfMonth})
	if err != nil {
		return err
	}
	for _, fig := range rep.Figures {
		if values[fig.Measure] == nil {
			values[fig.Measure] = map[int64]int64{}
		}
		values[fig.Measure][fig.Unit] = max(values[fig.Measure][fig.Unit], fig.Value)
	}
	return nil
}

// absent says whether the county has none of f's measures (for a rate:
// of the figures it is made of).
func absent(f figureSpec, has func(string) bool) bool {
	if f.rate() {
		for _, g := range reportFigures {
			if (g.id == f.of || g.id == f.over) && absent(g, has) {
				return true
			}
		}
		return false
	}
	return !slices.ContainsFunc(f.measures, has)
}

// row is u's figures, or with county the county's: every unit's added up
// with the county-wide ones (a figure with a county measure: that one).
func (sh *sheet) row(u Unit, values figures, county bool) ReportRow {
	r := ReportRow{Unit: u, Figures: map[string]float64{}}
	for i, f := range reportFigures {
		c := sh.columns[i]
		if c.Absent {
			continue
		}
		switch {
		case f.rate():
			of, okOf := r.Figures[f.of]
			over, okOver := r.Figures[f.over]
			if !okOf || !okOver || over == 0 {
				continue
			}
			rate := min(of/over*100, 100)
			if f.inverse {
				rate = 100 - rate
			}
			r.Figures[f.id] = math.Round(rate*10) / 10
		case county && f.countyMeasure != "":
			if v, ok := values[f.countyMeasure][measure.CountyWide]; ok {
				r.Figures[f.id] = float64(v)
			}
		default:
			var sum int64
			var seen bool
			for _, m := range f.measures {
				for unit, v := range values[m] {
					if county || unit == u.ID {
						sum, seen = sum+v, true
					}
				}
			}
			if seen || !f.level {
				r.Figures[f.id] = float64(sum)
			}
		}
		if c.Target != nil {
			if v, ok := r.Figures[f.id]; ok {
				if r.Met == nil {
					r.Met = map[string]bool{}
				}
				r.Met[f.id] = v >= *c.Target
			}
		}
	}
	return r
}

// Document is the archived document of report id and its bytes, checked
// against the digest recorded when it was archived. With county set, a
// report of another county is not found.
func (s *ReportService) Document(ctx context.Context, county string, id int64) (Report, []byte, error) {
	var row struct {
		Report
		Body []byte `db:"body"`
	}
	err := s.control.GetContext(ctx, &row, "SELECT "+reportColumns+", body FROM rollout_reports WHERE id = ?", id)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && county != "" && row.County != county) {
		return Report{}, nil, errs.NotFound(CodeReportNotFound, "no usage report %d", id)
	}
	if err != nil {
		return Report{}, nil, fmt.Errorf("read report %d: %w", id, err)
	}
	if sum := sha256.Sum256(row.Body); hex.EncodeToString(sum[:]) != row.SHA256 {
		return Report{}, nil, fmt.Errorf("report %d: %w", id, errs.E(errs.KindInternal, CodeReportTampered, "the archived bytes no longer match their digest %s", row.SHA256))
	}
	return row.Report, row.Body, nil
}

// ReportFilter narrows a listing of reports.
type ReportFilter struct {
	County string
	Kind   string
	// Period is a report's first day.
	Period string
	// After is the id the previous page ended with.
	After int64
	Limit int
}

// Bounds of a page of reports.
const (
	DefaultReportPage = 100
	MaxReportPage     = 1000
)

// ReportPage is a page of reports, by id; Next is the After of the next
// page, 0 at the end.
type ReportPage struct {
	Reports []Report `json:"reports"`
	Next    int64    `json:"next,omitempty"`
}

// List is a page of the archived reports f selects.
func (s *ReportService) List(ctx context.Context, f ReportFilter) (ReportPage, error) {
	if f.Limit <= 0 {
		f.Limit = DefaultReportPage
	}
	where, args := []string{"id > ?"}, []any{f.After}
	for _, c := range []struct{ column, value string }{{"county", f.County}, {"kind", f.Kind}, {"period_from", f.Period}} {
		if c.value != "" {
			where, args = append(where, c.column+" = ?"), append(args, c.value)
		}
	}
	page := ReportPage{Reports: []Report{}}
	err := s.control.SelectContext(ctx, &page.Reports, "SELECT "+reportColumns+" FROM rollout_reports WHERE "+strings.Join(where, " AND ")+" ORDER BY id LIMIT ?", append(args, f.Limit+1)...)
	if err != nil {
		return ReportPage{}, fmt.Errorf("list reports: %w", err)
	}
	if len(page.Reports) > f.Limit {
		page.Reports = page.Reports[:f.Limit]
		page.Next = page.Reports[f.Limit-1].ID
	}
	return page, nil
}
