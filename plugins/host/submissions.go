package host

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/countycloud/countycloud/core/audit"
	"github.com/countycloud/countycloud/core/jsonwalk"
	"github.com/countycloud/countycloud/core/store"
	"github.com/countycloud/countycloud/plugins/sdk/proto/pluginv1"
)

// memberPattern is a top-level member the host sets in a submission's
// document: a name as the manifest's indexed fields are named.
var memberPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)

// Placeholders as long as any number, instance id and deadline, so
// that a document checked with them is within the limits with the real
// ones.
const (
	longestReceiptNumber = "0000-000000000000"
	largestInstanceID    = math.MaxInt64
)

var latestDue = time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)

// submissions is the Submissions service: a citizen's submission — its
// record, its receipt and, if asked, its workflow's start — in one
// transaction of the capability's county, all or none, under the rules
// of PutRecord, IssueReceipt and StartWorkflowFor.
type submissions struct {
	*records
	flows   moduleWorkflows
	callers Callers
}

// maxSubmissionAlso bounds a submission's further records (sdk's
// MaxSubmissionAlso): a few of the module's own beside the one handed in.
const maxSubmissionAlso = 10

func (s *submissions) Submit(ctx context.Context, req *pluginv1.SubmitRequest) (*pluginv1.SubmitResponse, error) {
	c, err := s.capability(req.GetCapability())
	if err != nil {
		return nil, err
	}
	if err := checkKey(req.GetCollection(), req.GetId()); err != nil {
		return nil, err
	}
	doc, err := s.submitted(req)
	if err != nil {
		return nil, err
	}
	r := newReceipt(s.now())
	also, err := s.alsoWritten(req, r.at)
	if err != nil {
		return nil, err
	}
	unchanged, err := unchangedRecords(req)
	if err != nil {
		return nil, err
	}
	entry, err := s.auditEntry(c, req.GetAudit(), r.at)
	if err != nil {
		return nil, err
	}
	var out recordRow
	// public is the public request's entry in the trail, when the
	// submission writes it (publicTrail.carry).
	var public *audit.Entry
	write := func(ctx context.Context, tx *sqlx.Tx, started Started) error {
		if len(also) > 0 {
			if err := s.writeBatch(ctx, tx, also); err != nil {
				return err
			}
		}
		// The number after what does not need it: every submission
		// waits for the counter's row from here to the commit.
		if err := r.takeNumber(ctx, tx); err != nil {
			return err
		}
		document, fields, err := doc.with(r.number, started.Instance, doc.due(started))
		if err != nil {
			return err
		}
		out, err = s.write(ctx, tx, recordWrite{collection: req.GetCollection(), id: req.GetId(), now: r.at, document: document, fields: fields,
			unchanged: unchanged})
		if err != nil {
			return err
		}
		if err := r.keepAtCommit(ctx, tx, s.plugin, req.GetCollection(), req.GetId()); err != nil {
			return err
		}
		var entries []audit.Entry
		if public != nil {
			entries = append(entries, *public)
		}
		if entry != nil {
			if len(req.GetAudit().GetAfter()) == 0 {
				// The record as written, its number and instance id in it.
				if entry.AfterDigest, err = digest("after", document); err != nil {
					return err
				}
			}
			entries = append(entries, *entry)
		}
		return audit.WriteAll(ctx, tx, entries...)
	}
	if req.GetWorkflow() == "" {
		err := c.trail.carry(func(entry *audit.Entry) error {
			public = entry
			return keptTwice(store.AgainIfDeadlocked(func() error {
				return s.router.InTenantTx(ctx, c.County, func(ctx context.Context, tx *sqlx.Tx) error { return write(ctx, tx, Started{}) })
			}), req.GetCollection(), req.GetId())
		})
		if err != nil {
			return nil, s.grpcError(ctx, err)
		}
		return &pluginv1.SubmitResponse{Record: out.proto(), Receipt: r.proto()}, nil
	}
	o := req.GetStart()
	c, err = s.flows.starter(req.GetCapability(), req.GetWorkflow(), o.GetSubjectUnitId())
	if err != nil {
		return nil, err
	}
	if err := s.smsReminder(c, o.GetSmsReminder()); err != nil {
		return nil, err
	}
	// refused says that the submission's own writes refused it last, in
	// the start's transaction, which was then rolled back: nothing was
	// started, and a public request's one start is given back.
	refused := false
	alongside := func(ctx context.Context, tx *sqlx.Tx, started Started) error {
		err := write(ctx, tx, started)
		refused = err != nil
		return err
	}
	in := StartFor{Title: o.GetTitle(), Reference: o.GetReference(), SubjectUnit: o.GetSubjectUnitId(), SMS: o.GetSmsReminder(),
		TimeLimitDays: int(o.GetTimeLimitDays()), Public: c.Caller.Kind == CallerAnonymous, InitiatorUnit: o.GetInitiatorUnitId(), Alongside: alongside}
	started, err := s.flows.answer(ctx, func(e Workflows) (out json.RawMessage, err error) {
		err = c.trail.carry(func(entry *audit.Entry) error {
			public = entry
			// The start is rolled back whole with the record: a
			// deadlock's victim starts again.
			return keptTwice(store.AgainIfDeadlocked(func() error {
				out, err = e.StartFor(ctx, c, workflowCode(s.plugin, req.GetWorkflow()), in)
				return err
			}), req.GetCollection(), req.GetId())
		})
		return out, err
	})
	if err != nil {
		if refused && in.Public {
			s.flows.caps.GiveBackStart(req.GetCapability())
		}
		return nil, err
	}
	return &pluginv1.SubmitResponse{Record: out.proto(), Receipt: r.proto(), Outcome: started.GetJson()}, nil
}

