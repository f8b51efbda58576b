package disclosure

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/countycloud/countycloud/plugins/sdk"
)

func reportRoutes() []route {
	return []route{
		{http.MethodPost, "/reports", (*call).submitReport},
		{http.MethodGet, "/reports", (*call).listReports},
		{http.MethodGet, "/reports/{id}", (*call).getReport},
		{http.MethodPut, "/reports/{id}", (*call).updateReport},
		{http.MethodPost, "/reports/{id}/files", (*call).addReportFile},
		{http.MethodGet, "/reports/{id}/files/{file}", (*call).downloadReportFile},
		{http.MethodPost, "/reports/{id}/grade", (*call).gradeReport},
		{http.MethodPost, "/reports/{id}/reject", (*call).rejectReport},
	}
}

// Uses the county office grades reported information for.
const (
	// useLeaders: the leaders' reference (领导参阅).
	useLeaders = "leaders"
	// useBulletin: the internal bulletin (内部简报).
	useBulletin = "bulletin"
	// usePortal: the public portal (门户网站), published on the
	// county's public pages.
	usePortal = "portal"
)

var uses = []string{useLeaders, useBulletin, usePortal}

func useZH(use string) string {
	return map[string]string{useLeaders: "领导参阅", useBulletin: "内部简报", usePortal: "门户网站"}[use]
}

// Statuses of a report: submitted until the county office grades it for
// a use or rejects it, which closes it.
const (
	reportSubmitted = "submitted"
	reportGraded    = "graded"
	reportRejected  = "rejected"
)

// report is work information (工作信息) a unit reported.
type report struct {
	UnitID      int64        `json:"unit_id"`
	UnitName    string       `json:"unit_name"`
	Title       string       `json:"title"`
	Body        string       `json:"body"`
	Files       []reportFile `json:"files"`
	Status      string       `json:"status"`
	Use         string       `json:"use,omitempty"`
	Reason      string       `json:"reason,omitempty"`
	SubmittedBy string       `json:"submitted_by"`
	SubmittedAt time.Time    `json:"submitted_at"`
	UpdatedBy   string       `json:"updated_by"`
	GradedBy    string       `json:"graded_by,omitempty"`
	GradedAt    *time.Time   `json:"graded_at,omitempty"`
}

type reportFile struct {
	FileID      string `json:"file_id"`
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
}

// reportInput is the body of POST /reports and PUT /reports/{id}.
type reportInput struct {
	// Version is the report's version an edit is made on; absent on
	// submission.
	Version int64  `json:"version"`
	Title   string `json:"title"`
	Body    string `json:"body"`
}

const maxReportBody = 20000

// parseReport reads and checks a report's body, naming every field to
// fix at once.
func parseReport(body []byte) (reportInput, error) {
	var in reportInput
	if err := decodeBody(body, &in); err != nil {
		return reportInput{}, err
	}
	var p problems
	if in.Version < 0 {
		p.add("version is a record's version")
	}
	p.text("title", &in.Title, maxTitle, true, false)
	p.text("body", &in.Body, maxReportBody, true, true)
	if err := p.err(codeInvalidReport); err != nil {
		return reportInput{}, err
	}
	return in, nil
}

// gradeInput is the body of POST /reports/{id}/grade and …/reject.
type gradeInput struct {
	Version int64  `json:"version"`
	Use     string `json:"use,omitempty"`
	Reason  string `json:"reason,omitempty"`
}

// reportView is a report as staff read it.
type reportView struct {
	ID      string `json:"id"`
	Version int64  `json:"version"`
	UseZH   string `json:"use_zh,omitempty"`
	report
	UpdatedAt time.Time `json:"updated_at"`
}

func reportViewOf(r sdk.Record, d report) reportView {
	return reportView{ID: r.ID, Version: r.Version, UseZH: useZH(d.Use), report: d, UpdatedAt: r.UpdatedAt}
}

func reportNotFound(id string) *apiError {
	return newError(http.StatusNotFound, codeReportNotFound, "no report %s in this county", id)
}

func (c *call) readReport(id string) (sdk.Record, report, error) {
	if !sdk.ValidNewestFirstID(id) {
		return sdk.Record{}, report{}, reportNotFound(id)
	}
	r, err := c.host.Get(c.ctx, collReports, id)
	if errors.Is(err, sdk.ErrNotFound) {
		return sdk.Record{}, report{}, reportNotFound(id)
	}
	if err != nil {
		return sdk.Record{}, report{}, fromHost(err, "the report")
	}
	var d report
	if err := json.Unmarshal(r.Document, &d); err != nil {
		return sdk.Record{}, report{}, fmt.Errorf("read report %s: %w", id, err)
	}
	return r, d, nil
}

