package measure_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/measure"
	"github.com/countycloud/countycloud/core/store"
	"github.com/countycloud/countycloud/core/store/storetest"
)

const (
	wengyuan = "gd.shaoguan.wengyuan"
	lechang  = "gd.shaoguan.lechang"
)

// locator places the test's counties on the default cluster, as the
// registry would.
type locator map[string]store.Location

func (l locator) Locate(_ context.Context, code string) (store.Location, error) {
	loc, ok := l[code]
	if !ok {
		return store.Location{}, errs.NotFound(errs.CodeTenantNotFound, "tenant %s does not exist", code)
	}
	return loc, nil
}

// catalog is every county's measures, as the modules it enabled declare them.
type catalog []measure.Definition

func (c catalog) Measures(context.Context, string) ([]measure.Definition, error) { return c, nil }

var (
	sent  = measure.Definition{ID: "oa.documents.sent", Label: measure.Label{ZH: "发文数", EN: "Documents sent"}, Counts: measure.Label{ZH: "一份发出的公文", EN: "one document sent"}, Module: "oa"}
	paper = measure.Definition{ID: "oa.documents.paper", Label: measure.Label{ZH: "纸质件数", EN: "Paper copies"}, Counts: measure.Label{ZH: "一份纸质件", EN: "one paper copy"}, Module: "oa"}
	trial = measure.Definition{ID: "oa.trial.days", Label: measure.Label{ZH: "试运行天数", EN: "Trial days"}, Counts: measure.Label{ZH: "一天", EN: "one day"}, CountyWide: true, Module: "oa"}
	index = measure.Definition{ID: "oa.index.percent", Label: measure.Label{ZH: "公开指数（%）", EN: "Index (%)"}, Counts: measure.Label{ZH: "单位当日的最高值", EN: "the unit's highest that day"}, Level: true, Module: "oa"}
)

// world is two migrated counties with units 1 to 3 (3 below 2), and the
// service on them.
type world struct {
	db     *storetest.DB
	router *store.Router
	svc    *measure.Service
}