// alsoWritten are req's further records, checked as a batch's, none of
// them the submission's record.
func (s *submissions) alsoWritten(req *pluginv1.SubmitRequest, now time.Time) ([]*batchWrite, error) {
	if len(req.GetAlso()) > maxSubmissionAlso {
		return nil, status.Errorf(codes.InvalidArgument, "a submission writes at most %d further records, not %d", maxSubmissionAlso, len(req.GetAlso()))
	}
	return s.checkedWrites(req.GetAlso(), now, map[[2]string]bool{{req.GetCollection(), req.GetId()}: true})
}

// recordVersion is a record as a plugin read it: its key, its version
// and when it was last written.
type recordVersion struct {
	collection, id string
	version        int64
	updatedAt      time.Time
}

// unchangedRecords are the records req was made against, checked: each
// a record's key at a version a record has, none written by req.
func unchangedRecords(req *pluginv1.SubmitRequest) ([]recordVersion, error) {
	if len(req.GetUnchanged()) > maxSubmissionAlso {
		return nil, status.Errorf(codes.InvalidArgument, "a submission lists at most %d unchanged records, not %d", maxSubmissionAlso, len(req.GetUnchanged()))
	}
	out := make([]recordVersion, 0, len(req.GetUnchanged()))
	for _, u := range req.GetUnchanged() {
		if err := checkKey(u.GetCollection(), u.GetId()); err != nil {
			return nil, err
		}
		if u.GetVersion() < 1 {
			return nil, status.Errorf(codes.InvalidArgument, "unchanged record %s/%s: version %d is not a record's", u.GetCollection(), u.GetId(), u.GetVersion())
		}
		at, err := time.Parse(time.RFC3339Nano, u.GetUpdatedAt())
		if err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "unchanged record %s/%s: updated_at %q is not a record's time (RFC 3339)", u.GetCollection(), u.GetId(), u.GetUpdatedAt())
		}
		written := u.GetCollection() == req.GetCollection() && u.GetId() == req.GetId() ||
			slices.ContainsFunc(req.GetAlso(), func(p *pluginv1.RecordPut) bool {
				return p.GetCollection() == u.GetCollection() && p.GetId() == u.GetId()
			})
		if written {
			return nil, status.Errorf(codes.InvalidArgument, "record %s/%s is written by the submission and cannot be unchanged", u.GetCollection(), u.GetId())
		}
		out = append(out, recordVersion{collection: u.GetCollection(), id: u.GetId(), version: u.GetVersion(), updatedAt: at.UTC()})
	}
	return out, nil
}

// errStale refuses a submission one of whose unchanged records is at
// another version, or gone: ABORTED, which the SDK tells from another
// conflict by its detail.
func errStale(unchanged []recordVersion) error {
	st := status.Newf(codes.Aborted, "a record the submission was made against changed since it was read (%s)", unchangedList(unchanged))
	if detailed, err := st.WithDetails(&pluginv1.StaleSubmission{}); err == nil {
		st = detailed
	}
	return st.Err()
}

// unchangedList names the records and their versions.
func unchangedList(unchanged []recordVersion) string {
	names := make([]string, len(unchanged))
	for i, u := range unchanged {
		names[i] = u.collection + "/" + u.id + " at version " + strconv.FormatInt(u.version, 10) + " of " + u.updatedAt.Format(time.RFC3339Nano)
	}
	return strings.Join(names, ", ")
}

// auditEntry is the submission's entry a of the audit trail, checked as
// Audit checks one, nil without one.
func (s *submissions) auditEntry(c Capability, a *pluginv1.SubmitAudit, at time.Time) (*audit.Entry, error) {
	if a == nil {
		return nil, nil
	}
	if s.callers == nil {
		return nil, status.Error(codes.Unavailable, "this host keeps no audit entries of plugins: it does not know their requests' callers")
	}
	e, err := pluginEntry(s.plugin, c, s.callers, &pluginv1.AuditRequest{Action: a.GetAction(), ObjectType: a.GetObjectType(), ObjectId: a.GetObjectId(),
		Before: a.GetBefore(), After: a.GetAfter()}, at.UTC())
	return &e, err
}

