package oa

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/countycloud/countycloud/plugins/sdk"
)

// Collections of documents and of what each recipient unit received.
const (
	collDocuments = "documents"
	collReceived  = "received"
)

// Error codes of documents.
const (
	codeInvalidDocument  = "invalid_document"
	codeDocumentNotFound = "document_not_found"
	codeClassified       = "classified_content_refused"
	codeUnknownUnit      = "unknown_unit"
	codeNotEditable      = "document_not_editable"
	codeInvalidFile      = "invalid_file"
	codeFileTooLarge     = "file_too_large"
	codeFileTypeRefused  = "file_type_refused"
	codeTooManyFiles     = "too_many_files"
	codeFileNotFound     = "file_not_found"
	codeFileNotReady     = "file_not_ready"
)

// Urgencies (紧急程度) of a document, and the only classification
// (密级) that enters the system: 非密. The three classified levels never
// do (DOMAIN.md); the host's guard refuses them before the module sees
// a body, and the module refuses them again with the guard's code.
var urgencies = []string{"特急", "加急", "平件"}

const (
	defaultUrgency     = "平件"
	unclassified       = "非密"
	maxTitleRunes      = 200
	maxBodyRunes       = 100_000
	maxRecipientUnits  = 500
	maxFileNameRunes   = 200
	fileKindBody       = "body"
	fileKindAttachment = "attachment"
)

var classifiedLevels = []string{"绝密", "机密", "秘密"}

// china is the zone whose year a document's number counts in.
var china = time.FixedZone("CST", 8*60*60)

// document is an official document and where its sending flow is.
type document struct {
	// UnitID is the issuing unit (发文单位): the drafter's.
	UnitID         int64  `json:"unit_id"`
	Title          string `json:"title"`
	Urgency        string `json:"urgency"`
	Classification string `json:"classification"`
	// MainUnits (主送) and CopyUnits (抄送) are the recipient units.
	MainUnits []int64 `json:"main_units"`
	CopyUnits []int64 `json:"copy_units"`
	// Body is the draft's text; the typeset document (正文) and the
	// attachments (附件) are Files.
	Body  string    `json:"body"`
	Files []docFile `json:"files"`
	// Paper says a paper copy goes too (双轨制).
	Paper bool `json:"paper"`
	// Status is the step the sending flow waits at (draft, check, …,
	// archive), or done.
	Status     string `json:"status"`
	InstanceID int64  `json:"instance_id"`
	// Year and Sequence are the number's (文号), given at registration
	// (登记) by the host's numbering, with the issuing unit's template as
	// it was then.
	Year     int       `json:"year,omitempty"`
	Sequence int64     `json:"sequence,omitempty"`
	Template *template `json:"template,omitempty"`
	Seal     *sealInfo `json:"seal,omitempty"`

	DraftedBy     string     `json:"drafted_by"`
	DraftedByID   int64      `json:"drafted_by_id"`
	DraftedAt     time.Time  `json:"drafted_at"`
	RegisteredAt  *time.Time `json:"registered_at,omitempty"`
	DistributedAt *time.Time `json:"distributed_at,omitempty"`
	FinishedAt    *time.Time `json:"finished_at,omitempty"`
}

// docFile is a file of a document, kept by the host.
type docFile struct {
	FileID      string `json:"file_id"`
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	// Kind is body (正文, the typeset document) or attachment (附件).
	Kind string `json:"kind"`
	// SHA256 is the bytes' digest when the document was sealed.
	SHA256 string `json:"sha256,omitempty"`
}

// recipients are the main and copy units, main first.
func (d document) recipients() []int64 { return slices.Concat(d.MainUnits, d.CopyUnits) }

// number writes the document's number, empty before registration.
func (d document) number() string {
	if d.Template == nil || d.Sequence == 0 {
		return ""
	}
	return d.Template.formatNumber(d.Year, d.Sequence)
}

