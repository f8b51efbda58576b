package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/countycloud/countycloud/plugins/sdk/proto/pluginv1"
)

// Seal is a document's electronic seal (电子印章) as the host made it.
// Keep JSON with the document, byte for byte: it is what anyone sends,
// with the files, to POST /v1/seals/verify (or `countycloud seals verify
// FILES... --seal seal.json`) to learn whether the document is intact,
// which unit sealed it and when, and whether the seal was revoked since.
type Seal struct {
	JSON     json.RawMessage `json:"seal"`
	SealID   int64           `json:"seal_id"`
	UnitID   int64           `json:"unit_id"`
	UnitName string          `json:"unit_name"`
	SealedAt time.Time       `json:"sealed_at"`
	Files    []SealedFile    `json:"files"`
}

// SealedFile is a file of a sealed document: its name and the hex SM3
// digest of its bytes when sealed.
type SealedFile struct {
	Name string `json:"name"`
	SM3  string `json:"sm3"`
}

// SealDocument has the host seal the document made of files (the host's
// ids of files the plugin keeps in the request's county, ready) with
// unit's seal: the host computes each file's SM3 digest and signs them,
// with the unit, the seal and the time, with the unit's SM2 key, which
// never leaves the host. The request's caller must be an account of unit
// or a county admin (ErrDenied otherwise). A unit without a seal in use
// (none yet, or revoked) gives ErrConflict; a file not found, ErrNotFound;
// one whose bytes have not arrived, ErrNotReady.
func (h *Host) SealDocument(ctx context.Context, unit int64, files ...string) (Seal, error) {
	if h.seals == nil {
		return Seal{}, errors.New("sdk: this Host has no connection to the host's seals")
	}
	resp, err := h.seals.Seal(ctx, &pluginv1.SealDocumentRequest{Capability: h.capability, UnitId: unit, FileIds: files})
	if err != nil {
		return Seal{}, hostError(err)
	}
	s := Seal{JSON: resp.GetSeal()}
	if err := json.Unmarshal(s.JSON, &s); err != nil {
		return Seal{}, fmt.Errorf("sdk: the host's seal: %w", err)
	}
	s.JSON = resp.GetSeal()
	return s, nil
}