// submittedDocument is a submission's document and the members the host
// sets in it.
type submittedDocument struct {
	document []byte
	// members are document's but the host's, if the host sets any,
	// sorted by name and each written as it is written back.
	members                                       []writtenMember
	numberField, instanceField, dueField, dueStep string
	indexed                                       []string
}

// writtenMember is a member of a document the host writes back: its
// name, and the member as encoding/json writes it in an object.
type writtenMember struct {
	name    string
	encoded []byte
}

// submitted checks req's document and members, refusing it before
// anything is written as PutRecord would refuse the document written.
func (s *submissions) submitted(req *pluginv1.SubmitRequest) (*submittedDocument, error) {
	d := &submittedDocument{document: req.GetDocument(), numberField: req.GetNumberField(), instanceField: req.GetInstanceField(),
		dueField: req.GetDueField(), dueStep: req.GetDueStep(), indexed: s.indexed[req.GetCollection()]}
	o := req.GetStart()
	for _, field := range d.hostFields() {
		if !memberPattern.MatchString(field) {
			return nil, status.Errorf(codes.InvalidArgument, "member %q: use 1 to 64 letters, digits or underscores, starting with a letter or an underscore", field)
		}
	}
	fields := d.hostFields()
	slices.Sort(fields)
	switch {
	case len(slices.Compact(fields)) < len(d.hostFields()):
		return nil, status.Error(codes.InvalidArgument, "the receipt's number, the instance's id and the deadline are members of their own")
	case req.GetWorkflow() == "" && d.instanceField != "":
		return nil, status.Errorf(codes.InvalidArgument, "instance_field %q names the started instance's member, and the submission starts no workflow", d.instanceField)
	case req.GetWorkflow() == "" && d.dueField != "":
		return nil, status.Errorf(codes.InvalidArgument, "due_field %q names the deadline of a task the start opens, and the submission starts no workflow", d.dueField)
	case (d.dueField == "") != (d.dueStep == ""):
		return nil, status.Error(codes.InvalidArgument, "due_field and due_step go together: the member and the step whose task's deadline it keeps")
	case len(d.dueStep) > 64:
		return nil, status.Errorf(codes.InvalidArgument, "due_step is %d bytes; a step's id is at most 64", len(d.dueStep))
	case req.GetWorkflow() == "" && o != nil && (o.GetTitle() != "" || o.GetReference() != "" || o.GetSubjectUnitId() != 0 || o.GetSmsReminder() ||
		o.GetTimeLimitDays() != 0 || o.GetInitiatorUnitId() != 0):
		return nil, status.Error(codes.InvalidArgument, "the submission has a start's options and starts no workflow: name the workflow")
	}
	if len(d.hostFields()) > 0 {
		if len(d.document) > MaxDocumentBytes {
			return nil, status.Errorf(codes.InvalidArgument, "document is %d bytes; the limit is %d", len(d.document), MaxDocumentBytes)
		}
		members, ok := objectMembers(d.document)
		if !ok {
			return nil, status.Error(codes.InvalidArgument, "document is not a JSON object")
		}
		var err error
		if d.members, err = writtenMembers(members, d.hostFields()); err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "document: %v", err)
		}
	}
	_, _, err := d.with(longestReceiptNumber, largestInstanceID, &latestDue)
	return d, err
}

// hostFields are the members the host sets.
func (d *submittedDocument) hostFields() []string {
	var out []string
	for _, f := range []string{d.numberField, d.instanceField, d.dueField} {
		if f != "" {
			out = append(out, f)
		}
	}
	return out
}

// due is the deadline d's due field keeps of what was started, nil
// without one.
func (d *submittedDocument) due(started Started) *time.Time {
	if d.dueField == "" {
		return nil
	}
	due, ok := started.Due[d.dueStep]
	if !ok {
		return nil
	}
	return &due
}

