package sdk

import (
	"context"
	"time"

	"github.com/countycloud/countycloud/plugins/sdk/proto/pluginv1"
)

// Statuses of a file.
const (
	// FilePending: the file's bytes have not arrived.
	FilePending = "pending"
	// FileReady: the bytes have arrived, as many as declared.
	FileReady = "ready"
)

// File is a file the host keeps for the plugin in the request's county.
type File struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	// SHA256 is the hex SHA-256 of the bytes, once ready.
	SHA256    string    `json:"sha256,omitempty"`
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"created_at"`
	// ReadyAt is zero while the file is pending.
	ReadyAt time.Time `json:"ready_at"`
	// Collection and RecordID are the module's record a public upload
	// was made for, UploaderAddress the address of the anonymous caller
	// who asked for it; empty for an account's file.
	Collection      string `json:"collection,omitempty"`
	RecordID        string `json:"record_id,omitempty"`
	UploaderAddress string `json:"uploader_address,omitempty"`
}

// PublicUpload is a file a public route's anonymous caller hands in,
// and what the module takes there.
type PublicUpload struct {
	// Collection and RecordID name the module's record the file is for
	// (an application the caller's receipt was issued for); it must
	// exist.
	Collection string
	RecordID   string
	Name       string
	// ContentType is what the caller says the file is; it must be one of
	// ContentTypes, and one the host recognises in the bytes
	// (docs/plugins.md lists them).
	ContentType  string
	Size         int64
	ContentTypes []string
	// MaxSize bounds the file, in bytes: the host's bound (20 MiB) if 0,
	// never more.
	MaxSize int64
}

// Upload is a file the host expects, and the URL that takes its bytes.
type Upload struct {
	FileID string `json:"file_id"`
	// URL takes exactly the declared size of bytes with a PUT, until
	// ExpiresAt; hand it to the client that has them (a browser).
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expires_at"`
}

// SignedURL is a URL the host serves a file's bytes from, with byte
// ranges, until ExpiresAt.
type SignedURL struct {
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expires_at"`
}

// CreateUpload declares a file of size bytes (contentType
// application/octet-stream if empty) and returns its id and the URL its
// bytes go to: they never pass through the plugin. The file stays
// FilePending until they have all arrived.
func (h *Host) CreateUpload(ctx context.Context, name, contentType string, size int64) (Upload, error) {
	u, err := h.client.CreateUpload(ctx, &pluginv1.CreateUploadRequest{Capability: h.capability, Name: name, ContentType: contentType, Size: size})
	if err != nil {
		return Upload{}, hostError(err)
	}
	return Upload{FileID: u.GetFileId(), URL: u.GetUrl(), ExpiresAt: parseTime(u.GetExpiresAt())}, nil
}

// File reads file id.
func (h *Host) File(ctx context.Context, id string) (File, error) {
	f, err := h.client.GetFile(ctx, &pluginv1.GetFileRequest{Capability: h.capability, FileId: id})
	if err != nil {
		return File{}, hostError(err)
	}
	return File{ID: f.GetId(), Name: f.GetName(), ContentType: f.GetContentType(), Size: f.GetSize(), SHA256: f.GetSha256(),
		Status: f.GetStatus(), CreatedAt: parseTime(f.GetCreatedAt()), ReadyAt: parseTime(f.GetReadyAt()),
		Collection: f.GetCollection(), RecordID: f.GetRecordId(), UploaderAddress: f.GetUploaderAddress()}, nil
}

// CreatePublicUpload declares, for a public route's anonymous caller, a
// file bound to the module's record u names, and returns its id and the
// URL its bytes go to, as CreateUpload does; the host keeps the caller's
// address with it. ErrDenied for an account's request (CreateUpload is
// theirs), ErrTooLarge over u.MaxSize, ErrInvalid for a content type the
// module does not take or the host cannot recognise, ErrNotFound if the
// record does not exist, ErrBusy if the address has handed in too many
// files of late. The URL refuses bytes that are not of the declared type
// (file_wrong_type). The module's staff read the file as any other, with
// File and DownloadURL; an anonymous caller never gets a download URL.
func (h *Host) CreatePublicUpload(ctx context.Context, u PublicUpload) (Upload, error) {
	r, err := h.uploads.CreatePublicUpload(ctx, &pluginv1.CreatePublicUploadRequest{Capability: h.capability, Collection: u.Collection, RecordId: u.RecordID,
		Name: u.Name, ContentType: u.ContentType, Size: u.Size, MaxSize: u.MaxSize, ContentTypes: u.ContentTypes})
	if err != nil {
		return Upload{}, hostError(err)
	}
	return Upload{FileID: r.GetFileId(), URL: r.GetUrl(), ExpiresAt: parseTime(r.GetExpiresAt())}, nil
}

// DownloadURL returns a URL serving ready file id for ttl (an hour if 0,
// at most a day; a video's must outlive its playback). A pending file
// gives ErrNotReady.
func (h *Host) DownloadURL(ctx context.Context, id string, ttl time.Duration) (SignedURL, error) {
	seconds := int64((ttl + time.Second - 1) / time.Second)
	u, err := h.client.DownloadURL(ctx, &pluginv1.DownloadURLRequest{Capability: h.capability, FileId: id, TtlSeconds: seconds})
	if err != nil {
		return SignedURL{}, hostError(err)
	}
	return SignedURL{URL: u.GetUrl(), ExpiresAt: parseTime(u.GetExpiresAt())}, nil
}

// DeleteFile removes file id, its bytes and every URL to them.
func (h *Host) DeleteFile(ctx context.Context, id string) error {
	_, err := h.client.DeleteFile(ctx, &pluginv1.DeleteFileRequest{Capability: h.capability, FileId: id})
	return hostError(err)
}

// parseTime reads a time the host sent, zero if it sent none.
func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}
