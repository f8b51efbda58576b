package approval

import (
	"errors"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/countycloud/countycloud/plugins/sdk"
)

// What the module takes as a material's file: scans and forms, as PDF,
// OFD (the national format of electronic documents) or images, and no
// more than a scan of a few pages needs. The host sniffs the bytes
// against the declared type.
var materialTypes = []string{"application/pdf", "application/ofd", "image/jpeg", "image/png"}

const maxMaterialBytes = 10 << 20

// Error codes of materials' files.
const (
	codeFileTooLarge    = "file_too_large"
	codeFileTypeRefused = "file_type_refused"
	codeFileNotFound    = "file_not_found"
	codeTooManyFiles    = "too_many_files"
	codeFileNotReady    = "file_not_ready"
)

// materialFile is a file an applicant handed in for one of the item's
// materials.
type materialFile struct {
	FileID      string    `json:"file_id"`
	Material    string    `json:"material"`
	Name        string    `json:"name"`
	ContentType string    `json:"content_type"`
	Size        int64     `json:"size"`
	At          time.Time `json:"at"`
	// Superseded: the material was asked for again (补正) after this file
	// was handed in, so the file no longer stands for it.
	Superseded bool `json:"superseded,omitempty"`
}

func materialRoutes() []route {
	return []route{
		{"POST", "/public/applications/{number}/files", (*call).handInFile},
		{"POST", "/public/applications/{number}/files/{file}/download", (*call).downloadOwnFile},
		{"GET", "/applications/{id}/files/{file}", (*call).materialFileURL},
	}
}

// fileInput is the body of POST /public/applications/{number}/files.
type fileInput struct {
	Code        string `json:"code"`
	Material    string `json:"material"`
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
}

// handInFile takes a file for one of the materials of the application of
// a receipt: one it names while it waits for examination, one asked for
// while it waits on the applicant (补正). It answers the URL the bytes go
// to; the application keeps the file.
func (c *call) handInFile(p params) (int, any, error) {
	var in fileInput
	if err := decodeBody(c.req.Body, &in); err != nil {
		return 0, nil, err
	}
	l, err := c.byReceipt(p["number"], in.Code)
	if err != nil {
		return 0, nil, err
	}
	var open []string
	switch l.Status {
	case statusSubmitted:
		open = l.Materials
	case statusCorrecting:
		open = l.Missing
	default:
		return 0, nil, newError(http.StatusConflict, codeIllegalTransition, "application %s is %s and takes no more files", l.Number, l.Status)
	}
	if !slices.Contains(open, in.Material) {
		return 0, nil, badRequest(codeInvalidApplication, "material: application %s takes files for %s now, not %q", l.Number, strings.Join(open, "、"), in.Material)
	}
	if mt, _, err := mime.ParseMediaType(in.ContentType); err != nil || !slices.Contains(materialTypes, mt) {
		return 0, nil, newError(http.StatusUnsupportedMediaType, codeFileTypeRefused, "content_type: a material is one of %s, not %q", strings.Join(materialTypes, ", "), in.ContentType)
	}
	if in.Size > maxMaterialBytes {
		return 0, nil, newError(http.StatusRequestEntityTooLarge, codeFileTooLarge, "size: a material's file is at most %d bytes, not %d", maxMaterialBytes, in.Size)
	}
	up, err := c.host.CreatePublicUpload(c.ctx, sdk.PublicUpload{Collection: collApplications, RecordID: l.ID, Name: in.Name, ContentType: in.ContentType,
		Size: in.Size, ContentTypes: materialTypes, MaxSize: maxMaterialBytes})
	if errors.Is(err, sdk.ErrBusy) {
		return 0, nil, newError(http.StatusTooManyRequests, codeTooManyFiles, "your address has handed in too many files of late; try again in an hour")
	}
	if err != nil {
		return 0, nil, fromHost(err, "the file")
	}
	before := l.application
	l.Files = append(l.Files, materialFile{FileID: up.FileID, Material: in.Material, Name: in.Name, ContentType: in.ContentType, Size: in.Size, At: c.now})
	if _, err := c.host.Put(c.ctx, collApplications, l.ID, l.Version, l.application); err != nil {
		return 0, nil, fromHost(err, "the application")
	}
	c.audit("application.file", "application", l.ID, before, l.application)
	return http.StatusCreated, up, nil
}

// materialFileView is a material's file as the department's staff see it,
// with a URL to read it for an hour.
type materialFileView struct {
	sdk.File
	Material string        `json:"material"`
	URL      sdk.SignedURL `json:"url"`
}

// materialFileURL shows a file of an application to whom
// staffApplication shows the application.
func (c *call) materialFileURL(p params) (int, any, error) {
	l, err := c.loadApplication(p["id"])
	if err != nil {
		return 0, nil, err
	}
	if !c.who.county && c.who.unit != l.UnitID {
		return 0, nil, newError(http.StatusNotFound, codeApplicationNotFound, "the county has no application %q", p["id"])
	}
	i := slices.IndexFunc(l.Files, func(f materialFile) bool { return f.FileID == p["file"] })
	if i < 0 {
		return 0, nil, newError(http.StatusNotFound, codeFileNotFound, "application %s has no file %q", l.Number, p["file"])
	}
	f, err := c.host.File(c.ctx, p["file"])
	if err != nil {
		return 0, nil, fromHost(err, "the file")
	}
	if f.Status != sdk.FileReady {
		return 0, nil, newError(http.StatusConflict, codeFileNotReady, "file %s has not arrived yet", f.ID)
	}
	u, err := c.host.DownloadURL(c.ctx, f.ID, time.Hour)
	if err != nil {
		return 0, nil, fromHost(err, "the file's URL")
	}
	return http.StatusOK, materialFileView{File: f, Material: l.Files[i].Material, URL: u}, nil
}