// with is the document to write, with number, instance and due (left
// out if nil) in its members, and its indexed values. It is what
// encoding/json writes of the document's members with the host's set
// (keys sorted, values compacted, nothing escaped for HTML: the host's
// members are a number, digits and a time), the module's members
// encoded once, when submitted: a submission writes its document twice,
// checked with the longest number before its transaction and with its
// own in it.
func (d *submittedDocument) with(number string, instance int64, due *time.Time) ([]byte, []fieldValue, error) {
	document := d.document
	if d.members != nil {
		host := make([]writtenMember, 0, 3)
		if d.numberField != "" {
			value, _ := json.Marshal(number)
			encoded, err := encodeMember(d.numberField, value)
			if err != nil {
				return nil, nil, status.Errorf(codes.InvalidArgument, "document: %v", err)
			}
			host = append(host, writtenMember{d.numberField, encoded})
		}
		if d.instanceField != "" {
			encoded, err := encodeMember(d.instanceField, strconv.AppendInt(nil, instance, 10))
			if err != nil {
				return nil, nil, status.Errorf(codes.InvalidArgument, "document: %v", err)
			}
			host = append(host, writtenMember{d.instanceField, encoded})
		}
		if d.dueField != "" && due != nil {
			value, _ := json.Marshal(due.UTC())
			encoded, err := encodeMember(d.dueField, value)
			if err != nil {
				return nil, nil, status.Errorf(codes.InvalidArgument, "document: %v", err)
			}
			host = append(host, writtenMember{d.dueField, encoded})
		}
		slices.SortFunc(host, func(a, b writtenMember) int { return strings.Compare(a.name, b.name) })
		document = writeMembers(d.members, host)
	}
	fields, err := indexedValues(d.indexed, document)
	return document, fields, err
}

// writeMembers is the JSON object of the members of module and host,
// each sorted by name and none named in both, in the order of their names.
func writeMembers(module, host []writtenMember) []byte {
	size := 2 + len(module) + len(host)
	for _, m := range module {
		size += len(m.encoded)
	}
	for _, m := range host {
		size += len(m.encoded)
	}
	out := make([]byte, 0, size)
	out = append(out, '{')
	for len(module) > 0 || len(host) > 0 {
		if len(out) > 1 {
			out = append(out, ',')
		}
		if len(host) == 0 || (len(module) > 0 && module[0].name < host[0].name) {
			out, module = append(out, module[0].encoded...), module[1:]
		} else {
			out, host = append(out, host[0].encoded...), host[1:]
		}
	}
	return append(out, '}')
}

// encodeMember is the member name: value of an object as encoding/json
// writes it without escaping for HTML: the name quoted, the value
// compacted.
func encodeMember(name string, value []byte) ([]byte, error) {
	var b bytes.Buffer
	b.Grow(len(name) + 3 + len(value))
	if err := writeMember(&b, name, value); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// writeMember writes to b what encodeMember is.
func writeMember(b *bytes.Buffer, name string, value []byte) error {
	if plainName(name) {
		b.WriteByte('"')
		b.WriteString(name)
		b.WriteString(`":`)
	} else {
		enc := json.NewEncoder(b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(name); err != nil {
			return err
		}
		b.Truncate(b.Len() - 1)
		b.WriteByte(':')
	}
	return json.Compact(b, value)
}

// member is a member of a JSON object: its name, decoded, and its value
// as written.
type member struct {
	name  string
	value []byte
}

// objectMembers are the members of the JSON object document, or false
// if it is not one, found by walking it: decoded into a map, each would
// be an allocation or two more.
func objectMembers(document []byte) ([]member, bool) {
	if !json.Valid(document) {
		return nil, false
	}
	i := jsonwalk.SkipSpace(document, 0)
	if document[i] != '{' {
		return nil, false
	}
	var out []member
	for i = jsonwalk.SkipSpace(document, i+1); document[i] != '}'; {
		nameEnd := jsonwalk.StringEnd(document, i)
		name := jsonwalk.String(document[i:nameEnd])
		start := jsonwalk.SkipSpace(document, jsonwalk.SkipSpace(document, nameEnd)+1)
		end := jsonwalk.ValueEnd(document, start)
		out = append(out, member{string(name), document[start:end]})
		if i = jsonwalk.SkipSpace(document, end); document[i] == ',' {
			i = jsonwalk.SkipSpace(document, i+1)
		}
	}
	return out, true
}

// writtenMembers are members as a document written back holds them: by
// name, the last of a name given twice (as a decoded map keeps it), none
// of the host's, each encoded into one buffer.
func writtenMembers(members []member, hostFields []string) ([]writtenMember, error) {
	slices.SortStableFunc(members, func(a, b member) int { return strings.Compare(a.name, b.name) })
	var b bytes.Buffer
	ends := make([]int, 0, len(members))
	kept := members[:0]
	for i, m := range members {
		if i+1 < len(members) && members[i+1].name == m.name || slices.Contains(hostFields, m.name) {
			continue
		}
		if err := writeMember(&b, m.name, m.value); err != nil {
			return nil, err
		}
		kept, ends = append(kept, m), append(ends, b.Len())
	}
	out := make([]writtenMember, len(kept))
	start := 0
	for i, m := range kept {
		out[i] = writtenMember{m.name, b.Bytes()[start:ends[i]]}
		start = ends[i]
	}
	return out, nil
}

// plainName says whether encoding/json writes name as it is between
// quotes: printable ASCII but for a quote and a backslash.
func plainName(name string) bool {
	for i := 0; i < len(name); i++ {
		if c := name[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}
