package approval

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

// excelizeRows reads the first sheet as the import did before it read
// the sheet itself: the reference its reader is held to.
func excelizeRows(data []byte) ([][]string, error) {
	f, err := excelize.OpenReader(bytes.NewReader(data), excelize.Options{UnzipSizeLimit: maxUnzipped, UnzipXMLSizeLimit: maxUnzippedXML, RawCellValue: true})
	if err != nil {
		return nil, err
	}
	defer f.Close()
	it, err := f.Rows(f.GetSheetList()[0])
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var rows [][]string
	for it.Next() {
		cells, err := it.Columns()
		if err != nil {
			return nil, err
		}
		rows = append(rows, cells)
	}
	return rows, it.Error()
}

// trimmed is rows without their trailing blank cells (excelize keeps a
// formula's blank value).
func trimmed(rows [][]string) [][]string {
	out := make([][]string, len(rows))
	for i, r := range rows {
		for len(r) > 0 && r[len(r)-1] == "" {
			r = r[:len(r)-1]
		}
		out[i] = r
	}
	return out
}

// packageOf is a workbook of one sheet, its parts as given: the sheet's
// XML inside <sheetData>, and the shared strings' <si>s (no table if
// empty).
func packageOf(t testing.TB, sheetData, sharedStrings string) []byte {
	t.Helper()
	parts := map[string]string{
		"[Content_Types].xml": `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
			`<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>` +
			`<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>` +
			`<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>` +
			`<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>`,
		"_rels/.rels": `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
			`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>`,
		"xl/workbook.xml": `<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">` +
			`<sheets><sheet name="事项目录" sheetId="1" r:id="rId1"/></sheets></workbook>`,
		"xl/_rels/workbook.xml.rels": `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
			`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>` +
			`<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>`,
		"xl/worksheets/sheet1.xml": `<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>` +
			sheetData + `</sheetData></worksheet>`,
	}
	if sharedStrings != "" {
		parts["xl/sharedStrings.xml"] = `<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">` + sharedStrings + `</sst>`
	}
	var buf bytes.Buffer
	z := zip.NewWriter(&buf)
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for name := range parts {
			if !yield(name) {
				return
			}
		}
	}) {
		w, err := z.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(parts[name])); err != nil {
			t.Fatal(err)
		}
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// sheetCases are workbooks the sheet's reader and excelize must read
// alike: as excelize and people's spreadsheets write them, and the ways
// the format allows a cell to be stored.
func sheetCases(t testing.TB) map[string][]byte {
	t.Helper()
	richText := excelize.NewFile()
	defer richText.Close()
	if err := richText.SetCellRichText("Sheet1", "B3", []excelize.RichTextRun{{Text: "发改局"}, {Text: ":5", Font: &excelize.Font{Bold: true}}}); err != nil {
		t.Fatal(err)
	}
	if err := richText.SetCellValue("Sheet1", "D3", 3.5); err != nil {
		t.Fatal(err)
	}
	if err := richText.SetCellValue("Sheet1", "E3", true); err != nil {
		t.Fatal(err)
	}
	if err := richText.SetCellFormula("Sheet1", "F4", "1+1"); err != nil {
		t.Fatal(err)
	}
	withRichText, err := richText.WriteToBuffer()
	if err != nil {
		t.Fatal(err)
	}
	export, err := writeWorkbook([]item{{Code: "XK-001", Name: "=备案", Category: categoryLicence, UnitID: 20, Departments: []department{{20, 2}, {30, 3}},
		Materials: []material{{Name: "营业执照", Original: true}}, PromisedDays: 5, StatutoryDays: 20, Fees: " 不收费 "}}, map[int64]string{20: "发改局", 30: "住建局"}, false)
	if err != nil {
		t.Fatal(err)
	}
	template, err := writeWorkbook(nil, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	return map[string][]byte{
		"shared strings":  workbookOf(t, header(), row("XK-001", nil), row("XK-002", map[string]string{colFees: "  两端空格 \n"})),
		"an export":       export,
		"a template":      template,
		"a stream's rows": benchWorkbook(t, 20),
		"rich text, numbers, booleans and formulas": withRichText.Bytes(),
		"inline strings, runs and phonetic guides": packageOf(t,
			`<row r="1"><c r="A1" t="inlineStr"><is><t xml:space="preserve"> 事项 </t></is></c><c r="B1" t="inlineStr"><is><r><rPr><b/></rPr><t>发改</t></r><r><t>局</t></r><rPh sb="0" eb="1"><t>ふ</t></rPh></is></c></row>`+
				`<row r="4" spans="1:3"><c r="C4" t="s"><v> 1 </v></c><c r="D4" t="b"><v>1</v></c><c r="E4" t="e"><v>#N/A</v></c><c r="F4" t="str"><f>A1</f><v>_x0041_</v></c><c r="G4" t="n"><v>1.50</v></c><c r="H4"><v><![CDATA[1]]><!-- 注 -->2</v></c></row>`+
				`<row><c t="s"><v>0</v></c><c r="c5" t="s"><v>2</v></c><c/><c t="d"><v>2026-12-07T00:00:00</v></c></row>`,
			`<si><t>_x005F_x0041_ and _x000D_&amp;&lt;</t></si><si><r><t>一</t></r><r><t xml:space="preserve"> 二</t></r></si><si><t><![CDATA[<三>]]></t><rPh><t>さん</t></rPh></si>`),
		"no shared strings": packageOf(t, `<row r="2"><c r="B2"><v>7</v></c></row><row r="3"/>`, ""),
		"namespaced":        packageOf(t, `<x:row xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main" r="1"><x:c r="A1" t="inlineStr"><x:is><x:t>甲</x:t></x:is></x:c></x:row>`, ""),
	}
}

// benchWorkbook is a workbook of n complete items written as the
// import's benchmark writes its own, by excelize's stream writer.
func benchWorkbook(t testing.TB, n int) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	sw, err := f.NewStreamWriter("Sheet1")
	if err != nil {
		t.Fatal(err)
	}
	for r := range n + 1 {
		cells := header()
		if r > 0 {
			cells = row(fmt.Sprintf("XK-%05d", r), map[string]string{colDepartments: "发改局:2；住建局:3", colConditions: fmt.Sprintf("在本县投资建设的项目（编号%d），符合控制性详细规划和规划条件。", r)})
		}
		values := make([]any, len(cells))
		for i, c := range cells {
			values[i] = c
		}
		name, _ := excelize.CoordinatesToCellName(1, r+1)
		if err := sw.SetRow(name, values); err != nil {
			t.Fatal(err)
		}
	}
	if err := sw.Flush(); err != nil {
		t.Fatal(err)
	}
	buf, err := f.WriteToBuffer()
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestTheSheetIsReadAsExcelizeReadsIt(t *testing.T) {
	t.Parallel()
	for name, data := range sheetCases(t) {
		got, err := readWorkbook(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want, err := excelizeRows(data)
		if err != nil {
			t.Fatalf("%s: excelize: %v", name, err)
		}
		if fmt.Sprintf("%q", trimmed(got)) != fmt.Sprintf("%q", trimmed(want)) {
			t.Errorf("%s:\n got %q\nwant %q", name, got, want)
		}
	}
}

// zipOf is a zip of one part, name, that says it unzips to size bytes
// (archive/zip refuses to inflate past what a part says).
func zipOf(t *testing.T, name string, size uint64) []byte {
	t.Helper()
	var buf bytes.Buffer
	z := zip.NewWriter(&buf)
	w, err := z.CreateRaw(&zip.FileHeader{Name: name, Method: zip.Store, CompressedSize64: 1, UncompressedSize64: size})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("<")); err != nil {
		t.Fatal(err)
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestASheetPastItsBoundsOrNotAsTheFormatSaysIsRefused(t *testing.T) {
	t.Parallel()
	wide := strings.Repeat(`<row><c r="XFD1" t="inlineStr"><is><t>x</t></is></c></row>`, maxSheetCells/maxSheetColumn+1)
	cases := map[string]struct {
		file   []byte
		status int
		code   string
	}{
		"a zip bomb":                    {zipOf(t, "xl/worksheets/sheet1.xml", maxUnzipped+1), http.StatusBadRequest, codeWorkbookUnreadable},
		"a row past the last item":      {packageOf(t, fmt.Sprintf(`<row r="%d"/>`, maxImportRows+2), ""), http.StatusRequestEntityTooLarge, codeWorkbookTooLarge},
		"a row past a sheet's last":     {packageOf(t, `<row r="1048577"/>`, ""), http.StatusBadRequest, codeWorkbookUnreadable},
		"rows of cells far right":       {packageOf(t, wide, ""), http.StatusRequestEntityTooLarge, codeWorkbookTooLarge},
		"a column past a sheet's last":  {packageOf(t, `<row><c r="XFE1"><v>1</v></c></row>`, ""), http.StatusBadRequest, codeWorkbookUnreadable},
		"a reference of no cell":        {packageOf(t, `<row><c r="A0"><v>1</v></c></row>`, ""), http.StatusBadRequest, codeWorkbookUnreadable},
		"a cell left of the one before": {packageOf(t, `<row><c r="B1"><v>1</v></c><c r="A1"><v>1</v></c></row>`, ""), http.StatusBadRequest, codeWorkbookUnreadable},
		"a row above the one before":    {packageOf(t, `<row r="3"/><row r="2"/>`, ""), http.StatusBadRequest, codeWorkbookUnreadable},
		"a shared string not there":     {packageOf(t, `<row><c t="s"><v>1</v></c></row>`, `<si><t>a</t></si>`), http.StatusBadRequest, codeWorkbookUnreadable},
		"broken XML":                    {packageOf(t, `<row><c><v>1</c></row`, ""), http.StatusBadRequest, codeWorkbookUnreadable},
		"an end of another element":     {packageOf(t, `<row><c><v>1</x></c></row>`, ""), http.StatusBadRequest, codeWorkbookUnreadable},
		"elements nested too deep":      {packageOf(t, strings.Repeat("<a>", maxXMLDepth)+strings.Repeat("</a>", maxXMLDepth), ""), http.StatusBadRequest, codeWorkbookUnreadable},
		"an end of no element":          {packageOf(t, `</A><row><c><v>1</v></c></row>`, ""), http.StatusBadRequest, codeWorkbookUnreadable},
		"a workbook not XML":            {zipOf(t, "xl/workbook.xml", 1), http.StatusBadRequest, codeWorkbookUnreadable},
		"a part of 2⁶⁴ bytes":           {zipOf(t, "xl/styles.xml", 1<<64-1), http.StatusBadRequest, codeWorkbookUnreadable},
	}
	for name, c := range cases {
		_, err := readWorkbook(c.file)
		var refused *apiError
		if !errors.As(err, &refused) || refused.status != c.status || refused.code != c.code {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// FuzzReadSheet: whatever a workbook's sheet and shared strings hold,
// the reader either refuses it with a workbook's error or reads it
// within its bounds, and as excelize reads it when it reads it too.
func FuzzReadSheet(f *testing.F) {
	f.Add(`<row r="1"><c r="A1" t="inlineStr"><is><t xml:space="preserve"> a </t></is></c><c r="C1" t="s"><v>0</v></c></row><row r="3"><c t="b"><v>1</v></c></row>`, `<si><r><t>一</t></r><r><t>二</t></r><rPh><t>x</t></rPh></si>`)
	f.Add(`<row><c r="B1" t="s"><v>1</v></c><c t="n"><v>1.5</v></c></row>`, `<si><t>_x000D_</t></si><si><t>b</t></si>`)
	f.Add(`<row r="2"/><row><c r="AA3"><f>1+1</f></c></row>`, "")
	f.Fuzz(func(t *testing.T, sheetData, sharedStrings string) {
		data := packageOf(t, sheetData, sharedStrings)
		rows, err := readWorkbook(data)
		var refused *apiError
		if err != nil {
			if !errors.As(err, &refused) || (refused.code != codeWorkbookUnreadable && refused.code != codeWorkbookTooLarge) {
				t.Fatalf("refused with %v", err)
			}
			return
		}
		if len(rows) > maxImportRows+1 {
			t.Fatalf("%d rows", len(rows))
		}
		for _, r := range rows {
			if len(r) > maxSheetColumn {
				t.Fatalf("a row of %d cells", len(r))
			}
		}
		if want, err := excelizeRows(data); err == nil && fmt.Sprintf("%q", trimmed(rows)) != fmt.Sprintf("%q", trimmed(want)) {
			t.Fatalf("got %q\nwant %q", rows, want)
		}
	})
}

// BenchmarkReadingAWorkbook reads a workbook of 5,000 items, as the
// import's benchmark writes it, with the import's reader and excelize's.
func BenchmarkReadingAWorkbook(b *testing.B) {
	data := benchWorkbook(b, 5000)
	for name, read := range map[string]func([]byte) ([][]string, error){"reader": readWorkbook, "excelize": excelizeRows} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				if _, err := read(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
