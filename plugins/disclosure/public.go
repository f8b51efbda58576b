package disclosure

import (
	"crypto/sha256"
	"encoding/hex"
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

// publicRoutes are what anyone reads on the county's public pages
// (Manifest's Public): published basic information, published documents
// and the reports adopted for the portal, nothing else. Staff reach the
// same routes under the module's own prefix.
func publicRoutes() []route {
	return []route{
		{http.MethodGet, "/public/units", (*call).publicUnits},
		{http.MethodGet, "/public/units/{unit}", (*call).publicUnit},
		{http.MethodGet, "/public/documents", (*call).publicDocuments},
		{http.MethodGet, "/public/documents/{id}", (*call).publicDocument},
		{http.MethodGet, "/public/reports", (*call).publicReports},
		{http.MethodGet, "/public/reports/{id}", (*call).publicReport},
		{http.MethodGet, "/public/reports/{id}/files/{file}", (*call).publicReportFile},
	}
}

// publicAnswer is an answer of a public route: the same to everyone, so
// caches may keep it for publicMaxAge (the host honours that on public
// routes only), and it carries an ETag of its bytes: a request naming
// that ETag in If-None-Match is answered 304 without them, so that a
// portal or a proxy revalidating the pages moves no more than headers
// while nothing changed.
type publicAnswer struct{ body any }

// publicMaxAge is how long a cache may keep a public page: what a unit
// withdraws is gone from the caches within a minute.
const publicMaxAge = "public, max-age=60"

func (a publicAnswer) response(r *sdk.Request) (*sdk.Response, error) {
	resp, err := sdk.JSONResponse(http.StatusOK, a.body)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(resp.Body)
	tag := `"` + hex.EncodeToString(sum[:16]) + `"`
	resp.Header["ETag"], resp.Header["Cache-Control"] = tag, publicMaxAge
	if matchesETag(r.Header["If-None-Match"], tag) {
		return &sdk.Response{Status: http.StatusNotModified, Header: map[string]string{"ETag": tag, "Cache-Control": publicMaxAge}}, nil
	}
	return resp, nil
}

// matchesETag reports whether an If-None-Match header names tag, weakly
// compared as RFC 9110 asks of If-None-Match.
func matchesETag(header, tag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == tag || t == "*" {
			return true
		}
	}
	return false
}

// publicNotFound is the one answer to whatever is not published: an
// unknown id, a draft, a withdrawn form and another county's record are
// alike from outside.
func publicNotFound(what string) *apiError {
	return newError(http.StatusNotFound, codeNotFound, "no published %s here", what)
}

// publicUnitView is a unit with published basic information.
type publicUnitView struct {
	UnitID      int64        `json:"unit_id"`
	UnitName    string       `json:"unit_name"`
	PublishedAt *time.Time   `json:"published_at"`
	Basic       *profileForm `json:"basic,omitempty"`
}

// publicUnits: GET /public/units lists the units whose basic information
// is published, 200 a page, in order of unit id.
func (c *call) publicUnits(params) (int, any, error) {
	q, err := parseQuery(c.req.Query, "after")
	if err != nil {
		return 0, nil, err
	}
	after := q["after"]
	if after != "" {
		if _, err := positiveID("after", after); err != nil {
			return 0, nil, err
		}
	}
	page, err := c.host.Query(c.ctx, collProfiles, sdk.Query{Where: map[string]string{"public": "yes"}, Limit: 200, After: after})
	if err != nil {
		return 0, nil, fromHost(err, "the units' basic information")
	}
	out := struct {
		Units []publicUnitView `json:"units"`
		Next  string           `json:"next,omitempty"`
	}{Units: make([]publicUnitView, 0, len(page.Records)), Next: page.Next}
	for _, r := range page.Records {
		var pr profile
		if err := json.Unmarshal(r.Document, &pr); err != nil {
			return 0, nil, fmt.Errorf("read profile %s: %w", r.ID, err)
		}
		if pr.Published != nil {
			out.Units = append(out.Units, publicUnitView{UnitID: pr.UnitID, UnitName: pr.UnitName, PublishedAt: pr.PublishedAt})
		}
	}
	return http.StatusOK, publicAnswer{out}, nil
}

// publicUnit: GET /public/units/{unit} is the unit's published basic
// information, never its draft.
func (c *call) publicUnit(p params) (int, any, error) {
	if _, err := parseQuery(c.req.Query); err != nil {
		return 0, nil, err
	}
	unit, err := strconv.ParseInt(p["unit"], 10, 64)
	if err != nil || unit <= 0 || strconv.FormatInt(unit, 10) != p["unit"] {
		return 0, nil, publicNotFound("basic information")
	}
	_, pr, ok, err := c.readProfile(unit)
	if err != nil {
		return 0, nil, err
	}
	if !ok || pr.Published == nil {
		return 0, nil, publicNotFound("basic information")
	}
	return http.StatusOK, publicAnswer{publicUnitView{UnitID: pr.UnitID, UnitName: pr.UnitName, PublishedAt: pr.PublishedAt, Basic: pr.Published}}, nil
}