// loadReport reads report id for its unit's accounts and the county's
// readers; another unit's is answered as not found.
func (c *call) loadReport(id string) (sdk.Record, report, error) {
	r, d, err := c.readReport(id)
	if err != nil {
		return sdk.Record{}, report{}, err
	}
	if !c.who.readsUnit(d.UnitID, c.settings) {
		return sdk.Record{}, report{}, reportNotFound(id)
	}
	return r, d, nil
}

// submitReport: POST /reports, by any account of a unit, for its unit.
func (c *call) submitReport(params) (int, any, error) {
	if _, err := parseQuery(c.req.Query); err != nil {
		return 0, nil, err
	}
	if !c.who.staff() {
		return 0, nil, forbidden("only an account of one of the county's units reports information, for its unit")
	}
	in, err := parseReport(c.req.Body)
	if err != nil {
		return 0, nil, err
	}
	if in.Version != 0 {
		return 0, nil, badRequest(codeInvalidReport, "a new report has no version")
	}
	name, err := c.unitName(c.who.unit)
	if err != nil {
		return 0, nil, err
	}
	d := report{UnitID: c.who.unit, UnitName: name, Title: in.Title, Body: in.Body, Files: []reportFile{}, Status: reportSubmitted,
		SubmittedBy: c.who.login, SubmittedAt: c.now.UTC(), UpdatedBy: c.who.login}
	r, err := c.host.Put(c.ctx, collReports, sdk.NewestFirstID(c.now), 0, d)
	if err != nil {
		return 0, nil, fromHost(err, "the report")
	}
	c.audit("report.submit", "report", r.ID, nil, d)
	c.count(measureSubmitted, d.UnitID, "submitted:"+r.ID)
	return http.StatusCreated, reportViewOf(r, d), nil
}

// listReports: GET /reports, newest first: every unit's to the county's
// readers, the caller's own unit's to others.
func (c *call) listReports(params) (int, any, error) {
	q, err := parseQuery(c.req.Query, "unit", "status", "use", "after")
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
			return 0, nil, forbidden("only the county's accounts and operators list reports")
		}
		own := strconv.FormatInt(c.who.unit, 10)
		if u, ok := where["unit_id"]; ok && u != own {
			return 0, nil, forbidden("only the county office, the county's admins and operators list another unit's reports")
		}
		where["unit_id"] = own
	}
	if s, ok := q["status"]; ok {
		if !slices.Contains([]string{reportSubmitted, reportGraded, reportRejected}, s) {
			return 0, nil, badRequest(codeInvalidQuery, "status %q is not submitted, graded or rejected", s)
		}
		where["status"] = s
	}
	if u, ok := q["use"]; ok {
		if !slices.Contains(uses, u) {
			return 0, nil, badRequest(codeInvalidQuery, "use %q is not %s", u, strings.Join(uses, ", "))
		}
		where["use"] = u
	}
	after := q["after"]
	if after != "" && !sdk.ValidNewestFirstID(after) {
		return 0, nil, badRequest(codeInvalidQuery, "after %q is not a report's id", after)
	}
	page, err := c.host.Query(c.ctx, collReports, sdk.Query{Where: where, Limit: 50, After: after})
	if err != nil {
		return 0, nil, fromHost(err, "the reports")
	}
	out := struct {
		Reports []reportView `json:"reports"`
		Next    string       `json:"next,omitempty"`
	}{Reports: make([]reportView, 0, len(page.Records)), Next: page.Next}
	for _, r := range page.Records {
		var d report
		if err := json.Unmarshal(r.Document, &d); err != nil {
			return 0, nil, fmt.Errorf("read report %s: %w", r.ID, err)
		}
		out.Reports = append(out.Reports, reportViewOf(r, d))
	}
	return http.StatusOK, out, nil
}

// getReport: GET /reports/{id}.
func (c *call) getReport(p params) (int, any, error) {
	if _, err := parseQuery(c.req.Query); err != nil {
		return 0, nil, err
	}
	r, d, err := c.loadReport(p["id"])
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, reportViewOf(r, d), nil
}

// closed refuses a change to a report the county office has graded or
// rejected.
func closed(d report) error {
	if d.Status == reportSubmitted {
		return nil
	}
	return newError(http.StatusConflict, codeReportClosed, "the report is %s already (by %s): it stays as it was", d.Status, d.GradedBy)
}

