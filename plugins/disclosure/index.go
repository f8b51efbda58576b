package disclosure

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/countycloud/countycloud/plugins/sdk"
)

// The disclosure index (公开指数) of a unit is its items published over
// its items to disclose, the required items:
//   - the six parts of its basic information (basicItems), published
//     when the unit's form is published;
//   - every normative document and procurement notice registered for it
//     (a draft is an item to disclose that is not published yet; an
//     expired one published stays published, shown as expired).
//
// The county's index is the sum of its units' published items over the
// sum of their required items, every unit of the county counted, those
// without a form with six required items and none published. docs/
// disclosure.md says the same for the people who read it.

func indexRoutes() []route {
	return []route{
		{http.MethodGet, "/index", (*call).countyIndex},
		{http.MethodGet, "/index/units/{unit}", (*call).unitIndex},
	}
}

// tally is a unit's items.
type tally struct {
	profile     bool
	documents   int64
	publishedDo int64
}

func (t tally) required() int64 { return int64(len(basicItems)) + t.documents }
func (t tally) published() int64 {
	if t.profile {
		return int64(len(basicItems)) + t.publishedDo
	}
	return t.publishedDo
}

// unitIndexView is a unit's index.
type unitIndexView struct {
	UnitID   int64  `json:"unit_id"`
	UnitName string `json:"unit_name"`
	// Required and Published count items; Percent is Published over
	// Required, in percent, rounded down to one decimal.
	Required    int64   `json:"required"`
	Published   int64   `json:"published"`
	Percent     float64 `json:"percent"`
	MeetsTarget bool    `json:"meets_target"`
	// BasicPublished says whether the basic information is published;
	// DocumentsUnpublished counts registered documents not yet published.
	BasicPublished       bool  `json:"basic_published"`
	DocumentsUnpublished int64 `json:"documents_unpublished"`
}

// indexHead is what both reads of the index give first.
type indexHead struct {
	// Day is the day in China the index was read.
	Day string `json:"day"`
	// Target is the county's target, in percent.
	Target int `json:"target"`
}

// countyIndexView is the county's index with each unit's.
type countyIndexView struct {
	indexHead
	Required    int64           `json:"required"`
	Published   int64           `json:"published"`
	Percent     float64         `json:"percent"`
	MeetsTarget bool            `json:"meets_target"`
	Units       []unitIndexView `json:"units"`
}

// percent is published over required in percent, rounded down to one
// decimal; wholePercent rounds it down to a whole one.
func percent(published, required int64) float64 {
	if required == 0 {
		return 0
	}
	return float64(published*1000/required) / 10
}

func wholePercent(published, required int64) int64 {
	if required == 0 {
		return 0
	}
	return published * 100 / required
}

func (c *call) unitView(u sdk.Unit, t tally) unitIndexView {
	v := unitIndexView{UnitID: u.ID, UnitName: u.Name, Required: t.required(), Published: t.published(),
		BasicPublished: t.profile, DocumentsUnpublished: t.documents - t.publishedDo}
	v.Percent = percent(v.Published, v.Required)
	v.MeetsTarget = v.Published*100 >= int64(c.settings.IndexTarget)*v.Required
	return v
}

func unitFigures(v unitIndexView) map[string]int64 {
	return map[string]int64{measureRequired: v.Required, measurePublished: v.Published, measurePercent: wholePercent(v.Published, v.Required)}
}

// documentTallies counts the documents where where holds, by unit.
func (c *call) documentTallies(where map[string]string, into map[int64]*tally) error {
	after := ""
	for {
		page, err := c.host.Query(c.ctx, collDocuments, sdk.Query{Where: where, Limit: 200, After: after})
		if err != nil {
			return fromHost(err, "the documents")
		}
		for _, r := range page.Records {
			var d struct {
				UnitID int64  `json:"unit_id"`
				Status string `json:"status"`
			}
			if err := json.Unmarshal(r.Document, &d); err != nil {
				return fmt.Errorf("read document %s: %w", r.ID, err)
			}
			t := into[d.UnitID]
			if t == nil {
				continue
			}
			t.documents++
			if d.Status == docPublished {
				t.publishedDo++
			}
		}
		if page.Next == "" {
			return nil
		}
		after = page.Next
	}
}

// tallyUnit counts unit's items.
func (c *call) tallyUnit(unit int64) (tally, error) {
	_, pr, _, err := c.readProfile(unit)
	if err != nil {
		return tally{}, err
	}
	t := &tally{profile: pr.Published != nil}
	if err := c.documentTallies(map[string]string{"unit_id": strconv.FormatInt(unit, 10)}, map[int64]*tally{unit: t}); err != nil {
		return tally{}, err
	}
	return *t, nil
}

