package sdkfake

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/countycloud/countycloud/plugins/sdk"
)

// Starter starts a module's workflow for Submit, as the test's own fake
// of the workflow engine does (the fake has none): the StartWorkflowFor
// of a fake that embeds the *Host fits.
type Starter func(ctx context.Context, workflow string, o sdk.StartOptions) (sdk.Outcome, error)

// SetStarter sets what Submit starts a submission's workflow with (nil:
// none, and a submission naming a workflow fails with ErrNoStarter).
func (h *Host) SetStarter(start Starter) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.starter = start
}

// ErrNoStarter is Submit's answer to a submission naming a workflow when
// the test set no Starter.
var ErrNoStarter = errors.New("sdkfake: the submission starts a workflow, and no Starter is set (SetStarter)")

// Placeholders as long as any number, instance id and deadline, to
// check a submission's document before they are known.
const (
	longestReceiptNumber = "0000-000000000000"
	largestInstanceID    = math.MaxInt64
)

var latestDue = time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)

// Submit hands s in as sdk.Host.Submit: the record created with the
// receipt's number in NumberField, the instance's id in InstanceField
// and the deadline of the task opened at DueStep in DueField, its receipt, and its workflow started with the
// Starter, all or nothing. Every check is made before the Starter is
// asked, and nothing is written if it fails; the Starter runs without
// the fake's lock, so a submission of the same record meanwhile may yet
// refuse this one after it, leaving its instance in the test's fake.
func (h *Host) Submit(ctx context.Context, s sdk.Submission) (sdk.Submitted, error) {
	data, err := json.Marshal(s.Document)
	if err != nil {
		return sdk.Submitted{}, fmt.Errorf("encode record %s/%s: %w", s.Collection, s.ID, err)
	}
	if s.Audit != nil {
		if err := h.checkEntryObjects(*s.Audit); err != nil {
			return sdk.Submitted{}, err
		}
	}
	start, err := h.checkSubmission(s, data)
	if err != nil {
		return sdk.Submitted{}, err
	}
	var out sdk.Submitted
	instance := int64(0)
	var due *time.Time
	if s.Workflow != "" {
		if start == nil {
			return sdk.Submitted{}, ErrNoStarter
		}
		started, err := start(ctx, s.Workflow, s.Start)
		if err != nil {
			return sdk.Submitted{}, err
		}
		out.Outcome, instance = &started, started.Instance.ID
		due = dueAt(started.Opened, s.DueStep)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.nextReceipt()
	w, err := h.submittedWrite(s, data, r.Number, instance, due)
	if err != nil {
		return sdk.Submitted{}, err
	}
	if err := h.receiptless(s.Collection, s.ID); err != nil {
		return sdk.Submitted{}, err
	}
	if err := h.checkUnchanged(s); err != nil {
		return sdk.Submitted{}, err
	}
	also, err := h.writableAlso(s)
	if err != nil {
		return sdk.Submitted{}, err
	}
	out.Record, out.Receipt = h.write(w), h.issue(s.Collection, s.ID, r)
	for _, a := range also {
		h.write(a)
	}
	if s.Audit != nil {
		e := *s.Audit
		if e.After == nil {
			e.After = out.Record.Document
		}
		h.audits = append(h.audits, e)
	}
	return out, nil
}

// checkSubmission checks s, whose document is data, as the host does
// before it starts anything, and returns the Starter.
func (h *Host) checkSubmission(s sdk.Submission, data []byte) (Starter, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.failing(Call{Method: "Submit", Collection: s.Collection, ID: s.ID}); err != nil {
		return nil, err
	}
	for _, field := range []string{s.NumberField, s.InstanceField, s.DueField} {
		if field != "" && !numberFieldPattern.MatchString(field) {
			return nil, fmt.Errorf("%w: member %q: use 1 to 64 letters, digits or underscores, starting with a letter or an underscore", sdk.ErrInvalid, field)
		}
	}
	switch {
	case s.NumberField != "" && (s.NumberField == s.InstanceField || s.NumberField == s.DueField) || s.InstanceField != "" && s.InstanceField == s.DueField:
		return nil, fmt.Errorf("%w: the receipt's number, the instance's id and the deadline are members of their own", sdk.ErrInvalid)
	case s.Workflow == "" && (s.InstanceField != "" || s.DueField != ""):
		return nil, fmt.Errorf("%w: instance_field and due_field name what the start sets, and the submission starts no workflow", sdk.ErrInvalid)
	case (s.DueField == "") != (s.DueStep == ""):
		return nil, fmt.Errorf("%w: due_field and due_step go together: the member and the step whose task's deadline it keeps", sdk.ErrInvalid)
	case s.Workflow == "" && s.Start != sdk.StartOptions{}:
		return nil, fmt.Errorf("%w: the submission has a start's options and starts no workflow: name the workflow", sdk.ErrInvalid)
	case s.Workflow != "" && h.manifest.Workflows[s.Workflow] == nil:
		return nil, fmt.Errorf("%w: the manifest of %s has no workflow %q", sdk.ErrNotFound, h.manifest.ID, s.Workflow)
	}
	if _, err := h.submittedWrite(s, data, longestReceiptNumber, largestInstanceID, &latestDue); err != nil {
		return nil, err
	}
	if _, err := h.writableAlso(s); err != nil {
		return nil, err
	}
	if s.Audit != nil {
		if err := h.checkEntry(*s.Audit); err != nil {
			return nil, err
		}
	}
	if err := h.receiptless(s.Collection, s.ID); err != nil {
		return nil, err
	}
	if err := h.checkUnchanged(s); err != nil {
		return nil, err
	}
	return h.starter, nil
}

// ChecksUnchanged is sdk.Host.ChecksUnchanged: the fake checks a
// submission's Unchanged records.
func (h *Host) ChecksUnchanged() bool { return true }

// checkUnchanged refuses s as the host does if one of its Unchanged
// records is not at its version: sdk.ErrStale. Under h.mu.
func (h *Host) checkUnchanged(s sdk.Submission) error {
	if len(s.Unchanged) > sdk.MaxSubmissionAlso {
		return fmt.Errorf("%w: a submission lists at most %d unchanged records, not %d", sdk.ErrInvalid, sdk.MaxSubmissionAlso, len(s.Unchanged))
	}
	for _, u := range s.Unchanged {
		if err := checkKey(u.Collection, u.ID); err != nil {
			return err
		}
		if u.Version < 1 {
			return fmt.Errorf("%w: unchanged record %s/%s: version %d is not a record's", sdk.ErrInvalid, u.Collection, u.ID, u.Version)
		}
		written := u.Collection == s.Collection && u.ID == s.ID ||
			slices.ContainsFunc(s.Also, func(p sdk.RecordPut) bool { return p.Collection == u.Collection && p.ID == u.ID })
		if written {
			return fmt.Errorf("%w: record %s/%s is written by the submission and cannot be unchanged", sdk.ErrInvalid, u.Collection, u.ID)
		}
	}
	for _, u := range s.Unchanged {
		if r, ok := h.records[u.Collection][u.ID]; !ok || r.Version != u.Version || !r.UpdatedAt.Equal(u.UpdatedAt) {
			return fmt.Errorf("%w: record %s/%s is no longer at version %d of %s", sdk.ErrStale, u.Collection, u.ID, u.Version, u.UpdatedAt)
		}
	}
	return nil
}

// writableAlso are s's further records, checked as the host checks them
// and writable as they stand, under h.mu.
func (h *Host) writableAlso(s sdk.Submission) ([]put, error) {
	if len(s.Also) > sdk.MaxSubmissionAlso {
		return nil, fmt.Errorf("%w: a submission writes at most %d further records, not %d", sdk.ErrInvalid, sdk.MaxSubmissionAlso, len(s.Also))
	}
	also, err := h.checkedPuts(s.Also, map[[2]string]bool{{s.Collection, s.ID}: true})
	if err != nil {
		return nil, err
	}
	for i, w := range also {
		if err := h.writable(w); err != nil {
			return nil, fmt.Errorf("record %d (%s/%s): %w", i, w.collection, w.id, err)
		}
	}
	return also, nil
}

// submittedWrite is the creation of s's record, its document data with
// number, instance and due (if known) set in its members, checked as the
// host checks it, under h.mu.
func (h *Host) submittedWrite(s sdk.Submission, data []byte, number string, instance int64, due *time.Time) (put, error) {
	document := data
	if s.NumberField != "" || s.InstanceField != "" || s.DueField != "" {
		var top map[string]json.RawMessage
		if len(data) > maxDocumentBytes || json.Unmarshal(data, &top) != nil || top == nil {
			return put{}, fmt.Errorf("%w: document is not a JSON object of at most %d bytes", sdk.ErrInvalid, maxDocumentBytes)
		}
		if s.NumberField != "" {
			top[s.NumberField], _ = json.Marshal(number)
		}
		if s.InstanceField != "" {
			top[s.InstanceField] = json.RawMessage(strconv.FormatInt(instance, 10))
		}
		if s.DueField != "" {
			delete(top, s.DueField)
			if due != nil {
				top[s.DueField], _ = json.Marshal(due.UTC())
			}
		}
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(top); err != nil {
			return put{}, fmt.Errorf("%w: document: %v", sdk.ErrInvalid, err)
		}
		document = bytes.TrimSuffix(b.Bytes(), []byte("\n"))
	}
	w, err := h.checkWrite(s.Collection, s.ID, 0, document)
	if err != nil {
		return put{}, err
	}
	return w, h.writable(w)
}

// dueAt is the deadline of the task opened at step, nil if none.
func dueAt(opened []sdk.Task, step string) *time.Time {
	for _, t := range opened {
		if t.Step == step {
			return t.DueAt
		}
	}
	return nil
}
