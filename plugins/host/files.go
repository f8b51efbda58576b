package host

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/countycloud/countycloud/core/names"
	"github.com/countycloud/countycloud/plugins/sdk/proto/pluginv1"
)

// Limits of the files service.
const (
	// MaxFileBytes bounds one file: a recorded meeting of a few hours.
	MaxFileBytes = 8 << 30
	// MinFileKeyBytes is the shortest key that signs file URLs.
	MinFileKeyBytes = 32
	maxFileName     = 255
	maxContentType  = 127
	// An upload URL lives long enough to start sending a large video
	// over a county's line; it is checked when the upload starts.
	uploadTTL          = time.Hour
	defaultDownloadTTL = time.Hour
	maxDownloadTTL     = 24 * time.Hour
)

// Statuses of a file.
const (
	filePending = "pending"
	fileReady   = "ready"
)

// files serves a plugin's files: their metadata in the county's schema,
// and URLs, signed for the county of the capability, through which
// clients send and fetch their bytes.
type files struct {
	guard
	router Router
	blobs  Blobs
	// key signs the URLs (a fileKey), under base.
	key  []byte
	base string
	now  func() time.Time
}

func newFiles(g guard, d Deps) *files {
	s := &files{guard: g, router: d.Router, blobs: d.Blobs, base: strings.TrimSuffix(d.FileURL, "/"), now: d.Now}
	if len(d.FileKey) >= MinFileKeyBytes {
		s.key = fileKey(d.FileKey)
	}
	return s
}

// available refuses the calls of a host configured without files, rather
// than failing on what it lacks.
func (s *files) available() error {
	if s.blobs == nil || s.key == nil || s.base == "" {
		return status.Error(codes.Unavailable, "this host keeps no files: it has no blob store, URL key or URL")
	}
	return nil
}

// begin checks that this host keeps files and that token is good, and
// returns the county it was issued for.
func (s *files) begin(token string) (string, error) {
	if err := s.available(); err != nil {
		return "", err
	}
	c, err := s.account(token, "files")
	return c.County, err
}

type fileRow struct {
	ID          string     `db:"file_id"`
	Name        string     `db:"name"`
	ContentType string     `db:"content_type"`
	Size        int64      `db:"size"`
	SHA256      *string    `db:"sha256"`
	Status      string     `db:"status"`
	CreatedAt   time.Time  `db:"created_at"`
	ReadyAt     *time.Time `db:"ready_at"`
	// Collection, RecordID and UploaderAddress are set on a public
	// upload's file (uploads.go) only.
	Collection      *string `db:"collection"`
	RecordID        *string `db:"record_id"`
	UploaderAddress *string `db:"uploader_address"`
}

// public says whether f is a public upload's, whose bytes the host
// sniffs against its declared type.
func (f fileRow) public() bool { return f.UploaderAddress != nil }

func (f fileRow) proto() *pluginv1.File {
	out := &pluginv1.File{Id: f.ID, Name: f.Name, ContentType: f.ContentType, Size: f.Size, Status: f.Status,
		CreatedAt: f.CreatedAt.UTC().Format(time.RFC3339Nano)}
	if f.SHA256 != nil {
		out.Sha256 = *f.SHA256
	}
	if f.ReadyAt != nil {
		out.ReadyAt = f.ReadyAt.UTC().Format(time.RFC3339Nano)
	}
	if f.public() {
		out.Collection, out.RecordId, out.UploaderAddress = deref(f.Collection), deref(f.RecordID), *f.UploaderAddress
	}
	return out
}

var errNoFile = errors.New("no such file")

// readFile reads file of plugin in the schema q is on.
func readFile(ctx context.Context, q sqlx.QueryerContext, plugin, file string, lock bool) (fileRow, error) {
	query := "SELECT file_id, name, content_type, size, sha256, status, created_at, ready_at, collection, record_id, uploader_address FROM plugin_files WHERE plugin = ? AND file_id = ?"
	if lock {
		query += " FOR UPDATE"
	}
	var f fileRow
	err := sqlx.GetContext(ctx, q, &f, query, plugin, file)
	if errors.Is(err, sql.ErrNoRows) {
		return fileRow{}, errNoFile
	}
	if err != nil {
		return fileRow{}, fmt.Errorf("read file %s: %w", file, err)
	}
	return f, nil
}