// unitIndex: GET /index/units/{unit}, to the unit's accounts and the
// county's readers. Reading it records the unit's figures of the day.
func (c *call) unitIndex(p params) (int, any, error) {
	unit, err := unitParam(p)
	if err != nil {
		return 0, nil, err
	}
	if _, err := parseQuery(c.req.Query); err != nil {
		return 0, nil, err
	}
	if !c.who.readsUnit(unit, c.settings) {
		return 0, nil, forbidden("only the unit's accounts, the county office, the county's admins and operators read its index")
	}
	name, err := c.unitName(unit)
	if err != nil {
		return 0, nil, err
	}
	t, err := c.tallyUnit(unit)
	if err != nil {
		return 0, nil, err
	}
	v := c.unitView(sdk.Unit{ID: unit, Name: name}, t)
	c.level(unit, unitFigures(v), nil)
	return http.StatusOK, struct {
		indexHead
		unitIndexView
	}{indexHead{Day: c.today(), Target: c.settings.IndexTarget}, v}, nil
}

// levelUnit records unit's figures of the day after a change to its
// items. The change is made by then: a failure fails the request no
// further, and the next read of the index records them.
func (c *call) levelUnit(unit int64) {
	t, err := c.tallyUnit(unit)
	if err != nil {
		c.log.Error("the unit's index was not counted", "unit", unit, "request", c.req.RequestID, "err", err)
		return
	}
	c.level(unit, unitFigures(c.unitView(sdk.Unit{ID: unit}, t)), nil)
}

// countyIndex: GET /index, to the county office, the county's admins and
// operators: the county's index and every unit's. Reading it records
// the day's figures of every unit and of the county.
func (c *call) countyIndex(params) (int, any, error) {
	if _, err := parseQuery(c.req.Query); err != nil {
		return 0, nil, err
	}
	if !c.who.readsCounty(c.settings) {
		return 0, nil, forbidden("only the county office, the county's admins and operators read the county's index")
	}
	units, err := c.host.Units(c.ctx)
	if err != nil {
		return 0, nil, fromHost(err, "the county's units")
	}
	tallies := make(map[int64]*tally, len(units))
	for _, u := range units {
		tallies[u.ID] = &tally{}
	}
	if err := c.publishedProfiles(func(unit int64) {
		if t := tallies[unit]; t != nil {
			t.profile = true
		}
	}); err != nil {
		return 0, nil, err
	}
	if err := c.documentTallies(nil, tallies); err != nil {
		return 0, nil, err
	}
	out := countyIndexView{indexHead: indexHead{Day: c.today(), Target: c.settings.IndexTarget}, Units: make([]unitIndexView, 0, len(units))}
	for _, u := range units {
		v := c.unitView(u, *tallies[u.ID])
		out.Units = append(out.Units, v)
		out.Required += v.Required
		out.Published += v.Published
	}
	out.Percent = percent(out.Published, out.Required)
	out.MeetsTarget = out.Required > 0 && out.Published*100 >= int64(c.settings.IndexTarget)*out.Required
	c.levelCounty(out)
	return http.StatusOK, out, nil
}

// publishedProfiles calls each with the unit of every published form.
func (c *call) publishedProfiles(each func(unit int64)) error {
	after := ""
	for {
		page, err := c.host.Query(c.ctx, collProfiles, sdk.Query{Where: map[string]string{"public": "yes"}, Limit: 200, After: after})
		if err != nil {
			return fromHost(err, "the units' basic information")
		}
		for _, r := range page.Records {
			unit, err := strconv.ParseInt(r.ID, 10, 64)
			if err != nil {
				return fmt.Errorf("profile %s: the id is no unit's", r.ID)
			}
			each(unit)
		}
		if page.Next == "" {
			return nil
		}
		after = page.Next
	}
}

// levelCounty records the day's figures of every unit and of the county,
// reading the day's levels a page at a time rather than one by one.
func (c *call) levelCounty(v countyIndexView) {
	known := map[string]sdk.Record{}
	after := ""
	for {
		page, err := c.host.Query(c.ctx, collLevels, sdk.Query{Where: map[string]string{"day": v.Day}, Limit: 200, After: after})
		if err != nil {
			c.log.Error("the day's index figures were not read", "request", c.req.RequestID, "err", err)
			return
		}
		for _, r := range page.Records {
			known[r.ID] = r
		}
		if page.Next == "" {
			break
		}
		after = page.Next
	}
	at := func(unit int64) *sdk.Record {
		if r, ok := known[levelID(unit, v.Day)]; ok {
			return &r
		}
		return &sdk.Record{Document: json.RawMessage(`{"figures":{}}`)}
	}
	for _, u := range v.Units {
		c.level(u.UnitID, unitFigures(u), at(u.UnitID))
	}
	c.level(0, map[string]int64{measureCountyPercent: wholePercent(v.Published, v.Required)}, at(0))
}
