package sdkfake

import (
	"context"
	"fmt"
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
	ttl = (ttl + time.Second - 1) / time.Second * time.Second
	switch {
	case ttl == 0:
		ttl = defaultPublicDownloadTTL
	case ttl < 0 || ttl > maxPublicDownloadTTL:
		return sdk.SignedURL{}, fmt.Errorf("%w: ttl %s is not between 1 s and %s", sdk.ErrInvalid, ttl, maxPublicDownloadTTL)
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
