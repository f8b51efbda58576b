package approval

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/countycloud/countycloud/plugins/sdk"
)

func catalogueRoutes() []route {
	return []route{
		{http.MethodGet, "/items", (*call).listItems},
		{http.MethodPost, "/items", (*call).createItem},
		// The workbook's routes come before /items/{code}: no code is in
		// lower case.
		{http.MethodGet, "/items/template", (*call).itemsTemplate},
		{http.MethodGet, "/items/export", (*call).exportItems},
		{http.MethodPost, "/items/import", (*call).importItems},
		{http.MethodGet, "/items/{code}", (*call).getItem},
		{http.MethodPut, "/items/{code}", (*call).putItem},
		{http.MethodDelete, "/items/{code}", (*call).deleteItem},
	}
}

// measureComplete counts the items of the catalogue that became complete.
const measureComplete = "approval.items.complete"

func catalogueMeasures() []sdk.MeasureDef {
	return []sdk.MeasureDef{
		{ID: measureComplete, Label: sdk.Text{ZH: "要素齐全的审批事项数", EN: "Complete approval items"},
			Counts: sdk.Text{ZH: "一个首次填齐全部必填要素的审批事项（牵头办理部门，一个事项只计一次）",
				EN: "one approval item given every required field for the first time (by its lead department; an item counts once)"}},
	}
}

// day is the day in China of t, as measures name days.
func day(t time.Time) string { return t.In(china).Format("2006-01-02") }

// china is the zone of the county's days.
var china = time.FixedZone("CST", 8*60*60)

// countOnce marks it counted today if it is complete and was never
// counted; it reports whether it did, and the caller then records the
// count once the item is written.
func countOnce(it *item, now time.Time) bool {
	if !it.Complete || it.CountedOn != "" {
		return false
	}
	it.CountedOn = day(now)
	return true
}

// countKey names the count of the item of code created at created: an
// item deleted and created again under its code counts again.
func countKey(code string, created time.Time) string {
	return "complete:" + code + ":" + strconv.FormatInt(created.UnixMicro(), 10)
}

// record records one count of measure. The item is written by then and a
// retry would not count it again (it is marked counted), so a failure
// fails the request no further: the host's log keeps what the figures
// missed.
func (c *call) record(m sdk.Measure) {
	if _, err := c.host.RecordMeasure(c.ctx, m); err != nil {
		c.log.Error("a measure was not recorded", "measure", m.ID, "unit", m.UnitID, "key", m.Key, "request", c.req.RequestID, "err", err)
	}
}

// countyUnits returns which of ids are units of the county.
func (c *call) countyUnits(ids []int64) (map[int64]bool, error) {
	out := map[int64]bool{}
	var ask []int64
	for _, id := range ids {
		if id > 0 && !slices.Contains(ask, id) {
			ask = append(ask, id)
		}
	}
	if len(ask) == 0 {
		return out, nil
	}
	units, err := c.host.Units(c.ctx, ask...)
	if err != nil {
		return nil, fromHost(err, "the county's units")
	}
	for _, u := range units {
		out[u.ID] = true
	}
	return out, nil
}

// checkInput normalises and checks in against the county's units.
func (c *call) checkInput(in *itemInput) error {
	in.normalise()
	ids := make([]int64, len(in.Departments))
	for i, d := range in.Departments {
		ids[i] = d.UnitID
	}
	units, err := c.countyUnits(ids)
	if err != nil {
		return err
	}
	if ps := in.check(units); len(ps) > 0 {
		return invalidItem(ps)
	}
	return nil
}

// invalidItem is the answer to an item with problems: each named in
// details.
func invalidItem(ps []problem) error {
	msg := ps[0].Field + ": " + ps[0].Message
	if len(ps) > 1 {
		msg += " (and " + strconv.Itoa(len(ps)-1) + " more)"
	}
	return &apiError{status: http.StatusBadRequest, code: codeInvalidItem, message: msg, details: ps}
}

// listItems: GET /items, a page of the catalogue in the order of codes,
// to the county's accounts and the operators; unit_id, category and
// complete filter it.
func (c *call) listItems(params) (int, any, error) {
	q, err := parseQuery(c.req.Query, "unit_id", "category", "complete", "after", "limit")
	if err != nil {
		return 0, nil, err
	}
	if !c.who.readsCatalogue() {
		return 0, nil, forbidden("only the county's accounts read its catalogue")
	}
	where := map[string]string{}
	if s, ok := q["unit_id"]; ok {
		id, err := positiveID("unit_id", s)
		if err != nil {
			return 0, nil, err
		}
		where["unit_id"] = strconv.FormatInt(id, 10)
	}
	if s, ok := q["category"]; ok {
		if !slices.Contains(categories, s) {
			return 0, nil, badRequest(codeInvalidQuery, "category %q is not one of %s", s, strings.Join(categories, ", "))
		}
		where["category"] = s
	}
	if s, ok := q["complete"]; ok {
		if s != "true" && s != "false" {
			return 0, nil, badRequest(codeInvalidQuery, "complete is true or false, not %q", s)
		}
		where["complete"] = s
	}
	limit, err := pageLimit(q["limit"])
	if err != nil {
		return 0, nil, err
	}
	page, err := c.host.Query(c.ctx, collItems, sdk.Query{Where: where, Limit: limit, After: q["after"]})
	if err != nil {
		return 0, nil, fromHost(err, "the catalogue")
	}
	out := struct {
		Items []itemView `json:"items"`
		Next  string     `json:"next,omitempty"`
	}{Items: make([]itemView, 0, len(page.Records)), Next: page.Next}
	for _, r := range page.Records {
		v, err := itemOf(r)
		if err != nil {
			return 0, nil, err
		}
		out.Items = append(out.Items, v)
	}
	return http.StatusOK, out, nil
}

