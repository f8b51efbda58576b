package sdkfake_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/countycloud/countycloud/plugins/sdk"
	"github.com/countycloud/countycloud/plugins/sdk/sdkfake"
)

// services are the methods of sdk.Host the fake serves. Both hosts
// satisfy it: a module's narrow interface that *sdk.Host satisfies, the
// fake does too.
type services interface {
	Put(ctx context.Context, collection, id string, version int64, doc any) (sdk.Record, error)
	Get(ctx context.Context, collection, id string) (sdk.Record, error)
	Delete(ctx context.Context, collection, id string, version int64) error
	Query(ctx context.Context, collection string, q sdk.Query) (sdk.Page, error)
	PutRecords(ctx context.Context, puts []sdk.RecordPut) ([]sdk.Record, error)
	PutRecordsBrief(ctx context.Context, puts []sdk.RecordPut) ([]sdk.Record, error)
	PutNumbered(ctx context.Context, collection, id string, version int64, doc any, n sdk.Numbering) (sdk.Record, int64, error)
	CreateUpload(ctx context.Context, name, contentType string, size int64) (sdk.Upload, error)
	CreatePublicUpload(ctx context.Context, u sdk.PublicUpload) (sdk.Upload, error)
	File(ctx context.Context, id string) (sdk.File, error)
	DownloadURL(ctx context.Context, id string, ttl time.Duration) (sdk.SignedURL, error)
	DeleteFile(ctx context.Context, id string) error
	IssueReceipt(ctx context.Context, collection, id string) (sdk.Receipt, error)
	LookupReceipt(ctx context.Context, number, code string) (sdk.ReceiptRecord, error)
	Submit(ctx context.Context, s sdk.Submission) (sdk.Submitted, error)
	Units(ctx context.Context, ids ...int64) ([]sdk.Unit, error)
	RecordMeasure(ctx context.Context, m sdk.Measure) (bool, error)
	Audit(ctx context.Context, e sdk.AuditEntry) error
}

var (
	_ services = (*sdk.Host)(nil)
	_ services = (*sdkfake.Host)(nil)
)

func manifest() sdk.Manifest {
	return sdk.Manifest{
		ID: "suggest", Name: "建议", Vendor: "县信息中心", Version: "1.0.0", Protocol: sdk.ProtocolVersion,
		Collections: map[string]sdk.Collection{"suggestions": {Indexed: []string{"status", "unit", "urgent"}}, "replies": {}},
		Workflows:   map[string]json.RawMessage{"review": json.RawMessage(`{"name":"办理","version":1}`)},
		Measures: []sdk.MeasureDef{
			{ID: "suggest.filed", Label: sdk.Text{ZH: "建议数", EN: "Suggestions"}, Counts: sdk.Text{ZH: "件", EN: "suggestions"}},
			{ID: "suggest.visits", Label: sdk.Text{ZH: "访问数", EN: "Visits"}, Counts: sdk.Text{ZH: "次", EN: "visits"}, CountyWide: true},
		},
	}
}

// county is the fake host of a county with units 10 and 20, its clock at
// 9:00 on 5 June 2026 in China unless moved.
type county struct {
	*sdkfake.Host
	mu  sync.Mutex
	now time.Time
}

func newCounty() *county {
	c := &county{now: time.Date(2026, 6, 5, 1, 0, 0, 0, time.UTC)}
	c.Host = sdkfake.New(manifest(), c.clock, sdk.Unit{ID: 20, Name: "县政府办"}, sdk.Unit{ID: 10, Name: "县信息中心"})
	return c
}

func (c *county) clock() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *county) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

type suggestion struct {
	Text   string `json:"text"`
	Status any    `json:"status,omitempty"`
	Unit   any    `json:"unit,omitempty"`
	Urgent any    `json:"urgent,omitempty"`
}

func mustPut(t *testing.T, h *county, collection, id string, version int64, doc any) sdk.Record {
	t.Helper()
	r, err := h.Put(t.Context(), collection, id, version, doc)
	if err != nil {
		t.Fatalf("put %s/%s at %d: %v", collection, id, version, err)
	}
	return r
}

