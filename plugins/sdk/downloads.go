package sdk

import (
	"context"
	"time"

	"github.com/countycloud/countycloud/plugins/sdk/proto/pluginv1"
)

// PublicDownloadURL returns, for a public route's anonymous caller, a
// URL serving ready file id, one of the plugin's in the request's county,
// for ttl (5 minutes if 0, at most 15). Call it only once the module has
// decided the caller may read the file: a citizen who proved their
// receipt's query code, a report the county published. The host records
// each URL in the county's audit trail with the caller's address, and
// gives an address at most 120 an hour in a county (ErrBusy past that).
// ErrDenied for an account's request (DownloadURL is theirs), ErrNotFound
// for a file of another module or county or none, ErrNotReady for one
// whose bytes have not arrived.
func (h *Host) PublicDownloadURL(ctx context.Context, id string, ttl time.Duration) (SignedURL, error) {
	seconds := int64((ttl + time.Second - 1) / time.Second)
	u, err := h.downloads.PublicDownloadURL(ctx, &pluginv1.PublicDownloadURLRequest{Capability: h.capability, FileId: id, TtlSeconds: seconds})
	if err != nil {
		return SignedURL{}, hostError(err)
	}
	return SignedURL{URL: u.GetUrl(), ExpiresAt: parseTime(u.GetExpiresAt())}, nil
}
