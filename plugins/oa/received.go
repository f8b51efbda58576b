package oa

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/countycloud/countycloud/plugins/sdk"
)

const codeReceivedNotFound = "received_not_found"

// receivedDoc is a document as one recipient unit received it, and where
// its receiving flow is there.
type receivedDoc struct {
	DocumentID   string `json:"document_id"`
	UnitID       int64  `json:"unit_id"`
	SenderUnitID int64  `json:"sender_unit_id"`
	// Copy says the unit is a copy recipient (抄送), not a main one.
	Copy       bool   `json:"copy"`
	InstanceID int64  `json:"instance_id"`
	Title      string `json:"title"`
	Urgency    string `json:"urgency"`
	Year       int    `json:"year,omitempty"`
	Sequence   int64  `json:"sequence,omitempty"`
	Number     string `json:"number,omitempty"`
	Paper      bool   `json:"paper"`
	// Status is the step the receiving flow waits at, or done.
	Status        string     `json:"status"`
	DistributedAt time.Time  `json:"distributed_at"`
	SignedInAt    *time.Time `json:"signed_in_at,omitempty"`
	SignedInBy    string     `json:"signed_in_by,omitempty"`
	FinishedAt    *time.Time `json:"finished_at,omitempty"`
}

// receivedID names what unit received of document: the document's id,
// so that a unit's list is newest first too, and the unit.
func receivedID(document string, unit int64) string {
	return document + "." + strconv.FormatInt(unit, 10)
}

func parseReceivedID(s string) (string, int64, bool) {
	doc, unit, ok := strings.Cut(s, ".")
	if !ok || !sdk.ValidNewestFirstID(doc) {
		return "", 0, false
	}
	n, err := positiveID("unit", unit)
	return doc, n, err == nil
}

type receivedView struct {
	ID      string `json:"id"`
	Version int64  `json:"version"`
	receivedDoc
}

func receivedRoutes() []route {
	return []route{
		{http.MethodGet, "/received/{id}", (*call).getReceived},
		{http.MethodPost, "/received/{id}/act", (*call).actOnReceived},
		{http.MethodGet, "/received/{id}/tasks", (*call).receivedTasks},
		{http.MethodGet, "/documents/{id}/receipts", (*call).deliveryReceipts},
	}
}

// received records what each unit received from the instances a
// distribution started, once each: a record there already (a retry, a
// catch-up) is kept.
func (c *call) received(docID string, d document, started []sdk.Instance) error {
	for _, in := range started {
		rd := receivedDoc{DocumentID: docID, UnitID: in.SubjectUnitID, SenderUnitID: d.UnitID, Copy: slices.Contains(d.CopyUnits, in.SubjectUnitID),
			InstanceID: in.ID, Title: d.Title, Urgency: d.Urgency, Year: d.Year, Sequence: d.Sequence, Number: d.number(), Paper: d.Paper,
			Status: stepSignIn, DistributedAt: in.StartedAt.UTC()}
		_, err := c.host.Put(c.ctx, collReceived, receivedID(docID, in.SubjectUnitID), 0, rd)
		if err != nil && !errors.Is(err, sdk.ErrConflict) {
			return fromHost(err, "what a unit received")
		}
	}
	return nil
}

// loadReceived reads what a unit received, for the unit's accounts and
// the county's admins and operators. A record a crash kept from being
// written is written from the distribution the engine holds.
func (c *call) loadReceived(id string) (sdk.Record, receivedDoc, error) {
	notFound := newError(http.StatusNotFound, codeReceivedNotFound, "no received document %s in this county", id)
	docID, unit, ok := parseReceivedID(id)
	if !ok || !(c.who.county || c.who.operator || c.who.staff() && c.who.unit == unit) {
		return sdk.Record{}, receivedDoc{}, notFound
	}
	r, err := c.host.Get(c.ctx, collReceived, id)
	if errors.Is(err, sdk.ErrNotFound) {
		if r, err = c.recoverReceived(docID, unit); errors.Is(err, sdk.ErrNotFound) {
			return sdk.Record{}, receivedDoc{}, notFound
		}
	}
	if err != nil {
		return sdk.Record{}, receivedDoc{}, fromHost(err, "the received document")
	}
	var rd receivedDoc
	if err := json.Unmarshal(r.Document, &rd); err != nil {
		return sdk.Record{}, receivedDoc{}, fmt.Errorf("read received document %s: %w", id, err)
	}
	return r, rd, nil
}