func TestARecordIsCreatedAtVersionZeroAndReplacedOnlyAtItsVersion(t *testing.T) {
	h, ctx := newCounty(), t.Context()
	r := mustPut(t, h, "suggestions", "s1", 0, suggestion{Text: "路灯"})
	if r.Version != 1 || !r.CreatedAt.Equal(h.clock()) || string(r.Document) != `{"text":"路灯"}` {
		t.Fatalf("created: %+v", r)
	}
	if _, err := h.Put(ctx, "suggestions", "s1", 0, suggestion{Text: "again"}); !errors.Is(err, sdk.ErrConflict) {
		t.Fatalf("a second creation: %v", err)
	}
	h.set(h.clock().Add(time.Hour))
	r2 := mustPut(t, h, "suggestions", "s1", 1, suggestion{Text: "路灯坏了"})
	if r2.Version != 2 || !r2.CreatedAt.Equal(r.CreatedAt) || !r2.UpdatedAt.Equal(h.clock()) {
		t.Fatalf("replaced: %+v", r2)
	}
	if _, err := h.Put(ctx, "suggestions", "s1", 1, suggestion{Text: "stale"}); !errors.Is(err, sdk.ErrConflict) {
		t.Fatalf("a replacement at an old version: %v", err)
	}
	if _, err := h.Put(ctx, "suggestions", "s9", 3, suggestion{Text: "gone"}); !errors.Is(err, sdk.ErrNotFound) {
		t.Fatalf("a replacement of no record: %v", err)
	}
	if err := h.Delete(ctx, "suggestions", "s1", 1); !errors.Is(err, sdk.ErrConflict) {
		t.Fatalf("a deletion at an old version: %v", err)
	}
	if got, err := h.Get(ctx, "suggestions", "s1"); err != nil || got.Version != 2 || string(got.Document) != `{"text":"路灯坏了"}` {
		t.Fatalf("get: %+v %v", got, err)
	}
	if err := h.Delete(ctx, "suggestions", "s1", 2); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Get(ctx, "suggestions", "s1"); !errors.Is(err, sdk.ErrNotFound) {
		t.Fatalf("get after delete: %v", err)
	}
	if err := h.Delete(ctx, "suggestions", "s1", 2); !errors.Is(err, sdk.ErrNotFound) {
		t.Fatalf("a second deletion: %v", err)
	}
}

