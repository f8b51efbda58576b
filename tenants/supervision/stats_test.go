package supervision_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/tenants/supervision"
)

func rate(v float64) *float64 { return &v }

func sameFloat(a, b *float64) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

func TestStatsAgainstHandCountedFigures(t *testing.T) {
	t.Parallel()
	f := newFixture(t, wengyuan)
	wy := f.county(wengyuan)
	// June 2026, with the Dragon Boat Festival off on Friday the 19th; a
	// working day is 08:30–12:00 and 14:00–17:30, seven hours.
	wy.in(func(ctx context.Context, conn *sqlx.Conn) error {
		if err := seedOrg(ctx, conn, true); err != nil {
			return err
		}
		return addTasks(ctx, conn, []task{
			// 县政务服务中心 (unit 1):
			// Thursday 18th 09:00 to Monday 22nd 10:00 across the
			// festival: 6.5 + 0 + 1.5 = 8 h, on time.
			{account: handler, status: "done", created: cst(2026, 6, 18, 9, 0), acted: cst(2026, 6, 22, 10, 0), due: cst(2026, 6, 22, 17, 30)},
			// Monday 8th 09:00 to Tuesday 16:00: 6.5 + 5.5 = 12 h, late.
			{account: handler, status: "done", created: cst(2026, 6, 8, 9, 0), acted: cst(2026, 6, 9, 16, 0), due: cst(2026, 6, 9, 12, 0)},
			// 1 h, without a time limit: on time.
			{account: handler, status: "done", created: cst(2026, 6, 10, 14, 0), acted: cst(2026, 6, 10, 15, 0)},
			// The last minute of the period: 17:00 to 17:30, on time.
			{account: handler, status: "done", created: cst(2026, 6, 30, 17, 0), acted: cst(2026, 6, 30, 23, 59), due: cst(2026, 7, 1, 17, 30)},
			// Still open, due on the 10th: overdue at the end.
			{account: handler, created: cst(2026, 6, 1, 9, 0), level: 2, due: cst(2026, 6, 10, 12, 0)},
			// Still open, due in July: not overdue yet.
			{account: handler, created: cst(2026, 6, 29, 9, 0), due: cst(2026, 7, 5, 12, 0)},
			// Cancelled: neither finished nor overdue.
			{account: handler, status: "cancelled", created: cst(2026, 6, 1, 9, 0), due: cst(2026, 6, 5, 12, 0)},
			// Done the minute before the period and the day after it.
			{account: handler, status: "done", created: cst(2026, 5, 29, 9, 0), acted: cst(2026, 5, 31, 23, 59), due: cst(2026, 5, 29, 10, 0)},
			{account: handler, status: "done", created: cst(2026, 6, 29, 9, 0), acted: cst(2026, 7, 1, 0, 0), due: cst(2026, 7, 3, 10, 0)},
			// 县监察局 (unit 2):
			// Done at its very deadline: on time, 08:30 to 12:00 = 3.5 h.
			{account: sup1, unit: 2, status: "done", created: cst(2026, 6, 12, 8, 30), acted: cst(2026, 6, 12, 12, 0), due: cst(2026, 6, 12, 12, 0)},
			// Done in July, late: open and overdue at the end of June.
			{account: sup1, unit: 2, status: "done", created: cst(2026, 6, 15, 9, 0), acted: cst(2026, 7, 2, 9, 0), due: cst(2026, 6, 18, 17, 30)},
		})
	})
	ctx := context.Background()
	later := cst(2026, 8, 1, 9, 0)
	june, err := supervision.ParsePeriod("2026-06-01", "2026-06-30")
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.svc.Stats(ctx, wengyuan, june, 0, later)
	if err != nil {
		t.Fatal(err)
	}
	// Unit 1: 8 + 12 + 1 + 0.5 = 21.5 h over 4 tasks, 0.77 days each.
	// Unit 2: 3.5 h, 0.5 days. All: 25 h over 5, 0.71 days.
	want := supervision.Stats{From: "2026-06-01", To: "2026-06-30", Units: []supervision.UnitStats{
		{UnitID: 1, UnitName: "县政务服务中心", UnitCode: "ZWZX", Finished: 4, OnTime: 3, OnTimeRate: rate(0.75), Overdue: 2, FinishedLate: 1, OpenOverdue: 1, AverageWorkingDays: rate(0.77)},
		{UnitID: 2, UnitName: "县监察局", UnitCode: "JCJ", Finished: 1, OnTime: 1, OnTimeRate: rate(1), Overdue: 1, OpenOverdue: 1, AverageWorkingDays: rate(0.5)},
	}, Total: supervision.UnitStats{Finished: 5, OnTime: 4, OnTimeRate: rate(0.8), Overdue: 3, FinishedLate: 1, OpenOverdue: 2, AverageWorkingDays: rate(0.71)}}
	if !sameStats(got, want) {
		t.Errorf("June:\n got %s\nwant %s", show(got), show(want))
	}

	only, err := f.svc.Stats(ctx, wengyuan, june, 2, later)
	if err != nil || len(only.Units) != 1 || only.Units[0].UnitID != 2 || !sameUnit(only.Total, supervision.UnitStats{Finished: 1, OnTime: 1, OnTimeRate: rate(1), Overdue: 1, OpenOverdue: 1, AverageWorkingDays: rate(0.5)}) {
		t.Errorf("June for 县监察局 = %s, %v", show(only), err)
	}
	// A unit with nothing in the period is listed with nothing.
	quiet, err := f.svc.Stats(ctx, wengyuan, june, 3, later)
	if err != nil || len(quiet.Units) != 1 || quiet.Units[0].Finished != 0 || quiet.Units[0].OnTimeRate != nil || quiet.Units[0].AverageWorkingDays != nil {
		t.Errorf("June for 县民政局 = %s, %v", show(quiet), err)
	}
	_, err = f.svc.Stats(ctx, wengyuan, june, 99, later)
	wantCode(t, "an unknown unit", err, supervision.CodeInvalidQuery)

	// Seen on the morning of the 10th, June has not ended: the task due at
	// noon is not overdue yet.
	early, err := f.svc.Stats(ctx, wengyuan, june, 1, cst(2026, 6, 10, 9, 0))
	if err != nil || early.Total.OpenOverdue != 0 {
		t.Errorf("June seen on the 10th = %s, %v", show(early), err)
	}

	// On the 30th alone, only the last-minute task was finished.
	last, _ := supervision.ParsePeriod("2026-06-30", "2026-06-30")
	day, err := f.svc.Stats(ctx, wengyuan, last, 1, later)
	if err != nil || day.Total.Finished != 1 || *day.Total.AverageWorkingDays != 0.07 {
		t.Errorf("the 30th = %s, %v", show(day), err)
	}
}