func setup(t testing.TB) *world {
	t.Helper()
	ctx := context.Background()
	db := storetest.New(t)
	loc := locator{}
	for _, code := range []string{wengyuan, lechang} {
		schema := db.SchemaPrefix + strings.ReplaceAll(code, ".", "_")
		if err := db.Cluster.EnsureSchema(ctx, schema); err != nil {
			t.Fatal(err)
		}
		if err := db.Cluster.InSchema(ctx, schema, func(ctx context.Context, conn *sqlx.Conn) error {
			if _, err := store.TenantMigrations().Up(ctx, conn); err != nil {
				return err
			}
			now := time.Now().UTC()
			_, err := conn.ExecContext(ctx, `INSERT INTO units (id, name, code, sort_order, parent_id, created_at, updated_at) VALUES
(1, '县政务服务中心', 'ZWZX', 1, NULL, ?, ?), (2, '县民政局', 'MZJ', 2, NULL, ?, ?), (3, '社会救助股', 'JZG', 3, 2, ?, ?)`, now, now, now, now, now, now)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		loc[code] = store.Location{Cluster: "default", Schema: schema}
	}
	router := store.NewRouter(store.Clusters{"default": db.Cluster}, loc)
	return &world{db: db, router: router, svc: measure.NewService(router, catalog{sent, paper, trial, index})}
}

func (w *world) record(t testing.TB, county string, def measure.Definition, r measure.Recording) bool {
	t.Helper()
	counted, err := w.svc.Record(context.Background(), county, def, r)
	if err != nil {
		t.Fatalf("record %+v: %v", r, err)
	}
	return counted
}

func (w *world) read(t testing.TB, ctx context.Context, county, query string) measure.Report {
	t.Helper()
	report, err := w.read2(ctx, county, query)
	if err != nil {
		t.Fatalf("read %s: %v", query, err)
	}
	return report
}

func (w *world) read2(ctx context.Context, county, query string) (measure.Report, error) {
	v, err := url.ParseQuery(query)
	if err != nil {
		return measure.Report{}, err
	}
	q, err := measure.ParseQuery(v)
	if err != nil {
		return measure.Report{}, err
	}
	return w.svc.Read(ctx, county, q)
}

// dayCount is a delta of a unit on a day.
type dayCount struct {
	unit  int64
	day   string
	delta int64
}

// recordEach records each of counts of def in Wengyuan, keyed by prefix
// and its place.
func (w *world) recordEach(t *testing.T, def measure.Definition, prefix string, counts []dayCount) {
	t.Helper()
	for i, c := range counts {
		w.record(t, wengyuan, def, measure.Recording{Measure: def.ID, Unit: c.unit, Day: c.day, Delta: c.delta, Key: fmt.Sprintf("%s-%d", prefix, i)})
	}
}

// wantFigures reads each query in Wengyuan as its admin and compares
// its figures with those wanted; the measures read carry their labels.
func (w *world) wantFigures(t *testing.T, wanted map[string]string) {
	t.Helper()
	for query, want := range wanted {
		report := w.read(t, admin, wengyuan, query)
		if got := figures(report); got != want {
			t.Errorf("%s:\n got %s\nwant %s", query, got, want)
		}
		if report.Measures[0].Label.ZH == "" || report.Measures[0].Label.EN == "" {
			t.Errorf("%s: the measures carry no labels: %+v", query, report.Measures)
		}
	}
}

func figures(r measure.Report) string {
	var b []string
	for _, f := range r.Figures {
		b = append(b, fmt.Sprintf("%s/%d/%s=%d", f.Measure, f.Unit, f.Period, f.Value))
	}
	return strings.Join(b, " ")
}

var admin = auth.WithPrincipal(context.Background(), auth.Principal{Kind: auth.KindAccount, ID: 1, Tenant: wengyuan, Unit: 1, Roles: []string{auth.RoleCountyAdmin}})

// TestFiguresAddUpByDayHalfMonthAndMonth: the 15th and the 16th fall in
// different half-months of one month; a county-wide measure is unit 0.
func TestFiguresAddUpByDayHalfMonthAndMonth(t *testing.T) {
	t.Parallel()
	w := setup(t)
	w.recordEach(t, sent, "doc", []dayCount{{1, "2026-03-01", 2}, {1, "2026-03-15", 3}, {1, "2026-03-16", 5}, {1, "2026-03-31", 7}, {2, "2026-03-15", 11}, {1, "2026-04-01", 13}, {1, "2026-02-28", 17}})
	w.record(t, wengyuan, trial, measure.Recording{Measure: trial.ID, Unit: measure.CountyWide, Day: "2026-03-02", Delta: 1, Key: "2026-03-02"})
	w.wantFigures(t, map[string]string{
		"measure=oa.documents.sent&unit=1&from=2026-03-01&to=2026-03-31&by=day":          "oa.documents.sent/1/2026-03-01=2 oa.documents.sent/1/2026-03-15=3 oa.documents.sent/1/2026-03-16=5 oa.documents.sent/1/2026-03-31=7",
		"measure=oa.documents.sent&from=2026-03-01&to=2026-03-31&by=half_month":          "oa.documents.sent/1/2026-03-01=5 oa.documents.sent/2/2026-03-01=11 oa.documents.sent/1/2026-03-16=12",
		"measure=oa.documents.sent&from=2026-02-01&to=2026-04-30&by=month":               "oa.documents.sent/1/2026-02-01=17 oa.documents.sent/1/2026-03-01=17 oa.documents.sent/2/2026-03-01=11 oa.documents.sent/1/2026-04-01=13",
		"measure=oa.documents.sent,oa.trial.days&from=2026-03-01&to=2026-03-31&by=month": "oa.documents.sent/1/2026-03-01=17 oa.documents.sent/2/2026-03-01=11 oa.trial.days/0/2026-03-01=1",
		"measure=oa.documents.paper&from=2026-03-01&to=2026-03-31":                       "",
	})
	if got := figures(w.read(t, admin, lechang, "measure=oa.documents.sent&from=2026-03-01&to=2026-03-31&by=month")); got != "" {
		t.Errorf("Lechang reads Wengyuan's figures: %s", got)
	}
}

// TestALevelCarriesItsLastFigureForward: unit 2's index had a figure on
// 1 June and nothing from the 2nd to the 5th; unit 3's one in May and a
// higher one on 4 June. Read by day, each day has the figure last
// recorded; by half-month or month, the figure standing on the period's
// last day. A count beside it keeps its days without a figure empty and
// its periods summed.
func TestALevelCarriesItsLastFigureForward(t *testing.T) {
	t.Parallel()
	w := setup(t)
	w.recordEach(t, index, "rise", []dayCount{{2, "2026-06-01", 80}, {3, "2026-05-20", 40}, {3, "2026-06-04", 60}, {3, "2026-06-04", 5}})
	w.record(t, wengyuan, sent, measure.Recording{Measure: sent.ID, Unit: 2, Day: "2026-06-01", Delta: 1, Key: "doc"})
	w.record(t, lechang, index, measure.Recording{Measure: index.ID, Unit: 2, Day: "2026-06-01", Delta: 10, Key: "rise"})
	days := func(unit int64, value int64, from, to int) []string {
		var out []string
		for d := from; d <= to; d++ {
			out = append(out, fmt.Sprintf("oa.index.percent/%d/2026-06-%02d=%d", unit, d, value))
		}
		return out
	}
	var byDay []string
	for d := 1; d <= 5; d++ {
		byDay = append(byDay, days(2, 80, d, d)...)
		if d < 4 {
			byDay = append(byDay, days(3, 40, d, d)...)
		} else {
			byDay = append(byDay, days(3, 65, d, d)...)
		}
	}
	w.wantFigures(t, map[string]string{
		"measure=oa.index.percent,oa.documents.sent&from=2026-06-01&to=2026-06-05&by=day":   "oa.documents.sent/2/2026-06-01=1 " + strings.Join(byDay, " "),
		"measure=oa.index.percent&unit=2&from=2026-06-02&to=2026-06-05&by=day":              strings.Join(days(2, 80, 2, 5), " "),
		"measure=oa.index.percent&from=2026-06-01&to=2026-06-30&by=half_month":              "oa.index.percent/2/2026-06-01=80 oa.index.percent/3/2026-06-01=65 oa.index.percent/2/2026-06-16=80 oa.index.percent/3/2026-06-16=65",
		"measure=oa.index.percent,oa.documents.sent&from=2026-05-01&to=2026-06-30&by=month": "oa.documents.sent/2/2026-06-01=1 oa.index.percent/3/2026-05-01=40 oa.index.percent/2/2026-06-01=80 oa.index.percent/3/2026-06-01=65",
		"measure=oa.index.percent&unit=1&from=2026-06-01&to=2026-06-05&by=day":              "",
		"measure=oa.index.percent&from=2026-05-01&to=2026-05-19&by=day":                     "",
	})
	if report := w.read(t, admin, wengyuan, "measure=oa.index.percent&from=2026-06-01&to=2026-06-05&by=day"); !report.Measures[0].Level {
		t.Errorf("the level's definition: %+v", report.Measures[0])
	}
	if got := figures(w.read(t, admin, lechang, "measure=oa.index.percent&from=2026-06-01&to=2026-06-03&by=day")); got != strings.Join([]string{
		"oa.index.percent/2/2026-06-01=10", "oa.index.percent/2/2026-06-02=10", "oa.index.percent/2/2026-06-03=10"}, " ") {
		t.Errorf("Lechang's own level, apart from Wengyuan's: %s", got)
	}
	unitAdmin := auth.WithPrincipal(context.Background(), auth.Principal{Kind: auth.KindAccount, ID: 7, Tenant: wengyuan, Unit: 3, Roles: []string{auth.RoleUnitAdmin}})
	if _, err := w.read2(unitAdmin, wengyuan, "measure=oa.index.percent&unit=2&from=2026-06-01&to=2026-06-05"); errs.CodeOf(err) != auth.CodeOutsideReach {
		t.Errorf("unit 3's admin reads unit 2's level: %v", err)
	}
}

// TestASetLevelFallsToZeroAndHolds: a level set (measure.SetLevels)
// replaces its day's figure, so that it falls, to 0 too, and 0 is a
// figure like any other: read by day and carried forward, by half-month
// the one standing on its last day. A figure that holds writes nothing,
// and setting the same figures again on a day changes nothing. A
// recording (which adds) cannot bring a level down: its delta is 1 or
// more.
func TestASetLevelFallsToZeroAndHolds(t *testing.T) {
	t.Parallel()
	w := setup(t)
	june := func(day int) time.Time { return time.Date(2026, 6, day, 10, 0, 0, 0, china) }
	set := func(county string, day int, want int, levels ...measure.Level) {
		t.Helper()
		var written int
		err := w.router.InTenantTx(context.Background(), county, func(ctx context.Context, tx *sqlx.Tx) error {
			var err error
			written, err = measure.SetLevels(ctx, tx, june(day), levels)
			return err
		})
		if err != nil || written != want {
			t.Fatalf("set %+v on June %d: %d written, %v; want %d", levels, day, written, err, want)
		}
	}
	level := func(unit, value int64) measure.Level {
		return measure.Level{Measure: index.ID, Unit: unit, Value: value}
	}
	set(wengyuan, 1, 2, level(2, 3), level(3, 0))
	set(wengyuan, 1, 0, level(2, 3), level(3, 0))
	set(wengyuan, 2, 0, level(2, 3), level(3, 0))
	set(wengyuan, 3, 1, level(2, 0), level(3, 0))
	set(wengyuan, 3, 0, level(2, 0), level(3, 0))
	set(wengyuan, 4, 1, level(3, 5))
	set(wengyuan, 4, 1, level(3, 2))
	set(lechang, 1, 1, level(2, 9))
	if _, err := w.svc.Record(context.Background(), wengyuan, index, measure.Recording{Measure: index.ID, Unit: 2, Day: "2026-06-05", Delta: 0, Key: "fall"}); errs.CodeOf(err) != measure.CodeInvalidRecording {
		t.Errorf("a recording of 0: %v, want %s", err, measure.CodeInvalidRecording)
	}
	var byDay []string
	for d, units := range [][2]int{{3, 0}, {3, 0}, {0, 0}, {0, 2}, {0, 2}} {
		byDay = append(byDay, fmt.Sprintf("oa.index.percent/2/2026-06-%02d=%d oa.index.percent/3/2026-06-%02d=%d", d+1, units[0], d+1, units[1]))
	}
	w.wantFigures(t, map[string]string{
		"measure=oa.index.percent&from=2026-06-01&to=2026-06-05&by=day":        strings.Join(byDay, " "),
		"measure=oa.index.percent&from=2026-06-01&to=2026-06-30&by=half_month": "oa.index.percent/2/2026-06-01=0 oa.index.percent/3/2026-06-01=2 oa.index.percent/2/2026-06-16=0 oa.index.percent/3/2026-06-16=2",
		"measure=oa.index.percent&from=2026-05-01&to=2026-05-31&by=month":      "",
	})
	if got := figures(w.read(t, admin, lechang, "measure=oa.index.percent&from=2026-06-01&to=2026-06-02")); got != "oa.index.percent/2/2026-06-01=9 oa.index.percent/2/2026-06-02=9" {
		t.Errorf("Lechang's level: %s", got)
	}
	var rows int
	schema := w.db.SchemaPrefix + strings.ReplaceAll(wengyuan, ".", "_")
	if err := w.db.Server.QueryRow("SELECT COUNT(*) FROM `" + schema + "`.measure_values WHERE measure = 'oa.index.percent'").Scan(&rows); err != nil || rows != 4 {
		t.Errorf("%d rows (%v): a level keeps a row per change (units 2 and 3 on the 1st, 2 on the 3rd, 3 on the 4th)", rows, err)
	}
}

// TestBadLevelsAreRefusedAndChangeNothing.
func TestBadLevelsAreRefusedAndChangeNothing(t *testing.T) {
	t.Parallel()
	w := setup(t)
	ok := measure.Level{Measure: index.ID, Unit: 2, Value: 1}
	for what, levels := range map[string][]measure.Level{
		"a negative figure":  {ok, {Measure: index.ID, Unit: 3, Value: -1}},
		"a negative unit":    {ok, {Measure: index.ID, Unit: -1, Value: 1}},
		"not a measure's id": {ok, {Measure: "Index", Unit: 3, Value: 1}},
		"one figure twice":   {ok, {Measure: index.ID, Unit: 2, Value: 2}},
	} {
		err := w.router.InTenantTx(context.Background(), wengyuan, func(ctx context.Context, tx *sqlx.Tx) error {
			_, err := measure.SetLevels(ctx, tx, time.Date(2026, 6, 1, 10, 0, 0, 0, china), levels)
			return err
		})
		if errs.CodeOf(err) != measure.CodeInvalidRecording {
			t.Errorf("%s: %v, want %s", what, err, measure.CodeInvalidRecording)
		}
	}
	if got := figures(w.read(t, admin, wengyuan, "measure=oa.index.percent&from=2026-06-01&to=2026-06-02")); got != "" {
		t.Errorf("refused levels were set: %s", got)
	}
}

// TestTheSameKeyCountsOnce: a retry, sequential or at the same moment,
// adds nothing; the same key with other figures is refused.
func TestTheSameKeyCountsOnce(t *testing.T) {
	t.Parallel()
	w := setup(t)
	r := measure.Recording{Measure: sent.ID, Unit: 1, Day: "2026-06-05", Delta: 1, Key: "document-42"}
	if !w.record(t, wengyuan, sent, r) || w.record(t, wengyuan, sent, r) {
		t.Error("the first recording should count and its retry not")
	}
	var wg sync.WaitGroup
	counted := make(chan bool, 16)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := w.svc.Record(context.Background(), wengyuan, sent, measure.Recording{Measure: sent.ID, Unit: 2, Day: "2026-06-05", Delta: 3, Key: "document-43"})
			if err != nil {
				t.Error(err)
			}
			counted <- ok
		}()
	}
	wg.Wait()
	close(counted)
	n := 0
	for ok := range counted {
		if ok {
			n++
		}
	}
	if n != 1 {
		t.Errorf("16 concurrent recordings of one key counted %d times", n)
	}
	// The key belongs to the measure: another measure may use it.
	w.record(t, wengyuan, paper, measure.Recording{Measure: paper.ID, Unit: 1, Day: "2026-06-05", Delta: 1, Key: "document-42"})
	for _, other := range []measure.Recording{
		{Measure: sent.ID, Unit: 2, Day: "2026-06-05", Delta: 1, Key: "document-42"},
		{Measure: sent.ID, Unit: 1, Day: "2026-06-06", Delta: 1, Key: "document-42"},
		{Measure: sent.ID, Unit: 1, Day: "2026-06-05", Delta: 2, Key: "document-42"},
	} {
		if _, err := w.svc.Record(context.Background(), wengyuan, sent, other); errs.CodeOf(err) != measure.CodeKeyReused {
			t.Errorf("%+v: %v, want %s", other, err, measure.CodeKeyReused)
		}
	}
	want := "oa.documents.paper/1/2026-06-05=1 oa.documents.sent/1/2026-06-05=1 oa.documents.sent/2/2026-06-05=3"
	if got := figures(w.read(t, admin, wengyuan, "measure=oa.documents.sent&measure=oa.documents.paper&from=2026-06-01&to=2026-06-30")); got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
}