// publicDocumentView is a published document as anyone reads it.
type publicDocumentView struct {
	ID            string     `json:"id"`
	UnitID        int64      `json:"unit_id"`
	UnitName      string     `json:"unit_name"`
	Kind          string     `json:"kind"`
	Title         string     `json:"title"`
	Number        string     `json:"number,omitempty"`
	Body          string     `json:"body,omitempty"`
	IssuedOn      string     `json:"issued_on"`
	EffectiveFrom string     `json:"effective_from"`
	ExpiresOn     string     `json:"expires_on,omitempty"`
	Validity      string     `json:"validity"`
	ValidityZH    string     `json:"validity_zh"`
	PublishedAt   *time.Time `json:"published_at"`
}

func (c *call) publicDocumentOf(id string, d document, withBody bool) publicDocumentView {
	v := d.validity(c.today())
	out := publicDocumentView{ID: id, UnitID: d.UnitID, UnitName: d.UnitName, Kind: d.Kind, Title: d.Title, Number: d.Number,
		IssuedOn: d.IssuedOn, EffectiveFrom: d.EffectiveFrom, ExpiresOn: d.ExpiresOn, Validity: v, ValidityZH: validityZH(d.Kind, v), PublishedAt: d.PublishedAt}
	if withBody {
		out.Body = d.Body
	}
	return out
}

// publicDocuments: GET /public/documents lists published documents,
// newest first, 50 a page, of one unit or kind if asked; each says
// whether it is in effect or expired today.
func (c *call) publicDocuments(params) (int, any, error) {
	q, err := parseQuery(c.req.Query, "unit", "kind", "after")
	if err != nil {
		return 0, nil, err
	}
	where := map[string]string{"status": docPublished}
	if u, ok := q["unit"]; ok {
		id, err := positiveID("unit", u)
		if err != nil {
			return 0, nil, err
		}
		where["unit_id"] = strconv.FormatInt(id, 10)
	}
	if k, ok := q["kind"]; ok {
		if k != kindNormative && k != kindProcurement {
			return 0, nil, badRequest(codeInvalidQuery, "kind %q is neither normative nor procurement", k)
		}
		where["kind"] = k
	}
	after := q["after"]
	if after != "" && !sdk.ValidNewestFirstID(after) {
		return 0, nil, badRequest(codeInvalidQuery, "after %q is not a document's id", after)
	}
	page, err := c.host.Query(c.ctx, collDocuments, sdk.Query{Where: where, Limit: 50, After: after})
	if err != nil {
		return 0, nil, fromHost(err, "the documents")
	}
	out := struct {
		Documents []publicDocumentView `json:"documents"`
		Next      string               `json:"next,omitempty"`
	}{Documents: make([]publicDocumentView, 0, len(page.Records)), Next: page.Next}
	for _, r := range page.Records {
		var d document
		if err := json.Unmarshal(r.Document, &d); err != nil {
			return 0, nil, fmt.Errorf("read document %s: %w", r.ID, err)
		}
		if d.Status == docPublished {
			out.Documents = append(out.Documents, c.publicDocumentOf(r.ID, d, false))
		}
	}
	return http.StatusOK, publicAnswer{out}, nil
}

// publicDocument: GET /public/documents/{id}, if published.
func (c *call) publicDocument(p params) (int, any, error) {
	if _, err := parseQuery(c.req.Query); err != nil {
		return 0, nil, err
	}
	r, d, err := c.readDocument(p["id"])
	var ae *apiError
	if asAPIError(err, &ae) && ae.code == codeDocumentNotFound || err == nil && d.Status != docPublished {
		return 0, nil, publicNotFound("document")
	}
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, publicAnswer{c.publicDocumentOf(r.ID, d, true)}, nil
}

// publicReportView is a report adopted for the portal as anyone reads it:
// its files' names, and each file with the path of its download route
// (publicReportFile). The page itself carries no signed URL: it is the
// same for everyone and cached, and a URL lives minutes.
type publicReportView struct {
	ID          string             `json:"id"`
	UnitID      int64              `json:"unit_id"`
	UnitName    string             `json:"unit_name"`
	Title       string             `json:"title"`
	Body        string             `json:"body,omitempty"`
	Files       []string           `json:"files,omitempty"`
	Attachments []publicAttachment `json:"attachments,omitempty"`
	PublishedAt *time.Time         `json:"published_at"`
}

