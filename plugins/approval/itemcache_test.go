package approval

import (
	"context"
	"encoding/json"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/countycloud/countycloud/plugins/sdk"
	"github.com/countycloud/countycloud/plugins/sdk/sdkfake"
)

// itemReads counts the module's reads of items from tt's host.
func itemReads(tt *tester) *atomic.Int64 {
	var n atomic.Int64
	tt.host.SetFail(func(c sdkfake.Call) error {
		if c.Method == "Get" && c.Collection == collItems {
			n.Add(1)
		}
		return nil
	})
	return &n
}

// applied is the application of receipt r as written.
func (tt *tester) applied(r receiptView) application {
	tt.t.Helper()
	rec, err := tt.host.Get(context.Background(), collApplications, r.ID)
	if err != nil {
		tt.t.Fatal(err)
	}
	var a application
	if err := json.Unmarshal(rec.Document, &a); err != nil {
		tt.t.Fatal(err)
	}
	return a
}

// TestAnOnlineApplicationIsCheckedAgainstTheItemAsItIs: the module reads
// an item once for a county's online applications, and each submission
// names the item as read; an item changed since (renamed, or asking for
// another material) is read again before anything is written, so no
// application is written against the item as it was, and an item that
// now takes what the kept one refused is read before the refusal.
func TestAnOnlineApplicationIsCheckedAgainstTheItemAsItIs(t *testing.T) {
	tt := newTester(t)
	tt.county = "county-a"
	tt.do(countyAdmin(), "POST", "/items", "", completeItem("XK-001"), nil)
	reads := itemReads(tt)
	var first, second receiptView
	tt.do(anonymous(), "POST", "/public/applications", "", anApplication("项目备案申请表", "营业执照"), &first)
	tt.do(anonymous(), "POST", "/public/applications", "", anApplication("项目备案申请表", "营业执照"), &second)
	if reads.Load() != 1 || second.Number == "" {
		t.Fatalf("two applications read the item %d times: %+v", reads.Load(), second)
	}
	subs := tt.host.submitted()
	if u := subs[len(subs)-1].Unchanged; len(u) != 1 || u[0].Collection != collItems || u[0].ID != "XK-001" || u[0].Version != 1 || u[0].UpdatedAt.IsZero() {
		t.Fatalf("the submission is made against %+v", u)
	}

	// Renamed since it was read: the application carries the new name.
	renamed := completeItem("XK-001")
	renamed["version"], renamed["name"] = 1, "企业投资项目备案（变更）"
	tt.do(countyAdmin(), "PUT", "/items/XK-001", "", renamed, nil)
	handed, read := len(tt.host.submitted()), reads.Load()
	var third receiptView
	if s := tt.do(anonymous(), "POST", "/public/applications", "", anApplication("项目备案申请表", "营业执照"), &third); s != http.StatusCreated {
		t.Fatalf("apply after the rename: %d", s)
	}
	if a := tt.applied(third); a.ItemName != "企业投资项目备案（变更）" || len(tt.host.submitted()) != handed+2 || reads.Load() != read+1 {
		t.Fatalf("the application names item %q, after %d submissions and %d reads", a.ItemName, len(tt.host.submitted())-handed, reads.Load()-read)
	}

	// Asking for a third material: refused as the item is now, nothing written.
	more := completeItem("XK-001")
	more["version"] = 2
	more["materials"] = append(more["materials"].([]map[string]any), map[string]any{"name": "环评批复", "original": true})
	tt.do(countyAdmin(), "PUT", "/items/XK-001", "", more, nil)
	before := tt.host.Count(collApplications)
	tt.refused(anonymous(), "POST", "/public/applications", "", anApplication("项目备案申请表", "营业执照"), http.StatusBadRequest, codeMissingMaterials)
	if n := tt.host.Count(collApplications); n != before {
		t.Fatalf("an application against the item as it was: %d written", n-before)
	}

	// Taking two materials again: the kept item (three) refuses, the item read takes it.
	tt.do(anonymous(), "POST", "/public/applications", "", anApplication("项目备案申请表", "营业执照", "环评批复"), nil)
	fewer := completeItem("XK-001")
	fewer["version"] = 3
	tt.do(countyAdmin(), "PUT", "/items/XK-001", "", fewer, nil)
	if s := tt.do(anonymous(), "POST", "/public/applications", "", anApplication("项目备案申请表", "营业执照"), nil); s != http.StatusCreated {
		t.Fatalf("an application the item as it is takes: %d", s)
	}

	// Deleted: not found, and nothing kept answers for it.
	var it itemView
	tt.do(clerk(), "GET", "/items/XK-001", "", nil, &it)
	if s := tt.do(countyAdmin(), "DELETE", "/items/XK-001", "version=4", nil, nil); s != http.StatusNoContent {
		t.Fatalf("delete: %d (version %d)", s, it.Version)
	}
	tt.refused(anonymous(), "POST", "/public/applications", "", anApplication("项目备案申请表", "营业执照"), http.StatusNotFound, codeItemNotFound)
}