func TestBadRecordsAreRefusedAndChangeNothing(t *testing.T) {
	h, ctx := newCounty(), t.Context()
	for name, put := range map[string]func() error{
		"collection":    func() error { _, err := h.Put(ctx, "Suggestions", "s1", 0, suggestion{}); return err },
		"empty id":      func() error { _, err := h.Put(ctx, "suggestions", "", 0, suggestion{}); return err },
		"id with slash": func() error { _, err := h.Put(ctx, "suggestions", "a/b", 0, suggestion{}); return err },
		"long id": func() error {
			_, err := h.Put(ctx, "suggestions", strings.Repeat("a", 129), 0, suggestion{})
			return err
		},
		"not an object": func() error { _, err := h.Put(ctx, "suggestions", "s1", 0, []int{1}); return err },
		"null":          func() error { _, err := h.Put(ctx, "suggestions", "s1", 0, nil); return err },
		"indexed object": func() error {
			_, err := h.Put(ctx, "suggestions", "s1", 0, suggestion{Status: map[string]int{}})
			return err
		},
		"long indexed": func() error {
			_, err := h.Put(ctx, "suggestions", "s1", 0, suggestion{Status: strings.Repeat("x", 256)})
			return err
		},
		"negative version": func() error { _, err := h.Put(ctx, "suggestions", "s1", -1, suggestion{}); return err },
		"large": func() error {
			_, err := h.Put(ctx, "replies", "r1", 0, suggestion{Text: strings.Repeat("x", 1<<20)})
			return err
		},
		"get bad id":    func() error { _, err := h.Get(ctx, "suggestions", "a b"); return err },
		"delete bad id": func() error { return h.Delete(ctx, "suggestions", "", 1) },
	} {
		if err := put(); !errors.Is(err, sdk.ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if h.Count("suggestions") != 0 || h.Count("replies") != 0 {
		t.Fatalf("refused puts wrote %v", h.Records("suggestions"))
	}
	if _, err := h.Put(ctx, "suggestions", "s1", 0, func() {}); err == nil || errors.Is(err, sdk.ErrInvalid) {
		t.Fatalf("a document that does not encode: %v", err)
	}
}

func TestAQueryFiltersOnIndexedFieldsInTheOrderOfIds(t *testing.T) {
	h, ctx := newCounty(), t.Context()
	for i := range 120 {
		status := "open"
		if i%2 == 1 {
			status = "closed"
		}
		mustPut(t, h, "suggestions", fmt.Sprintf("s%03d", 119-i), 0, suggestion{Text: "x", Status: status, Unit: 10 + i%3, Urgent: i%4 == 0})
	}
	mustPut(t, h, "suggestions", "z-null", 0, suggestion{Text: "x", Status: nil})
	page, err := h.Query(ctx, "suggestions", sdk.Query{Where: map[string]string{"status": "open"}})
	if err != nil || len(page.Records) != 50 || page.Records[0].ID != "s001" || page.Next != page.Records[49].ID {
		t.Fatalf("first page: %d records from %v, next %q, %v", len(page.Records), page.Records[0].ID, page.Next, err)
	}
	page, err = h.Query(ctx, "suggestions", sdk.Query{Where: map[string]string{"status": "open"}, After: page.Next, Limit: 200})
	if err != nil || len(page.Records) != 10 || page.Next != "" {
		t.Fatalf("last page: %d records, next %q, %v", len(page.Records), page.Next, err)
	}
	for where, want := range map[string]int{`unit=11`: 40, `urgent=true`: 30, `urgent=false`: 90, `status=null`: 0} {
		field, value, _ := strings.Cut(where, "=")
		page, err := h.Query(ctx, "suggestions", sdk.Query{Where: map[string]string{field: value}, Limit: 200})
		if err != nil || len(page.Records) != want {
			t.Errorf("%s: %d records, %v; want %d", where, len(page.Records), err, want)
		}
	}
	for name, q := range map[string]sdk.Query{
		"a field not indexed": {Where: map[string]string{"text": "x"}},
		"a page too long":     {Limit: 201},
		"a negative page":     {Limit: -1},
	} {
		if _, err := h.Query(ctx, "suggestions", q); !errors.Is(err, sdk.ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if page, err := h.Query(ctx, "replies", sdk.Query{}); err != nil || page.Records == nil || len(page.Records) != 0 {
		t.Fatalf("an empty collection: %+v %v", page, err)
	}
}

func TestABatchWritesEveryRecordOrNone(t *testing.T) {
	h, ctx := newCounty(), t.Context()
	mustPut(t, h, "suggestions", "s1", 0, suggestion{Text: "one"})
	_, err := h.PutRecords(ctx, []sdk.RecordPut{
		{Collection: "replies", ID: "r1", Document: suggestion{Text: "reply"}},
		{Collection: "suggestions", ID: "s1", Version: 0, Document: suggestion{Text: "again"}},
	})
	if !errors.Is(err, sdk.ErrConflict) || !strings.Contains(err.Error(), "record 1 (suggestions/s1)") || h.Count("replies") != 0 {
		t.Fatalf("a batch with a conflict: %v, %d replies", err, h.Count("replies"))
	}
	for name, puts := range map[string][]sdk.RecordPut{
		"empty": nil,
		"twice": {{Collection: "replies", ID: "r1", Document: suggestion{}}, {Collection: "replies", ID: "r1", Document: suggestion{}}},
		"bad":   {{Collection: "replies", ID: "r 1", Document: suggestion{}}},
		"large": {{Collection: "replies", ID: "r1", Document: suggestion{Text: strings.Repeat("x", sdk.MaxBatchBytes)}}},
	} {
		if _, err := h.PutRecords(ctx, puts); !errors.Is(err, sdk.ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	h.SetFail(sdkfake.Nth(1, fmt.Errorf("%w: changed meanwhile", sdk.ErrConflict), sdkfake.Match("PutRecords", "replies", "r2")))
	batch := []sdk.RecordPut{
		{Collection: "suggestions", ID: "s1", Version: 1, Document: suggestion{Text: "one, answered"}},
		{Collection: "replies", ID: "r1", Document: suggestion{Text: "reply"}},
		{Collection: "replies", ID: "r2", Document: suggestion{Text: "reply"}},
	}
	if _, err := h.PutRecords(ctx, batch); !errors.Is(err, sdk.ErrConflict) || h.Count("replies") != 0 || h.Records("suggestions")[0].Version != 1 {
		t.Fatalf("a batch failed by the hook: %v, %v", err, h.Records("replies"))
	}
	if len(h.Audits()) != 0 {
		t.Fatalf("refused batches audited: %+v", h.Audits())
	}
	out, err := h.PutRecords(ctx, batch)
	if err != nil || len(out) != 3 || out[0].Version != 2 || out[2].ID != "r2" || out[2].Version != 1 || out[2].Document == nil {
		t.Fatalf("the batch again: %+v %v", out, err)
	}
	if a := h.Audits(); len(a) != 1 || a[0].Action != "records.batch" || a[0].ObjectID != "collections" {
		t.Fatalf("the batch's entry: %+v", a)
	}
	out, err = h.PutRecordsBrief(ctx, []sdk.RecordPut{{Collection: "replies", ID: "r1", Version: 1, Document: suggestion{Text: "reply, kept"}}})
	if err != nil || len(out) != 1 || out[0].Version != 2 || out[0].Document != nil || !strings.Contains(string(h.Records("replies")[0].Document), "reply, kept") {
		t.Fatalf("a brief batch: %+v %v", out, err)
	}
}

func TestANumberedPutTakesANumberOnlyIfItWrites(t *testing.T) {
	h, ctx := newCounty(), t.Context()
	n := sdk.Numbering{Counter: "no/2026", Field: "number"}
	r, number, err := h.PutNumbered(ctx, "suggestions", "s1", 0, suggestion{Text: "a", Status: "open"}, n)
	if err != nil || number != 1 || string(r.Document) != `{"number":1,"status":"open","text":"a"}` {
		t.Fatalf("first: %s %d %v", r.Document, number, err)
	}
	if _, _, err := h.PutNumbered(ctx, "suggestions", "s1", 0, suggestion{Text: "b"}, n); !errors.Is(err, sdk.ErrConflict) {
		t.Fatalf("a numbered creation of a record that exists: %v", err)
	}
	if _, _, err := h.PutNumbered(ctx, "suggestions", "s2", 0, suggestion{Text: "b"}, sdk.Numbering{Counter: "/no", Field: "number"}); !errors.Is(err, sdk.ErrInvalid) {
		t.Fatalf("a bad counter: %v", err)
	}
	h.SetFail(sdkfake.Nth(1, sdkfake.ErrGone, sdkfake.Match("PutNumbered", "", "")))
	if _, _, err := h.PutNumbered(ctx, "suggestions", "s2", 0, suggestion{Text: "b"}, n); !errors.Is(err, sdkfake.ErrGone) {
		t.Fatalf("the hook: %v", err)
	}
	if c := h.Counters(); c["no/2026"] != 1 {
		t.Fatalf("refused puts took numbers: %v", c)
	}
	if _, number, err := h.PutNumbered(ctx, "suggestions", "s2", 0, map[string]any{}, n); err != nil || number != 2 {
		t.Fatalf("second: %d %v", number, err)
	}
}

func TestAFileIsPendingUntilItsBytesArrive(t *testing.T) {
	h, ctx := newCounty(), t.Context()
	u, err := h.CreateUpload(ctx, " 会议.mp4 ", "", 3<<30)
	if err != nil || u.URL == "" || !u.ExpiresAt.Equal(h.clock().Add(time.Hour)) {
		t.Fatalf("upload: %+v %v", u, err)
	}
	f, err := h.File(ctx, u.FileID)
	if err != nil || f.Status != sdk.FilePending || f.Name != "会议.mp4" || f.ContentType != "application/octet-stream" || f.SHA256 != "" {
		t.Fatalf("declared: %+v %v", f, err)
	}
	if _, err := h.DownloadURL(ctx, u.FileID, 0); !errors.Is(err, sdk.ErrNotReady) {
		t.Fatalf("a pending file's URL: %v", err)
	}
	h.Arrive(t, u.FileID)
	if f, _ := h.File(ctx, u.FileID); f.Status != sdk.FileReady || len(f.SHA256) != 64 || !f.ReadyAt.Equal(h.clock()) {
		t.Fatalf("arrived: %+v", f)
	}
	d, err := h.DownloadURL(ctx, u.FileID, 0)
	if err != nil || !d.ExpiresAt.Equal(h.clock().Add(time.Hour)) {
		t.Fatalf("download: %+v %v", d, err)
	}
	for _, ttl := range []time.Duration{-2 * time.Second, 24*time.Hour + time.Second} {
		if _, err := h.DownloadURL(ctx, u.FileID, ttl); !errors.Is(err, sdk.ErrInvalid) {
			t.Errorf("ttl %s: %v", ttl, err)
		}
	}
	if _, err := h.DownloadURL(ctx, u.FileID, 24*time.Hour); err != nil {
		t.Errorf("a day: %v", err)
	}
	for name, upload := range map[string][3]any{
		"no name":         {"  ", "", int64(1)},
		"a control":       {"a\u202eb", "", int64(1)},
		"a bad type":      {"a", "video", int64(1)},
		"empty":           {"a", "", int64(0)},
		"over the bound":  {"a", "", int64(8<<30 + 1)},
		"a name too long": {strings.Repeat("文", 256), "", int64(1)},
	} {
		if _, err := h.CreateUpload(ctx, upload[0].(string), upload[1].(string), upload[2].(int64)); !errors.Is(err, sdk.ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := h.File(ctx, "../etc"); !errors.Is(err, sdk.ErrInvalid) {
		t.Fatalf("a file id the host never gave: %v", err)
	}
	if err := h.DeleteFile(ctx, u.FileID); err != nil {
		t.Fatal(err)
	}
	if _, err := h.File(ctx, u.FileID); !errors.Is(err, sdk.ErrNotFound) || len(h.Files()) != 0 {
		t.Fatalf("a deleted file: %v, %v", err, h.Files())
	}
	if err := h.DeleteFile(ctx, u.FileID); !errors.Is(err, sdk.ErrNotFound) {
		t.Fatalf("a second deletion: %v", err)
	}
}

func TestAPublicUploadIsForARecordAndATypeTheModuleTakes(t *testing.T) {
	h, ctx := newCounty(), t.Context()
	pdf := sdk.PublicUpload{Collection: "suggestions", RecordID: "s1", Name: "材料.pdf", ContentType: "application/pdf", Size: 1000,
		ContentTypes: []string{"application/pdf", "image/jpeg"}}
	if _, err := h.CreatePublicUpload(ctx, pdf); !errors.Is(err, sdk.ErrNotFound) {
		t.Fatalf("for no record: %v", err)
	}
	mustPut(t, h, "suggestions", "s1", 0, suggestion{Text: "x"})
	u, err := h.CreatePublicUpload(ctx, pdf)
	if err != nil {
		t.Fatal(err)
	}
	if f, _ := h.File(ctx, u.FileID); f.Status != sdk.FilePending || f.Collection != "suggestions" || f.RecordID != "s1" {
		t.Fatalf("declared: %+v", f)
	}
	for name, c := range map[string]struct {
		change func(*sdk.PublicUpload)
		want   error
	}{
		"a type the module does not take": {func(u *sdk.PublicUpload) { u.ContentType = "image/png" }, sdk.ErrInvalid},
		"a type the host cannot check":    {func(u *sdk.PublicUpload) { u.ContentType, u.ContentTypes = "video/mp4", []string{"video/mp4"} }, sdk.ErrInvalid},
		"no type":                         {func(u *sdk.PublicUpload) { u.ContentType = "" }, sdk.ErrInvalid},
		"over the module's bound":         {func(u *sdk.PublicUpload) { u.MaxSize = 999 }, sdk.ErrTooLarge},
		"over the host's bound":           {func(u *sdk.PublicUpload) { u.Size, u.MaxSize = 20<<20+1, 1<<30 }, sdk.ErrTooLarge},
		"empty":                           {func(u *sdk.PublicUpload) { u.Size = 0 }, sdk.ErrInvalid},
	} {
		u := pdf
		c.change(&u)
		if _, err := h.CreatePublicUpload(ctx, u); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
	if len(h.Files()) != 1 {
		t.Fatalf("refused uploads declared files: %+v", h.Files())
	}
}

func TestAReceiptIsNumberedInItsYearInChinaAndFoundOnlyWithItsCode(t *testing.T) {
	h, ctx := newCounty(), t.Context()
	if _, err := h.IssueReceipt(ctx, "suggestions", "s1"); !errors.Is(err, sdk.ErrNotFound) {
		t.Fatalf("for no record: %v", err)
	}
	mustPut(t, h, "suggestions", "s1", 0, suggestion{Text: "x"})
	mustPut(t, h, "suggestions", "s2", 0, suggestion{Text: "y"})
	first, err := h.IssueReceipt(ctx, "suggestions", "s1")
	if err != nil || first.Number != "2026-000001" || len(first.Code) != 19 {
		t.Fatalf("first: %+v %v", first, err)
	}
	if _, err := h.IssueReceipt(ctx, "suggestions", "s1"); !errors.Is(err, sdk.ErrConflict) {
		t.Fatalf("a second receipt of a record: %v", err)
	}
	// 2027 starts in China at 16:00 UTC on the last day of 2026.
	h.set(time.Date(2026, 12, 31, 16, 0, 0, 0, time.UTC))
	second, err := h.IssueReceipt(ctx, "suggestions", "s2")
	if err != nil || second.Number != "2027-000001" || second.Code == first.Code {
		t.Fatalf("second: %+v %v", second, err)
	}
	if got := h.Receipts(); len(got) != 2 || got[0].Number != first.Number || got[0].RecordID != "s1" || got[1].Number != second.Number ||
		got[1].Collection != "suggestions" || got[1].RecordID != "s2" || !got[1].IssuedAt.Equal(second.IssuedAt) {
		t.Fatalf("the receipts issued: %+v", got)
	}
	copied := strings.ToLower(strings.ReplaceAll(first.Code, "-", " "))
	if r, err := h.LookupReceipt(ctx, first.Number, copied); err != nil || r.RecordID != "s1" || r.Collection != "suggestions" {
		t.Fatalf("lookup: %+v %v", r, err)
	}
	for name, q := range map[string][2]string{
		"another receipt's code": {first.Number, second.Code},
		"an unknown number":      {"2026-000009", first.Code},
		"no code":                {first.Number, ""},
	} {
		if _, err := h.LookupReceipt(ctx, q[0], q[1]); !errors.Is(err, sdk.ErrNotFound) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestASubmissionIsWrittenWithItsReceiptAndStartOrNotAtAll: Submit
// writes the record with its receipt's number and its instance's id,
// issues the receipt and starts the workflow with the test's Starter; a
// refusal anywhere, the Starter's too, writes nothing and takes no
// number.
func TestASubmissionIsWrittenWithItsReceiptAndStartOrNotAtAll(t *testing.T) {
	h, ctx := newCounty(), t.Context()
	var started []sdk.StartOptions
	refuse := error(nil)
	h.SetStarter(func(_ context.Context, workflow string, o sdk.StartOptions) (sdk.Outcome, error) {
		if refuse != nil {
			return sdk.Outcome{}, refuse
		}
		started = append(started, o)
		return sdk.Outcome{Instance: sdk.Instance{ID: int64(len(started)), Workflow: "suggest." + workflow, Title: o.Title}}, nil
	})
	letter := func(id string) sdk.Submission {
		return sdk.Submission{Collection: "suggestions", ID: id, Document: suggestion{Text: "路灯不亮", Status: "new"}, NumberField: "number",
			Workflow: "review", Start: sdk.StartOptions{Title: "建议", SubjectUnitID: 10, InitiatorUnitID: 20}, InstanceField: "instance_id"}
	}
	got, err := h.Submit(ctx, letter("s1"))
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"instance_id":1,"number":"2026-000001","status":"new","text":"路灯不亮"}`; string(got.Record.Document) != want || got.Outcome == nil || got.Outcome.Instance.ID != 1 {
		t.Fatalf("submitted %s, %+v; want %s", got.Record.Document, got.Outcome, want)
	}
	if r, err := h.LookupReceipt(ctx, got.Receipt.Number, got.Receipt.Code); err != nil || r.RecordID != "s1" || started[0].InitiatorUnitID != 20 {
		t.Fatalf("its receipt finds %+v, %v; started %+v", r, err, started)
	}
	if page, err := h.Query(ctx, "suggestions", sdk.Query{Where: map[string]string{"status": "new"}}); err != nil || len(page.Records) != 1 {
		t.Fatalf("indexed: %+v %v", page, err)
	}

	refused := errors.New("the engine refuses")
	for what, c := range map[string]struct {
		s    sdk.Submission
		want error
	}{
		"an id that is taken":           {letter("s1"), sdk.ErrConflict},
		"a workflow the manifest lacks": {func() sdk.Submission { s := letter("s2"); s.Workflow = "nosuch"; return s }(), sdk.ErrNotFound},
		"a document that is no object":  {func() sdk.Submission { s := letter("s2"); s.Document = []int{1}; return s }(), sdk.ErrInvalid},
		"a start without a workflow":    {func() sdk.Submission { s := letter("s2"); s.Workflow, s.InstanceField = "", ""; return s }(), sdk.ErrInvalid},
		"a start the Starter refuses":   {letter("s2"), refused},
		"a further record that exists": {func() sdk.Submission {
			s := letter("s2")
			s.Also = []sdk.RecordPut{{Collection: "suggestions", ID: "s1", Document: suggestion{}}}
			return s
		}(), sdk.ErrConflict},
		"the record again among the further": {func() sdk.Submission {
			s := letter("s2")
			s.Also = []sdk.RecordPut{{Collection: "suggestions", ID: "s2", Document: suggestion{}}}
			return s
		}(), sdk.ErrInvalid},
		"an audit entry of an action that cannot be": {func() sdk.Submission {
			s := letter("s2")
			s.Audit = &sdk.AuditEntry{Action: "Bad Action", ObjectType: "suggestion", ObjectID: "s2"}
			return s
		}(), sdk.ErrInvalid},
	} {
		refuse = nil
		if c.want == refused {
			refuse = refused
		}
		if _, err := h.Submit(ctx, c.s); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", what, err, c.want)
		}
	}
	refuse = nil
	if h.Count("suggestions") != 1 || len(started) != 1 || len(h.Receipts()) != 1 {
		t.Fatalf("refused submissions left %d records, %d starts, receipts %+v", h.Count("suggestions"), len(started), h.Receipts())
	}
	if len(h.Audits()) != 0 {
		t.Fatalf("refused submissions left audit entries %+v", h.Audits())
	}
	plain, err := h.Submit(ctx, sdk.Submission{Collection: "suggestions", ID: "s3", Document: suggestion{Text: "原样"},
		Also:  []sdk.RecordPut{{Collection: "suggestions", ID: "s1", Version: 1, Document: suggestion{Text: "已合并"}}},
		Audit: &sdk.AuditEntry{Action: "suggestion.submit", ObjectType: "suggestion", ObjectID: "s3"}})
	if err != nil || plain.Receipt.Number != "2026-000002" || plain.Outcome != nil || string(plain.Record.Document) != `{"text":"原样"}` {
		t.Fatalf("a submission without members or workflow: %+v %v", plain, err)
	}
	if r, err := h.Get(ctx, "suggestions", "s1"); err != nil || r.Version != 2 || len(h.Audits()) != 1 || fmt.Sprintf("%s", h.Audits()[0].After) != `{"text":"原样"}` {
		t.Fatalf("the further record %+v %v, the entries %+v", r, err, h.Audits())
	}
	h.SetStarter(nil)
	if _, err := h.Submit(ctx, letter("s4")); !errors.Is(err, sdkfake.ErrNoStarter) || h.Count("suggestions") != 2 {
		t.Fatalf("a workflow without a Starter: %v", err)
	}
}

func TestUnitsAreTheCountysInOrderOfId(t *testing.T) {
	h, ctx := newCounty(), t.Context()
	if got, err := h.Units(ctx); err != nil || len(got) != 2 || got[0].ID != 10 || got[1].ID != 20 {
		t.Fatalf("all: %+v %v", got, err)
	}
	if got, err := h.Units(ctx, 20, 30); err != nil || len(got) != 1 || got[0].Name != "县政府办" {
		t.Fatalf("20 and 30: %+v %v", got, err)
	}
	if _, err := h.Units(ctx, 0); !errors.Is(err, sdk.ErrInvalid) {
		t.Fatalf("id 0: %v", err)
	}
	h.RemoveUnits(20)
	h.AddUnits(sdk.Unit{ID: 10, Name: "县数据局"}, sdk.Unit{ID: 30, Name: "民政局", ParentID: 10})
	if got, _ := h.Units(ctx); len(got) != 2 || got[0].Name != "县数据局" || got[1].ParentID != 10 {
		t.Fatalf("changed: %+v", got)
	}
}

func TestAMeasureCountsOncePerKey(t *testing.T) {
	h, ctx := newCounty(), t.Context()
	filed := sdk.Measure{ID: "suggest.filed", UnitID: 10, Key: "filed:s1"}
	if counted, err := h.RecordMeasure(ctx, filed); err != nil || !counted {
		t.Fatalf("first: %v %v", counted, err)
	}
	// A retry, Delta 1 as 0 counted, today as today.
	if counted, err := h.RecordMeasure(ctx, sdk.Measure{ID: "suggest.filed", UnitID: 10, Key: "filed:s1", Delta: 1, Day: "2026-06-05"}); err != nil || counted {
		t.Fatalf("a retry: %v %v", counted, err)
	}
	if _, err := h.RecordMeasure(ctx, sdk.Measure{ID: "suggest.filed", UnitID: 10, Key: "filed:s1", Delta: 2}); !errors.Is(err, sdk.ErrConflict) {
		t.Fatalf("the key with other figures: %v", err)
	}
	// The same key of another measure is another count.
	if counted, err := h.RecordMeasure(ctx, sdk.Measure{ID: "suggest.visits", Key: "filed:s1", Delta: 5, Day: "2026-06-04"}); err != nil || !counted {
		t.Fatalf("another measure: %v %v", counted, err)
	}
	for name, m := range map[string]sdk.Measure{
		"undeclared":             {ID: "suggest.other", UnitID: 10, Key: "k"},
		"another module's":       {ID: "oa.documents.sent", UnitID: 10, Key: "k"},
		"county-wide with unit":  {ID: "suggest.visits", UnitID: 10, Key: "k"},
		"per unit without":       {ID: "suggest.filed", Key: "k"},
		"another county's unit":  {ID: "suggest.filed", UnitID: 99, Key: "k"},
		"no key":                 {ID: "suggest.filed", UnitID: 10},
		"a key with a space":     {ID: "suggest.filed", UnitID: 10, Key: "a b"},
		"a negative delta":       {ID: "suggest.filed", UnitID: 10, Key: "k", Delta: -1},
		"too much":               {ID: "suggest.filed", UnitID: 10, Key: "k", Delta: 1_000_001},
		"not a day":              {ID: "suggest.filed", UnitID: 10, Key: "k", Day: "2026-6-5"},
		"a day out of the range": {ID: "suggest.filed", UnitID: 10, Key: "k", Day: "1999-12-31"},
	} {
		if _, err := h.RecordMeasure(ctx, m); !errors.Is(err, sdk.ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	mustRecord := func(m sdk.Measure) {
		t.Helper()
		if _, err := h.RecordMeasure(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	mustRecord(sdk.Measure{ID: "suggest.filed", UnitID: 10, Key: "filed:s2", Delta: 3})
	mustRecord(sdk.Measure{ID: "suggest.filed", UnitID: 10, Key: "filed:s3", Day: "2026-06-01"})
	mustRecord(sdk.Measure{ID: "suggest.filed", UnitID: 20, Key: "filed:s4"})
	if got := h.Measured("suggest.filed", 10, "2026-06-05"); got != 4 {
		t.Errorf("unit 10 today: %d", got)
	}
	if got := h.Measured("suggest.filed", 10, ""); got != 5 {
		t.Errorf("unit 10 every day: %d", got)
	}
	if got := h.Measured("suggest.visits", 0, "2026-06-04"); got != 5 {
		t.Errorf("visits: %d", got)
	}
	if m := h.Measures(); len(m) != 5 || m[0] != (sdk.Measure{ID: "suggest.filed", UnitID: 10, Key: "filed:s1", Delta: 1, Day: "2026-06-05"}) {
		t.Fatalf("recordings: %+v", m)
	}
}

func TestAuditEntriesAreCheckedAndKept(t *testing.T) {
	h, ctx := newCounty(), t.Context()
	for name, e := range map[string]sdk.AuditEntry{
		"an action of five words": {Action: "a.b.c.d.e", ObjectType: "suggestion", ObjectID: "s1"},
		"a capital":               {Action: "Suggestion.file", ObjectType: "suggestion", ObjectID: "s1"},
		"no object type":          {Action: "suggestion.file", ObjectID: "s1"},
		"an object id with space": {Action: "suggestion.file", ObjectType: "suggestion", ObjectID: "s 1"},
		"too long with the id":    {Action: strings.Repeat("a", 57), ObjectType: "suggestion", ObjectID: "s1"},
	} {
		if err := h.Audit(ctx, e); !errors.Is(err, sdk.ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := h.Audit(ctx, sdk.AuditEntry{Action: "suggestion.file", ObjectType: "suggestion", ObjectID: "s1", After: func() {}}); err == nil {
		t.Error("an object that does not encode was audited")
	}
	if err := h.Audit(ctx, sdk.AuditEntry{Action: "suggestion.file", ObjectType: "suggestion", ObjectID: "s1", After: suggestion{Text: "x"}}); err != nil {
		t.Fatal(err)
	}
	if a := h.Audits(); len(a) != 1 || a[0].Action != "suggestion.file" || a[0].Before != nil {
		t.Fatalf("entries: %+v", a)
	}
}

func TestTheHookFailsTheCallsItChooses(t *testing.T) {
	h, ctx := newCounty(), t.Context()
	// The second Put of a suggestion, once.
	h.SetFail(sdkfake.Nth(2, sdkfake.ErrGone, sdkfake.Match("Put", "suggestions", "")))
	var errs []error
	for _, id := range []string{"s1", "s2", "s3"} {
		_, err := h.Put(ctx, "suggestions", id, 0, suggestion{Text: "x"})
		errs = append(errs, err)
	}
	if errs[0] != nil || !errors.Is(errs[1], sdkfake.ErrGone) || errs[2] != nil || h.Count("suggestions") != 2 {
		t.Fatalf("Nth: %v, %d records", errs, h.Count("suggestions"))
	}
	// From the second audit of s1 on, every one.
	h.SetFail(sdkfake.FromNth(2, sdk.ErrBusy, sdkfake.Match("Audit", "", "s1")))
	e := sdk.AuditEntry{Action: "suggestion.read", ObjectType: "suggestion", ObjectID: "s1"}
	other := sdk.AuditEntry{Action: "suggestion.read", ObjectType: "suggestion", ObjectID: "s2"}
	got := []error{h.Audit(ctx, e), h.Audit(ctx, other), h.Audit(ctx, e), h.Audit(ctx, e)}
	if got[0] != nil || got[1] != nil || !errors.Is(got[2], sdk.ErrBusy) || !errors.Is(got[3], sdk.ErrBusy) || len(h.Audits()) != 2 {
		t.Fatalf("FromNth: %v, %d entries", got, len(h.Audits()))
	}
	// A test's own fake asks the same hook.
	h.SetFail(func(c sdkfake.Call) error {
		if c.Method == "ActOnTaskWith" {
			return sdk.ErrDenied
		}
		return nil
	})
	if err := h.Failure(sdkfake.Call{Method: "ActOnTaskWith", ID: "7"}); !errors.Is(err, sdk.ErrDenied) {
		t.Fatalf("Failure: %v", err)
	}
	h.SetFail(nil)
	if err := h.Failure(sdkfake.Call{Method: "ActOnTaskWith"}); err != nil {
		t.Fatalf("no hook: %v", err)
	}
	for name, call := range map[string]func() error{
		"Get":          func() error { _, err := h.Get(ctx, "suggestions", "s1"); return err },
		"Delete":       func() error { return h.Delete(ctx, "suggestions", "s1", 1) },
		"Query":        func() error { _, err := h.Query(ctx, "suggestions", sdk.Query{}); return err },
		"CreateUpload": func() error { _, err := h.CreateUpload(ctx, "a", "", 1); return err },
		"Units":        func() error { _, err := h.Units(ctx); return err },
		"RecordMeasure": func() error {
			_, err := h.RecordMeasure(ctx, sdk.Measure{ID: "suggest.filed", UnitID: 10, Key: "k"})
			return err
		},
		"IssueReceipt":  func() error { _, err := h.IssueReceipt(ctx, "suggestions", "s1"); return err },
		"LookupReceipt": func() error { _, err := h.LookupReceipt(ctx, "2026-000001", "x"); return err },
	} {
		h.SetFail(sdkfake.Nth(1, sdkfake.ErrGone, sdkfake.Match(name, "", "")))
		if err := call(); !errors.Is(err, sdkfake.ErrGone) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if h.Count("suggestions") != 2 || len(h.Files()) != 0 || len(h.Measures()) != 0 {
		t.Fatal("a failed call changed something")
	}
}

func TestTheFakeServesConcurrentCalls(t *testing.T) {
	h := newCounty()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			ctx := context.Background()
			for j := range 20 {
				id := fmt.Sprintf("s%d-%d", i, j)
				if _, err := h.Put(ctx, "suggestions", id, 0, suggestion{Text: "x", Status: "open"}); err != nil {
					t.Error(err)
				}
				if _, err := h.RecordMeasure(ctx, sdk.Measure{ID: "suggest.filed", UnitID: 10, Key: id}); err != nil {
					t.Error(err)
				}
				if _, err := h.Query(ctx, "suggestions", sdk.Query{Where: map[string]string{"status": "open"}}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if h.Count("suggestions") != 160 || h.Measured("suggest.filed", 10, "") != 160 {
		t.Fatalf("%d records, %d counted", h.Count("suggestions"), h.Measured("suggest.filed", 10, ""))
	}
}