// publicAttachment is a published report's file: Download is the path,
// under the module's public prefix, that answers a URL to its bytes.
type publicAttachment struct {
	reportFile
	Download string `json:"download"`
}

func publicReportOf(id string, d report, full bool) publicReportView {
	v := publicReportView{ID: id, UnitID: d.UnitID, UnitName: d.UnitName, Title: d.Title, PublishedAt: d.GradedAt}
	if full {
		v.Body = d.Body
		for _, f := range d.Files {
			v.Files = append(v.Files, f.Name)
			v.Attachments = append(v.Attachments, publicAttachment{reportFile: f, Download: "/public/reports/" + id + "/files/" + f.FileID})
		}
	}
	return v
}

// publicDownloadTTL is how long a URL to a published report's file lives.
const publicDownloadTTL = 5 * time.Minute

// publicReportFile: GET /public/reports/{id}/files/{file} answers a URL
// of minutes to a file of a report adopted for the portal (the host's
// public downloads, audited with the caller's address). It is signed for
// each caller, so it is never cached; anything not published, and a file
// the report does not have, is not_found.
func (c *call) publicReportFile(p params) (int, any, error) {
	if _, err := parseQuery(c.req.Query); err != nil {
		return 0, nil, err
	}
	_, d, err := c.readReport(p["id"])
	var ae *apiError
	if asAPIError(err, &ae) && ae.code == codeReportNotFound || err == nil && !onPortal(d) {
		return 0, nil, publicNotFound("report")
	}
	if err != nil {
		return 0, nil, err
	}
	i := slices.IndexFunc(d.Files, func(f reportFile) bool { return f.FileID == p["file"] })
	if i < 0 {
		return 0, nil, publicNotFound("file")
	}
	u, err := c.host.PublicDownloadURL(c.ctx, d.Files[i].FileID, publicDownloadTTL)
	switch {
	case errors.Is(err, sdk.ErrNotReady):
		return 0, nil, newError(http.StatusConflict, codeFileNotReady, "the bytes of %s have not all arrived", d.Files[i].Name)
	case errors.Is(err, sdk.ErrBusy):
		return 0, nil, newError(http.StatusTooManyRequests, codeTooManyDownloads, "your address has downloaded too many files of late; try again in an hour")
	case errors.Is(err, sdk.ErrNotFound):
		return 0, nil, publicNotFound("file")
	case errors.Is(err, sdk.ErrDenied):
		return 0, nil, forbidden("the public downloads are anyone's on the public pages; staff read a report's files with GET /reports/{id}/files/{file}")
	case err != nil:
		return 0, nil, fromHost(err, "the file")
	}
	return http.StatusOK, struct {
		File reportFile    `json:"file"`
		URL  sdk.SignedURL `json:"download"`
	}{d.Files[i], u}, nil
}

func onPortal(d report) bool { return d.Status == reportGraded && d.Use == usePortal }

// publicReports: GET /public/reports lists the reports adopted for the
// portal, newest first, 50 a page.
func (c *call) publicReports(params) (int, any, error) {
	q, err := parseQuery(c.req.Query, "unit", "after")
	if err != nil {
		return 0, nil, err
	}
	where := map[string]string{"status": reportGraded, "use": usePortal}
	if u, ok := q["unit"]; ok {
		id, err := positiveID("unit", u)
		if err != nil {
			return 0, nil, err
		}
		where["unit_id"] = strconv.FormatInt(id, 10)
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
		Reports []publicReportView `json:"reports"`
		Next    string             `json:"next,omitempty"`
	}{Reports: make([]publicReportView, 0, len(page.Records)), Next: page.Next}
	for _, r := range page.Records {
		var d report
		if err := json.Unmarshal(r.Document, &d); err != nil {
			return 0, nil, fmt.Errorf("read report %s: %w", r.ID, err)
		}
		if onPortal(d) {
			out.Reports = append(out.Reports, publicReportOf(r.ID, d, false))
		}
	}
	return http.StatusOK, publicAnswer{out}, nil
}

// publicReport: GET /public/reports/{id}, if adopted for the portal.
func (c *call) publicReport(p params) (int, any, error) {
	if _, err := parseQuery(c.req.Query); err != nil {
		return 0, nil, err
	}
	r, d, err := c.readReport(p["id"])
	var ae *apiError
	if asAPIError(err, &ae) && ae.code == codeReportNotFound || err == nil && !onPortal(d) {
		return 0, nil, publicNotFound("report")
	}
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, publicAnswer{publicReportOf(r.ID, d, true)}, nil
}