// documentView is a document as the API answers it.
type documentView struct {
	ID      string `json:"id"`
	Version int64  `json:"version"`
	document
	Number    string    `json:"number,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func viewOf(id string, r sdk.Record, d document) documentView {
	return documentView{ID: id, Version: r.Version, document: d, Number: d.number(), CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

func documentRoutes() []route {
	return []route{
		{http.MethodPost, "/documents", (*call).createDocument},
		{http.MethodGet, "/documents/{id}", (*call).getDocument},
		{http.MethodPatch, "/documents/{id}", (*call).updateDocument},
		{http.MethodPost, "/documents/{id}/files", (*call).addFile},
		{http.MethodGet, "/documents/{id}/files/{file}", (*call).downloadFile},
		{http.MethodDelete, "/documents/{id}/files/{file}", (*call).removeFile},
	}
}

// documentInput is the body of POST /documents.
type documentInput struct {
	Title          string  `json:"title"`
	Urgency        string  `json:"urgency"`
	Classification string  `json:"classification"`
	MainUnits      []int64 `json:"main_units"`
	CopyUnits      []int64 `json:"copy_units"`
	Body           string  `json:"body"`
	Paper          bool    `json:"paper"`
}

// checkDocument validates a document's fields, filling in the defaults,
// and reports every problem at once.
func checkDocument(in *documentInput) error {
	in.Title = strings.TrimSpace(in.Title)
	if in.Urgency == "" {
		in.Urgency = defaultUrgency
	}
	if in.Classification == "" {
		in.Classification = unclassified
	}
	if slices.Contains(classifiedLevels, strings.TrimSpace(in.Classification)) {
		return newError(http.StatusForbidden, codeClassified, "a document classified %s never enters the system; only %s documents do", in.Classification, unclassified)
	}
	var problems []string
	if n := utf8.RuneCountInString(in.Title); n == 0 || n > maxTitleRunes {
		problems = append(problems, fmt.Sprintf("title must have 1 to %d characters", maxTitleRunes))
	}
	if !slices.Contains(urgencies, in.Urgency) {
		problems = append(problems, fmt.Sprintf("urgency %q is not one of %s", in.Urgency, strings.Join(urgencies, ", ")))
	}
	if in.Classification != unclassified {
		problems = append(problems, fmt.Sprintf("classification %q: only %s documents enter the system", in.Classification, unclassified))
	}
	if utf8.RuneCountInString(in.Body) > maxBodyRunes {
		problems = append(problems, fmt.Sprintf("body has more than %d characters", maxBodyRunes))
	}
	problems = append(problems, checkRecipients(in.MainUnits, in.CopyUnits)...)
	if len(problems) > 0 {
		return badRequest(codeInvalidDocument, "%s", strings.Join(problems, "; "))
	}
	return nil
}

func checkRecipients(main, copies []int64) []string {
	var problems []string
	if len(main) == 0 {
		problems = append(problems, "main_units (主送) names at least one unit")
	}
	if len(main)+len(copies) > maxRecipientUnits {
		problems = append(problems, fmt.Sprintf("at most %d recipient units", maxRecipientUnits))
	}
	all := slices.Concat(main, copies)
	for i, u := range all {
		if u <= 0 {
			problems = append(problems, fmt.Sprintf("unit %d is not a unit's id", u))
		} else if slices.Contains(all[:i], u) {
			problems = append(problems, fmt.Sprintf("unit %d is named twice among main_units and copy_units", u))
		}
	}
	return problems
}

// checkUnits refuses units the county does not have (another county's
// included: the host reads ids in the request's county only).
func (c *call) checkUnits(ids []int64) error {
	found, err := c.host.Units(c.ctx, ids...)
	if err != nil {
		return fromHost(err, "the county's units")
	}
	var unknown []string
	for _, id := range ids {
		if !slices.ContainsFunc(found, func(u sdk.Unit) bool { return u.ID == id }) {
			unknown = append(unknown, fmt.Sprint(id))
		}
	}
	if len(unknown) > 0 {
		return badRequest(codeUnknownUnit, "the county has no unit %s", strings.Join(unknown, ", "))
	}
	return nil
}

func documentNotFound(id string) *apiError {
	return newError(http.StatusNotFound, codeDocumentNotFound, "no document %s in this county", id)
}

// loadDocument reads document id, which the caller must be allowed to
// read: another's is answered as not found, as is a malformed id.
func (c *call) loadDocument(id string) (sdk.Record, document, error) {
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
	if !c.mayRead(d) {
		return sdk.Record{}, document{}, documentNotFound(id)
	}
	return r, d, nil
}

// mayRead: the issuing unit's accounts, once it is distributed the
// recipient units' accounts, the county's admins and operators.
func (c *call) mayRead(d document) bool {
	switch {
	case c.who.county || c.who.operator:
		return true
	case !c.who.staff():
		return false
	case c.who.unit == d.UnitID:
		return true
	}
	return d.DistributedAt != nil && slices.Contains(d.recipients(), c.who.unit)
}

// mayEdit: the issuing unit's accounts change a draft and its files.
func (c *call) mayEdit(d document) bool { return c.who.staff() && c.who.unit == d.UnitID }

// createDocument: POST /documents drafts a document (拟稿) of the
// caller's unit and starts its sending flow there.
func (c *call) createDocument(params) (int, any, error) {
	if _, err := parseQuery(c.req.Query); err != nil {
		return 0, nil, err
	}
	if !c.who.staff() {
		return 0, nil, forbidden("only an account of one of the county's units drafts documents")
	}
	var in documentInput
	if err := decodeBody(c.req.Body, &in); err != nil {
		return 0, nil, err
	}
	if err := checkDocument(&in); err != nil {
		return 0, nil, err
	}
	if err := c.checkUnits(in.recipients()); err != nil {
		return 0, nil, err
	}
	id := sdk.NewestFirstID(c.now)
	d := document{UnitID: c.who.unit, Title: in.Title, Urgency: in.Urgency, Classification: in.Classification,
		MainUnits: orEmpty(in.MainUnits), CopyUnits: orEmpty(in.CopyUnits), Body: in.Body, Files: []docFile{}, Paper: in.Paper,
		Status: stepDraft, DraftedBy: c.who.login, DraftedByID: c.who.account, DraftedAt: c.now.UTC()}
	r, err := c.host.Put(c.ctx, collDocuments, id, 0, d)
	if err != nil {
		return 0, nil, fromHost(err, "the document")
	}
	out, err := c.host.StartWorkflowFor(c.ctx, wfSending, sdk.StartOptions{Title: d.Title, Reference: id, SubjectUnitID: d.UnitID})
	if err != nil {
		// Nothing started: the draft goes too, so that a refusal leaves
		// nothing behind.
		if derr := c.host.Delete(c.ctx, collDocuments, id, r.Version); derr != nil {
			c.log.Error("a draft whose flow did not start stays", "document", id, "err", derr)
		}
		return 0, nil, fromEngine(err, "the sending flow")
	}
	c.count(measureDrafted, d.UnitID, "drafted:"+id)
	d.InstanceID = out.Instance.ID
	d.Status = statusOf(out, d.Status)
	if r, err = c.host.Put(c.ctx, collDocuments, id, r.Version, d); err != nil {
		return 0, nil, fromHost(err, "the document")
	}
	c.audit("document.draft", "document", id, nil, d)
	return http.StatusCreated, viewOf(id, r, d), nil
}

func (in documentInput) recipients() []int64 { return slices.Concat(in.MainUnits, in.CopyUnits) }

func orEmpty(ids []int64) []int64 {
	if ids == nil {
		return []int64{}
	}
	return ids
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
	return http.StatusOK, viewOf(r.ID, r, d), nil
}

// documentUpdate is the body of PATCH /documents/{id}: the version read
// and the fields to change.
type documentUpdate struct {
	Version        int64    `json:"version"`
	Title          *string  `json:"title"`
	Urgency        *string  `json:"urgency"`
	Classification *string  `json:"classification"`
	MainUnits      *[]int64 `json:"main_units"`
	CopyUnits      *[]int64 `json:"copy_units"`
	Body           *string  `json:"body"`
	Paper          *bool    `json:"paper"`
}

// updateDocument: PATCH /documents/{id} changes a draft, while it is at
// 拟稿 (drafted, or sent back), by an account of the issuing unit.
func (c *call) updateDocument(p params) (int, any, error) {
	if _, err := parseQuery(c.req.Query); err != nil {
		return 0, nil, err
	}
	r, d, err := c.loadDocument(p["id"])
	if err != nil {
		return 0, nil, err
	}
	if !c.mayEdit(d) {
		return 0, nil, forbidden("only an account of the issuing unit changes its draft")
	}
	var u documentUpdate
	if err := decodeBody(c.req.Body, &u); err != nil {
		return 0, nil, err
	}
	if u.Version != r.Version {
		return 0, nil, newError(http.StatusConflict, codeVersionConflict, "the document is at version %d, not %d; read it again", r.Version, u.Version)
	}
	if d.Status != stepDraft {
		return 0, nil, newError(http.StatusConflict, codeNotEditable, "the document is at %s; only a draft (拟稿) changes", d.Status)
	}
	in := documentInput{Title: d.Title, Urgency: d.Urgency, Classification: d.Classification, MainUnits: d.MainUnits, CopyUnits: d.CopyUnits, Body: d.Body, Paper: d.Paper}
	set(&in.Title, u.Title)
	set(&in.Urgency, u.Urgency)
	set(&in.Classification, u.Classification)
	set(&in.MainUnits, u.MainUnits)
	set(&in.CopyUnits, u.CopyUnits)
	set(&in.Body, u.Body)
	set(&in.Paper, u.Paper)
	if err := checkDocument(&in); err != nil {
		return 0, nil, err
	}
	if u.MainUnits != nil || u.CopyUnits != nil {
		if err := c.checkUnits(in.recipients()); err != nil {
			return 0, nil, err
		}
	}
	before := d
	d.Title, d.Urgency, d.Classification, d.Body, d.Paper = in.Title, in.Urgency, in.Classification, in.Body, in.Paper
	d.MainUnits, d.CopyUnits = orEmpty(in.MainUnits), orEmpty(in.CopyUnits)
	r, err = c.host.Put(c.ctx, collDocuments, r.ID, r.Version, d)
	if err != nil {
		return 0, nil, fromHost(err, "the document")
	}
	c.audit("document.update", "document", r.ID, before, d)
	return http.StatusOK, viewOf(r.ID, r, d), nil
}

func set[T any](field *T, v *T) {
	if v != nil {
		*field = *v
	}
}

// fileInput is the body of POST /documents/{id}/files.
type fileInput struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	Kind        string `json:"kind"`
}

// checkFile validates a file against the county's settings and the
// document's other files.
func (s settings) checkFile(in *fileInput, files []docFile) error {
	in.Name = strings.TrimSpace(in.Name)
	if in.Kind == "" {
		in.Kind = fileKindAttachment
	}
	switch {
	case in.Name == "" || utf8.RuneCountInString(in.Name) > maxFileNameRunes || strings.ContainsAny(in.Name, "/\\\x00"):
		return badRequest(codeInvalidFile, "a file's name has 1 to %d characters and no slashes", maxFileNameRunes)
	case in.Kind != fileKindBody && in.Kind != fileKindAttachment:
		return badRequest(codeInvalidFile, "kind %q is neither body (正文) nor attachment (附件)", in.Kind)
	case in.Size <= 0:
		return badRequest(codeInvalidFile, "size is the file's exact size in bytes, at least 1")
	case in.Size > s.MaxAttachmentBytes:
		return newError(http.StatusRequestEntityTooLarge, codeFileTooLarge, "the file has %d bytes; this county takes at most %d", in.Size, s.MaxAttachmentBytes)
	case !slices.Contains(s.AttachmentTypes, strings.ToLower(strings.TrimSpace(in.ContentType))):
		return newError(http.StatusUnsupportedMediaType, codeFileTypeRefused, "files of type %q are not taken; this county takes %s", in.ContentType, strings.Join(s.AttachmentTypes, ", "))
	case len(files) >= s.MaxAttachments:
		return newError(http.StatusConflict, codeTooManyFiles, "the document has %d files, the most this county takes", len(files))
	case in.Kind == fileKindBody && slices.ContainsFunc(files, func(f docFile) bool { return f.Kind == fileKindBody }):
		return newError(http.StatusConflict, codeInvalidFile, "the document has its body (正文) already; remove it first to replace it")
	case slices.ContainsFunc(files, func(f docFile) bool { return f.Name == in.Name }):
		return newError(http.StatusConflict, codeInvalidFile, "the document has a file named %s already: a sealed document tells its files apart by name", in.Name)
	}
	in.ContentType = strings.ToLower(strings.TrimSpace(in.ContentType))
	return nil
}

// filesOpen reports whether a document still takes and gives up files:
// until it is sealed.
func filesOpen(d document) bool {
	return d.Seal == nil && d.DistributedAt == nil && d.Status != statusDone
}

// addFile: POST /documents/{id}/files declares a file of the document
// (the typeset body or an attachment) and answers the URL its bytes go
// to; they never pass through the module.
func (c *call) addFile(p params) (int, any, error) {
	if _, err := parseQuery(c.req.Query); err != nil {
		return 0, nil, err
	}
	r, d, err := c.loadDocument(p["id"])
	if err != nil {
		return 0, nil, err
	}
	if !c.mayEdit(d) {
		return 0, nil, forbidden("only an account of the issuing unit adds a document's files")
	}
	var in fileInput
	if err := decodeBody(c.req.Body, &in); err != nil {
		return 0, nil, err
	}
	if !filesOpen(d) {
		return 0, nil, newError(http.StatusConflict, codeNotEditable, "the document is sealed: its files are fixed")
	}
	if err := c.settings.checkFile(&in, d.Files); err != nil {
		return 0, nil, err
	}
	up, err := c.host.CreateUpload(c.ctx, in.Name, in.ContentType, in.Size)
	if err != nil {
		return 0, nil, fromHost(err, "the file")
	}
	f := docFile{FileID: up.FileID, Name: in.Name, ContentType: in.ContentType, Size: in.Size, Kind: in.Kind}
	d.Files = append(d.Files, f)
	r, err = c.host.Put(c.ctx, collDocuments, r.ID, r.Version, d)
	if err != nil {
		// The declared file is left pending; the host removes it a day
		// after its upload URL expires.
		return 0, nil, fromHost(err, "the document")
	}
	c.audit("document.file.add", "document", r.ID, nil, f)
	out := struct {
		File     docFile      `json:"file"`
		Upload   uploadView   `json:"upload"`
		Document documentView `json:"document"`
	}{File: f, Upload: uploadView{Method: http.MethodPut, URL: up.URL, ExpiresAt: up.ExpiresAt}, Document: viewOf(r.ID, r, d)}
	return http.StatusCreated, out, nil
}

// uploadView tells the client where a file's bytes go.
type uploadView struct {
	Method    string    `json:"method"`
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expires_at"`
}

