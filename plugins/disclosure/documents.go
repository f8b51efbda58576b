package disclosure

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/countycloud/countycloud/plugins/sdk"
)

func documentRoutes() []route {
	return []route{
		{http.MethodPost, "/documents", (*call).createDocument},
		{http.MethodGet, "/documents", (*call).listDocuments},
		{http.MethodGet, "/documents/{id}", (*call).getDocument},
		{http.MethodPut, "/documents/{id}", (*call).updateDocument},
		{http.MethodDelete, "/documents/{id}", (*call).deleteDocument},
		{http.MethodPost, "/documents/{id}/publish", (*call).publishDocument},
	}
}

// Kinds of document.
const (
	// kindNormative is a normative document (规范性文件): its number
	// (文号) and the day it takes effect are required, its expiry not.
	kindNormative = "normative"
	// kindProcurement is a procurement notice (采购公告): its deadline
	// (截止日期) is its expiry, and required.
	kindProcurement = "procurement"
)

// Statuses of a document.
const (
	docDraft     = "draft"
	docPublished = "published"
)

// Validity of a document on a day.
const (
	validPending   = "pending"
	validEffective = "effective"
	validExpired   = "expired"
)

// document is a normative document or a procurement notice of a unit.
type document struct {
	UnitID        int64      `json:"unit_id"`
	UnitName      string     `json:"unit_name"`
	Kind          string     `json:"kind"`
	Title         string     `json:"title"`
	Number        string     `json:"number,omitempty"`
	Body          string     `json:"body"`
	IssuedOn      string     `json:"issued_on"`
	EffectiveFrom string     `json:"effective_from"`
	ExpiresOn     string     `json:"expires_on,omitempty"`
	Status        string     `json:"status"`
	CreatedBy     string     `json:"created_by"`
	UpdatedBy     string     `json:"updated_by"`
	PublishedBy   string     `json:"published_by,omitempty"`
	PublishedAt   *time.Time `json:"published_at,omitempty"`
}

// validity is the document's on day: not yet in effect, in effect, or
// expired (the day after its expiry).
func (d document) validity(day string) string {
	switch {
	case day < d.EffectiveFrom:
		return validPending
	case d.ExpiresOn != "" && day > d.ExpiresOn:
		return validExpired
	}
	return validEffective
}

// validityZH names a validity where people read it.
func validityZH(kind, v string) string {
	if kind == kindProcurement {
		return map[string]string{validPending: "未开始", validEffective: "进行中", validExpired: "已截止"}[v]
	}
	return map[string]string{validPending: "未生效", validEffective: "有效", validExpired: "已失效"}[v]
}

// documentInput is the body of POST /documents and PUT /documents/{id}.
type documentInput struct {
	// Version is the document's version an edit is made on; absent on
	// creation.
	Version int64 `json:"version"`
	// Kind and UnitID are given on creation; an edit may repeat them but
	// not change them.
	Kind          string `json:"kind"`
	UnitID        int64  `json:"unit_id"`
	Title         string `json:"title"`
	Number        string `json:"number"`
	Body          string `json:"body"`
	IssuedOn      string `json:"issued_on"`
	EffectiveFrom string `json:"effective_from"`
	ExpiresOn     string `json:"expires_on"`
}

// Bounds of a document.
const (
	maxTitle   = 200
	maxNumber  = 64
	maxDocBody = 50000
)

