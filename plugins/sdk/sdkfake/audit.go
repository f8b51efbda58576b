package sdkfake

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"

	"github.com/countycloud/countycloud/plugins/sdk"
)

// maxAction bounds an entry's action with the module's id before it, as
// the host's trail does.
const maxAction = 64

var (
	actionPattern     = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*){0,3}$`)
	objectTypePattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)
	objectIDPattern   = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)
)

// Audit appends e to the county's audit trail, as sdk.Host.Audit.
func (h *Host) Audit(_ context.Context, e sdk.AuditEntry) error {
	if err := h.checkEntryObjects(e); err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.failing(Call{Method: "Audit", Collection: e.ObjectType, ID: e.ObjectID}); err != nil {
		return err
	}
	if err := h.checkEntry(e); err != nil {
		return err
	}
	h.audits = append(h.audits, e)
	return nil
}

// checkEntryObjects checks e's objects as the SDK and the host do.
func (h *Host) checkEntryObjects(e sdk.AuditEntry) error {
	for _, object := range []struct {
		what string
		v    any
	}{{"before", e.Before}, {"after", e.After}} {
		if object.v == nil {
			continue
		}
		data, err := json.Marshal(object.v)
		if err != nil {
			return fmt.Errorf("audit %s: encode %s: %w", e.Action, object.what, err)
		}
		if len(data) > maxDocumentBytes {
			return fmt.Errorf("%w: %s is %d bytes; the limit is %d", sdk.ErrInvalid, object.what, len(data), maxDocumentBytes)
		}
	}
	return nil
}

// checkEntry checks e's names as the host does.
func (h *Host) checkEntry(e sdk.AuditEntry) error {
	switch {
	case !actionPattern.MatchString(e.Action) || len(h.manifest.ID)+1+len(e.Action) > maxAction:
		return fmt.Errorf("%w: action %q: use up to 4 dot-separated words of lowercase letters, digits or underscores, %d bytes with the module's id", sdk.ErrInvalid, e.Action, maxAction)
	case !objectTypePattern.MatchString(e.ObjectType):
		return fmt.Errorf("%w: object type %q: use 1 to 32 lowercase letters, digits or underscores, starting with a letter", sdk.ErrInvalid, e.ObjectType)
	case !objectIDPattern.MatchString(e.ObjectID):
		return fmt.Errorf("%w: object id %q: use 1 to 64 letters, digits, dots, colons, underscores or dashes", sdk.ErrInvalid, e.ObjectID)
	}
	return nil
}