func fileOf(d document, id string) (int, error) {
	i := slices.IndexFunc(d.Files, func(f docFile) bool { return f.FileID == id })
	if i < 0 {
		return 0, newError(http.StatusNotFound, codeFileNotFound, "the document has no file %s", id)
	}
	return i, nil
}

// downloadFile: GET /documents/{id}/files/{file} answers a signed URL to
// the file's bytes, to whoever reads the document.
func (c *call) downloadFile(p params) (int, any, error) {
	if _, err := parseQuery(c.req.Query); err != nil {
		return 0, nil, err
	}
	_, d, err := c.loadDocument(p["id"])
	if err != nil {
		return 0, nil, err
	}
	i, err := fileOf(d, p["file"])
	if err != nil {
		return 0, nil, err
	}
	u, err := c.host.DownloadURL(c.ctx, d.Files[i].FileID, time.Hour)
	if errors.Is(err, sdk.ErrNotReady) {
		return 0, nil, newError(http.StatusConflict, codeFileNotReady, "the bytes of %s have not all arrived", d.Files[i].Name)
	}
	if err != nil {
		return 0, nil, fromHost(err, "the file")
	}
	return http.StatusOK, struct {
		File docFile       `json:"file"`
		URL  sdk.SignedURL `json:"download"`
	}{d.Files[i], u}, nil
}