// parseDocument reads and checks a document's body, naming every field to
// fix at once. A procurement notice without effective_from takes effect
// on the day it is issued.
func parseDocument(body []byte) (documentInput, error) {
	var in documentInput
	if err := decodeBody(body, &in); err != nil {
		return documentInput{}, err
	}
	var p problems
	if in.Version < 0 {
		p.add("version is a record's version")
	}
	if in.UnitID < 0 {
		p.add("unit_id is a unit's id")
	}
	if in.Kind != kindNormative && in.Kind != kindProcurement {
		p.add("kind %q is neither normative (规范性文件) nor procurement (采购公告)", in.Kind)
	}
	p.text("title", &in.Title, maxTitle, true, false)
	p.text("number (文号)", &in.Number, maxNumber, in.Kind == kindNormative, false)
	p.text("body", &in.Body, maxDocBody, true, true)
	p.date("issued_on", &in.IssuedOn, true)
	if in.Kind == kindProcurement && in.EffectiveFrom == "" {
		in.EffectiveFrom = in.IssuedOn
	}
	p.date("effective_from", &in.EffectiveFrom, true)
	p.date("expires_on", &in.ExpiresOn, in.Kind == kindProcurement)
	if validDay(in.EffectiveFrom) && validDay(in.ExpiresOn) && in.ExpiresOn < in.EffectiveFrom {
		p.add("expires_on %s is before effective_from %s", in.ExpiresOn, in.EffectiveFrom)
	}
	if err := p.err(codeInvalidDocument); err != nil {
		return documentInput{}, err
	}
	return in, nil
}

// documentView is a document as staff and the public read it.
type documentView struct {
	ID         string `json:"id"`
	Version    int64  `json:"version,omitempty"`
	Validity   string `json:"validity"`
	ValidityZH string `json:"validity_zh"`
	document
	UpdatedAt time.Time `json:"updated_at"`
}

func (c *call) documentViewOf(r sdk.Record, d document) documentView {
	v := d.validity(c.today())
	return documentView{ID: r.ID, Version: r.Version, Validity: v, ValidityZH: validityZH(d.Kind, v), document: d, UpdatedAt: r.UpdatedAt}
}

func documentNotFound(id string) *apiError {
	return newError(http.StatusNotFound, codeDocumentNotFound, "no document %s in this county", id)
}

// readDocument reads document id.
func (c *call) readDocument(id string) (sdk.Record, document, error) {
	if !sdk.ValidNewestFirstID(id) {
		return sdk.Record{}, document{}, documentNotFound(id)
	}
	r, err := c.host.Get(c.ctx, collDocuments, id)
	if errors.Is(err, sdk.ErrNotFound) {
		return sdk.Record{}, document{}, documentNotFound(id)
	}
	if err != nil {
		return sdk.Record{}, document{}, fromHost(err, "the document")
	}
	var d document
	if err := json.Unmarshal(r.Document, &d); err != nil {
		return sdk.Record{}, document{}, fmt.Errorf("read document %s: %w", id, err)
	}
	return r, d, nil
}

// loadDocument reads document id for staff who read its unit's drafts:
// another unit's is answered as not found.
func (c *call) loadDocument(id string) (sdk.Record, document, error) {
	r, d, err := c.readDocument(id)
	if err != nil {
		return sdk.Record{}, document{}, err
	}
	if !c.who.readsUnit(d.UnitID, c.settings) {
		return sdk.Record{}, document{}, documentNotFound(id)
	}
	return r, d, nil
}

// createDocument: POST /documents registers a unit's document as a
// draft; registered, it counts among the unit's items to disclose.
func (c *call) createDocument(params) (int, any, error) {
	if _, err := parseQuery(c.req.Query); err != nil {
		return 0, nil, err
	}
	in, err := parseDocument(c.req.Body)
	if err != nil {
		return 0, nil, err
	}
	if in.UnitID == 0 || in.Version != 0 {
		return 0, nil, badRequest(codeInvalidDocument, "a new document names its unit_id and no version")
	}
	if !c.who.edits(in.UnitID) {
		return 0, nil, forbidden("only the unit's admin or business admin, or a county admin, registers its documents")
	}
	name, err := c.unitName(in.UnitID)
	if err != nil {
		return 0, nil, err
	}
	d := document{UnitID: in.UnitID, UnitName: name, Kind: in.Kind, Status: docDraft, CreatedBy: c.who.login, UpdatedBy: c.who.login}
	d.apply(in)
	r, err := c.host.Put(c.ctx, collDocuments, sdk.NewestFirstID(c.now), 0, d)
	if err != nil {
		return 0, nil, fromHost(err, "the document")
	}
	c.audit("document.create", "document", r.ID, nil, d)
	c.levelUnit(d.UnitID)
	return http.StatusCreated, c.documentViewOf(r, d), nil
}