// recoverReceived writes what unit received of document docID from the
// engine's distribution, if there was one (ErrNotFound if not).
func (c *call) recoverReceived(docID string, unit int64) (sdk.Record, error) {
	dr, err := c.host.Get(c.ctx, collDocuments, docID)
	if err != nil {
		return sdk.Record{}, err
	}
	var d document
	if err := json.Unmarshal(dr.Document, &d); err != nil {
		return sdk.Record{}, fmt.Errorf("read document %s: %w", docID, err)
	}
	if _, _, err := c.catchUp(dr, d); err != nil {
		return sdk.Record{}, err
	}
	return c.host.Get(c.ctx, collReceived, receivedID(docID, unit))
}

// getReceived: GET /received/{id}, with the document itself.
func (c *call) getReceived(p params) (int, any, error) {
	if _, err := parseQuery(c.req.Query); err != nil {
		return 0, nil, err
	}
	r, rd, err := c.loadReceived(p["id"])
	if err != nil {
		return 0, nil, err
	}
	dr, d, err := c.loadDocument(rd.DocumentID)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, struct {
		Received receivedView `json:"received"`
		Document documentView `json:"document"`
	}{receivedView{ID: r.ID, Version: r.Version, receivedDoc: rd}, viewOf(dr.ID, dr, d)}, nil
}

// receivedTasks: GET /received/{id}/tasks lists the receiving flow's
// tasks there.
func (c *call) receivedTasks(p params) (int, any, error) {
	if _, err := parseQuery(c.req.Query); err != nil {
		return 0, nil, err
	}
	_, rd, err := c.loadReceived(p["id"])
	if err != nil {
		return 0, nil, err
	}
	return c.flowTasks(wfReceiving, rd.InstanceID)
}

// actOnReceived: POST /received/{id}/act does an action of the receiving
// flow's open task there, as its assignee; 签收 is recorded as the
// unit's sign-in, which the sender sees (送达回执).
func (c *call) actOnReceived(p params) (int, any, error) {
	if _, err := parseQuery(c.req.Query); err != nil {
		return 0, nil, err
	}
	r, rd, err := c.loadReceived(p["id"])
	if err != nil {
		return 0, nil, err
	}
	in, err := c.readAct()
	if err != nil {
		return 0, nil, err
	}
	tasks, err := c.openTasks(wfReceiving, rd.InstanceID)
	if err != nil {
		return 0, nil, err
	}
	if status := flowStatus(tasks, rd.Status); status != rd.Status {
		// An earlier request had the engine act and stopped before
		// recording it: recorded (and counted) now.
		if rd.Status = status; status == statusDone {
			c.count(measureReceived, rd.UnitID, "received:"+r.ID)
			rd.FinishedAt = timePtr(c.now)
		}
		if r, err = c.host.Put(c.ctx, collReceived, r.ID, r.Version, rd); err != nil {
			return 0, nil, fromHost(err, "the received document")
		}
	}
	t, err := c.pickTask(tasks)
	if err != nil {
		return 0, nil, err
	}
	out, err := c.host.ActOnTaskWith(c.ctx, t.ID, in.Action, sdk.ActOptions{Comment: in.Comment, SMSReminder: in.SMSReminder})
	switch {
	case errors.Is(err, sdk.ErrInvalid):
		return 0, nil, badRequest(codeActionNotAllowed, "%s (%s) takes no action %q: %v", t.StepName, t.Step, in.Action, err)
	case err != nil:
		return 0, nil, fromEngine(err, "the action")
	}
	if t.Step == stepSignIn && in.Action == actSignIn {
		rd.SignedInAt, rd.SignedInBy = timePtr(c.now), c.who.login
	}
	rd.Status = statusOf(out, rd.Status)
	if rd.Status == statusDone {
		// Counted once the engine has done it, before it is recorded.
		c.count(measureReceived, rd.UnitID, "received:"+r.ID)
		rd.FinishedAt = timePtr(c.now)
	}
	nr, err := c.host.Put(c.ctx, collReceived, r.ID, r.Version, rd)
	if err != nil {
		return 0, nil, fromHost(err, "the received document")
	}
	return http.StatusOK, struct {
		Received receivedView `json:"received"`
		Outcome  sdk.Outcome  `json:"outcome"`
	}{receivedView{ID: nr.ID, Version: nr.Version, receivedDoc: rd}, out}, nil
}