// TestBadRecordingsAreRefusedAndChangeNothing.
func TestBadRecordingsAreRefusedAndChangeNothing(t *testing.T) {
	t.Parallel()
	w := setup(t)
	ok := measure.Recording{Measure: sent.ID, Unit: 1, Day: "2026-06-05", Delta: 1, Key: "k"}
	for _, tc := range []struct {
		what string
		def  measure.Definition
		edit func(*measure.Recording)
		code string
	}{
		{"a unit of no county", sent, func(r *measure.Recording) { r.Unit = 99 }, measure.CodeUnknownUnit},
		{"a per-unit measure for the county", sent, func(r *measure.Recording) { r.Unit = 0 }, measure.CodeInvalidRecording},
		{"a county-wide measure for a unit", trial, func(r *measure.Recording) { r.Measure = trial.ID }, measure.CodeInvalidRecording},
		{"another measure than declared", paper, func(*measure.Recording) {}, measure.CodeUnknownMeasure},
		{"no key", sent, func(r *measure.Recording) { r.Key = "" }, measure.CodeInvalidRecording},
		{"a key with a space", sent, func(r *measure.Recording) { r.Key = "a b" }, measure.CodeInvalidRecording},
		{"a key too long", sent, func(r *measure.Recording) { r.Key = strings.Repeat("k", measure.MaxKeyLength+1) }, measure.CodeInvalidRecording},
		{"nothing to add", sent, func(r *measure.Recording) { r.Delta = 0 }, measure.CodeInvalidRecording},
		{"a negative count", sent, func(r *measure.Recording) { r.Delta = -1 }, measure.CodeInvalidRecording},
		{"too much at once", sent, func(r *measure.Recording) { r.Delta = measure.MaxDelta + 1 }, measure.CodeInvalidRecording},
		{"not a day", sent, func(r *measure.Recording) { r.Day = "2026-02-30" }, measure.CodeInvalidRecording},
	} {
		r := ok
		tc.edit(&r)
		if _, err := w.svc.Record(context.Background(), wengyuan, tc.def, r); errs.CodeOf(err) != tc.code {
			t.Errorf("%s: %v, want %s", tc.what, err, tc.code)
		}
	}
	if got := figures(w.read(t, admin, wengyuan, "measure=oa.documents.sent,oa.trial.days,oa.documents.paper&from=2026-06-01&to=2026-06-30")); got != "" {
		t.Errorf("refused recordings counted: %s", got)
	}
}

