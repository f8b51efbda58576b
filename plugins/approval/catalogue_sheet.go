package approval

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Reading a workbook's first sheet. An import spends most of its CPU
// here, and excelize decodes every cell with encoding/xml's reflection
// (and holds the whole unzipped package), so the cells are read token
// by token instead, streaming the sheet from the zip.
// What is kept is bounded past the unzipped size: shared strings, the
// sheet's rows and the cells they hold, blanks between them included,
// and the elements open at once (a spreadsheet's nest a handful deep).
const (
	maxSharedStrings = 1 << 20
	maxSheetCells    = 1 << 21
	maxXMLDepth      = 64
	// The largest column (XFD) and row a spreadsheet has.
	maxSheetColumn = 16384
	maxSheetRow    = 1 << 20
)

// errUnreadable marks what makes a part of the workbook unreadable.
var errUnreadable = errors.New("not as a workbook holds it")

// readWorkbook reads the cells of the workbook's first sheet as text,
// as stored, not as their number format shows them (a limit formatted
// 0.00 reads 3, not 3.00): shared and inline strings with their rich
// text runs, numbers, booleans (1 and 0) and formulas' last values.
// A row's trailing blank cells are left out, and the rows the sheet
// leaves out are there, blank, so that rows keep their numbers.
func readWorkbook(data []byte) ([][]string, error) {
	if !bytes.HasPrefix(data, []byte("PK\x03\x04")) {
		return nil, badRequest(codeWorkbookUnreadable, "the file is not an XLSX workbook; save it from Excel or WPS as .xlsx")
	}
	pkg, err := openPackage(data)
	if err != nil {
		return nil, badRequest(codeWorkbookUnreadable, "the workbook cannot be read: %v", err)
	}
	wbPath := pkg.officeDocument()
	sheetName, sheetID, err := firstSheet(pkg, wbPath)
	if err != nil {
		return nil, badRequest(codeWorkbookUnreadable, "the workbook cannot be read: %v", err)
	}
	if sheetID == "" {
		return nil, badRequest(codeWorkbookUnreadable, "the workbook has no sheet")
	}
	rels, err := readRelationships(pkg, path.Join(path.Dir(wbPath), "_rels", path.Base(wbPath)+".rels"))
	if err != nil {
		return nil, badRequest(codeWorkbookUnreadable, "the workbook cannot be read: %v", err)
	}
	sheetPath, stringsPath := "", "xl/sharedStrings.xml"
	for _, r := range rels {
		switch {
		case r.id == sheetID:
			sheetPath = partPath(wbPath, r.target)
		case strings.HasSuffix(r.kind, "/sharedStrings"):
			stringsPath = partPath(wbPath, r.target)
		}
	}
	if sheetPath == "" || pkg.part(sheetPath) == nil {
		return nil, badRequest(codeWorkbookUnreadable, "sheet %s cannot be read: the workbook does not hold it", sheetName)
	}
	shared, err := readSharedStrings(pkg, stringsPath)
	if err != nil {
		return nil, err
	}
	return readSheet(pkg, sheetPath, sheetName, shared)
}

// xlsxPackage is a workbook's zip, its parts by their names in lower
// case (as the names in the package's relationships are matched).
type xlsxPackage map[string]*zip.File