// removeFile: DELETE /documents/{id}/files/{file} until the document is
// sealed, by an account of the issuing unit.
func (c *call) removeFile(p params) (int, any, error) {
	q, err := parseQuery(c.req.Query, "version")
	if err != nil {
		return 0, nil, err
	}
	r, d, err := c.loadDocument(p["id"])
	if err != nil {
		return 0, nil, err
	}
	if !c.mayEdit(d) {
		return 0, nil, forbidden("only an account of the issuing unit removes a document's files")
	}
	if q["version"] != fmt.Sprint(r.Version) {
		return 0, nil, newError(http.StatusConflict, codeVersionConflict, "the document is at version %d, not %q; read it again", r.Version, q["version"])
	}
	if !filesOpen(d) {
		return 0, nil, newError(http.StatusConflict, codeNotEditable, "the document is sealed: its files are fixed")
	}
	i, err := fileOf(d, p["file"])
	if err != nil {
		return 0, nil, err
	}
	f := d.Files[i]
	d.Files = slices.Delete(d.Files, i, i+1)
	if r, err = c.host.Put(c.ctx, collDocuments, r.ID, r.Version, d); err != nil {
		return 0, nil, fromHost(err, "the document")
	}
	if err := c.host.DeleteFile(c.ctx, f.FileID); err != nil && !errors.Is(err, sdk.ErrNotFound) {
		c.log.Error("a removed file's bytes stay", "document", r.ID, "file", f.FileID, "err", err)
	}
	c.audit("document.file.remove", "document", r.ID, f, nil)
	return http.StatusOK, viewOf(r.ID, r, d), nil
}