func sameUnit(a, b supervision.UnitStats) bool {
	return a.UnitID == b.UnitID && a.UnitName == b.UnitName && a.UnitCode == b.UnitCode && a.Finished == b.Finished && a.OnTime == b.OnTime &&
		sameFloat(a.OnTimeRate, b.OnTimeRate) && a.Overdue == b.Overdue && a.FinishedLate == b.FinishedLate && a.OpenOverdue == b.OpenOverdue &&
		sameFloat(a.AverageWorkingDays, b.AverageWorkingDays)
}

func sameStats(a, b supervision.Stats) bool {
	if a.From != b.From || a.To != b.To || len(a.Units) != len(b.Units) || !sameUnit(a.Total, b.Total) {
		return false
	}
	for i := range a.Units {
		if !sameUnit(a.Units[i], b.Units[i]) {
			return false
		}
	}
	return true
}

func show(s supervision.Stats) string {
	var b strings.Builder
	for _, u := range append(s.Units, s.Total) {
		fmt.Fprintf(&b, "{%s finished=%d on_time=%d rate=%s overdue=%d late=%d open=%d days=%s} ", u.UnitName, u.Finished, u.OnTime,
			num(u.OnTimeRate), u.Overdue, u.FinishedLate, u.OpenOverdue, num(u.AverageWorkingDays))
	}
	return b.String()
}

func num(p *float64) string {
	if p == nil {
		return "nil"
	}
	return strconv.FormatFloat(*p, 'f', -1, 64)
}

func TestParsePeriod(t *testing.T) {
	t.Parallel()
	p, err := supervision.ParsePeriod("2026-01-01", "2026-12-31")
	if err != nil || !p.Start().Equal(cst(2026, 1, 1, 0, 0)) || !p.End().Equal(cst(2027, 1, 1, 0, 0)) {
		t.Errorf("2026 = %v – %v, %v", p.Start(), p.End(), err)
	}
	for what, c := range map[string]struct {
		from, to string
		fields   string
	}{
		"a month 13":     {"2026-13-01", "2026-12-31", "from"},
		"no padding":     {"2026-1-1", "2026-12-31", "from"},
		"30 February":    {"2026-01-01", "2026-02-30", "to"},
		"both missing":   {"", "", "from,to"},
		"to before from": {"2026-12-31", "2026-01-01", "to"},
		"a year far off": {"1999-12-31", "2026-01-01", "from"},
		"a time of day":  {"2026-01-01T00:00:00Z", "2026-12-31", "from"},
	} {
		_, err := supervision.ParsePeriod(c.from, c.to)
		wantCode(t, what, err, supervision.CodeInvalidQuery)
		problems, _ := errs.As(err).Details.([]supervision.Problem)
		var fields []string
		for _, p := range problems {
			fields = append(fields, p.Field)
		}
		if strings.Join(fields, ",") != c.fields {
			t.Errorf("%s: problems %+v, want fields %s", what, problems, c.fields)
		}
	}
}

// FuzzParsePeriod: whatever comes in, a period is refused with the
// query's code or is a span of whole days from its start to its end that
// writes back as it was given.
func FuzzParsePeriod(f *testing.F) {
	for _, s := range [][2]string{{"2026-01-01", "2026-12-31"}, {"2026-02-29", "2026-03-01"}, {"2100-12-31", "2100-12-31"}, {"", "x"}, {"2026-06-30", "2026-06-01"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, from, to string) {
		p, err := supervision.ParsePeriod(from, to)
		if err != nil {
			if errs.CodeOf(err) != supervision.CodeInvalidQuery {
				t.Fatalf("%q, %q: %v", from, to, err)
			}
			return
		}
		if p.From.String() != from || p.To.String() != to {
			t.Fatalf("%q, %q read as %v, %v", from, to, p.From, p.To)
		}
		span := p.End().Sub(p.Start())
		if span <= 0 || span%(24*time.Hour) != 0 {
			t.Fatalf("%q to %q spans %v", from, to, span)
		}
	})
}