// TestACountyIsNeverAnsweredFromAnothersItem: one process serves two
// counties with an item of the same code; each county's applications
// are checked against, and name, its own item.
func TestACountyIsNeverAnsweredFromAnothersItem(t *testing.T) {
	a, b := newTester(t), newTester(t)
	b.m, a.county, b.county = a.m, "county-a", "county-b"
	a.do(countyAdmin(), "POST", "/items", "", completeItem("XK-001"), nil)
	theirs := completeItem("XK-001")
	theirs["name"], theirs["departments"] = "乙县的事项", []map[string]any{{"unit_id": 30}}
	theirs["materials"] = []map[string]any{{"name": "申请书", "original": false}}
	b.do(countyAdmin(), "POST", "/items", "", theirs, nil)
	var ra receiptView
	a.do(anonymous(), "POST", "/public/applications", "", anApplication("项目备案申请表", "营业执照"), &ra)
	readsB := itemReads(b)
	b.refused(anonymous(), "POST", "/public/applications", "", anApplication("项目备案申请表", "营业执照"), http.StatusBadRequest, codeInvalidApplication)
	var rb receiptView
	if s := b.do(anonymous(), "POST", "/public/applications", "", anApplication("申请书"), &rb); s != http.StatusCreated {
		t.Fatalf("apply in county b: %d", s)
	}
	if got := b.applied(rb); got.ItemName != "乙县的事项" || got.UnitID != 30 || readsB.Load() == 0 {
		t.Fatalf("county b's application %+v after %d reads", got, readsB.Load())
	}
	if got := a.applied(ra); got.ItemName != "企业投资项目备案" || got.UnitID != 20 {
		t.Fatalf("county a's application %+v", got)
	}
	// A request that names no county keeps and uses nothing.
	none := newTester(t)
	none.m = a.m
	none.do(countyAdmin(), "POST", "/items", "", theirs, nil)
	readsNone := itemReads(none)
	none.refused(anonymous(), "POST", "/public/applications", "", anApplication("项目备案申请表", "营业执照"), http.StatusBadRequest, codeInvalidApplication)
	if subs := none.host.submitted(); readsNone.Load() != 1 || len(subs) != 0 {
		t.Fatalf("without a county: %d reads, %d submissions", readsNone.Load(), len(subs))
	}
}

// TestAnOldHostIsNotHandedUnchangedRecords: a host that does not check a
// submission's unchanged records is never handed one, and each
// application reads its item.
func TestAnOldHostIsNotHandedUnchangedRecords(t *testing.T) {
	tt := newTester(t)
	tt.county, tt.host.old = "county-a", true
	tt.do(countyAdmin(), "POST", "/items", "", completeItem("XK-001"), nil)
	reads := itemReads(tt)
	for range 2 {
		if s := tt.do(anonymous(), "POST", "/public/applications", "", anApplication("项目备案申请表", "营业执照"), nil); s != http.StatusCreated {
			t.Fatalf("apply: %d", s)
		}
	}
	for _, s := range tt.host.submitted() {
		if len(s.Unchanged) != 0 {
			t.Fatalf("an old host was handed %+v", s.Unchanged)
		}
	}
	if reads.Load() != 2 {
		t.Fatalf("two applications read the item %d times", reads.Load())
	}
	if _, err := (&sdk.Host{}).Submit(context.Background(), sdk.Submission{Collection: collApplications, ID: "x", Document: map[string]any{},
		Unchanged: []sdk.RecordVersion{{Collection: collItems, ID: "XK-001", Version: 1}}}); err == nil {
		t.Fatal("the SDK handed unchanged records to a host that does not check them")
	}
}
