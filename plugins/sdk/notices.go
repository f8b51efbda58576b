package sdk

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/countycloud/countycloud/plugins/sdk/proto/pluginv1"
)

// AuditEntry is an entry of the county's audit trail. The host records
// it against the caller of the request, under the plugin's id: Action
// "video.create" of plugin vod is "vod.video.create".
type AuditEntry struct {
	// Action is up to 4 dot-separated words of lowercase letters, digits
	// and underscores.
	Action string
	// ObjectType is the kind of object acted on, such as "video".
	ObjectType string
	// ObjectID is up to 64 letters, digits, dots, colons, underscores or
	// dashes.
	ObjectID string
	// Before and After are the object before and after the action, nil
	// where there is none (before a creation, after a deletion). The
	// trail keeps only their digests.
	Before, After any
}

// Audit appends e to the county's audit trail.
func (h *Host) Audit(ctx context.Context, e AuditEntry) error {
	req := &pluginv1.AuditRequest{Capability: h.capability, Action: e.Action, ObjectType: e.ObjectType, ObjectId: e.ObjectID}
	var err error
	if req.Before, err = document(e.Before); err != nil {
		return fmt.Errorf("audit %s: encode before: %w", e.Action, err)
	}
	if req.After, err = document(e.After); err != nil {
		return fmt.Errorf("audit %s: encode after: %w", e.Action, err)
	}
	_, err = h.client.Audit(ctx, req)
	return hostError(err)
}

func document(v any) ([]byte, error) {
	if v == nil {
		return nil, nil
	}
	return json.Marshal(v)
}

// Kinds of notice a module sends. An account's preferences, per kind,
// decide whether it also goes by e-mail or SMS.
const (
	// NoticeModule is the module's own news (the default).
	NoticeModule = "module"
	// The task kinds are for a module whose work waits on people.
	NoticeTaskAssigned = "task_assigned"
	NoticeTaskWarning  = "task_warning"
	NoticeTaskOverdue  = "task_overdue"
)

// Notice is a notification to accounts of the county, named by id (at
// most 1,000) or as every active holder of a role in a unit.
type Notice struct {
	AccountIDs []int64
	Audiences  []Audience
	// Kind is NoticeModule if empty.
	Kind string
	// Subject is at most 200 characters, Body at most 2,000.
	Subject string
	Body    string
	// SMSReminder (短信提醒), which a sender ticks, also texts every
	// account with a mobile number whatever its preferences. The host
	// honours it only where the county's settings of the module say
	// "sms_reminders": true (declare that boolean in the manifest's
	// settings schema), and elsewhere refuses the notice with
	// ErrDenied: an SMS costs the county money.
	SMSReminder bool
}

// Audience is every active holder of Role in unit UnitID.
type Audience struct {
	UnitID int64
	Role   string
}

// Notify sends n to its accounts' inboxes and, as their preferences ask,
// by e-mail and SMS. Accounts that are not active get nothing.
func (h *Host) Notify(ctx context.Context, n Notice) error {
	req := &pluginv1.NotifyRequest{Capability: h.capability, AccountIds: n.AccountIDs, Kind: n.Kind, Subject: n.Subject, Body: n.Body, SmsReminder: n.SMSReminder}
	for _, a := range n.Audiences {
		req.Audiences = append(req.Audiences, &pluginv1.Audience{UnitId: a.UnitID, Role: a.Role})
	}
	_, err := h.client.Notify(ctx, req)
	return hostError(err)
}
