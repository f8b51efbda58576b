package sdk

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/countycloud/countycloud/plugins/sdk/proto/pluginv1"
)

// Submission is what a citizen hands in, for Submit: Document written as
// the new record ID of Collection, with its receipt, and Workflow, if
// set, started for it.
type Submission struct {
	Collection string
	ID         string
	// Document is a JSON object. The record is created: ErrConflict if
	// it exists.
	Document any
	// NumberField, if set, is the top-level member the host sets to the
	// receipt's number before writing the document.
	NumberField string
	// Workflow, if set, is the local code of one of the module's
	// workflows, started for the record with Start's options (Title
	// required).
	Workflow string
	Start    StartOptions
	// InstanceField, if set (with Workflow), is the member the host sets
	// to the started instance's id.
	InstanceField string
	// DueField, if set (with Workflow and DueStep), is the member the
	// host sets to the deadline of the task the start opens at DueStep,
	// an RFC 3339 time in UTC, so that the record keeps its deadline
	// from the moment it exists. The member is left out when the start
	// opens no task at DueStep or that task has no deadline (a county
	// may have added a step before it). A host older than DueField
	// ignores it: check the member in Submitted.Record.
	DueField string
	DueStep  string
	// Also are further records of the module written in the same
	// transaction, as PutRecords writes them: at most MaxSubmissionAlso,
	// within MaxBatchBytes together. One that cannot be written
	// (ErrConflict for one that exists or is at another version) fails
	// the whole submission.
	Also []RecordPut
	// Audit, if set, is the module's entry of the audit trail for the
	// submission, written in the same transaction under Audit's checks.
	// Its After, if nil, is the record as written (its number and
	// instance id in it).
	Audit *AuditEntry
	// Unchanged are records the submission was made against, each as
	// read (VersionOf): if one is at another version, was written at
	// another time or is gone, nothing is written and Submit answers
	// ErrStale. At most MaxSubmissionAlso,
	// none of them the record or one of Also. Only a host that
	// ChecksUnchanged checks them; with any other, Submit refuses a
	// submission that lists some (ErrInvalid) rather than have them
	// ignored.
	Unchanged []RecordVersion
}

// RecordVersion is a record of the module as read: its version and
// when it was last written (a record deleted and created again is at
// version 1 again, written later). VersionOf gives a Record's.
type RecordVersion struct {
	Collection string
	ID         string
	Version    int64
	UpdatedAt  time.Time
}

// VersionOf is the RecordVersion of r as read.
func VersionOf(r Record) RecordVersion {
	return RecordVersion{Collection: r.Collection, ID: r.ID, Version: r.Version, UpdatedAt: r.UpdatedAt}
}

// MaxSubmissionAlso bounds a submission's further records (Also).
const MaxSubmissionAlso = 10

// Submitted is what Submit did: the record as written (its number and
// instance id in it), its receipt (show the code once: the host keeps
// only its hash), and the start's outcome, nil without a workflow.
type Submitted struct {
	Record  Record   `json:"record"`
	Receipt Receipt  `json:"receipt"`
	Outcome *Outcome `json:"outcome,omitempty"`
}

// Submit takes a submission in one call and one transaction of the
// county: it creates the record as Put with version 0 would, issues its
// receipt as IssueReceipt would and, with a workflow, starts it as
// StartWorkflowFor would, under the same rules (a public route's
// anonymous caller starts only the workflows its manifest lists in
// PublicStart, once per request, for a subject unit). Everything is
// done, or, on the first refusal, nothing: no record, no receipt, no
// number taken, no instance.
func (h *Host) Submit(ctx context.Context, s Submission) (Submitted, error) {
	data, err := json.Marshal(s.Document)
	if err != nil {
		return Submitted{}, fmt.Errorf("encode record %s/%s: %w", s.Collection, s.ID, err)
	}
	if len(s.Also) > MaxSubmissionAlso {
		return Submitted{}, fmt.Errorf("%w: a submission writes at most %d further records, not %d", ErrInvalid, MaxSubmissionAlso, len(s.Also))
	}
	also, err := recordPuts(s.Also)
	if err != nil {
		return Submitted{}, err
	}
	if len(s.Unchanged) > 0 && !h.checksUnchanged {
		return Submitted{}, fmt.Errorf("%w: this host does not check a submission's unchanged records", ErrInvalid)
	}
	if len(s.Unchanged) > MaxSubmissionAlso {
		return Submitted{}, fmt.Errorf("%w: a submission lists at most %d unchanged records, not %d", ErrInvalid, MaxSubmissionAlso, len(s.Unchanged))
	}
	o := s.Start
	req := &pluginv1.SubmitRequest{Capability: h.capability, Collection: s.Collection, Id: s.ID, Document: data,
		NumberField: s.NumberField, Workflow: s.Workflow, InstanceField: s.InstanceField, DueField: s.DueField, DueStep: s.DueStep, Also: also,
		Start: &pluginv1.SubmitStart{Title: o.Title, Reference: o.Reference, SubjectUnitId: o.SubjectUnitID, SmsReminder: o.SMSReminder,
			TimeLimitDays: days32([]int{o.TimeLimitDays})[0], InitiatorUnitId: o.InitiatorUnitID}}
	for _, u := range s.Unchanged {
		req.Unchanged = append(req.Unchanged, &pluginv1.RecordVersion{Collection: u.Collection, Id: u.ID, Version: u.Version,
			UpdatedAt: u.UpdatedAt.UTC().Format(time.RFC3339Nano)})
	}
	if e := s.Audit; e != nil {
		req.Audit = &pluginv1.SubmitAudit{Action: e.Action, ObjectType: e.ObjectType, ObjectId: e.ObjectID}
		if req.Audit.Before, err = document(e.Before); err != nil {
			return Submitted{}, fmt.Errorf("audit %s: encode before: %w", e.Action, err)
		}
		if req.Audit.After, err = document(e.After); err != nil {
			return Submitted{}, fmt.Errorf("audit %s: encode after: %w", e.Action, err)
		}
	}
	resp, err := h.submissions.Submit(ctx, req)
	if stale(err) {
		return Submitted{}, fmt.Errorf("%w: %s", ErrStale, status.Convert(err).Message())
	}
	if err != nil {
		return Submitted{}, hostError(err)
	}
	out := Submitted{Record: record(resp.GetRecord()), Receipt: receipt(resp.GetReceipt())}
	if len(resp.GetOutcome()) > 0 {
		var started Outcome
		if err := json.Unmarshal(resp.GetOutcome(), &started); err != nil {
			return out, fmt.Errorf("sdk: read the workflow engine's answer: %w", err)
		}
		out.Outcome = &started
	}
	return out, nil
}

// FeatureSubmitUnchanged is the host's feature of checking a
// submission's Unchanged records (Host.ChecksUnchanged).
const FeatureSubmitUnchanged = "submit.unchanged"

// ChecksUnchanged says whether the host checks a Submission's Unchanged
// records: whether it named FeatureSubmitUnchanged with the request.
func (h *Host) ChecksUnchanged() bool { return h.checksUnchanged }

// stale says whether err is the host's refusal of a submission one of
// whose unchanged records changed.
func stale(err error) bool {
	st, ok := status.FromError(err)
	if !ok || st.Code() != codes.Aborted {
		return false
	}
	for _, d := range st.Details() {
		if _, ok := d.(*pluginv1.StaleSubmission); ok {
			return true
		}
	}
	return false
}
