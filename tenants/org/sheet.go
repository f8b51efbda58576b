package org

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/spreadsheet"
)

// RowError is one problem of an imported file: its row (the header is row
// 1) and column, a stable code and a message.
type RowError struct {
	Row     int    `json:"row"`
	Column  string `json:"column,omitempty"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// emptyOrInvalid is the code of a cell a name could not be taken from:
// left empty, or holding what no name may (an invisible or reordering
// character, say).
func emptyOrInvalid(cell string) string {
	if strings.TrimSpace(cell) == "" {
		return RowRequired
	}
	return RowInvalid
}

// Row error codes.
const (
	RowUndecodable   = "undecodable"
	RowMalformed     = "malformed"
	RowMissingColumn = "missing_column"
	RowRequired      = "required"
	RowInvalid       = "invalid"
	RowDuplicate     = "duplicate"
	RowConflict      = "conflict"
	RowUnknownParent = "unknown_parent"
	RowUnknownRole   = "unknown_role"
	RowReservedRole  = "reserved_role"
	RowCycle         = "cycle"
	RowQuota         = "quota_exceeded"
)

// column is a column of the staffing-office file: its field and the
// headers offices write for it. The first header is the template's.
type column struct {
	field    string
	headers  []string
	required bool
	help     string
}

// Fields of a file row.
const (
	colUnit     = "unit"
	colParent   = "parent"
	colUnitCode = "unit_code"
	colSort     = "sort"
	colQuota    = "quota"
	colName     = "name"
	colLogin    = "login"
	colRoles    = "roles"
	colMobile   = "mobile"
	colEmail    = "email"
)

var columns = []column{
	{colUnit, []string{"单位名称", "单位"}, true, "账号所在单位（部门）的名称"},
	{colParent, []string{"上级单位", "上级单位名称"}, false, "上级单位名称；顶级单位留空"},
	{colUnitCode, []string{"单位编码", "单位代码"}, false, "单位编码，可不填"},
	{colSort, []string{"排序", "单位排序"}, false, "单位在同级单位中的排序，整数"},
	{colQuota, []string{"账号限额", "账号数限额"}, false, "单位可开通的账号数上限；留空表示不限"},
	{colName, []string{"姓名"}, false, "人员姓名；与登录名同时填写时，该行为一个账号"},
	{colLogin, []string{"登录名", "账号"}, false, "登录名：小写字母、数字，可含 . _ -"},
	{colRoles, []string{"角色"}, false, "角色名称或代码，多个用顿号或逗号分隔"},
	{colMobile, []string{"手机号", "手机号码", "手机"}, false, "11位手机号码，用于短信提醒"},
	{colEmail, []string{"邮箱", "电子邮箱", "电子邮件"}, false, "电子邮箱"},
}

func headerOf(field string) string {
	for _, c := range columns {
		if c.field == field {
			return c.headers[0]
		}
	}
	return field
}

// sheet is an imported file read into rows of text.
type sheet struct {
	format string
	rows   [][]string
	// lines maps a row index to its line in the file, where a quoted cell
	// spanning lines makes the two differ.
	lines []int
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// readSheet reads CSV (UTF-8, with or without BOM, or GBK as Excel saves
// it on Chinese Windows) or XLSX (its first sheet).
func readSheet(file []byte) (sheet, []RowError) {
	if bytes.HasPrefix(file, []byte("PK\x03\x04")) {
		return readXLSX(file)
	}
	text, format, problems := decodeText(file)
	if len(problems) > 0 {
		return sheet{format: format}, problems
	}
	r := csv.NewReader(strings.NewReader(text))
	r.FieldsPerRecord = -1
	s := sheet{format: format}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return s, nil
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return s, []RowError{{Row: pe.StartLine, Code: RowMalformed, Message: fmt.Sprintf("not valid CSV: %v", pe.Err)}}
		}
		if err != nil {
			return s, []RowError{{Row: len(s.rows) + 1, Code: RowMalformed, Message: err.Error()}}
		}
		line, _ := r.FieldPos(0)
		// A value the platform wrote with a leading ' (so that no
		// spreadsheet runs it) reads as the value.
		s.rows = append(s.rows, spreadsheet.FromCSV(rec))
		s.lines = append(s.lines, line)
	}
}

func readXLSX(file []byte) (sheet, []RowError) {
	s := sheet{format: "xlsx"}
	f, err := excelize.OpenReader(bytes.NewReader(file))
	if err != nil {
		return s, []RowError{{Row: 1, Code: RowMalformed, Message: fmt.Sprintf("not a readable XLSX file: %v", err)}}
	}
	defer f.Close()
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		return s, []RowError{{Row: 1, Code: RowMalformed, Message: "the workbook has no sheet"}}
	}
	rows, err := f.Rows(sheets[0])
	if err != nil {
		return s, []RowError{{Row: 1, Code: RowMalformed, Message: fmt.Sprintf("reading sheet %s: %v", sheets[0], err)}}
	}
	defer rows.Close()
	for i := 1; rows.Next(); i++ {
		cells, err := rows.Columns()
		if err != nil {
			return s, []RowError{{Row: i, Code: RowMalformed, Message: err.Error()}}
		}
		s.rows = append(s.rows, cells)
		s.lines = append(s.lines, i)
	}
	return s, nil
}

// decodeText turns a CSV file's bytes into text. A BOM means UTF-8; valid
// UTF-8 is UTF-8; a file that is mostly valid UTF-8 is a damaged UTF-8
// file; anything else is GBK (GB 18030). Lines that cannot be decoded are
// reported, never guessed at.
func decodeText(b []byte) (string, string, []RowError) {
	if rest, ok := bytes.CutPrefix(b, utf8BOM); ok {
		return string(rest), "csv (UTF-8 with BOM)", invalidUTF8Lines(rest)
	}
	if utf8.Valid(b) {
		return string(b), "csv (UTF-8)", nil
	}
	if mostlyUTF8(b) {
		return "", "csv (UTF-8)", invalidUTF8Lines(b)
	}
	text, err := simplifiedchinese.GB18030.NewDecoder().Bytes(b)
	if err != nil {
		return "", "csv (GBK)", []RowError{{Row: 1, Code: RowUndecodable, Message: "the file is neither UTF-8 nor GBK"}}
	}
	var problems []RowError
	for i, line := range strings.Split(string(text), "\n") {
		if strings.ContainsRune(line, utf8.RuneError) {
			problems = append(problems, RowError{Row: i + 1, Code: RowUndecodable, Message: "bytes that are neither UTF-8 nor GBK; save the file again as CSV UTF-8"})
		}
	}
	return string(text), "csv (GBK)", problems
}

// mostlyUTF8 says whether b's non-ASCII bytes mostly form UTF-8 sequences:
// GBK text read as UTF-8 almost never does.
func mostlyUTF8(b []byte) bool {
	valid, invalid := 0, 0
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		switch {
		case r == utf8.RuneError && size == 1:
			invalid++
		case size > 1:
			valid++
		}
		b = b[size:]
	}
	return valid > invalid
}

func invalidUTF8Lines(b []byte) []RowError {
	var problems []RowError
	for i, line := range bytes.Split(b, []byte("\n")) {
		if !utf8.Valid(line) {
			problems = append(problems, RowError{Row: i + 1, Code: RowUndecodable, Message: "bytes that are not UTF-8; save the file again as CSV UTF-8"})
		}
	}
	return problems
}

// fileRow is one row of the file, its fields by name.
type fileRow struct {
	row    int
	fields map[string]string
}

func (r fileRow) get(field string) string { return r.fields[field] }

// has says whether the file has a column for field.
func (r fileRow) has(field string) bool {
	_, ok := r.fields[field]
	return ok
}

// parseRows maps the header to fields and returns the non-empty rows, the
// headers it ignored, and what is wrong with the header.
func parseRows(s sheet) ([]fileRow, []string, []RowError) {
	if len(s.rows) == 0 {
		return nil, nil, []RowError{{Row: 1, Code: RowMissingColumn, Message: "the file is empty; it needs a header row, as in the template"}}
	}
	byHeader := map[string]string{}
	for _, c := range columns {
		for _, h := range c.headers {
			byHeader[h] = c.field
		}
	}
	fieldAt := map[int]string{}
	seen := map[string]int{}
	var ignored []string
	var problems []RowError
	for i, h := range s.rows[0] {
		h = strings.TrimSuffix(strings.TrimSpace(strings.TrimPrefix(h, "\uFEFF")), "*")
		field, ok := byHeader[h]
		if !ok {
			if h != "" {
				ignored = append(ignored, h)
			}
			continue
		}
		if prev, dup := seen[field]; dup {
			problems = append(problems, RowError{Row: 1, Column: h, Code: RowDuplicate, Message: fmt.Sprintf("column %s appears twice (columns %d and %d)", h, prev+1, i+1)})
			continue
		}
		seen[field] = i
		fieldAt[i] = field
	}
	for _, c := range columns {
		if _, ok := seen[c.field]; c.required && !ok {
			problems = append(problems, RowError{Row: 1, Column: c.headers[0], Code: RowMissingColumn, Message: fmt.Sprintf("the header has no %s column", c.headers[0])})
		}
	}
	if len(problems) > 0 {
		return nil, ignored, problems
	}
	var rows []fileRow
	for i, cells := range s.rows[1:] {
		r := fileRow{row: s.lines[i+1], fields: map[string]string{}}
		for field := range seen {
			r.fields[field] = ""
		}
		empty := true
		for j, cell := range cells {
			if field, ok := fieldAt[j]; ok {
				r.fields[field] = strings.TrimSpace(cell)
				empty = empty && r.fields[field] == ""
			}
		}
		if !empty {
			rows = append(rows, r)
		}
	}
	return rows, ignored, nil
}

// unitLine is what a row says of its unit.
type unitLine struct {
	row                int
	name, parent, code string
	sort, quota        *int
}

// accountLine is what a row says of an account. A flawed line has a
// problem of its own; it is still planned, so that what the county's data
// says of it (an unknown role, a quota exceeded) is reported too. A repeat
// names a login an earlier row has, and takes no place in its unit.
type accountLine struct {
	row                          int
	login, name, unit            string
	mobile, email                string
	roles                        []string
	hasRoles, hasMobile, hasMail bool
	flawed, repeat               bool
}

// records are a file's units and accounts, checked row by row.
type records struct {
	units    map[string]*unitLine
	order    []string
	accounts []accountLine
}

var roleSeparators = strings.NewReplacer("、", ",", "，", ",", ";", ",", "；", ",", " ", ",")

// checkRows checks every row's fields on their own and against the other
// rows of the file; what needs the county's data is checked later.
func checkRows(rows []fileRow) (records, []RowError) {
	recs := records{units: map[string]*unitLine{}}
	var problems []RowError
	bad := func(row int, field, code, format string, args ...any) {
		problems = append(problems, RowError{Row: row, Column: headerOf(field), Code: code, Message: fmt.Sprintf(format, args...)})
	}
	number := func(r fileRow, field string, lo, hi int) *int {
		s := r.get(field)
		if s == "" {
			return nil
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < lo || n > hi {
			bad(r.row, field, RowInvalid, "%q is not a whole number between %d and %d", s, lo, hi)
			return nil
		}
		return &n
	}
	loginRow := map[string]int{}
	for _, r := range rows {
		// Every field of a row is checked, whatever else is wrong with it,
		// so that one pass over the file finds every problem.
		name, err := cleanName("unit", CodeInvalidUnit, r.get(colUnit))
		if err != nil {
			bad(r.row, colUnit, emptyOrInvalid(r.get(colUnit)), "%s", messageOf(err))
		}
		u := unitLine{row: r.row, name: name, parent: r.get(colParent), code: r.get(colUnitCode),
			sort: number(r, colSort, -1000000, 1000000), quota: number(r, colQuota, 0, MaxQuota)}
		if name != "" && u.parent == u.name {
			bad(r.row, colParent, RowCycle, "unit %s cannot be its own parent", u.name)
		}
		if err := checkUnitCode(u.code); err != nil {
			bad(r.row, colUnitCode, RowInvalid, "%s", messageOf(err))
		}
		switch prev, ok := recs.units[name]; {
		case name == "":
		case ok:
			mergeUnit(prev, u, bad)
		default:
			recs.units[name] = &u
			recs.order = append(recs.order, name)
		}

		login, person := r.get(colLogin), r.get(colName)
		if login == "" && person == "" {
			continue
		}
		a := accountLine{row: r.row, login: login, unit: name, hasRoles: r.has(colRoles), hasMobile: r.has(colMobile), hasMail: r.has(colEmail)}
		if login == "" {
			bad(r.row, colLogin, RowRequired, "a row with 姓名 %q needs a 登录名", person)
			a.flawed = true
		} else if err := checkLogin(login); err != nil {
			bad(r.row, colLogin, RowInvalid, "%s", messageOf(err))
			a.flawed = true
		} else if first, dup := loginRow[login]; dup {
			bad(r.row, colLogin, RowDuplicate, "login %s is on row %d already", login, first)
			a.flawed, a.repeat = true, true
		} else {
			loginRow[login] = r.row
		}
		if a.name, err = cleanName("account", CodeInvalidAccount, person); err != nil {
			bad(r.row, colName, emptyOrInvalid(person), "%s", messageOf(err))
			a.flawed = true
		}
		if a.mobile, err = cleanMobile(r.get(colMobile)); err != nil {
			bad(r.row, colMobile, RowInvalid, "%s", messageOf(err))
			a.flawed = true
		}
		if a.email, err = cleanEmail(r.get(colEmail)); err != nil {
			bad(r.row, colEmail, RowInvalid, "%s", messageOf(err))
			a.flawed = true
		}
		a.flawed = a.flawed || name == ""
		for _, role := range strings.Split(roleSeparators.Replace(r.get(colRoles)), ",") {
			if role = strings.TrimSpace(role); role != "" {
				a.roles = append(a.roles, role)
			}
		}
		recs.accounts = append(recs.accounts, a)
	}
	return recs, problems
}

// mergeUnit checks that a unit named on several rows is described alike;
// a row that leaves a field empty agrees with any value.
func mergeUnit(prev *unitLine, u unitLine, bad func(row int, field, code, format string, args ...any)) {
	same := func(field, a, b string) string {
		switch {
		case b == "" || a == b:
			return a
		case a == "":
			return b
		}
		bad(u.row, field, RowConflict, "unit %s has %s %q here but %q on row %d", u.name, headerOf(field), b, a, prev.row)
		return a
	}
	prev.parent = same(colParent, prev.parent, u.parent)
	prev.code = same(colUnitCode, prev.code, u.code)
	sameNumber := func(field string, a, b *int) *int {
		if a == nil {
			return b
		}
		if b != nil && *a != *b {
			bad(u.row, field, RowConflict, "unit %s has %s %d here but %d on row %d", u.name, headerOf(field), *b, *a, prev.row)
		}
		return a
	}
	prev.sort = sameNumber(colSort, prev.sort, u.sort)
	prev.quota = sameNumber(colQuota, prev.quota, u.quota)
}

// messageOf is the message of one of this package's validation errors.
func messageOf(err error) string { return errs.As(err).Message }