func (d *document) apply(in documentInput) {
	d.Title, d.Number, d.Body, d.IssuedOn, d.EffectiveFrom, d.ExpiresOn = in.Title, in.Number, in.Body, in.IssuedOn, in.EffectiveFrom, in.ExpiresOn
}

// listDocuments: GET /documents lists documents, newest first: every
// unit's to the county's readers, the caller's own unit's to others.
func (c *call) listDocuments(params) (int, any, error) {
	q, err := parseQuery(c.req.Query, "unit", "kind", "status", "after")
	if err != nil {
		return 0, nil, err
	}
	where := map[string]string{}
	if u, ok := q["unit"]; ok {
		id, err := positiveID("unit", u)
		if err != nil {
			return 0, nil, err
		}
		where["unit_id"] = strconv.FormatInt(id, 10)
	}
	if !c.who.readsCounty(c.settings) {
		if !c.who.staff() {
			return 0, nil, forbidden("only the county's accounts and operators list documents")
		}
		own := strconv.FormatInt(c.who.unit, 10)
		if u, ok := where["unit_id"]; ok && u != own {
			return 0, nil, forbidden("only the county office, the county's admins and operators list another unit's documents")
		}
		where["unit_id"] = own
	}
	if k, ok := q["kind"]; ok {
		if k != kindNormative && k != kindProcurement {
			return 0, nil, badRequest(codeInvalidQuery, "kind %q is neither normative nor procurement", k)
		}
		where["kind"] = k
	}
	if s, ok := q["status"]; ok {
		if s != docDraft && s != docPublished {
			return 0, nil, badRequest(codeInvalidQuery, "status %q is neither draft nor published", s)
		}
		where["status"] = s
	}
	return c.documentPage(where, q["after"])
}

// documentPage answers a page of documents where where holds.
func (c *call) documentPage(where map[string]string, after string) (int, any, error) {
	if after != "" && !sdk.ValidNewestFirstID(after) {
		return 0, nil, badRequest(codeInvalidQuery, "after %q is not a document's id", after)
	}
	page, err := c.host.Query(c.ctx, collDocuments, sdk.Query{Where: where, Limit: 50, After: after})
	if err != nil {
		return 0, nil, fromHost(err, "the documents")
	}
	out := struct {
		Documents []documentView `json:"documents"`
		Next      string         `json:"next,omitempty"`
	}{Documents: make([]documentView, 0, len(page.Records)), Next: page.Next}
	for _, r := range page.Records {
		var d document
		if err := json.Unmarshal(r.Document, &d); err != nil {
			return 0, nil, fmt.Errorf("read document %s: %w", r.ID, err)
		}
		out.Documents = append(out.Documents, c.documentViewOf(r, d))
	}
	return http.StatusOK, out, nil
}

// getDocument: GET /documents/{id}.
func (c *call) getDocument(p params) (int, any, error) {
	if _, err := parseQuery(c.req.Query); err != nil {
		return 0, nil, err
	}
	r, d, err := c.loadDocument(p["id"])
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, c.documentViewOf(r, d), nil
}