// deliveryReceipt is one recipient unit's 送达回执: whether and when it
// signed the document in, and where its receiving flow is.
type deliveryReceipt struct {
	UnitID     int64      `json:"unit_id"`
	UnitName   string     `json:"unit_name"`
	Copy       bool       `json:"copy"`
	InstanceID int64      `json:"instance_id"`
	Status     string     `json:"status"`
	SignedIn   bool       `json:"signed_in"`
	SignedInAt *time.Time `json:"signed_in_at,omitempty"`
	SignedInBy *int64     `json:"signed_in_by,omitempty"`
}

// deliveryReceipts: GET /documents/{id}/receipts, to whoever reads the
// document, from the engine: every recipient unit's receiving flow and
// its sign-in (签收登记), whether done through the module or not.
func (c *call) deliveryReceipts(p params) (int, any, error) {
	if _, err := parseQuery(c.req.Query); err != nil {
		return 0, nil, err
	}
	_, d, err := c.loadDocument(p["id"])
	if err != nil {
		return 0, nil, err
	}
	out := struct {
		DistributedAt *time.Time        `json:"distributed_at,omitempty"`
		Receipts      []deliveryReceipt `json:"receipts"`
	}{DistributedAt: d.DistributedAt, Receipts: []deliveryReceipt{}}
	if d.DistributedAt == nil {
		return http.StatusOK, out, nil
	}
	started, err := c.host.ListWorkflowInstances(c.ctx, sdk.WorkflowQuery{Workflow: wfReceiving, ParentID: d.InstanceID, Limit: 500})
	if err != nil {
		return 0, nil, fromHost(err, "the distributed flows")
	}
	ids := make([]int64, 0, len(started))
	for _, in := range started {
		ids = append(ids, in.SubjectUnitID)
	}
	units, err := c.host.Units(c.ctx, ids...)
	if err != nil {
		return 0, nil, fromHost(err, "the county's units")
	}
	signedIn, err := c.signIns(d.InstanceID)
	if err != nil {
		return 0, nil, err
	}
	for _, in := range started {
		rc := deliveryReceipt{UnitID: in.SubjectUnitID, Copy: slices.Contains(d.CopyUnits, in.SubjectUnitID), InstanceID: in.ID, Status: in.Status}
		if i := slices.IndexFunc(units, func(u sdk.Unit) bool { return u.ID == in.SubjectUnitID }); i >= 0 {
			rc.UnitName = units[i].Name
		}
		if t, ok := signedIn[in.ID]; ok {
			rc.SignedIn, rc.SignedInAt, rc.SignedInBy = true, t.ActedAt, t.ActedBy
		}
		out.Receipts = append(out.Receipts, rc)
	}
	return http.StatusOK, out, nil
}

// signIns are the 签收登记 tasks done in the receiving flows a
// distribution from sending started, by instance: the engine's record of
// who signed in, read a page of the flows' done tasks at a time, not a
// call per recipient unit.
func (c *call) signIns(sending int64) (map[int64]sdk.Task, error) {
	out := map[int64]sdk.Task{}
	q := sdk.WorkflowQuery{Workflow: wfReceiving, ParentID: sending, Status: "done", Limit: 500}
	for {
		tasks, err := c.host.ListWorkflowTasks(c.ctx, q)
		if err != nil {
			return nil, fromHost(err, "the receiving flows' tasks")
		}
		for _, t := range tasks {
			if _, seen := out[t.InstanceID]; t.Step == stepSignIn && !seen {
				out[t.InstanceID] = t
			}
		}
		if len(tasks) < q.Limit {
			return out, nil
		}
		q.After = tasks[len(tasks)-1].ID
	}
}
