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
		Status: f.GetStatus(), CreatedAt: parseTime(f.GetCreatedAt()), ReadyAt: parseTime(f.GetReadyAt())}, nil
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