// TestWhoReadsWhat: a unit admin reads their unit and those below it,
// never another unit nor the county's total; unknown measures and bad
// parameters are refused with what is wrong.
func TestWhoReadsWhat(t *testing.T) {
	t.Parallel()
	w := setup(t)
	w.record(t, wengyuan, sent, measure.Recording{Measure: sent.ID, Unit: 3, Day: "2026-06-05", Delta: 1, Key: "k"})
	unitAdmin := auth.WithPrincipal(context.Background(), auth.Principal{Kind: auth.KindAccount, ID: 7, Tenant: wengyuan, Unit: 2, Roles: []string{auth.RoleUnitAdmin}})
	operator := auth.WithPrincipal(context.Background(), auth.Principal{Kind: auth.KindOperator, ID: 1, Roles: []string{auth.RoleOperator}})
	const june = "&from=2026-06-01&to=2026-06-30&by=month"
	for _, tc := range []struct {
		who   context.Context
		query string
		code  string
	}{
		{unitAdmin, "measure=oa.documents.sent&unit=3" + june, ""},
		{unitAdmin, "measure=oa.documents.sent&unit=2" + june, ""},
		{unitAdmin, "measure=oa.documents.sent&unit=1" + june, auth.CodeOutsideReach},
		{unitAdmin, "measure=oa.documents.sent" + june, auth.CodeOutsideReach},
		{unitAdmin, "measure=oa.trial.days&unit=0" + june, auth.CodeOutsideReach},
		{operator, "measure=oa.documents.sent" + june, ""},
		{admin, "measure=oa.documents.drafted" + june, measure.CodeUnknownMeasure},
	} {
		_, err := w.read2(tc.who, wengyuan, tc.query)
		if errs.CodeOf(err) != tc.code {
			t.Errorf("%v reads %s: %v, want %q", auth.PrincipalFrom(tc.who).Roles, tc.query, err, tc.code)
		}
	}
}

