package approval

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/countycloud/countycloud/plugins/sdk"
)

// xlsxType is the media type of a workbook.
const xlsxType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

// importInput is the body of POST /items/import: the workbook's bytes
// (base64 in JSON) and whether only to check it.
type importInput struct {
	Workbook []byte `json:"workbook"`
	DryRun   bool   `json:"dry_run"`
}

// importReport is what an import did, or would do on a dry run.
type importReport struct {
	DryRun bool `json:"dry_run"`
	// Rows counts the items of the file, those with errors too.
	Rows      int `json:"rows"`
	Created   int `json:"created"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
	// Errors are the problems of single rows: on a dry run they are
	// answered with the rest; otherwise the import is refused with them.
	Errors []rowError `json:"errors"`
}

// planned is an item an import writes: at version 0 a new one.
type planned struct {
	it      item
	version int64
	// counted says the write counts the item complete for the first
	// time; doc is the item encoded.
	counted bool
	doc     json.RawMessage
}

// importItems: POST /items/import, by the county's admins.
func (c *call) importItems(params) (int, any, error) {
	if err := noQuery(c.req.Query); err != nil {
		return 0, nil, err
	}
	if !c.who.keepsCatalogue() {
		return 0, nil, forbidden("only the county's system admins change its catalogue")
	}
	var in importInput
	if err := decodeBody(c.req.Body, &in); err != nil {
		return 0, nil, err
	}
	if len(in.Workbook) == 0 {
		return 0, nil, badRequest(codeWorkbookUnreadable, "give the workbook's bytes, in base64, as \"workbook\"")
	}
	units, err := c.host.Units(c.ctx)
	if err != nil {
		return 0, nil, fromHost(err, "the county's units")
	}
	rows, rowErrs, err := parseWorkbook(in.Workbook, units)
	if err != nil {
		return 0, nil, err
	}
	existing, err := c.allItems()
	if err != nil {
		return 0, nil, err
	}
	report := importReport{DryRun: in.DryRun, Rows: len(rows) + rowsWithErrors(rowErrs), Errors: rowErrs}
	if report.Errors == nil {
		report.Errors = []rowError{}
	}
	var plan []planned
	for _, r := range rows {
		it := r.in.item(c.who.login, c.now)
		old, ok := existing[it.Code]
		switch {
		case !ok:
			plan = append(plan, planned{it: it})
			report.Created++
		case sameItem(old.item, it):
			report.Unchanged++
		default:
			it.CountedOn = old.CountedOn
			plan = append(plan, planned{it: it, version: old.Version})
			report.Updated++
		}
	}
	if in.DryRun {
		return http.StatusOK, report, nil
	}
	if len(rowErrs) > 0 {
		return 0, nil, &apiError{status: http.StatusBadRequest, code: codeWorkbookRowsRejected,
			message: fmt.Sprintf("%d rows have errors; nothing is imported (a dry run lists them with the rest)", rowsWithErrors(rowErrs)), details: rowErrs}
	}
	if err := c.writePlan(plan); err != nil {
		return 0, nil, err
	}
	c.audit("items.import", "catalogue", "items", nil, map[string]int{"created": report.Created, "updated": report.Updated, "unchanged": report.Unchanged})
	return http.StatusOK, report, nil
}

// rowsWithErrors counts the rows errs name.
func rowsWithErrors(errs []rowError) int {
	rows := map[int]bool{}
	for _, e := range errs {
		rows[e.Row] = true
	}
	return len(rows)
}

// sameItem reports whether an import would change nothing of old but
// who wrote it when.
func sameItem(old, it item) bool {
	old.UpdatedBy, old.UpdatedAt, old.CountedOn = it.UpdatedBy, it.UpdatedAt, it.CountedOn
	return reflect.DeepEqual(normalItem(old), normalItem(it))
}

// normalItem is it with empty lists as nil, as JSON may give them.
func normalItem(it item) item {
	if len(it.Materials) == 0 {
		it.Materials = nil
	}
	return it
}

// allItems reads the whole catalogue, by code.
func (c *call) allItems() (map[string]itemView, error) {
	out := map[string]itemView{}
	for after := ""; ; {
		page, err := c.host.Query(c.ctx, collItems, sdk.Query{Limit: 200, After: after})
		if err != nil {
			return nil, fromHost(err, "the catalogue")
		}
		for _, r := range page.Records {
			v, err := itemOf(r)
			if err != nil {
				return nil, err
			}
			out[v.Code] = v
		}
		if page.Next == "" {
			return out, nil
		}
		after = page.Next
	}
}

// batchBytes keeps a batch's documents under the host's bound with room
// for what encoding adds.
const batchBytes = sdk.MaxBatchBytes - 64<<10

// writePlan writes the plan in batches the host takes whole, two at a
// time (batchesInFlight), and counts the items completed for the first
// time. Every row is checked before the first batch; a batch refused (an
// item changed meanwhile) leaves those before it written, and the one
// sent after it if that one was written; no batch is sent after the
// refusal. The answer says how many items were written: importing the
// file again finishes the work.
func (c *call) writePlan(plan []planned) error {
	for i := range plan {
		plan[i].counted = countOnce(&plan[i].it, c.now)
		doc, err := json.Marshal(plan[i].it)
		if err != nil {
			return fmt.Errorf("encode item %s: %w", plan[i].it.Code, err)
		}
		plan[i].doc = doc
	}
	// The items counted are recorded once the batches are written, or
	// as far as they were: one figure per lead department and day, not
	// one a batch (each a transaction of the host's).
	counted := completeCounts{}
	defer c.recordCounts(counted)
	var batches [][]planned
	for rest := plan; len(rest) > 0; {
		n, size := 0, 0
		for _, p := range rest {
			if n == sdk.MaxBatchRecords || n > 0 && size+len(p.doc) > batchBytes {
				break
			}
			size += len(p.doc)
			n++
		}
		batches, rest = append(batches, rest[:n]), rest[n:]
	}
	type answer struct {
		recs []sdk.Record
		err  error
	}
	answers := make([]chan answer, 0, len(batches))
	send := func(batch []planned) {
		puts := make([]sdk.RecordPut, len(batch))
		for i, p := range batch {
			puts[i] = sdk.RecordPut{Collection: collItems, ID: p.it.Code, Version: p.version, Document: p.doc}
		}
		ch := make(chan answer, 1)
		answers = append(answers, ch)
		go func() {
			recs, err := c.host.PutRecordsBrief(c.ctx, puts)
			ch <- answer{recs, err}
		}()
	}
	written := 0
	var refused error
	for i := 0; i < len(answers) || refused == nil && i < len(batches); i++ {
		for refused == nil && len(answers) < len(batches) && len(answers) < i+batchesInFlight {
			send(batches[len(answers)])
		}
		a := <-answers[i]
		if a.err != nil {
			if refused == nil {
				refused = a.err
			}
			continue
		}
		counted.add(batches[i], a.recs)
		written += len(batches[i])
	}
	if errors.Is(refused, sdk.ErrConflict) || errors.Is(refused, sdk.ErrNotFound) {
		return newError(http.StatusConflict, codeVersionConflict, "%d items were written when the catalogue changed meanwhile (%v); import the file again to finish", written, refused)
	}
	if refused != nil {
		return fromHost(refused, "the items")
	}
	return nil
}

// batchesInFlight is how many batches an import has sent the host at
// once: the host writes one while the next travels and waits, each in a
// transaction of its own on its own connection (measured: an import of
// 5,000 items in 0.44 to 0.48 s where one at a time took 0.50 to 0.73 s).
const batchesInFlight = 2

// countGroup is the lead department and day of an item counted complete.
type countGroup struct {
	unit int64
	day  string
}

// completeCounts are the keys of the items written and counted complete
// for the first time, by lead department and day.
type completeCounts map[countGroup][]string

// add notes the items of a batch written (as recs) that count.
func (counts completeCounts) add(batch []planned, recs []sdk.Record) {
	for i, p := range batch {
		if p.counted && i < len(recs) {
			g := countGroup{p.it.UnitID, p.it.CountedOn}
			counts[g] = append(counts[g], countKey(p.it.Code, recs[i].CreatedAt))
		}
	}
}

// recordCounts records counts, one figure per lead department and day:
// its key names the items, so that recording it again adds nothing.
func (c *call) recordCounts(counts completeCounts) {
	for _, g := range slices.SortedFunc(maps.Keys(counts), func(a, b countGroup) int {
		return cmp.Or(cmp.Compare(a.unit, b.unit), strings.Compare(a.day, b.day))
	}) {
		sum := sha256.New()
		for _, k := range counts[g] {
			sum.Write([]byte(k + "\n"))
		}
		key := "complete-batch:" + strconv.FormatInt(g.unit, 10) + ":" + hex.EncodeToString(sum.Sum(nil))[:40]
		c.record(sdk.Measure{ID: measureComplete, UnitID: g.unit, Day: g.day, Delta: int64(len(counts[g])), Key: key})
	}
}

// itemsTemplate: GET /items/template, the workbook's header and its
// instructions, to anyone who reads the catalogue.
func (c *call) itemsTemplate(params) (int, any, error) {
	if err := noQuery(c.req.Query); err != nil {
		return 0, nil, err
	}
	if !c.who.readsCatalogue() {
		return 0, nil, forbidden("only the county's accounts read its catalogue")
	}
	data, err := writeWorkbook(nil, nil, true)
	if err != nil {
		return 0, nil, fmt.Errorf("write the template: %w", err)
	}
	return http.StatusOK, workbookResponse(data, "approval-items-template.xlsx"), nil
}

// exportItems: GET /items/export, the whole catalogue as a workbook the
// import takes back, to anyone who reads the catalogue.
func (c *call) exportItems(params) (int, any, error) {
	if err := noQuery(c.req.Query); err != nil {
		return 0, nil, err
	}
	if !c.who.readsCatalogue() {
		return 0, nil, forbidden("only the county's accounts read its catalogue")
	}
	all, err := c.allItems()
	if err != nil {
		return 0, nil, err
	}
	units, err := c.host.Units(c.ctx)
	if err != nil {
		return 0, nil, fromHost(err, "the county's units")
	}
	names := make(map[int64]string, len(units))
	for _, u := range units {
		names[u.ID] = u.Name
	}
	items := make([]item, 0, len(all))
	for _, code := range slices.Sorted(maps.Keys(all)) {
		items = append(items, all[code].item)
	}
	data, err := writeWorkbook(items, names, false)
	if err != nil {
		return 0, nil, fmt.Errorf("write the catalogue: %w", err)
	}
	return http.StatusOK, workbookResponse(data, "approval-items-"+c.now.In(china).Format("20060102")+".xlsx"), nil
}

// workbookResponse answers a workbook to download.
func workbookResponse(data []byte, name string) *sdk.Response {
	return &sdk.Response{Status: http.StatusOK, Body: data, Header: map[string]string{
		"Content-Type": xlsxType, "Content-Disposition": `attachment; filename="` + name + `"`, "Cache-Control": "no-store"}}
}