// openPackage opens data's zip, refusing one that says it unzips past
// maxUnzipped: archive/zip refuses a part that inflates past what it
// says, so the sum of the sizes bounds what can be read.
func openPackage(data []byte) (xlsxPackage, error) {
	z, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, err
	}
	pkg := make(xlsxPackage, len(z.File))
	var unzipped uint64
	for _, f := range z.File {
		if f.UncompressedSize64 > maxUnzipped-unzipped {
			return nil, fmt.Errorf("it unzips to more than %d MiB", maxUnzipped>>20)
		}
		unzipped += f.UncompressedSize64
		pkg[strings.ToLower(strings.ReplaceAll(f.Name, `\`, "/"))] = f
	}
	return pkg, nil
}

func (p xlsxPackage) part(name string) *zip.File {
	return p[strings.ToLower(strings.TrimPrefix(name, "/"))]
}

// officeDocument is the path of the workbook's part, as the package's
// relationships name it.
func (p xlsxPackage) officeDocument() string {
	rels, err := readRelationships(p, "_rels/.rels")
	if err == nil {
		for _, r := range rels {
			if strings.HasSuffix(r.kind, "/officeDocument") {
				return strings.TrimPrefix(r.target, "/")
			}
		}
	}
	return "xl/workbook.xml"
}

// partPath is the path of a relationship's target from the workbook's
// part: absolute, or relative to the workbook's folder.
func partPath(wbPath, target string) string {
	if strings.HasPrefix(target, "/") {
		return strings.TrimPrefix(target, "/")
	}
	return path.Join(path.Dir(wbPath), target)
}

// xmlPart is a part of the package being read token by token. The
// decoder's raw tokens are read, which skip its namespace bookkeeping
// (elements are told by their local names, whatever prefix a producer
// gives them), and open holds the elements open, so that an end that
// is not theirs is refused as Token would.
type xmlPart struct {
	d    *xml.Decoder
	open []xml.Name
	io.Closer
}

// token is the part's next token; io.EOF at its end.
func (x *xmlPart) token() (xml.Token, error) {
	tok, err := x.d.RawToken()
	if errors.Is(err, io.EOF) && len(x.open) > 0 {
		return nil, fmt.Errorf("the part ends inside <%s>", x.open[len(x.open)-1].Local)
	}
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case xml.StartElement:
		if len(x.open) == maxXMLDepth {
			return nil, fmt.Errorf("elements nest over %d deep", maxXMLDepth)
		}
		x.open = append(x.open, t.Name)
	case xml.EndElement:
		if len(x.open) == 0 || x.open[len(x.open)-1] != t.Name {
			return nil, fmt.Errorf("</%s> closes no element open", t.Name.Local)
		}
		x.open = x.open[:len(x.open)-1]
	}
	return tok, nil
}

// open starts reading the part at name; a part the package lacks is
// nil, and no error.
func (p xlsxPackage) open(name string) (*xmlPart, error) {
	f := p.part(name)
	if f == nil {
		return nil, nil
	}
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	return &xmlPart{d: xml.NewDecoder(bufio.NewReaderSize(rc, 64<<10)), Closer: rc}, nil
}

// next is the next start element of the part, io.EOF at its end (of
// the part, or of a sheet's data).
func (x *xmlPart) next() (xml.StartElement, error) {
	for {
		tok, err := x.token()
		if err != nil {
			return xml.StartElement{}, err
		}
		if start, ok := tok.(xml.StartElement); ok {
			return start, nil
		}
		if end, ok := tok.(xml.EndElement); ok && end.Name.Local == "sheetData" {
			return xml.StartElement{}, io.EOF
		}
	}
}

func attr(start xml.StartElement, local string) string {
	for _, a := range start.Attr {
		if a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}

// relationship is one of a part's relationships: its id, type and target.
type relationship struct {
	id, kind, target string
}

// each calls take with the part's start elements in turn, until it
// says it has what it wanted or the part ends.
func (x *xmlPart) each(name string, take func(xml.StartElement) (done bool)) error {
	defer x.Close()
	for {
		start, err := x.next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if take(start) {
			return nil
		}
	}
}

// readRelationships reads the relationships at name; none if the
// package lacks the part.
func readRelationships(p xlsxPackage, name string) ([]relationship, error) {
	x, err := p.open(name)
	if x == nil || err != nil {
		return nil, err
	}
	var rels []relationship
	err = x.each(name, func(start xml.StartElement) bool {
		if start.Name.Local == "Relationship" {
			rels = append(rels, relationship{id: attr(start, "Id"), kind: attr(start, "Type"), target: attr(start, "Target")})
		}
		return false
	})
	return rels, err
}

// firstSheet is the name and relationship id of the workbook's first
// sheet; no id if it has none.
func firstSheet(p xlsxPackage, wbPath string) (name, id string, err error) {
	x, err := p.open(wbPath)
	if x == nil || err != nil {
		return "", "", err
	}
	err = x.each(wbPath, func(start xml.StartElement) bool {
		if start.Name.Local == "sheet" {
			name, id = attr(start, "name"), attr(start, "id")
			return true
		}
		return false
	})
	return name, id, err
}

// readSharedStrings reads the workbook's table of shared strings, none
// if it has no table.
func readSharedStrings(p xlsxPackage, name string) ([]string, error) {
	x, err := p.open(name)
	if err != nil {
		return nil, badRequest(codeWorkbookUnreadable, "the workbook cannot be read: %v", err)
	}
	if x == nil {
		return nil, nil
	}
	defer x.Close()
	var shared []string
	for {
		start, err := x.next()
		if errors.Is(err, io.EOF) {
			return shared, nil
		}
		if err != nil {
			return nil, badRequest(codeWorkbookUnreadable, "the workbook's shared strings cannot be read: %v", err)
		}
		if start.Name.Local != "si" {
			continue
		}
		if len(shared) == maxSharedStrings {
			return nil, newError(http.StatusRequestEntityTooLarge, codeWorkbookTooLarge, "the workbook has more than %d distinct texts; split it", maxSharedStrings)
		}
		s, err := richText(x)
		if err != nil {
			return nil, badRequest(codeWorkbookUnreadable, "the workbook's shared strings cannot be read: %v", err)
		}
		shared = append(shared, s)
	}
}

// richText reads the text of the <si> or <is> element just started:
// its <t>, and its runs' (<r><t>), not its phonetic guides' (<rPh>).
// The text is as stored, spaces and line breaks kept whatever xml:space
// says, with the escapes of characters XML cannot hold undone.
func richText(x *xmlPart) (string, error) {
	var (
		b                 strings.Builder
		depth, inPhonetic = 1, 0
		inText            bool
	)
	for depth > 0 {
		tok, err := x.token()
		if err != nil {
			return "", err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			switch t.Name.Local {
			case "t":
				inText = inPhonetic == 0
			case "rPh":
				if inPhonetic == 0 {
					inPhonetic = depth
				}
			}
		case xml.EndElement:
			if t.Name.Local == "t" {
				inText = false
			}
			if depth == inPhonetic {
				inPhonetic = 0
			}
			depth--
		case xml.CharData:
			if inText {
				b.Write(t)
			}
		}
	}
	return unescapeBasicString(b.String()), nil
}

// unescapeBasicString undoes the escapes _xHHHH_ by which a workbook
// stores characters XML 1.0 cannot hold (a literal "_x" is _x005F_x),
// as Excel and excelize read them: an escape of no character (a lone
// surrogate) is dropped.
func unescapeBasicString(s string) string {
	if !strings.Contains(s, "_x") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if code, ok := basicEscape(s[i:]); ok {
			if r := rune(code); utf8.ValidRune(r) {
				b.WriteRune(r)
			}
			i += len("_xHHHH_")
			continue
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}

// basicEscape is the code of the escape _xHHHH_ that s begins with.
func basicEscape(s string) (uint64, bool) {
	if len(s) < len("_xHHHH_") || s[0] != '_' || s[1] != 'x' || s[6] != '_' {
		return 0, false
	}
	code, err := strconv.ParseUint(s[2:6], 16, 32)
	return code, err == nil
}

// readSheet reads the rows of the sheet at name.
func readSheet(p xlsxPackage, name, sheet string, shared []string) ([][]string, error) {
	unreadable := func(format string, args ...any) error {
		return badRequest(codeWorkbookUnreadable, "sheet %s cannot be read: %s", sheet, fmt.Sprintf(format, args...))
	}
	x, err := p.open(name)
	if err != nil {
		return nil, unreadable("%v", err)
	}
	defer x.Close()
	var (
		rows        [][]string
		inSheetData bool
		column      int
		cells       int
	)
	for {
		start, err := x.next()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			return nil, unreadable("%v", err)
		}
		switch start.Name.Local {
		case "sheetData":
			inSheetData = true
		case "row":
			if !inSheetData {
				continue
			}
			n := len(rows) + 1
			if r := attr(start, "r"); r != "" {
				if n, err = strconv.Atoi(r); err != nil || n <= len(rows) || n > maxSheetRow {
					return nil, badRequest(codeWorkbookUnreadable, "row %d cannot be read: %q is not the number of a row below it", len(rows)+1, r)
				}
			}
			if n > maxImportRows+1 {
				return nil, newError(http.StatusRequestEntityTooLarge, codeWorkbookTooLarge, "the workbook has more than %d items; split it", maxImportRows)
			}
			rows = append(rows, make([][]string, n-len(rows))...)
			column = 0
		case "c":
			if !inSheetData || len(rows) == 0 {
				continue
			}
			n := len(rows)
			at := column + 1
			if ref := attr(start, "r"); ref != "" {
				if at = cellColumn(ref); at <= column {
					return nil, badRequest(codeWorkbookUnreadable, "row %d cannot be read: cell %q is not a cell right of the one before it", n, ref)
				}
			}
			column = at
			v, err := cellValue(x, attr(start, "t"), shared)
			if err != nil {
				return nil, badRequest(codeWorkbookUnreadable, "row %d cannot be read: %v", n, err)
			}
			if v == "" {
				continue
			}
			if cells += at - len(rows[n-1]); cells > maxSheetCells {
				return nil, newError(http.StatusRequestEntityTooLarge, codeWorkbookTooLarge, "the sheet has more than %d cells; split it", maxSheetCells)
			}
			row := append(rows[n-1], make([]string, at-1-len(rows[n-1]))...)
			rows[n-1] = append(row, v)
		}
	}
}

// cellColumn is the column of a cell's reference (C of C5), 0 if ref is
// not a cell's reference.
func cellColumn(ref string) int {
	column, i := 0, 0
	for ; i < len(ref); i++ {
		c := ref[i] | 0x20
		if c < 'a' || c > 'z' {
			break
		}
		if column = column*26 + int(c-'a') + 1; column > maxSheetColumn {
			return 0
		}
	}
	if column == 0 || i == len(ref) || ref[i] < '1' || ref[i] > '9' {
		return 0
	}
	if row, err := strconv.Atoi(ref[i:]); err != nil || row > maxSheetRow {
		return 0
	}
	return column
}

// cellValue reads the value of the <c> element just started, of type t.
func cellValue(x *xmlPart, t string, shared []string) (string, error) {
	var (
		value     []byte
		inline    string
		hasInline bool
		inValue   bool
	)
	for depth := 1; depth > 0; {
		tok, err := x.token()
		if err != nil {
			return "", err
		}
		switch e := tok.(type) {
		case xml.StartElement:
			switch {
			case depth == 1 && e.Name.Local == "is":
				if inline, err = richText(x); err != nil {
					return "", err
				}
				hasInline = true
				continue
			case depth == 1 && e.Name.Local == "v":
				inValue = true
			}
			depth++
		case xml.EndElement:
			inValue = false
			depth--
		case xml.CharData:
			if inValue {
				value = append(value, e...)
			}
		}
	}
	switch t {
	case "s":
		if len(value) == 0 {
			return "", nil
		}
		i, err := strconv.Atoi(strings.TrimSpace(string(value)))
		if err != nil || i < 0 || i >= len(shared) {
			return "", fmt.Errorf("shared string %q: %w", value, errUnreadable)
		}
		return shared[i], nil
	case "inlineStr":
		if hasInline {
			return inline, nil
		}
	}
	return string(value), nil
}