// missingMaterialsError refuses what lacks materials, naming them in the
// message after prefix and as the details' list.
func missingMaterialsError(prefix string, materials []string) *apiError {
	e := badRequest(codeMissingMaterials, "%s%s", prefix, strings.Join(materials, "、"))
	e.details = materials
	return e
}

// askFor asks the applicant for materials (补正): the files handed in of
// them so far, and the originals seen at the counter, no longer stand for
// them (a copy refused as illegible is handed in again).
func (l *application) askFor(materials []string) {
	l.Missing = materials
	for i, f := range l.Files {
		if slices.Contains(materials, f.Material) {
			l.Files[i].Superseded = true
		}
	}
	l.Originals = slices.DeleteFunc(l.Originals, func(m string) bool { return slices.Contains(materials, m) })
}

// withoutFile are those of materials application l has no file of but
// superseded ones. Whether their bytes arrived the applicant's routes
// cannot tell (the host's files answer accounts only): the examination
// checks it.
func (l application) withoutFile(materials []string) []string {
	var without []string
	for _, m := range materials {
		if !slices.ContainsFunc(l.Files, func(f materialFile) bool { return f.Material == m && !f.Superseded }) {
			without = append(without, m)
		}
	}
	return without
}

// withoutReadyFile are the materials of item it that application l has
// neither a file of whose bytes arrived (and not superseded by a request
// for it) nor an original the staff saw at the counter. An electronic form (电子表单) is no exception: the module
// keeps no form's fields, so a filled form is handed in as a file (its
// PDF or OFD) like any other material. Of several files of a material,
// the newest are read first and the first arrived will do.
func (c *call) withoutReadyFile(l loaded, it item) ([]string, error) {
	var without []string
	for _, m := range it.Materials {
		if slices.Contains(l.Originals, m.Name) {
			continue
		}
		ready := false
		for i := len(l.Files) - 1; i >= 0 && !ready; i-- {
			if l.Files[i].Material != m.Name || l.Files[i].Superseded {
				continue
			}
			f, err := c.host.File(c.ctx, l.Files[i].FileID)
			if err != nil && !errors.Is(err, sdk.ErrNotFound) {
				return nil, fromHost(err, "the application's files")
			}
			ready = err == nil && f.Status == sdk.FileReady
		}
		if !ready {
			without = append(without, m.Name)
		}
	}
	return without, nil
}

// codeTooManyDownloads refuses an address the host has given too many
// downloads of late.
const codeTooManyDownloads = "too_many_downloads"

// publicDownloadTTL is how long the applicant's URL to their file lives:
// enough to start the download, not to pass the link around.
const publicDownloadTTL = 5 * time.Minute

// downloadInput is the body of POST
// /public/applications/{number}/files/{file}/download.
type downloadInput struct {
	Code string `json:"code"`
}

// publicFileView is one of the applicant's files, with a URL to read it
// for a few minutes.
type publicFileView struct {
	materialFile
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expires_at"`
}

// downloadOwnFile gives the applicant, who proves the receipt's number
// and code, a short-lived URL to a file they handed in for the
// application. A wrong code is answered as for the query; a file that is
// not the application's as one that does not exist.
func (c *call) downloadOwnFile(p params) (int, any, error) {
	var in downloadInput
	if err := decodeBody(c.req.Body, &in); err != nil {
		return 0, nil, err
	}
	l, err := c.byReceipt(p["number"], in.Code)
	if err != nil {
		return 0, nil, err
	}
	i := slices.IndexFunc(l.Files, func(f materialFile) bool { return f.FileID == p["file"] })
	if i < 0 {
		return 0, nil, newError(http.StatusNotFound, codeFileNotFound, "application %s has no file %q", l.Number, p["file"])
	}
	u, err := c.host.PublicDownloadURL(c.ctx, p["file"], publicDownloadTTL)
	switch {
	case errors.Is(err, sdk.ErrNotReady):
		return 0, nil, newError(http.StatusConflict, codeFileNotReady, "file %s has not arrived yet: send its bytes to the URL you were given", p["file"])
	case errors.Is(err, sdk.ErrBusy):
		return 0, nil, newError(http.StatusTooManyRequests, codeTooManyDownloads, "your address has downloaded too many files of late; try again in an hour")
	case errors.Is(err, sdk.ErrNotFound):
		return 0, nil, newError(http.StatusNotFound, codeFileNotFound, "application %s has no file %q", l.Number, p["file"])
	case errors.Is(err, sdk.ErrDenied):
		return 0, nil, forbidden("the applicant downloads their files on the public pages; staff read them with GET /applications/{id}/files/{file_id}")
	case err != nil:
		return 0, nil, fromHost(err, "the file's URL")
	}
	return http.StatusOK, publicFileView{materialFile: l.Files[i], URL: u.URL, ExpiresAt: u.ExpiresAt}, nil
}