func (s *files) CreateUpload(ctx context.Context, req *pluginv1.CreateUploadRequest) (*pluginv1.Upload, error) {
	county, err := s.begin(req.GetCapability())
	if err != nil {
		return nil, err
	}
	name, err := names.Clean("name", req.GetName(), maxFileName)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	contentType, err := checkContentType(req.GetContentType())
	if err != nil {
		return nil, err
	}
	if req.GetSize() <= 0 || req.GetSize() > MaxFileBytes {
		return nil, status.Errorf(codes.InvalidArgument, "size %d is not between 1 and %d bytes", req.GetSize(), int64(MaxFileBytes))
	}
	id := newFileID()
	now := s.now().UTC().Truncate(time.Microsecond)
	err = s.router.InTenant(ctx, county, func(ctx context.Context, conn *sqlx.Conn) error {
		_, err := conn.ExecContext(ctx, "INSERT INTO plugin_files (plugin, file_id, name, content_type, size, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
			s.plugin, id, name, contentType, req.GetSize(), filePending, now)
		if err != nil {
			return fmt.Errorf("create file: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, s.grpcError(ctx, err)
	}
	url, expires := s.url(county, id, opUpload, now.Add(uploadTTL))
	return &pluginv1.Upload{FileId: id, Url: url, ExpiresAt: expires}, nil
}

func (s *files) GetFile(ctx context.Context, req *pluginv1.GetFileRequest) (*pluginv1.File, error) {
	county, err := s.begin(req.GetCapability())
	if err != nil {
		return nil, err
	}
	f, err := s.file(ctx, county, req.GetFileId())
	if err != nil {
		return nil, err
	}
	return f.proto(), nil
}

func (s *files) DownloadURL(ctx context.Context, req *pluginv1.DownloadURLRequest) (*pluginv1.SignedURL, error) {
	if err := s.available(); err != nil {
		return nil, err
	}
	ttl, err := urlTTL(req.GetTtlSeconds(), defaultDownloadTTL, maxDownloadTTL)
	if err != nil {
		return nil, err
	}
	c, err := s.account(req.GetCapability(), "files")
	if err != nil {
		return nil, err
	}
	county := c.County
	f, err := s.file(ctx, county, req.GetFileId())
	if err != nil {
		return nil, err
	}
	if f.Status != fileReady {
		return nil, status.Errorf(codes.FailedPrecondition, "file %s is %s: its bytes have not arrived", f.ID, f.Status)
	}
	url, expires := s.url(county, f.ID, opDownload, s.now().Add(ttl))
	return &pluginv1.SignedURL{Url: url, ExpiresAt: expires}, nil
}

// DeleteFile removes the bytes before the metadata, under the row's
// lock: if the second step fails, the plugin can call again, and an
// upload arriving meanwhile finds no pending file to make ready, so it
// removes what it stored.
func (s *files) DeleteFile(ctx context.Context, req *pluginv1.DeleteFileRequest) (*pluginv1.DeleteFileResponse, error) {
	county, err := s.begin(req.GetCapability())
	if err != nil {
		return nil, err
	}
	key, err := s.blobKey(county, req.GetFileId())
	if err != nil {
		return nil, err
	}
	err = s.router.InTenantTx(ctx, county, func(ctx context.Context, tx *sqlx.Tx) error {
		if _, err := readFile(ctx, tx, s.plugin, req.GetFileId(), true); err != nil {
			return notFound(err, req.GetFileId())
		}
		return deleteFile(ctx, tx, s.blobs, key)
	})
	if err != nil {
		return nil, s.grpcError(ctx, err)
	}
	return &pluginv1.DeleteFileResponse{}, nil
}

// deleteFile removes the file of key, whose row tx has locked: its bytes,
// then its row.
func deleteFile(ctx context.Context, tx *sqlx.Tx, blobs Blobs, key BlobKey) error {
	if err := blobs.Delete(ctx, key); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM plugin_files WHERE plugin = ? AND file_id = ?", key.plugin, key.file); err != nil {
		return fmt.Errorf("delete file: %w", err)
	}
	return nil
}

// file reads file in county.
func (s *files) file(ctx context.Context, county, file string) (fileRow, error) {
	if _, err := s.blobKey(county, file); err != nil {
		return fileRow{}, err
	}
	var f fileRow
	err := s.router.InTenant(ctx, county, func(ctx context.Context, conn *sqlx.Conn) error {
		var err error
		f, err = readFile(ctx, conn, s.plugin, file, false)
		return notFound(err, file)
	})
	if err != nil {
		return fileRow{}, s.grpcError(ctx, err)
	}
	return f, nil
}

// blobKey is the blob key of file in county, if file is a file id at all.
func (s *files) blobKey(county, file string) (BlobKey, error) {
	key, err := NewBlobKey(county, s.plugin, file)
	if err != nil {
		return BlobKey{}, status.Errorf(codes.InvalidArgument, "file id %q is not one the host gave", file)
	}
	return key, nil
}

func notFound(err error, file string) error {
	if errors.Is(err, errNoFile) {
		return status.Errorf(codes.NotFound, "no file %s", file)
	}
	return err
}

// url signs op on file in county until expires, to the second.
func (s *files) url(county, file, op string, expires time.Time) (url, expiresAt string) {
	g := fileGrant{County: county, Plugin: s.plugin, File: file, Op: op, Expires: expires.Unix()}
	return s.base + "/" + signFileToken(s.key, g), time.Unix(g.Expires, 0).UTC().Format(time.RFC3339)
}

// newFileID returns a random file id. Ids are not secrets (a signed URL
// is what grants), but random ones tell nobody how many files a county
// keeps, and never come again, so that a URL signed for a deleted file
// never reaches a later one.
func newFileID() string {
	var b [16]byte
	// crypto/rand.Read never fails (it panics if the system cannot give
	// randomness).
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// checkContentType returns ct as a well-formed media type, with its
// parameters in canonical form.
func checkContentType(ct string) (string, error) {
	if ct == "" {
		return "application/octet-stream", nil
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || strings.Count(mt, "/") != 1 {
		return "", status.Errorf(codes.InvalidArgument, "content type %q is not a media type such as video/mp4", ct)
	}
	out := mime.FormatMediaType(mt, params)
	if out == "" || len(out) > maxContentType {
		return "", status.Errorf(codes.InvalidArgument, "content type %q is not a media type of at most %d bytes", ct, maxContentType)
	}
	return out, nil
}

// urlTTL is the life of a signed URL asked for in seconds: def if 0,
// refused outside 1 s to most.
func urlTTL(seconds int64, def, most time.Duration) (time.Duration, error) {
	switch {
	case seconds == 0:
		return def, nil
	case seconds < 0 || seconds > int64(most/time.Second):
		return 0, status.Errorf(codes.InvalidArgument, "ttl %d s is not between 1 s and %s", seconds, most)
	}
	return time.Duration(seconds) * time.Second, nil
}