// updateReport: PUT /reports/{id}, by the unit's accounts, until it is
// graded or rejected.
func (c *call) updateReport(p params) (int, any, error) {
	if _, err := parseQuery(c.req.Query); err != nil {
		return 0, nil, err
	}
	r, d, err := c.loadReport(p["id"])
	if err != nil {
		return 0, nil, err
	}
	if !c.who.staff() || c.who.unit != d.UnitID {
		return 0, nil, forbidden("only an account of the reporting unit edits its report")
	}
	in, err := parseReport(c.req.Body)
	if err != nil {
		return 0, nil, err
	}
	if err := closed(d); err != nil {
		return 0, nil, err
	}
	if in.Version != r.Version {
		return 0, nil, newError(http.StatusConflict, codeVersionConflict, "the report is at version %d, not %d; read it again", r.Version, in.Version)
	}
	before := d
	d.Title, d.Body, d.UpdatedBy = in.Title, in.Body, c.who.login
	if r, err = c.host.Put(c.ctx, collReports, r.ID, r.Version, d); err != nil {
		return 0, nil, fromHost(err, "the report")
	}
	c.audit("report.update", "report", r.ID, before, d)
	return http.StatusOK, reportViewOf(r, d), nil
}

// fileInput is the body of POST /reports/{id}/files.
type fileInput struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
}

const maxFileNameRunes = 120

// checkFile validates a file against the county's settings and the
// report's other files.
func (s settings) checkFile(in *fileInput, files []reportFile) error {
	in.Name = strings.TrimSpace(in.Name)
	in.ContentType = strings.ToLower(strings.TrimSpace(in.ContentType))
	switch {
	case in.Name == "" || utf8.RuneCountInString(in.Name) > maxFileNameRunes || strings.ContainsAny(in.Name, "/\\") ||
		strings.ContainsFunc(in.Name, func(r rune) bool { return badRune(r, false) }):
		return badRequest(codeInvalidFile, "a file's name has 1 to %d characters, no slashes and no control characters", maxFileNameRunes)
	case in.Size <= 0:
		return badRequest(codeInvalidFile, "size is the file's exact size in bytes, at least 1")
	case in.Size > s.MaxAttachmentBytes:
		return newError(http.StatusRequestEntityTooLarge, codeFileTooLarge, "the file has %d bytes; this county takes at most %d", in.Size, s.MaxAttachmentBytes)
	case !slices.Contains(s.AttachmentTypes, in.ContentType):
		return newError(http.StatusUnsupportedMediaType, codeFileTypeRefused, "files of type %q are not taken; this county takes %s", in.ContentType, strings.Join(s.AttachmentTypes, ", "))
	case len(files) >= s.MaxAttachments:
		return newError(http.StatusConflict, codeTooManyFiles, "the report has %d files, the most this county takes", len(files))
	case slices.ContainsFunc(files, func(f reportFile) bool { return f.Name == in.Name }):
		return newError(http.StatusConflict, codeInvalidFile, "the report has a file named %s already", in.Name)
	}
	return nil
}

// addReportFile: POST /reports/{id}/files declares an attachment and
// answers the URL its bytes go to; they never pass through the module.
func (c *call) addReportFile(p params) (int, any, error) {
	if _, err := parseQuery(c.req.Query); err != nil {
		return 0, nil, err
	}
	r, d, err := c.loadReport(p["id"])
	if err != nil {
		return 0, nil, err
	}
	if !c.who.staff() || c.who.unit != d.UnitID {
		return 0, nil, forbidden("only an account of the reporting unit adds its report's files")
	}
	var in fileInput
	if err := decodeBody(c.req.Body, &in); err != nil {
		return 0, nil, err
	}
	if err := closed(d); err != nil {
		return 0, nil, err
	}
	if err := c.settings.checkFile(&in, d.Files); err != nil {
		return 0, nil, err
	}
	up, err := c.host.CreateUpload(c.ctx, in.Name, in.ContentType, in.Size)
	if err != nil {
		return 0, nil, fromHost(err, "the file")
	}
	f := reportFile{FileID: up.FileID, Name: in.Name, ContentType: in.ContentType, Size: in.Size}
	d.Files = append(d.Files, f)
	d.UpdatedBy = c.who.login
	if r, err = c.host.Put(c.ctx, collReports, r.ID, r.Version, d); err != nil {
		// The declared file is left pending; the host removes it a day
		// after its upload URL expires.
		return 0, nil, fromHost(err, "the report")
	}
	c.audit("report.file.add", "report", r.ID, nil, f)
	return http.StatusCreated, struct {
		File   reportFile `json:"file"`
		Upload uploadView `json:"upload"`
		Report reportView `json:"report"`
	}{File: f, Upload: uploadView{Method: http.MethodPut, URL: up.URL, ExpiresAt: up.ExpiresAt}, Report: reportViewOf(r, d)}, nil
}

