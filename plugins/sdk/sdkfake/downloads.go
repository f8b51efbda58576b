package sdkfake

import (
	"context"
	"time"

	"github.com/countycloud/countycloud/plugins/sdk"
)

// The host's bounds on a public download's URL.
const (
	defaultPublicDownloadTTL = 5 * time.Minute
	maxPublicDownloadTTL     = 15 * time.Minute
)

// PublicDownloadURL gives a short-lived URL to ready file id, as
// sdk.Host.PublicDownloadURL. Like the rest of the fake it knows no
// caller: the host's refusal of an account's request, its audit entry
// and its count per address are the host's, tested there.
func (h *Host) PublicDownloadURL(_ context.Context, id string, ttl time.Duration) (sdk.SignedURL, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.failing(Call{Method: "PublicDownloadURL", ID: id}); err != nil {
		return sdk.SignedURL{}, err
	}
	return h.signedURL(id, ttl, defaultPublicDownloadTTL, maxPublicDownloadTTL)
}
