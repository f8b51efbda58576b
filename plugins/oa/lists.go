package oa

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/countycloud/countycloud/plugins/sdk"
)

func listRoutes() []route {
	return []route{
		{http.MethodGet, "/documents", (*call).listDocuments},
		{http.MethodGet, "/received", (*call).listReceived},
		{http.MethodGet, "/tasks", (*call).myTasks},
	}
}

// maxScannedPages bounds the host's pages one list reads looking for
// titles that match: a page answered with fewer documents than asked
// and a next cursor says there may be more.
const maxScannedPages = 10

// listFilter is a list's query: the unit (the caller's unless an admin
// or an operator names one, or none for the whole county), and the
// indexed filters.
type listFilter struct {
	where map[string]string
	title string
	limit int
	after string
}

// parseListQuery reads ?unit_id=&year=&number=&title=&status=&urgency=
// &limit=&after= for the caller; after must be an id of the list's
// records.
func (c *call) parseListQuery(raw string, validAfter func(string) bool) (listFilter, error) {
	q, err := parseQuery(raw, "unit_id", "year", "number", "title", "status", "urgency", "limit", "after")
	if err != nil {
		return listFilter{}, err
	}
	f := listFilter{where: map[string]string{}, title: strings.TrimSpace(q["title"]), after: q["after"]}
	if f.limit, err = pageLimit(q["limit"]); err != nil {
		return listFilter{}, err
	}
	if f.after != "" && !validAfter(f.after) {
		return listFilter{}, badRequest(codeInvalidQuery, "after %q is not the next of a page of this list", f.after)
	}
	switch {
	case c.who.readsCounty():
		if s := q["unit_id"]; s != "" {
			unit, err := positiveID("unit_id", s)
			if err != nil {
				return listFilter{}, err
			}
			f.where["unit_id"] = strconv.FormatInt(unit, 10)
		}
	case c.who.staff():
		if s := q["unit_id"]; s != "" && s != strconv.FormatInt(c.who.unit, 10) {
			return listFilter{}, forbidden("an account lists its own unit's documents only")
		}
		f.where["unit_id"] = strconv.FormatInt(c.who.unit, 10)
	default:
		return listFilter{}, forbidden("only the county's accounts list its documents")
	}
	if s := q["year"]; s != "" {
		y, err := strconv.Atoi(s)
		if err != nil || y < 2000 || y > 2100 || strconv.Itoa(y) != s {
			return listFilter{}, badRequest(codeInvalidQuery, "year %q is not a year from 2000 to 2100", s)
		}
		f.where["year"] = s
	}
	if s := q["number"]; s != "" {
		n, err := positiveID("number", s)
		if err != nil {
			return listFilter{}, err
		}
		f.where["sequence"] = strconv.FormatInt(n, 10)
	}
	if s := q["urgency"]; s != "" {
		if !slices.Contains(urgencies, s) {
			return listFilter{}, badRequest(codeInvalidQuery, "urgency %q is not one of %s", s, strings.Join(urgencies, ", "))
		}
		f.where["urgency"] = s
	}
	if s := q["status"]; s != "" {
		if len(s) > 32 || strings.Trim(s, "abcdefghijklmnopqrstuvwxyz0123456789_") != "" {
			return listFilter{}, badRequest(codeInvalidQuery, "status %q is not a step's id nor done", s)
		}
		f.where["status"] = s
	}
	if len([]rune(f.title)) > maxTitleRunes {
		return listFilter{}, badRequest(codeInvalidQuery, "title has more than %d characters", maxTitleRunes)
	}
	return f, nil
}

// scan pages through collection with f, newest first, keeping the
// records whose title holds f.title; next continues after the last one
// read.
func (c *call) scan(collection string, f listFilter, keep func(sdk.Record) (bool, error)) (string, error) {
	after, kept := f.after, 0
	for range maxScannedPages {
		page, err := c.host.Query(c.ctx, collection, sdk.Query{Where: f.where, Limit: f.limit, After: after})
		if err != nil {
			return "", fromHost(err, "the list")
		}
		for _, r := range page.Records {
			ok, err := keep(r)
			if err != nil {
				return "", err
			}
			after = r.ID
			if ok {
				if kept++; kept == f.limit {
					return after, nil
				}
			}
		}
		if page.Next == "" {
			return "", nil
		}
	}
	return after, nil
}

