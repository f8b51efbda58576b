package disclosure

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/countycloud/countycloud/plugins/sdk"
)

type unitIndexAnswer struct {
	indexHead
	unitIndexView
}

// TestIndex: a unit's index counts its six basic items and its
// registered documents; the county's sums every unit's against the
// county's target; who reads which; and the day's figures are the
// highest each reached that day, recorded once however often read.
func TestIndex(t *testing.T) {
	tt := newTester(t)
	tt.settings = json.RawMessage(`{"index_target": 25, "office_unit_id": 40}`)
	const day = "2026-06-05"
	var u unitIndexAnswer
	tt.ok(clerk(), "GET", "/index/units/20", "", nil, 200, &u)
	if u.Required != 6 || u.Published != 0 || u.Percent != 0 || u.MeetsTarget || u.Target != 25 || u.Day != day || u.UnitName != "县政府办" {
		t.Fatalf("empty: %+v", u)
	}
	for _, who := range []sdk.Caller{otherUnitAdmin(), anonymous()} {
		tt.fails(who, "GET", "/index/units/20", "", nil, 403, codeForbidden)
	}
	for _, who := range []sdk.Caller{clerk(), unitAdmin(), otherUnitAdmin(), anonymous()} {
		tt.fails(who, "GET", "/index", "", nil, 403, codeForbidden)
	}
	tt.fails(countyAdmin(), "GET", "/index/units/99", "", nil, 400, codeUnknownUnit)

	tt.ok(businessAdmin(), "PUT", "/units/20/profile", "", form(0), 201, nil)
	tt.ok(unitAdmin(), "POST", "/units/20/profile/publish", "", map[string]any{"version": 1}, 200, nil)
	var d documentView
	tt.ok(businessAdmin(), "POST", "/documents", "", normative(), 201, &d)
	tt.ok(officeStaff(), "GET", "/index/units/20", "", nil, 200, &u)
	if u.Required != 7 || u.Published != 6 || u.Percent != 85.7 || !u.BasicPublished || u.DocumentsUnpublished != 1 {
		t.Fatalf("a draft document: %+v", u)
	}
	tt.ok(unitAdmin(), "POST", "/documents/"+d.ID+"/publish", "", map[string]any{"version": d.Version}, 200, nil)

	var county countyIndexView
	for _, who := range []sdk.Caller{countyAdmin(), officeStaff(), operator()} {
		tt.ok(who, "GET", "/index", "", nil, 200, &county)
	}
	if county.Required != 25 || county.Published != 7 || county.Percent != 28 || !county.MeetsTarget || len(county.Units) != 4 ||
		county.Units[1].UnitID != 20 || county.Units[1].Percent != 100 || county.Units[0].Required != 6 || county.Units[0].Published != 0 {
		t.Fatalf("the county: %+v", county)
	}

	// The unit falls back: the day's figures keep the highest.
	tt.ok(unitAdmin(), "POST", "/units/20/profile/withdraw", "", map[string]any{"version": 2}, 200, nil)
	tt.ok(clerk(), "GET", "/index/units/20", "", nil, 200, &u)
	tt.ok(clerk(), "GET", "/index/units/20", "", nil, 200, &u)
	if u.Published != 1 || u.Percent != 14.2 {
		t.Fatalf("withdrawn: %+v", u)
	}
	figures := func(unit int64, day string) [4]int64 {
		return [4]int64{tt.host.Measured(measureRequired, unit, day), tt.host.Measured(measurePublished, unit, day),
			tt.host.Measured(measurePercent, unit, day), tt.host.Measured(measureCountyPercent, unit, day)}
	}
	if got := figures(20, day); got != [4]int64{7, 7, 100, 0} {
		t.Fatalf("unit 20's day: %v", got)
	}
	if got := figures(30, day); got != [4]int64{6, 0, 0, 0} {
		t.Fatalf("unit 30's day: %v", got)
	}
	if got := figures(0, day); got != [4]int64{0, 0, 0, 28} {
		t.Fatalf("the county's day: %v", got)
	}
	// The next day starts afresh from what the unit has then.
	tt.advance(24 * time.Hour)
	tt.ok(clerk(), "GET", "/index/units/20", "", nil, 200, &u)
	if got := figures(20, "2026-06-06"); got != [4]int64{7, 1, 14, 0} {
		t.Fatalf("unit 20's next day: %v", got)
	}
	if u.MeetsTarget {
		t.Fatalf("14%% meets 25%%: %+v", u)
	}
}

// TestLevelsNeverCountARiseTwice: a level claimed by another request
// meanwhile is read again, and the rise counted once.
func TestLevelsNeverCountARiseTwice(t *testing.T) {
	tt := newTester(t)
	c := &call{ctx: t.Context(), host: tt.host, log: tt.m.log, req: &sdk.Request{RequestID: "r"}, now: tt.clock(), settings: defaultSettings()}
	// A stale copy of the day's record, as a request that read it before
	// another raised it.
	c.level(20, map[string]int64{measurePublished: 3}, nil)
	stale, err := tt.host.Get(t.Context(), collLevels, levelID(20, "2026-06-05"))
	if err != nil {
		t.Fatal(err)
	}
	c.level(20, map[string]int64{measurePublished: 5}, nil)
	c.level(20, map[string]int64{measurePublished: 6}, &stale)
	c.level(20, map[string]int64{measurePublished: 4}, nil)
	if got := tt.host.Measured(measurePublished, 20, "2026-06-05"); got != 6 {
		t.Fatalf("the day's figure is %d, want 6", got)
	}
}