// uploadView tells the client where a file's bytes go.
type uploadView struct {
	Method    string    `json:"method"`
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expires_at"`
}

// downloadReportFile: GET /reports/{id}/files/{file} answers a signed
// URL to the file's bytes, to whoever reads the report.
func (c *call) downloadReportFile(p params) (int, any, error) {
	if _, err := parseQuery(c.req.Query); err != nil {
		return 0, nil, err
	}
	_, d, err := c.loadReport(p["id"])
	if err != nil {
		return 0, nil, err
	}
	i := slices.IndexFunc(d.Files, func(f reportFile) bool { return f.FileID == p["file"] })
	if i < 0 {
		return 0, nil, newError(http.StatusNotFound, codeFileNotFound, "the report has no file %s", p["file"])
	}
	u, err := c.host.DownloadURL(c.ctx, d.Files[i].FileID, time.Hour)
	if errors.Is(err, sdk.ErrNotReady) {
		return 0, nil, newError(http.StatusConflict, codeFileNotReady, "the bytes of %s have not all arrived", d.Files[i].Name)
	}
	if err != nil {
		return 0, nil, fromHost(err, "the file")
	}
	return http.StatusOK, struct {
		File reportFile    `json:"file"`
		URL  sdk.SignedURL `json:"download"`
	}{d.Files[i], u}, nil
}

// decide reads report id for the county office's decision at the version
// body names.
func (c *call) decide(p params) (sdk.Record, report, gradeInput, error) {
	if _, err := parseQuery(c.req.Query); err != nil {
		return sdk.Record{}, report{}, gradeInput{}, err
	}
	r, d, err := c.loadReport(p["id"])
	if err != nil {
		return sdk.Record{}, report{}, gradeInput{}, err
	}
	if !c.who.office(c.settings) {
		return sdk.Record{}, report{}, gradeInput{}, forbidden("only the county office (the county's admins, or the admins of the unit the settings name) grades reported information")
	}
	var in gradeInput
	if err := decodeBody(c.req.Body, &in); err != nil {
		return sdk.Record{}, report{}, gradeInput{}, err
	}
	if err := closed(d); err != nil {
		return sdk.Record{}, report{}, gradeInput{}, err
	}
	if in.Version != r.Version {
		return sdk.Record{}, report{}, gradeInput{}, newError(http.StatusConflict, codeVersionConflict, "the report is at version %d, not %d; read it again", r.Version, in.Version)
	}
	return r, d, in, nil
}

// gradeReport: POST /reports/{id}/grade adopts a report for one use,
// once; the portal's are published on the county's public pages.
func (c *call) gradeReport(p params) (int, any, error) {
	r, d, in, err := c.decide(p)
	if err != nil {
		return 0, nil, err
	}
	if !slices.Contains(uses, in.Use) || in.Reason != "" {
		return 0, nil, badRequest(codeInvalidReport, "grade a report with a use: %s (and no reason)", strings.Join(uses, ", "))
	}
	at := c.now.UTC()
	d.Status, d.Use, d.GradedBy, d.GradedAt = reportGraded, in.Use, c.who.login, &at
	if r, err = c.host.Put(c.ctx, collReports, r.ID, r.Version, d); err != nil {
		return 0, nil, fromHost(err, "the report")
	}
	c.audit("report.grade", "report", r.ID, nil, map[string]any{"use": d.Use})
	c.count(measureAdopted+d.Use, d.UnitID, "adopted:"+r.ID)
	return http.StatusOK, reportViewOf(r, d), nil
}

// rejectReport: POST /reports/{id}/reject returns a report with a
// reason, once.
func (c *call) rejectReport(p params) (int, any, error) {
	r, d, in, err := c.decide(p)
	if err != nil {
		return 0, nil, err
	}
	var pr problems
	pr.text("reason", &in.Reason, 500, true, true)
	if in.Use != "" {
		pr.add("a rejection has no use")
	}
	if err := pr.err(codeInvalidReport); err != nil {
		return 0, nil, err
	}
	at := c.now.UTC()
	d.Status, d.Reason, d.GradedBy, d.GradedAt = reportRejected, in.Reason, c.who.login, &at
	if r, err = c.host.Put(c.ctx, collReports, r.ID, r.Version, d); err != nil {
		return 0, nil, fromHost(err, "the report")
	}
	c.audit("report.reject", "report", r.ID, nil, map[string]any{"reason": d.Reason})
	c.count(measureRejected, d.UnitID, "rejected:"+r.ID)
	return http.StatusOK, reportViewOf(r, d), nil
}