// updateDocument: PUT /documents/{id} edits a draft; a published
// document is fixed.
func (c *call) updateDocument(p params) (int, any, error) {
	if _, err := parseQuery(c.req.Query); err != nil {
		return 0, nil, err
	}
	r, d, err := c.loadDocument(p["id"])
	if err != nil {
		return 0, nil, err
	}
	if !c.who.edits(d.UnitID) {
		return 0, nil, forbidden("only the unit's admin or business admin, or a county admin, edits its documents")
	}
	in, err := parseDocument(c.req.Body)
	if err != nil {
		return 0, nil, err
	}
	switch {
	case in.Kind != d.Kind || in.UnitID != 0 && in.UnitID != d.UnitID:
		return 0, nil, badRequest(codeInvalidDocument, "a document's kind and unit stay as registered (%s, unit %d)", d.Kind, d.UnitID)
	case in.Version != r.Version:
		return 0, nil, newError(http.StatusConflict, codeVersionConflict, "the document is at version %d, not %d; read it again", r.Version, in.Version)
	case d.Status == docPublished:
		return 0, nil, newError(http.StatusConflict, codeAlreadyPublished, "the document is published: what the public read stays as it was")
	}
	before := d
	d.apply(in)
	d.UpdatedBy = c.who.login
	if r, err = c.host.Put(c.ctx, collDocuments, r.ID, r.Version, d); err != nil {
		return 0, nil, fromHost(err, "the document")
	}
	c.audit("document.update", "document", r.ID, before, d)
	return http.StatusOK, c.documentViewOf(r, d), nil
}

// deleteDocument: DELETE /documents/{id}?version=N removes a draft
// registered by mistake.
func (c *call) deleteDocument(p params) (int, any, error) {
	q, err := parseQuery(c.req.Query, "version")
	if err != nil {
		return 0, nil, err
	}
	r, d, err := c.loadDocument(p["id"])
	if err != nil {
		return 0, nil, err
	}
	if !c.who.edits(d.UnitID) {
		return 0, nil, forbidden("only the unit's admin or business admin, or a county admin, removes its documents")
	}
	switch {
	case q["version"] != strconv.FormatInt(r.Version, 10):
		return 0, nil, newError(http.StatusConflict, codeVersionConflict, "the document is at version %d, not %q; read it again", r.Version, q["version"])
	case d.Status == docPublished:
		return 0, nil, newError(http.StatusConflict, codeAlreadyPublished, "the document is published and stays on record")
	}
	if err := c.host.Delete(c.ctx, collDocuments, r.ID, r.Version); err != nil {
		return 0, nil, fromHost(err, "the document")
	}
	c.audit("document.delete", "document", r.ID, d, nil)
	return http.StatusNoContent, nil, nil
}

// publishDocument: POST /documents/{id}/publish puts a draft on the
// county's public pages, by the unit's admin.
func (c *call) publishDocument(p params) (int, any, error) {
	if _, err := parseQuery(c.req.Query); err != nil {
		return 0, nil, err
	}
	r, d, err := c.loadDocument(p["id"])
	if err != nil {
		return 0, nil, err
	}
	if !c.who.publishes(d.UnitID) {
		return 0, nil, forbidden("only the unit's admin, or a county admin, publishes its documents")
	}
	var in versionInput
	if err := decodeBody(c.req.Body, &in); err != nil {
		return 0, nil, err
	}
	switch {
	case in.Version != r.Version:
		return 0, nil, newError(http.StatusConflict, codeVersionConflict, "the document is at version %d, not %d; read it again", r.Version, in.Version)
	case d.Status == docPublished:
		return 0, nil, newError(http.StatusConflict, codeAlreadyPublished, "the document is published already")
	}
	at := c.now.UTC()
	d.Status, d.PublishedBy, d.PublishedAt = docPublished, c.who.login, &at
	if r, err = c.host.Put(c.ctx, collDocuments, r.ID, r.Version, d); err != nil {
		return 0, nil, fromHost(err, "the document")
	}
	c.audit("document.publish", "document", r.ID, nil, map[string]any{"status": d.Status})
	measure := measureNormative
	if d.Kind == kindProcurement {
		measure = measureProcurement
	}
	c.count(measure, d.UnitID, "published:"+r.ID)
	c.levelUnit(d.UnitID)
	return http.StatusOK, c.documentViewOf(r, d), nil
}
