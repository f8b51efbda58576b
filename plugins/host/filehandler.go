package host

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/kit"
	"github.com/countycloud/countycloud/core/measure"
)

// Codes of the errors of file URLs.
const (
	CodeFileURLInvalid   = "file_url_invalid"
	CodeFileURLExpired   = "file_url_expired"
	CodeFileURLOperation = "file_url_wrong_operation"
	CodeFileNotFound     = "file_not_found"
	CodeFileTooLarge     = "file_too_large"
	CodeFileSizeMismatch = "file_size_mismatch"
	CodeFileUploaded     = "file_already_uploaded"
	// CodeFileWrongType: a public upload's bytes are not of the type it
	// was declared (uploads.go).
	CodeFileWrongType = "file_wrong_type"
)

// fileHandler serves the URLs the files service signs: a PUT of a
// pending file's bytes, a GET (or HEAD) of a ready one's. The URL's
// token is all it trusts: its county, plugin, file and operation.
type fileHandler struct {
	key         []byte
	blobs       Blobs
	router      Router
	now         func() time.Time
	log         *slog.Logger
	encodeError func(ctx context.Context, err error, w http.ResponseWriter)
}

// NewFileHandler returns the handler of the file URLs signed with key
// (Deps.FileKey), to mount at Deps.FileURL as it is: it reads the token
// from the last segment of the path, and takes uploads far larger than
// the API's body limit, which must not wrap it.
func NewFileHandler(key []byte, blobs Blobs, router Router, now func() time.Time, log *slog.Logger) (http.Handler, error) {
	if len(key) < MinFileKeyBytes {
		return nil, fmt.Errorf("the key of file URLs is %d bytes; at least %d are needed", len(key), MinFileKeyBytes)
	}
	return &fileHandler{key: fileKey(key), blobs: blobs, router: router, now: now, log: log, encodeError: kit.ErrorEncoder(log)}, nil
}

func (h *fileHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := h.serve(w, r); err != nil {
		h.encodeError(r.Context(), err, w)
	}
}

func (h *fileHandler) serve(w http.ResponseWriter, r *http.Request) error {
	var op string
	switch r.Method {
	case http.MethodPut:
		op = opUpload
	case http.MethodGet, http.MethodHead:
		op = opDownload
	default:
		w.Header().Set("Allow", "GET, HEAD, PUT")
		return errs.E(errs.KindMethodNotAllowed, errs.CodeMethodNotAllowed, "a file URL takes GET, HEAD or PUT")
	}
	token := r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
	g, err := parseFileToken(h.key, token)
	if err != nil {
		return errs.E(errs.KindForbidden, CodeFileURLInvalid, "this URL is not one the platform signed")
	}
	if expires := time.Unix(g.Expires, 0); !h.now().Before(expires) {
		return errs.E(errs.KindForbidden, CodeFileURLExpired, "this URL expired at %s; ask the module for a new one", expires.UTC().Format(time.RFC3339))
	}
	if g.Op != op {
		if g.Op == opUpload {
			return errs.E(errs.KindForbidden, CodeFileURLOperation, "this URL takes the file's upload (PUT), not a %s", r.Method)
		}
		return errs.E(errs.KindForbidden, CodeFileURLOperation, "this URL serves the file's download (GET), not a %s", r.Method)
	}
	// parseFileToken checked the key's parts.
	key, _ := NewBlobKey(g.County, g.Plugin, g.File)
	if op == opUpload {
		return h.upload(w, r, g, key)
	}
	return h.download(w, r, g, key)
}

func (h *fileHandler) read(ctx context.Context, g fileGrant) (fileRow, error) {
	var f fileRow
	err := h.router.InTenant(ctx, g.County, func(ctx context.Context, conn *sqlx.Conn) error {
		var err error
		f, err = readFile(ctx, conn, g.Plugin, g.File, false)
		return err
	})
	if errors.Is(err, errNoFile) {
		return fileRow{}, errs.NotFound(CodeFileNotFound, "the file of this URL is gone")
	}
	return f, err
}