// getItem: GET /items/{code}, to the county's accounts and the operators.
func (c *call) getItem(p params) (int, any, error) {
	if err := noQuery(c.req.Query); err != nil {
		return 0, nil, err
	}
	if !c.who.readsCatalogue() {
		return 0, nil, forbidden("only the county's accounts read its catalogue")
	}
	v, err := c.loadItem(p["code"])
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, v, nil
}

// createItem: POST /items, by the county's admins.
func (c *call) createItem(params) (int, any, error) {
	if err := noQuery(c.req.Query); err != nil {
		return 0, nil, err
	}
	if !c.who.keepsCatalogue() {
		return 0, nil, forbidden("only the county's system admins change its catalogue")
	}
	var in itemInput
	if err := decodeBody(c.req.Body, &in); err != nil {
		return 0, nil, err
	}
	if in.Version != 0 {
		return 0, nil, badRequest(codeInvalidItem, "version: a new item has none; PUT /items/%s replaces one", in.Code)
	}
	if err := c.checkInput(&in); err != nil {
		return 0, nil, err
	}
	it := in.item(c.who.login, c.now)
	counted := countOnce(&it, c.now)
	r, err := c.host.Put(c.ctx, collItems, it.Code, 0, it)
	if errors.Is(err, sdk.ErrConflict) {
		return 0, nil, newError(http.StatusConflict, codeItemExists, "the catalogue has an item %s; PUT /items/%s replaces it", it.Code, it.Code)
	}
	if err != nil {
		return 0, nil, fromHost(err, "the item")
	}
	if counted {
		c.record(sdk.Measure{ID: measureComplete, UnitID: it.UnitID, Day: it.CountedOn, Key: countKey(it.Code, r.CreatedAt)})
	}
	c.audit("item.create", "item", it.Code, nil, it)
	v, err := itemOf(r)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, v, nil
}

// putItem: PUT /items/{code}, replacing the item at its version, by the
// county's admins. The code stays.
func (c *call) putItem(p params) (int, any, error) {
	if err := noQuery(c.req.Query); err != nil {
		return 0, nil, err
	}
	if !c.who.keepsCatalogue() {
		return 0, nil, forbidden("only the county's system admins change its catalogue")
	}
	var in itemInput
	if err := decodeBody(c.req.Body, &in); err != nil {
		return 0, nil, err
	}
	old, err := c.loadItem(p["code"])
	if err != nil {
		return 0, nil, err
	}
	if in.Code == "" {
		in.Code = old.Code
	}
	if strings.ToUpper(strings.TrimSpace(in.Code)) != old.Code {
		return 0, nil, badRequest(codeInvalidItem, "code: an item keeps its code %s; create another item for another code", old.Code)
	}
	if in.Version <= 0 {
		return 0, nil, badRequest(codeInvalidItem, "version: give the item's current version (%d) to replace it", old.Version)
	}
	if err := c.checkInput(&in); err != nil {
		return 0, nil, err
	}
	it := in.item(c.who.login, c.now)
	it.CountedOn = old.CountedOn
	counted := countOnce(&it, c.now)
	r, err := c.host.Put(c.ctx, collItems, it.Code, in.Version, it)
	if err != nil {
		return 0, nil, fromHost(err, "the item")
	}
	if counted {
		c.record(sdk.Measure{ID: measureComplete, UnitID: it.UnitID, Day: it.CountedOn, Key: countKey(it.Code, r.CreatedAt)})
	}
	c.audit("item.update", "item", it.Code, old.item, it)
	v, err := itemOf(r)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, v, nil
}

// deleteItem: DELETE /items/{code}?version=N, by the county's admins.
func (c *call) deleteItem(p params) (int, any, error) {
	q, err := parseQuery(c.req.Query, "version")
	if err != nil {
		return 0, nil, err
	}
	if !c.who.keepsCatalogue() {
		return 0, nil, forbidden("only the county's system admins change its catalogue")
	}
	version, err := strconv.ParseInt(q["version"], 10, 64)
	if err != nil || version <= 0 {
		return 0, nil, badRequest(codeInvalidQuery, "give the item's current version: ?version=N")
	}
	old, err := c.loadItem(p["code"])
	if err != nil {
		return 0, nil, err
	}
	if err := c.host.Delete(c.ctx, collItems, old.Code, version); err != nil {
		return 0, nil, fromHost(err, "the item")
	}
	c.audit("item.delete", "item", old.Code, old.item, nil)
	return http.StatusNoContent, nil, nil
}

// noQuery refuses a query string on a route that takes none.
func noQuery(raw string) error {
	_, err := parseQuery(raw)
	return err
}

// pageLimit reads a page's size, 20 if not given.
func pageLimit(s string) (int, error) {
	if s == "" {
		return 20, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 100 || strconv.Itoa(n) != s {
		return 0, badRequest(codeInvalidQuery, "limit %q is not a whole number from 1 to 100", s)
	}
	return n, nil
}
