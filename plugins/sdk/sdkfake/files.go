package sdkfake

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"mime"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/countycloud/countycloud/plugins/sdk"
)

// Limits of the files service, as the host's.
const (
	maxFileBytes       = 8 << 30
	maxPublicFileBytes = 20 << 20
	maxFileName        = 255
	maxContentType     = 127
	uploadTTL          = time.Hour
	defaultDownloadTTL = time.Hour
	maxDownloadTTL     = 24 * time.Hour
)

// URLs the fake hands out: they reach nothing.
const (
	uploadURL   = "https://files.example/upload/"
	downloadURL = "https://files.example/download/"
)

var filePattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

// publicTypes are the media types the host recognises in a public
// upload's bytes, and so the only ones a public upload may declare.
var publicTypes = []string{
	"application/pdf", "image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp", "text/plain",
	"application/zip", "application/ofd",
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

// CreateUpload declares a file, pending until Arrive, as
// sdk.Host.CreateUpload.
func (h *Host) CreateUpload(_ context.Context, name, contentType string, size int64) (sdk.Upload, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.failing(Call{Method: "CreateUpload"}); err != nil {
		return sdk.Upload{}, err
	}
	name, err := cleanName(name)
	if err != nil {
		return sdk.Upload{}, err
	}
	if contentType, err = checkContentType(contentType); err != nil {
		return sdk.Upload{}, err
	}
	if size <= 0 || size > maxFileBytes {
		return sdk.Upload{}, fmt.Errorf("%w: size %d is not between 1 and %d bytes", sdk.ErrInvalid, size, int64(maxFileBytes))
	}
	return h.declare(sdk.File{Name: name, ContentType: contentType, Size: size}), nil
}

// CreatePublicUpload declares a file bound to record u names, pending
// until Arrive, as sdk.Host.CreatePublicUpload.
func (h *Host) CreatePublicUpload(_ context.Context, u sdk.PublicUpload) (sdk.Upload, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.failing(Call{Method: "CreatePublicUpload", Collection: u.Collection, ID: u.RecordID}); err != nil {
		return sdk.Upload{}, err
	}
	if err := checkKey(u.Collection, u.RecordID); err != nil {
		return sdk.Upload{}, err
	}
	name, err := cleanName(u.Name)
	if err != nil {
		return sdk.Upload{}, err
	}
	contentType, err := publicContentType(u.ContentType, u.ContentTypes)
	if err != nil {
		return sdk.Upload{}, err
	}
	limit := u.MaxSize
	if limit <= 0 || limit > maxPublicFileBytes {
		limit = maxPublicFileBytes
	}
	switch {
	case u.Size <= 0:
		return sdk.Upload{}, fmt.Errorf("%w: size %d is not a file's", sdk.ErrInvalid, u.Size)
	case u.Size > limit:
		return sdk.Upload{}, fmt.Errorf("%w: the file is %d bytes; at most %d are taken here", sdk.ErrTooLarge, u.Size, limit)
	}
	if _, ok := h.records[u.Collection][u.RecordID]; !ok {
		return sdk.Upload{}, fmt.Errorf("%w: no record %s/%s to take a file", sdk.ErrNotFound, u.Collection, u.RecordID)
	}
	return h.declare(sdk.File{Name: name, ContentType: contentType, Size: u.Size, Collection: u.Collection, RecordID: u.RecordID}), nil
}

// declare keeps f, pending, under the next id.
func (h *Host) declare(f sdk.File) sdk.Upload {
	h.nextFile++
	now := h.now().UTC().Truncate(time.Microsecond)
	f.ID, f.Status, f.CreatedAt = fmt.Sprintf("%032x", h.nextFile), sdk.FilePending, now
	h.files[f.ID] = f
	return sdk.Upload{FileID: f.ID, URL: uploadURL + f.ID, ExpiresAt: now.Add(uploadTTL).Truncate(time.Second)}
}

// Arrive is the client's PUT of all of file id's bytes to its upload
// URL: the file is sdk.FileReady from now on, its SHA256 that of its id
// (the fake keeps no bytes). It fails t if no file id is pending.
func (h *Host) Arrive(t testing.TB, id string) {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	f, ok := h.files[id]
	if !ok || f.Status != sdk.FilePending {
		t.Fatalf("sdkfake: no file %s waits for its bytes", id)
	}
	sum := sha256.Sum256([]byte(id))
	f.Status, f.ReadyAt, f.SHA256 = sdk.FileReady, h.now().UTC().Truncate(time.Microsecond), hex.EncodeToString(sum[:])
	h.files[id] = f
}

// File reads file id, as sdk.Host.File.
func (h *Host) File(_ context.Context, id string) (sdk.File, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.failing(Call{Method: "File", ID: id}); err != nil {
		return sdk.File{}, err
	}
	return h.file(id)
}

func (h *Host) file(id string) (sdk.File, error) {
	if !filePattern.MatchString(id) {
		return sdk.File{}, fmt.Errorf("%w: file id %q is not one the host gave", sdk.ErrInvalid, id)
	}
	f, ok := h.files[id]
	if !ok {
		return sdk.File{}, fmt.Errorf("%w: no file %s", sdk.ErrNotFound, id)
	}
	return f, nil
}

// DownloadURL gives a URL to ready file id for ttl (an hour if 0, at
// most a day), as sdk.Host.DownloadURL.
func (h *Host) DownloadURL(_ context.Context, id string, ttl time.Duration) (sdk.SignedURL, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.failing(Call{Method: "DownloadURL", ID: id}); err != nil {
		return sdk.SignedURL{}, err
	}
	return h.signedURL(id, ttl, defaultDownloadTTL, maxDownloadTTL)
}

// signedURL is a URL to ready file id for ttl within the host's bounds
// of the call: def if 0, at most most. h.mu is held.
func (h *Host) signedURL(id string, ttl, def, most time.Duration) (sdk.SignedURL, error) {
	// The SDK sends whole seconds, rounded up.
	ttl = (ttl + time.Second - 1) / time.Second * time.Second
	switch {
	case ttl == 0:
		ttl = def
	case ttl < 0 || ttl > most:
		return sdk.SignedURL{}, fmt.Errorf("%w: ttl %s is not between 1 s and %s", sdk.ErrInvalid, ttl, most)
	}
	f, err := h.file(id)
	if err != nil {
		return sdk.SignedURL{}, err
	}
	if f.Status != sdk.FileReady {
		return sdk.SignedURL{}, fmt.Errorf("%w: file %s is %s: its bytes have not arrived", sdk.ErrNotReady, id, f.Status)
	}
	return sdk.SignedURL{URL: downloadURL + id, ExpiresAt: h.now().Add(ttl).UTC().Truncate(time.Second)}, nil
}

// DeleteFile removes file id, as sdk.Host.DeleteFile.
func (h *Host) DeleteFile(_ context.Context, id string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.failing(Call{Method: "DeleteFile", ID: id}); err != nil {
		return err
	}
	if _, err := h.file(id); err != nil {
		return err
	}
	delete(h.files, id)
	return nil
}

// cleanName checks a file's name as the host does: trimmed, 1 to 255
// characters that show, no control or formatting characters.
func cleanName(s string) (string, error) {
	name := strings.TrimSpace(s)
	switch {
	case !utf8.ValidString(name):
		return "", fmt.Errorf("%w: name is not valid UTF-8", sdk.ErrInvalid)
	case name == "":
		return "", fmt.Errorf("%w: name is empty", sdk.ErrInvalid)
	case utf8.RuneCountInString(name) > maxFileName:
		return "", fmt.Errorf("%w: name is over %d characters", sdk.ErrInvalid, maxFileName)
	}
	shows := false
	for _, r := range name {
		switch {
		case unicode.IsControl(r), unicode.In(r, unicode.Zl, unicode.Zp, unicode.Bidi_Control, unicode.Cf):
			return "", fmt.Errorf("%w: name holds a control or formatting character (%U)", sdk.ErrInvalid, r)
		case unicode.In(r, unicode.L, unicode.N, unicode.P, unicode.S) && !unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r) && r != '\u2800':
			shows = true
		}
	}
	if !shows {
		return "", fmt.Errorf("%w: name shows nothing", sdk.ErrInvalid)
	}
	return name, nil
}