// upload stores the request's body as the file's bytes if it is exactly
// the size declared, then marks the file ready with their SHA-256.
func (h *fileHandler) upload(w http.ResponseWriter, r *http.Request, g fileGrant, key BlobKey) error {
	ctx := r.Context()
	f, err := h.read(ctx, g)
	if err != nil {
		return err
	}
	if f.Status == fileReady {
		return errs.Conflict(CodeFileUploaded, "file %s is uploaded already", f.ID)
	}
	// A declared length is judged before a byte is read.
	if r.ContentLength > f.Size {
		return errs.E(errs.KindTooLarge, CodeFileTooLarge, "the upload is %d bytes; file %s was declared %d", r.ContentLength, f.ID, f.Size)
	}
	if r.ContentLength >= 0 && r.ContentLength < f.Size {
		return errs.Invalid(CodeFileSizeMismatch, "the upload is %d bytes; file %s was declared %d", r.ContentLength, f.ID, f.Size)
	}
	var content io.Reader = r.Body
	if f.public() {
		// A public upload's first bytes are judged before any is stored:
		// bytes of another type than declared leave nothing behind.
		head := make([]byte, min(f.Size, sniffBytes))
		n, err := io.ReadFull(r.Body, head)
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
			return err
		}
		if !sniffs(f.ContentType, head[:n]) {
			return errs.E(errs.KindUnsupportedMediaType, CodeFileWrongType, "the upload's bytes are not %s, as file %s was declared", f.ContentType, f.ID)
		}
		content = io.MultiReader(bytes.NewReader(head[:n]), r.Body)
	}
	body := &exactReader{r: content, left: f.Size, hash: sha256.New()}
	err = h.blobs.Put(ctx, key, body, f.Size)
	switch {
	case errors.Is(err, errTooLarge):
		return errs.E(errs.KindTooLarge, CodeFileTooLarge, "the upload carried more than the %d bytes file %s was declared", f.Size, f.ID)
	case errors.Is(err, errTooShort):
		return errs.Invalid(CodeFileSizeMismatch, "the upload ended before the %d bytes file %s was declared", f.Size, f.ID)
	case errors.Is(err, ErrBlobExists):
		return errs.Conflict(CodeFileUploaded, "file %s is being uploaded or uploaded already", f.ID)
	case err != nil:
		return err
	}
	sum := hex.EncodeToString(body.hash.Sum(nil))
	now := h.now().UTC().Truncate(time.Microsecond)
	var marked bool
	// Marked ready once, from pending, and counted stored in the same
	// transaction. A module's file is no unit's: the county counts it.
	err = h.router.InTenantTx(ctx, g.County, func(ctx context.Context, tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE plugin_files SET status = ?, sha256 = ?, ready_at = ? WHERE plugin = ? AND file_id = ? AND status = ?",
			fileReady, sum, now, g.Plugin, g.File, filePending)
		if err != nil {
			return fmt.Errorf("mark file %s ready: %w", g.File, err)
		}
		n, err := res.RowsAffected()
		if marked = n == 1; err != nil || !marked {
			return err
		}
		return measure.Add(ctx, tx, now, measure.Count{Measure: measure.FilesStored, Unit: measure.CountyWide})
	})
	if err != nil || !marked {
		// The file was deleted while its bytes came, or it could not be
		// marked: no bytes stay that no ready file owns, and the upload
		// can be tried again.
		if derr := h.blobs.Delete(context.WithoutCancel(ctx), key); derr != nil {
			h.log.ErrorContext(ctx, "an upload's bytes could not be removed", "county", g.County, "plugin", g.Plugin, "file", g.File, "err", derr)
		}
		if err != nil {
			return err
		}
		return errs.NotFound(CodeFileNotFound, "file %s was deleted during its upload", g.File)
	}
	out, err := json.Marshal(struct {
		ID     string `json:"id"`
		Size   int64  `json:"size"`
		SHA256 string `json:"sha256"`
		Status string `json:"status"`
	}{f.ID, f.Size, sum, fileReady})
	if err != nil {
		return err
	}
	kit.WriteJSONBody(w, http.StatusOK, out)
	return nil
}

// download serves the file's bytes, ranges included (a video player
// seeks with them), as the type the plugin declared.
func (h *fileHandler) download(w http.ResponseWriter, r *http.Request, g fileGrant, key BlobKey) error {
	ctx := r.Context()
	f, err := h.read(ctx, g)
	if err != nil {
		return err
	}
	blob, err := h.blobs.Open(ctx, key)
	if errors.Is(err, ErrBlobNotFound) {
		return errs.NotFound(CodeFileNotFound, "the file of this URL is gone")
	}
	if err != nil {
		return err
	}
	defer blob.Close()
	header := w.Header()
	header.Set("Content-Type", f.ContentType)
	// The bytes are the plugin's to choose, but they are served from the
	// platform's origin: a page among them must not run there as the
	// platform, and only media are shown in place.
	header.Set("X-Content-Type-Options", "nosniff")
	header.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	disposition := "attachment"
	if inline(f.ContentType) {
		disposition = "inline"
	}
	if d := mime.FormatMediaType(disposition, map[string]string{"filename": f.Name}); d != "" {
		header.Set("Content-Disposition", d)
	} else {
		header.Set("Content-Disposition", disposition)
	}
	header.Set("Cache-Control", "private")
	var modified time.Time
	if f.ReadyAt != nil {
		modified = *f.ReadyAt
	}
	if f.SHA256 != nil {
		header.Set("ETag", `"`+*f.SHA256+`"`)
	}
	http.ServeContent(w, r, "", modified, blob)
	return nil
}

// inline says whether a file of content type ct is shown in place: video,
// audio and images that cannot hold script.
func inline(ct string) bool {
	mt, _, _ := mime.ParseMediaType(ct)
	switch {
	case mt == "image/svg+xml":
		return false
	case strings.HasPrefix(mt, "video/"), strings.HasPrefix(mt, "audio/"), strings.HasPrefix(mt, "image/"):
		return true
	}
	return false
}

var (
	errTooLarge = errors.New("the body is longer than declared")
	errTooShort = errors.New("the body is shorter than declared")
)

// exactReader passes on exactly left bytes of r, hashing them, and fails
// if r holds more or fewer: the store then keeps nothing of it.
type exactReader struct {
	r    io.Reader
	left int64
	hash hash.Hash
}

func (e *exactReader) Read(p []byte) (int, error) {
	// Asking for one byte more than is due shows an excess as soon as it
	// comes, without reading the rest of it.
	if int64(len(p)) > e.left+1 {
		p = p[:e.left+1]
	}
	n, err := e.r.Read(p)
	if int64(n) > e.left {
		return 0, errTooLarge
	}
	e.left -= int64(n)
	e.hash.Write(p[:n])
	if errors.Is(err, io.EOF) && e.left > 0 {
		return n, errTooShort
	}
	return n, err
}
