package measure_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/countycloud/countycloud/core/measure"
)

// refusingCatalog fails every question: the platform's own measures are
// known without asking.
type refusingCatalog struct{}

func (refusingCatalog) Measures(context.Context, string) ([]measure.Definition, error) {
	return nil, errors.New("the catalog was asked")
}

func TestDefinitionsOfAsksTheCatalogOnlyForAModulesMeasures(t *testing.T) {
	ctx := context.Background()
	own := measure.NewService(nil, refusingCatalog{})
	defs, err := own.DefinitionsOf(ctx, "gd.shaoguan.wengyuan", []string{measure.Logins, measure.WorkflowCompleted("oa.sending")})
	if err != nil || len(defs) != 2 || defs[0].ID != measure.Logins || defs[1].Level {
		t.Errorf("the platform's own: %+v %v", defs, err)
	}
	if _, err := own.DefinitionsOf(ctx, "gd.shaoguan.wengyuan", []string{"oa.documents.sent"}); err == nil {
		t.Error("a module's measure known without the catalog")
	}
	modules := measure.NewService(nil, catalog{sent, index})
	defs, err = modules.DefinitionsOf(ctx, "gd.shaoguan.wengyuan", []string{"oa.index.percent", measure.Logins, "vendor.unknown.x"})
	var ids []string
	for _, d := range defs {
		ids = append(ids, d.ID)
	}
	if err != nil || !slices.Equal(ids, []string{measure.Logins, "oa.index.percent"}) || !defs[1].Level {
		t.Errorf("with a module's: %v %v", ids, err)
	}
}

func TestTotalsAddCountsOverTheirWindowAndReadLevelsAsTheyStand(t *testing.T) {
	w := setup(t)
	ctx := context.Background()
	for _, r := range []measure.Recording{
		{Measure: sent.ID, Unit: 1, Day: "2026-06-01", Delta: 2, Key: "a"},
		{Measure: sent.ID, Unit: 1, Day: "2026-06-05", Delta: 3, Key: "b"},
		{Measure: sent.ID, Unit: 2, Day: "2026-05-31", Delta: 7, Key: "c"},
		{Measure: index.ID, Unit: 2, Day: "2026-05-20", Delta: 60, Key: "d"},
		{Measure: index.ID, Unit: 2, Day: "2026-06-10", Delta: 90, Key: "e"},
	} {
		def := sent
		if r.Measure == index.ID {
			def = index
		}
		if _, err := w.svc.Record(ctx, wengyuan, def, r); err != nil {
			t.Fatal(err)
		}
	}
	defs, err := w.svc.Definitions(ctx, wengyuan)
	if err != nil {
		t.Fatal(err)
	}
	totals, err := w.svc.Totals(ctx, wengyuan, defs,
		measure.Window{Measures: []string{sent.ID, index.ID}, From: "2026-06-01", To: "2026-06-09"},
		measure.Window{Measures: []string{sent.ID}, From: "2026-05-01", To: "2026-06-30"})
	if err != nil {
		t.Fatal(err)
	}
	want := [][]measure.Total{
		{{Measure: sent.ID, Unit: 1, Value: 5}, {Measure: index.ID, Unit: 2, Value: 60}},
		{{Measure: sent.ID, Unit: 1, Value: 5}, {Measure: sent.ID, Unit: 2, Value: 7}},
	}
	for i := range want {
		slices.SortFunc(totals[i], func(a, b measure.Total) int { return int(a.Unit - b.Unit) })
		if !slices.Equal(totals[i], want[i]) {
			t.Errorf("window %d: %+v, want %+v", i, totals[i], want[i])
		}
	}
	if other, err := w.svc.Totals(ctx, lechang, defs, measure.Window{Measures: []string{sent.ID}, From: "2026-05-01", To: "2026-06-30"}); err != nil || len(other[0]) != 0 {
		t.Errorf("Lechang sees %+v %v", other, err)
	}
	if _, err := w.svc.Totals(ctx, wengyuan, defs, measure.Window{Measures: []string{"oa.nothing"}, From: "2026-05-01", To: "2026-06-30"}); err == nil {
		t.Error("an unknown measure was read")
	}
}