// checkContentType returns ct as a media type in canonical form,
// application/octet-stream if empty.
func checkContentType(ct string) (string, error) {
	if ct == "" {
		return "application/octet-stream", nil
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || strings.Count(mt, "/") != 1 {
		return "", fmt.Errorf("%w: content type %q is not a media type such as video/mp4", sdk.ErrInvalid, ct)
	}
	out := mime.FormatMediaType(mt, params)
	if out == "" || len(out) > maxContentType {
		return "", fmt.Errorf("%w: content type %q is not a media type of at most %d bytes", sdk.ErrInvalid, ct, maxContentType)
	}
	return out, nil
}

// publicContentType checks ct as checkContentType does, and that it is
// one of allowed and one the host recognises.
func publicContentType(ct string, allowed []string) (string, error) {
	if ct == "" {
		return "", fmt.Errorf("%w: a public upload declares its content type", sdk.ErrInvalid)
	}
	out, err := checkContentType(ct)
	if err != nil {
		return "", err
	}
	mt, _, _ := mime.ParseMediaType(out)
	if !slices.Contains(publicTypes, mt) {
		return "", fmt.Errorf("%w: content type %s is not one the host recognises in a public upload's bytes", sdk.ErrInvalid, mt)
	}
	for _, a := range allowed {
		if am, _, err := mime.ParseMediaType(a); err == nil && am == mt {
			return out, nil
		}
	}
	return "", fmt.Errorf("%w: content type %s is not among those the module takes here %q", sdk.ErrInvalid, mt, allowed)
}
