package disclosure

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/countycloud/countycloud/plugins/sdk"
)

func work(title string) map[string]any {
	return map[string]any{"title": title, "body": "我办于6月3日召开全县政务公开工作推进会。"}
}

// TestReporting: units report work information; the county office (the
// county's admins, or the unit the settings name) grades each once for a
// use or rejects it with a reason; a unit grading its own, a second
// grading, an edit after grading are refused and change nothing; the
// portal's are public, nothing else; each count is recorded once.
func TestReporting(t *testing.T) {
	tt := newTester(t)
	tt.settings = json.RawMessage(`{"office_unit_id": 40, "max_attachments": 1}`)
	const day = "2026-06-05"
	for _, who := range []sdk.Caller{operator(), anonymous()} {
		tt.fails(who, "POST", "/reports", "", work("推进会"), 403, codeForbidden)
	}
	tt.fails(clerk(), "POST", "/reports", "", map[string]any{"title": "", "body": ""}, 400, codeInvalidReport)
	tt.fails(clerk(), "POST", "/reports", "", map[string]any{"title": "x", "body": "y", "version": 3}, 400, codeInvalidReport)

	var a, b, c reportView
	tt.ok(clerk(), "POST", "/reports", "", work("县政府办召开政务公开推进会"), 201, &a)
	tt.ok(clerk(), "POST", "/reports", "", work("县政府办开展督查"), 201, &b)
	tt.ok(otherUnitAdmin(), "POST", "/reports", "", work("民政局发放救助金"), 201, &c)
	if a.UnitID != 20 || a.Status != reportSubmitted || a.SubmittedBy != "clerk20" || c.UnitID != 30 {
		t.Fatalf("submitted: %+v %+v", a, c)
	}
	// The unit edits its own until graded; another unit does not see it.
	edit := work("县政府办召开2026年政务公开推进会")
	edit["version"] = a.Version
	tt.ok(unitAdmin(), "PUT", "/reports/"+a.ID, "", edit, 200, &a)
	tt.fails(otherUnitAdmin(), "PUT", "/reports/"+a.ID, "", edit, 404, codeReportNotFound)
	tt.fails(otherUnitAdmin(), "GET", "/reports/"+a.ID, "", nil, 404, codeReportNotFound)

	// An attachment through the host's files.
	tt.fails(clerk(), "POST", "/reports/"+a.ID+"/files", "", map[string]any{"name": "照片.gif", "content_type": "image/gif", "size": 10}, 415, codeFileTypeRefused)
	tt.fails(clerk(), "POST", "/reports/"+a.ID+"/files", "", map[string]any{"name": "照片.jpg", "content_type": "image/jpeg", "size": 1 << 40}, 413, codeFileTooLarge)
	var added struct {
		File   reportFile `json:"file"`
		Upload uploadView `json:"upload"`
		Report reportView `json:"report"`
	}
	tt.ok(clerk(), "POST", "/reports/"+a.ID+"/files", "", map[string]any{"name": "会议照片.jpg", "content_type": "image/jpeg", "size": 2048}, 201, &added)
	tt.fails(clerk(), "POST", "/reports/"+a.ID+"/files", "", map[string]any{"name": "二.jpg", "content_type": "image/jpeg", "size": 2048}, 409, codeTooManyFiles)
	tt.fails(clerk(), "GET", "/reports/"+a.ID+"/files/"+added.File.FileID, "", nil, 409, codeFileNotReady)
	tt.host.Arrive(t, added.File.FileID)
	tt.ok(officeStaff(), "GET", "/reports/"+a.ID+"/files/"+added.File.FileID, "", nil, 200, nil)
	a = added.Report

	// Grading: not the unit itself, not a clerk of the office's unit,
	// not an operator.
	clerk40 := sdk.Caller{Kind: sdk.CallerAccount, Login: "clerk40", AccountID: 7, UnitID: 40, Roles: []string{"clerk"}}
	for _, who := range []sdk.Caller{unitAdmin(), businessAdmin()} {
		tt.fails(who, "POST", "/reports/"+a.ID+"/grade", "", map[string]any{"version": a.Version, "use": usePortal}, 403, codeForbidden)
	}
	// A clerk of the office's unit is no grader, nor reads another unit's.
	tt.fails(clerk40, "POST", "/reports/"+a.ID+"/grade", "", map[string]any{"version": a.Version, "use": usePortal}, 404, codeReportNotFound)
	tt.fails(operator(), "POST", "/reports/"+a.ID+"/grade", "", map[string]any{"version": a.Version, "use": usePortal}, 403, codeForbidden)
	tt.fails(officeStaff(), "POST", "/reports/"+a.ID+"/grade", "", map[string]any{"version": a.Version, "use": "newspaper"}, 400, codeInvalidReport)
	tt.fails(officeStaff(), "POST", "/reports/"+a.ID+"/grade", "", map[string]any{"version": a.Version - 1, "use": usePortal}, 409, codeVersionConflict)
	tt.ok(officeStaff(), "POST", "/reports/"+a.ID+"/grade", "", map[string]any{"version": a.Version, "use": usePortal}, 200, &a)
	if a.Status != reportGraded || a.Use != usePortal || a.UseZH != "门户网站" || a.GradedBy != "ba40" {
		t.Fatalf("graded: %+v", a)
	}
	// Closed: grading again, rejecting, editing, adding files.
	version := func() int64 {
		t.Helper()
		r, err := tt.host.Get(t.Context(), collReports, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		return r.Version
	}
	before := version()
	tt.fails(countyAdmin(), "POST", "/reports/"+a.ID+"/grade", "", map[string]any{"version": a.Version, "use": useLeaders}, 409, codeReportClosed)
	tt.fails(countyAdmin(), "POST", "/reports/"+a.ID+"/reject", "", map[string]any{"version": a.Version, "reason": "重复"}, 409, codeReportClosed)
	edit["version"] = a.Version
	tt.fails(clerk(), "PUT", "/reports/"+a.ID, "", edit, 409, codeReportClosed)
	tt.fails(clerk(), "POST", "/reports/"+a.ID+"/files", "", map[string]any{"name": "x.pdf", "content_type": "application/pdf", "size": 5}, 409, codeReportClosed)
	if after := version(); after != before {
		t.Fatalf("a refused change moved the report from version %d to %d", before, after)
	}

	tt.ok(countyAdmin(), "POST", "/reports/"+c.ID+"/grade", "", map[string]any{"version": c.Version, "use": useLeaders}, 200, &c)
	tt.fails(officeStaff(), "POST", "/reports/"+b.ID+"/reject", "", map[string]any{"version": b.Version}, 400, codeInvalidReport)
	tt.ok(officeStaff(), "POST", "/reports/"+b.ID+"/reject", "", map[string]any{"version": b.Version, "reason": "内容与上期重复。"}, 200, &b)
	if b.Status != reportRejected || b.Reason != "内容与上期重复。" {
		t.Fatalf("rejected: %+v", b)
	}

	// Lists: the office sees every unit's; a unit its own.
	var list struct {
		Reports []reportView `json:"reports"`
	}
	tt.ok(officeStaff(), "GET", "/reports", "status=graded", nil, 200, &list)
	if len(list.Reports) != 2 {
		t.Fatalf("the office's graded: %+v", list)
	}
	tt.ok(clerk(), "GET", "/reports", "", nil, 200, &list)
	if len(list.Reports) != 2 || list.Reports[0].UnitID != 20 || list.Reports[1].UnitID != 20 {
		t.Fatalf("the unit's: %+v", list)
	}
	tt.fails(clerk(), "GET", "/reports", "unit=30", nil, 403, codeForbidden)
	tt.fails(clerk(), "GET", "/reports", "use=newspaper", nil, 400, codeInvalidQuery)

	// The public sees the portal's only.
	var public struct {
		Reports []publicReportView `json:"reports"`
	}
	tt.ok(anonymous(), "GET", "/public/reports", "", nil, 200, &public)
	if len(public.Reports) != 1 || public.Reports[0].ID != a.ID || public.Reports[0].Body != "" {
		t.Fatalf("the public list: %+v", public)
	}
	var one publicReportView
	tt.ok(anonymous(), "GET", "/public/reports/"+a.ID, "", nil, 200, &one)
	if !strings.Contains(one.Title, "推进会") || one.Body == "" || len(one.Files) != 1 || one.Files[0] != "会议照片.jpg" {
		t.Fatalf("the public report: %+v", one)
	}
	for _, id := range []string{b.ID, c.ID, "nothing"} {
		tt.fails(anonymous(), "GET", "/public/reports/"+id, "", nil, 404, codeNotFound)
	}

	for _, f := range []struct {
		measure string
		unit    int64
		want    int64
	}{
		{measureSubmitted, 20, 2}, {measureSubmitted, 30, 1},
		{measureAdopted + usePortal, 20, 1}, {measureAdopted + useLeaders, 30, 1}, {measureAdopted + useBulletin, 20, 0},
		{measureRejected, 20, 1}, {measureAdopted + usePortal, 40, 0},
	} {
		if got := tt.host.Measured(f.measure, f.unit, day); got != f.want {
			t.Errorf("%s of unit %d: %d, want %d", f.measure, f.unit, got, f.want)
		}
	}
	// A retry of a count adds nothing.
	call := &call{ctx: t.Context(), host: tt.host, log: tt.m.log, req: &sdk.Request{}, now: tt.clock()}
	call.count(measureAdopted+usePortal, 20, "adopted:"+a.ID)
	if got := tt.host.Measured(measureAdopted+usePortal, 20, day); got != 1 {
		t.Fatalf("a retried count: %d", got)
	}
}

// TestTheCountyOfficeIsWhomTheSettingsName: without office_unit_id only
// the county's admins grade; with it, that unit's admins grade too, their
// own unit's reports included, as the county office.
func TestTheCountyOfficeIsWhomTheSettingsName(t *testing.T) {
	tt := newTester(t)
	var own, other reportView
	tt.ok(officeStaff(), "POST", "/reports", "", work("财政局预算公开"), 201, &own)
	tt.ok(clerk(), "POST", "/reports", "", work("县政府办督查"), 201, &other)
	tt.fails(officeStaff(), "POST", "/reports/"+own.ID+"/grade", "", map[string]any{"version": own.Version, "use": useBulletin}, 403, codeForbidden)
	tt.fails(officeStaff(), "GET", "/reports/"+other.ID, "", nil, 404, codeReportNotFound)
	tt.fails(officeStaff(), "GET", "/index", "", nil, 403, codeForbidden)

	tt.settings = json.RawMessage(`{"office_unit_id": 40}`)
	tt.ok(officeStaff(), "POST", "/reports/"+own.ID+"/grade", "", map[string]any{"version": own.Version, "use": useBulletin}, 200, nil)
	tt.ok(officeStaff(), "POST", "/reports/"+other.ID+"/grade", "", map[string]any{"version": other.Version, "use": useLeaders}, 200, nil)
	if got := tt.host.Measured(measureAdopted+useBulletin, 40, "2026-06-05"); got != 1 {
		t.Fatalf("the office's own adopted: %d", got)
	}
}