// TestBadQueriesSayWhatIsWrong.
func TestBadQueriesSayWhatIsWrong(t *testing.T) {
	t.Parallel()
	for query, says := range map[string]string{
		"from=2026-06-01&to=2026-06-30":                                  "name the measures",
		"measure=Oa.Sent&from=2026-06-01&to=2026-06-30":                  "dotted lowercase",
		"measure=oa.sent&from=2026-06-31&to=2026-07-01":                  "not a day",
		"measure=oa.sent&from=2026-06-01":                                "to:",
		"measure=oa.sent&from=2026-07-01&to=2026-06-01":                  "after",
		"measure=oa.sent&from=2026-01-01&to=2027-12-31":                  "at most 366",
		"measure=oa.sent&from=2026-01-01&to=2036-12-31&by=month":         "five years",
		"measure=oa.sent&from=2026-06-02&to=2026-06-30&by=month":         "first day of a period",
		"measure=oa.sent&from=2026-06-01&to=2026-06-14&by=half_month":    "2026-06-01 to 2026-06-15",
		"measure=oa.sent&from=2026-06-01&to=2026-06-30&by=week":          "day, half_month or month",
		"measure=oa.sent&from=2026-06-01&to=2026-06-30&unit=-1":          "unit",
		"measure=oa.sent&from=2026-06-01&to=2026-06-30&unit=1&unit=2":    "one unit",
		"measure=oa.sent&from=2026-06-01&to=2026-06-30&measures=oa.read": "unknown parameter",
		"measure=oa.sent&from=1999-12-01&to=1999-12-31":                  "2000 to 2100",
		"measure=oa.sent&from=2026-06-01&to=2026-06-30&from=2026-05-01":  "from is given 2 times",
		"measure=oa.sent&from=2026-06-01&to=2026-06-30&by=day&by=month":  "by is given 2 times",
	} {
		v, _ := url.ParseQuery(query)
		_, err := measure.ParseQuery(v)
		if e := errs.As(err); err == nil || e.Kind != errs.KindInvalid || e.Code != measure.CodeInvalidQuery || !strings.Contains(e.Message, says) {
			t.Errorf("%s: %v; want %s saying %q", query, err, measure.CodeInvalidQuery, says)
		}
	}
}