// listDocuments: GET /documents, the documents the caller's unit issued
// (the county's, or a unit's, for admins and operators), newest first.
func (c *call) listDocuments(params) (int, any, error) {
	f, err := c.parseListQuery(c.req.Query, sdk.ValidNewestFirstID)
	if err != nil {
		return 0, nil, err
	}
	out := struct {
		Documents []documentView `json:"documents"`
		Next      string         `json:"next,omitempty"`
	}{Documents: []documentView{}}
	out.Next, err = c.scan(collDocuments, f, func(r sdk.Record) (bool, error) {
		var d document
		if err := json.Unmarshal(r.Document, &d); err != nil {
			return false, fmt.Errorf("read document %s: %w", r.ID, err)
		}
		if !strings.Contains(d.Title, f.title) {
			return false, nil
		}
		v := viewOf(r.ID, r, d)
		// A list carries no text: the document's own route does.
		v.Body = ""
		out.Documents = append(out.Documents, v)
		return true, nil
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, out, nil
}

// listReceived: GET /received, the documents the caller's unit received
// (the county's, or a unit's, for admins and operators), newest first.
func (c *call) listReceived(params) (int, any, error) {
	f, err := c.parseListQuery(c.req.Query, func(s string) bool {
		_, _, ok := parseReceivedID(s)
		return ok
	})
	if err != nil {
		return 0, nil, err
	}
	out := struct {
		Received []receivedView `json:"received"`
		Next     string         `json:"next,omitempty"`
	}{Received: []receivedView{}}
	out.Next, err = c.scan(collReceived, f, func(r sdk.Record) (bool, error) {
		var rd receivedDoc
		if err := json.Unmarshal(r.Document, &rd); err != nil {
			return false, fmt.Errorf("read received document %s: %w", r.ID, err)
		}
		if !strings.Contains(rd.Title, f.title) {
			return false, nil
		}
		out.Received = append(out.Received, receivedView{ID: r.ID, Version: r.Version, receivedDoc: rd})
		return true, nil
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, out, nil
}

// myTask is an open task of the module's flows that the caller may act
// on, with the document it is about.
type myTask struct {
	sdk.Task
	// Flow is sending or receiving.
	Flow string `json:"flow"`
	// DocumentID is the document's id; ReceivedID, in a receiving flow,
	// what the unit received (act on it at /received/{id}/act).
	DocumentID string `json:"document_id"`
	ReceivedID string `json:"received_id,omitempty"`
	Urgency    string `json:"urgency,omitempty"`
	Number     string `json:"number,omitempty"`
}

// myTasks: GET /tasks?limit=&after=, the open tasks of the caller's unit
// that wait for the caller (by role or by name), oldest first; next is
// the last task id read.
func (c *call) myTasks(params) (int, any, error) {
	q, err := parseQuery(c.req.Query, "limit", "after")
	if err != nil {
		return 0, nil, err
	}
	if !c.who.staff() {
		return 0, nil, forbidden("only an account of one of the county's units has tasks")
	}
	limit, err := pageLimit(q["limit"])
	if err != nil {
		return 0, nil, err
	}
	var after int64
	if s := q["after"]; s != "" {
		if after, err = positiveID("after", s); err != nil {
			return 0, nil, err
		}
	}
	tasks, err := c.host.ListWorkflowTasks(c.ctx, sdk.WorkflowQuery{Status: "open", UnitID: c.who.unit, After: after, Limit: limit})
	if err != nil {
		return 0, nil, fromHost(err, "the tasks")
	}
	out := struct {
		Tasks []myTask `json:"tasks"`
		Next  string   `json:"next,omitempty"`
	}{Tasks: []myTask{}}
	if len(tasks) == limit {
		out.Next = strconv.FormatInt(tasks[len(tasks)-1].ID, 10)
	}
	for _, t := range tasks {
		if !c.mayAct(t) {
			continue
		}
		mt, ok, err := c.taskOf(t)
		if err != nil {
			return 0, nil, err
		}
		if ok {
			out.Tasks = append(out.Tasks, mt)
		}
	}
	return http.StatusOK, out, nil
}

// taskOf finds the document of a task by its instance.
func (c *call) taskOf(t sdk.Task) (myTask, bool, error) {
	mt := myTask{Task: t}
	where := map[string]string{"instance_id": strconv.FormatInt(t.InstanceID, 10)}
	switch {
	case strings.HasSuffix(t.Workflow, "."+wfSending):
		mt.Flow = wfSending
		page, err := c.host.Query(c.ctx, collDocuments, sdk.Query{Where: where, Limit: 1})
		if err != nil || len(page.Records) == 0 {
			return mt, false, fromHost(err, "the task's document")
		}
		var d document
		if err := json.Unmarshal(page.Records[0].Document, &d); err != nil {
			return mt, false, fmt.Errorf("read document %s: %w", page.Records[0].ID, err)
		}
		mt.DocumentID, mt.Urgency, mt.Number = page.Records[0].ID, d.Urgency, d.number()
	case strings.HasSuffix(t.Workflow, "."+wfReceiving):
		mt.Flow = wfReceiving
		page, err := c.host.Query(c.ctx, collReceived, sdk.Query{Where: where, Limit: 1})
		if err != nil {
			return mt, false, fromHost(err, "the task's document")
		}
		if len(page.Records) == 0 {
			// Distributed, and not recorded yet: the sender's next
			// step, or a read of it, records it.
			return mt, false, nil
		}
		var rd receivedDoc
		if err := json.Unmarshal(page.Records[0].Document, &rd); err != nil {
			return mt, false, fmt.Errorf("read received document %s: %w", page.Records[0].ID, err)
		}
		mt.DocumentID, mt.ReceivedID, mt.Urgency, mt.Number = rd.DocumentID, page.Records[0].ID, rd.Urgency, rd.Number
	default:
		return mt, false, nil
	}
	return mt, true, nil
}
