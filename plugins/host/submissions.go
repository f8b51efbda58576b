package host

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"regexp"
	"strconv"

	"github.com/jmoiron/sqlx"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/countycloud/countycloud/plugins/sdk/proto/pluginv1"
)

// memberPattern is a top-level member the host sets in a submission's
// document: a name as the manifest's indexed fields are named.
var memberPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)

// Placeholders as long as any number and instance id, so that a document
// checked with them is within the limits with the real ones.
const (
	longestReceiptNumber = "0000-000000000000"
	largestInstanceID    = math.MaxInt64
)

// submissions is the Submissions service: a citizen's submission — its
// record, its receipt and, if asked, its workflow's start — in one
// transaction of the capability's county, all or none, under the rules
// of PutRecord, IssueReceipt and StartWorkflowFor.
type submissions struct {
	*records
	flows moduleWorkflows
}

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
	var out recordRow
	write := func(ctx context.Context, tx *sqlx.Tx, instance int64) error {
		if err := r.takeNumber(ctx, tx); err != nil {
			return err
		}
		document, fields, err := doc.with(r.number, instance)
		if err != nil {
			return err
		}
		out, err = s.write(ctx, tx, recordWrite{collection: req.GetCollection(), id: req.GetId(), now: r.at, document: document, fields: fields})
		if err != nil {
			return err
		}
		return r.keep(ctx, tx, s.plugin, req.GetCollection(), req.GetId())
	}
	if req.GetWorkflow() == "" {
		err := againIfDeadlocked(func() error {
			return s.router.InTenantTx(ctx, c.County, func(ctx context.Context, tx *sqlx.Tx) error { return write(ctx, tx, 0) })
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
	in := StartFor{Title: o.GetTitle(), Reference: o.GetReference(), SubjectUnit: o.GetSubjectUnitId(), SMS: o.GetSmsReminder(),
		TimeLimitDays: int(o.GetTimeLimitDays()), Public: c.Caller.Kind == CallerAnonymous, InitiatorUnit: o.GetInitiatorUnitId(), Alongside: write}
	started, err := s.flows.answer(ctx, func(e Workflows) (out json.RawMessage, err error) {
		// The start is rolled back whole with the record: a deadlock's
		// victim starts again.
		err = againIfDeadlocked(func() error {
			out, err = e.StartFor(ctx, c, workflowCode(s.plugin, req.GetWorkflow()), in)
			return err
		})
		return out, err
	})
	if err != nil {
		return nil, err
	}
	return &pluginv1.SubmitResponse{Record: out.proto(), Receipt: r.proto(), Outcome: started.GetJson()}, nil
}

// submittedDocument is a submission's document and the members the host
// sets in it.
type submittedDocument struct {
	document []byte
	// members is document's, decoded, if the host sets any.
	members                    map[string]json.RawMessage
	numberField, instanceField string
	indexed                    []string
}

// submitted checks req's document and members, refusing it before
// anything is written as PutRecord would refuse the document written.
func (s *submissions) submitted(req *pluginv1.SubmitRequest) (*submittedDocument, error) {
	d := &submittedDocument{document: req.GetDocument(), numberField: req.GetNumberField(), instanceField: req.GetInstanceField(),
		indexed: s.indexed[req.GetCollection()]}
	o := req.GetStart()
	for _, field := range []string{d.numberField, d.instanceField} {
		if field != "" && !memberPattern.MatchString(field) {
			return nil, status.Errorf(codes.InvalidArgument, "member %q: use 1 to 64 letters, digits or underscores, starting with a letter or an underscore", field)
		}
	}
	switch {
	case d.numberField != "" && d.numberField == d.instanceField:
		return nil, status.Errorf(codes.InvalidArgument, "the receipt's number and the instance's id cannot both be member %q", d.numberField)
	case req.GetWorkflow() == "" && d.instanceField != "":
		return nil, status.Errorf(codes.InvalidArgument, "instance_field %q names the started instance's member, and the submission starts no workflow", d.instanceField)
	case req.GetWorkflow() == "" && o != nil && (o.GetTitle() != "" || o.GetReference() != "" || o.GetSubjectUnitId() != 0 || o.GetSmsReminder() ||
		o.GetTimeLimitDays() != 0 || o.GetInitiatorUnitId() != 0):
		return nil, status.Error(codes.InvalidArgument, "the submission has a start's options and starts no workflow: name the workflow")
	}
	if d.numberField != "" || d.instanceField != "" {
		if len(d.document) > MaxDocumentBytes {
			return nil, status.Errorf(codes.InvalidArgument, "document is %d bytes; the limit is %d", len(d.document), MaxDocumentBytes)
		}
		if err := json.Unmarshal(d.document, &d.members); err != nil || d.members == nil {
			return nil, status.Error(codes.InvalidArgument, "document is not a JSON object")
		}
	}
	_, _, err := d.with(longestReceiptNumber, largestInstanceID)
	return d, err
}

// with is the document to write, with number and instance in its
// members, and its indexed values.
func (d *submittedDocument) with(number string, instance int64) ([]byte, []fieldValue, error) {
	document := d.document
	if d.members != nil {
		if d.numberField != "" {
			d.members[d.numberField], _ = json.Marshal(number)
		}
		if d.instanceField != "" {
			d.members[d.instanceField] = json.RawMessage(strconv.FormatInt(instance, 10))
		}
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		// As the module wrote them: the host's members are a number and
		// digits, nothing to escape for HTML.
		enc.SetEscapeHTML(false)
		if err := enc.Encode(d.members); err != nil {
			return nil, nil, status.Errorf(codes.InvalidArgument, "document: %v", err)
		}
		document = bytes.TrimSuffix(b.Bytes(), []byte("\n"))
	}
	fields, err := indexedValues(d.indexed, document)
	return document, fields, err
}