// FuzzParseQuery: whatever the parameters, the parser answers a query
// within its bounds or an invalid-query error, and never panics.
func FuzzParseQuery(f *testing.F) {
	for _, seed := range []string{
		"measure=oa.documents.sent&from=2026-01-01&to=2026-12-31&by=month",
		"measure=a.b,c.d&unit=3&from=2026-03-16&to=2026-03-31&by=half_month",
		"measure=x&from=2026-02-29&to=2026-13-01", "unit=99999999999999999999", "measure=%00&by=",
		"measure=a.b&from=2026-01-01&to=2026-01-31&to=2026-12-31",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := measure.ParseQuery(v)
		if err != nil {
			if e := errs.As(err); e.Kind != errs.KindInvalid || e.Code != measure.CodeInvalidQuery {
				t.Fatalf("%q: %v is not an invalid-query error", raw, err)
			}
			return
		}
		if len(q.Measures) == 0 || len(q.Measures) > measure.MaxQueryMeasures || q.From > q.To || (q.Unit != nil && *q.Unit < 0) ||
			len(v["from"]) != 1 || len(v["to"]) != 1 || len(v["by"]) > 1 {
			t.Fatalf("%q: accepted %+v", raw, q)
		}
		for _, id := range q.Measures {
			if measure.ValidID(id) != nil {
				t.Fatalf("%q: accepted measure %q", raw, id)
			}
		}
	})
}
