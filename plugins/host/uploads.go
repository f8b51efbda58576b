package host

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"time"

	"github.com/jmoiron/sqlx"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/countycloud/countycloud/core/names"
	"github.com/countycloud/countycloud/plugins/sdk/proto/pluginv1"
)

// Limits of public uploads: a citizen's materials are scans and forms,
// not recordings, and nobody answers for an anonymous caller's files but
// the address they came from.
const (
	// MaxPublicFileBytes bounds one public upload, whatever the module
	// declares.
	MaxPublicFileBytes = 20 << 20
	// MaxPublicUploadsPerHour bounds the public uploads one address (an
	// IPv6 address's /64, as the public routes' rate) asks for in a
	// county in an hour.
	MaxPublicUploadsPerHour = 60
	publicUploadWindow      = time.Hour
	// sniffBytes is what http.DetectContentType reads.
	sniffBytes = 512
)

// sniffedAs is what the host recognises in a public upload's bytes, by
// declared media type: the media type http.DetectContentType gives for
// such bytes. A public upload may be declared only as one of these: a
// type the host cannot check would let anyone hand the county any bytes
// under any name. Office and OFD documents are ZIP archives inside.
var sniffedAs = map[string]string{
	"application/pdf": "application/pdf",
	"image/jpeg":      "image/jpeg",
	"image/png":       "image/png",
	"image/gif":       "image/gif",
	"image/webp":      "image/webp",
	"image/bmp":       "image/bmp",
	"text/plain":      "text/plain",
	"application/zip": "application/zip",
	"application/ofd": "application/zip",
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document": "application/zip",
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":       "application/zip",
}

// sniffs reports whether head, the first bytes of a file, are of declared
// content type ct.
func sniffs(ct string, head []byte) bool {
	declared, _, _ := mime.ParseMediaType(ct)
	want, ok := sniffedAs[declared]
	if !ok {
		return false
	}
	got, _, _ := mime.ParseMediaType(http.DetectContentType(head))
	return got == want
}

// publicUploads serves PublicUploads (uploads.proto): files a public
// route's anonymous caller hands in, bound to a record of the module.
type publicUploads struct {
	*files
}

func (s *publicUploads) CreatePublicUpload(ctx context.Context, req *pluginv1.CreatePublicUploadRequest) (*pluginv1.Upload, error) {
	if err := s.available(); err != nil {
		return nil, err
	}
	c, err := s.capability(req.GetCapability())
	if err != nil {
		return nil, err
	}
	if c.Caller.Kind != CallerAnonymous {
		return nil, status.Error(codes.PermissionDenied, "public uploads are a public route's anonymous caller's; an account's file is Host.CreateUpload's")
	}
	if err := checkKey(req.GetCollection(), req.GetRecordId()); err != nil {
		return nil, err
	}
	name, err := names.Clean("name", req.GetName(), maxFileName)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	contentType, err := publicContentType(req.GetContentType(), req.GetContentTypes())
	if err != nil {
		return nil, err
	}
	limit := req.GetMaxSize()
	if limit <= 0 || limit > MaxPublicFileBytes {
		limit = MaxPublicFileBytes
	}
	if req.GetSize() <= 0 {
		return nil, status.Errorf(codes.InvalidArgument, "size %d is not a file's", req.GetSize())
	}
	if req.GetSize() > limit {
		return nil, status.Errorf(codes.OutOfRange, "the file is %d bytes; at most %d are taken here", req.GetSize(), limit)
	}
	id := newFileID()
	now := s.now().UTC().Truncate(time.Microsecond)
	network := limitKey(c.Address)
	err = s.router.InTenantTx(ctx, c.County, func(ctx context.Context, tx *sqlx.Tx) error {
		var exists int
		err := tx.GetContext(ctx, &exists, "SELECT 1 FROM plugin_records WHERE plugin = ? AND collection = ? AND record_id = ?", s.plugin, req.GetCollection(), req.GetRecordId())
		if errors.Is(err, sql.ErrNoRows) {
			return status.Errorf(codes.NotFound, "no record %s/%s to take a file", req.GetCollection(), req.GetRecordId())
		}
		if err != nil {
			return fmt.Errorf("find record: %w", err)
		}
		// Counted over every module of the county: one address floods
		// the county's store, whichever module it goes through.
		var recent int
		err = tx.GetContext(ctx, &recent, "SELECT COUNT(*) FROM plugin_files WHERE uploader_network = ? AND created_at > ?", network, now.Add(-publicUploadWindow))
		if err != nil {
			return fmt.Errorf("count an address's uploads: %w", err)
		}
		if recent >= MaxPublicUploadsPerHour {
			return status.Errorf(codes.ResourceExhausted, "your address has handed in %d files in the last hour, the most it may", recent)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO plugin_files (plugin, file_id, name, content_type, size, status, created_at, collection, record_id, uploader_address, uploader_network)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			s.plugin, id, name, contentType, req.GetSize(), filePending, now, req.GetCollection(), req.GetRecordId(), clip(c.Address, 64), network)
		if err != nil {
			return fmt.Errorf("create file: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, s.grpcError(ctx, err)
	}
	url, expires := s.url(c.County, id, opUpload, now.Add(uploadTTL))
	return &pluginv1.Upload{FileId: id, Url: url, ExpiresAt: expires}, nil
}

// publicContentType checks ct as checkContentType does, and that it is
// one of the module's allowed types and one the host recognises.
func publicContentType(ct string, allowed []string) (string, error) {
	if ct == "" {
		return "", status.Error(codes.InvalidArgument, "a public upload declares its content type")
	}
	out, err := checkContentType(ct)
	if err != nil {
		return "", err
	}
	mt, _, _ := mime.ParseMediaType(out)
	if _, ok := sniffedAs[mt]; !ok {
		return "", status.Errorf(codes.InvalidArgument, "content type %s is not one the host recognises in a public upload's bytes", mt)
	}
	for _, a := range allowed {
		if am, _, err := mime.ParseMediaType(a); err == nil && am == mt {
			return out, nil
		}
	}
	return "", status.Errorf(codes.InvalidArgument, "content type %s is not among those the module takes here %q", mt, allowed)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
