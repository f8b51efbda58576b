package approval

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"github.com/countycloud/countycloud/plugins/sdk"
)

// The catalogue's workbook: one sheet, a header row of Chinese column
// names, an item a row. The template is the same sheet without rows and
// a sheet of instructions.
const (
	sheetItems = "事项目录"
	sheetHelp  = "填写说明"
	// maxImportRows bounds the items of a workbook.
	maxImportRows = 10000
	// Bounds of the workbook unzipped: a file that inflates past them
	// is refused before it fills the plugin's memory.
	maxUnzipped    = 64 << 20
	maxUnzippedXML = 32 << 20
)

// xlsxColumn is a column of the workbook: its header, the item's field
// it holds (as problems name it) and how to fill it in.
type xlsxColumn struct {
	header, field, help string
}

// Headers of the workbook's columns.
const (
	colCode        = "事项编码"
	colName        = "事项名称"
	colCategory    = "事项类别"
	colDepartments = "办理部门"
	colLegalBasis  = "法定依据"
	colConditions  = "受理条件"
	colMaterials   = "申请材料"
	colProcedure   = "办理流程"
	colPromised    = "承诺时限（工作日）"
	colStatutory   = "法定时限（工作日）"
	colFees        = "收费标准"
	colPhone       = "咨询电话"
)

var xlsxColumns = []xlsxColumn{
	{colCode, "code", "必填。字母、数字、点、下划线、连字符，县内唯一；再次导入时按编码更新"},
	{colName, "name", "必填。一行，不超过100字"},
	{colCategory, "category", "必填。行政许可、非行政许可或公共服务"},
	{colDepartments, "departments", "必填。单位名称或编码；联合审批写多个部门，用分号或换行分隔，各写时限：发改局:5；住建局:7（第一个为牵头部门）"},
	{colLegalBasis, "legal_basis", "法律法规依据"},
	{colConditions, "conditions", "受理条件"},
	{colMaterials, "materials", "每行一种材料；需原件的加“|原件”，电子表单加“|电子表单”：营业执照|原件"},
	{colProcedure, "procedure", "办理流程"},
	{colPromised, "promised_days", "工作日数，短于法定时限"},
	{colStatutory, "statutory_days", "工作日数"},
	{colFees, "fees", "收费标准；不收费的写“不收费”"},
	{colPhone, "phone", "咨询电话"},
}

// columnOf is the header of the column that holds field.
func columnOf(field string) string {
	for _, c := range xlsxColumns {
		if c.field == field {
			return c.header
		}
	}
	return ""
}

// Codes of a workbook's row errors.
const (
	rowRequired          = "required"
	rowInvalid           = "invalid"
	rowUnknownDepartment = "unknown_department"
)

// rowError is a problem of one row of a workbook: its row number as the
// spreadsheet shows it (the header is row 1), its column's header, a
// code and a message.
type rowError struct {
	Row     int    `json:"row"`
	Column  string `json:"column,omitempty"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Codes of a workbook refused whole.
const (
	codeWorkbookUnreadable   = "catalogue_unreadable"
	codeWorkbookColumns      = "catalogue_missing_columns"
	codeWorkbookDuplicates   = "catalogue_duplicate_codes"
	codeWorkbookTooLarge     = "catalogue_too_large"
	codeWorkbookEmpty        = "catalogue_empty"
	codeWorkbookRowsRejected = "catalogue_rows_invalid"
)

// importRow is an item read from a row of a workbook.
type importRow struct {
	row int
	in  itemInput
}

// parseWorkbook reads the items of an XLSX workbook's first sheet, with
// units the county's, whose names and codes its departments name. A file
// that cannot be taken whole is an error (an *apiError); what is wrong
// with single rows is in the row errors, and those rows are left out.
func parseWorkbook(data []byte, units []sdk.Unit) ([]importRow, []rowError, error) {
	rows, err := readWorkbook(data)
	if err != nil {
		return nil, nil, err
	}
	return parseRows(rows, units)
}

// normaliseHeader lets a header typed with half-width brackets or spaces
// match.
func normaliseHeader(h string) string {
	h = strings.Join(strings.Fields(h), "")
	return strings.NewReplacer("(", "（", ")", "）").Replace(h)
}

// parseRows reads items from a sheet's rows, the first its header.
func parseRows(rows [][]string, units []sdk.Unit) ([]importRow, []rowError, error) {
	if len(rows) == 0 {
		return nil, nil, badRequest(codeWorkbookEmpty, "the sheet is empty; start from the template (GET /items/template)")
	}
	at := map[string]int{}
	for i, h := range rows[0] {
		h = normaliseHeader(h)
		if _, twice := at[h]; twice && h != "" {
			return nil, nil, badRequest(codeWorkbookColumns, "column %s is in the header twice", h)
		}
		at[h] = i
	}
	var missing []string
	for _, c := range xlsxColumns {
		if _, ok := at[c.header]; !ok {
			missing = append(missing, c.header)
		}
	}
	if len(missing) > 0 {
		return nil, nil, &apiError{status: 400, code: codeWorkbookColumns,
			message: "the header lacks the columns " + strings.Join(missing, ", ") + "; start from the template (GET /items/template)", details: missing}
	}
	byName := map[string]int64{}
	known := map[int64]bool{}
	for _, u := range units {
		known[u.ID] = true
		byName[u.Name] = u.ID
	}
	// A code names a unit where no unit has the name.
	for _, u := range units {
		if _, taken := byName[u.Code]; u.Code != "" && !taken {
			byName[u.Code] = u.ID
		}
	}
	var (
		out      []importRow
		problems []rowError
		firstRow = map[string]int{}
		dups     []rowError
	)
	for i, cells := range rows[1:] {
		n := i + 2
		cell := func(header string) string {
			if j := at[header]; j < len(cells) {
				return cells[j]
			}
			return ""
		}
		if !slices.ContainsFunc(cells, func(c string) bool { return strings.TrimSpace(c) != "" }) {
			continue
		}
		in, errs := parseRow(n, cell, byName, known)
		if code := strings.ToUpper(strings.TrimSpace(cell(colCode))); code != "" {
			if first, ok := firstRow[code]; ok {
				dups = append(dups, rowError{Row: n, Column: colCode, Code: "duplicate", Message: fmt.Sprintf("code %s is also on row %d", code, first)})
			} else {
				firstRow[code] = n
			}
		}
		if len(errs) > 0 {
			problems = append(problems, errs...)
			continue
		}
		out = append(out, importRow{row: n, in: in})
	}
	if len(dups) > 0 {
		return nil, nil, &apiError{status: 400, code: codeWorkbookDuplicates,
			message: fmt.Sprintf("%d rows repeat a code of an earlier row; a code names one item", len(dups)), details: dups}
	}
	if len(out) == 0 && len(problems) == 0 {
		return nil, nil, badRequest(codeWorkbookEmpty, "the sheet has no items below its header")
	}
	return out, problems, nil
}

// parseRow reads row n's item through cell, its departments by the
// units' names or codes (byName) among the county's (known).
func parseRow(n int, cell func(header string) string, byName map[string]int64, known map[int64]bool) (itemInput, []rowError) {
	var errs []rowError
	add := func(column, code, format string, args ...any) {
		errs = append(errs, rowError{Row: n, Column: column, Code: code, Message: fmt.Sprintf(format, args...)})
	}
	in := itemInput{Code: cell(colCode), Name: cell(colName), Category: cell(colCategory), LegalBasis: cell(colLegalBasis),
		Conditions: cell(colConditions), Procedure: cell(colProcedure), Fees: cell(colFees), Phone: cell(colPhone)}
	for _, c := range []string{colCode, colName, colCategory, colDepartments} {
		if strings.TrimSpace(cell(c)) == "" {
			add(c, rowRequired, "%s is required", c)
		}
	}
	for _, d := range splitList(cell(colDepartments)) {
		name, days, hasDays := cutDays(d)
		id, ok := byName[name]
		if !ok {
			add(colDepartments, rowUnknownDepartment, "the county has no unit named or coded %q", name)
			continue
		}
		dep := department{UnitID: id}
		if hasDays {
			v, err := parseDays(days)
			if err != nil {
				add(colDepartments, rowInvalid, "%s: %v", name, err)
				continue
			}
			dep.Days = v
		}
		in.Departments = append(in.Departments, dep)
	}
	for _, line := range strings.Split(strings.ReplaceAll(cell(colMaterials), "\r\n", "\n"), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		m, err := parseMaterial(line)
		if err != nil {
			add(colMaterials, rowInvalid, "%v", err)
			continue
		}
		in.Materials = append(in.Materials, m)
	}
	for _, f := range []struct {
		header string
		into   *int
	}{{colPromised, &in.PromisedDays}, {colStatutory, &in.StatutoryDays}} {
		v, err := parseDays(cell(f.header))
		if err != nil {
			add(f.header, rowInvalid, "%v", err)
		}
		*f.into = v
	}
	// The item's own checks too, so that a row's every problem is
	// reported at once; a column reported already is not again. Most
	// rows have none, and allocate nothing for them.
	in.normalise()
	if problems := in.check(known); len(problems) > 0 {
		reported := map[string]bool{}
		for _, e := range errs {
			reported[e.Column] = true
		}
		for _, p := range problems {
			if column := columnOf(p.Field); !reported[column] {
				add(column, rowInvalid, "%s", p.Message)
			}
		}
	}
	if len(errs) > 0 {
		return itemInput{}, errs
	}
	return in, nil
}

// splitList splits a cell of several departments: by line breaks and
// semicolons, commas or 、.
func splitList(s string) []string {
	var out []string
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune("\n\r;；,，、", r) }) {
		if p := strings.TrimSpace(part); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// cutDays splits "发改局:5" into the department and its days.
func cutDays(s string) (name, days string, ok bool) {
	if i := strings.LastIndexAny(s, ":："); i >= 0 {
		_, size := utf8.DecodeRuneInString(s[i:])
		return strings.TrimSpace(s[:i]), strings.TrimSpace(s[i+size:]), true
	}
	return strings.TrimSpace(s), "", false
}

// parseDays reads a limit in working days: a whole number, perhaps
// followed by 个工作日 or 工作日; empty is 0 (not given).
func parseDays(s string) (int, error) {
	s = strings.TrimSpace(s)
	for _, suffix := range []string{"个工作日", "工作日"} {
		s = strings.TrimSpace(strings.TrimSuffix(s, suffix))
	}
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || strconv.Itoa(n) != s {
		return 0, fmt.Errorf("%q is not a whole number of working days", s)
	}
	return n, nil
}

// parseMaterial reads a line of the materials' cell: a name, then |原件
// and |电子表单 as they apply.
func parseMaterial(line string) (material, error) {
	parts := strings.FieldsFunc(line, func(r rune) bool { return r == '|' || r == '｜' })
	if len(parts) == 0 {
		return material{}, fmt.Errorf("%q names no material", line)
	}
	m := material{Name: strings.TrimSpace(parts[0])}
	for _, flag := range parts[1:] {
		switch strings.TrimSpace(flag) {
		case "原件":
			m.Original = true
		case "电子表单":
			m.EForm = true
		default:
			return material{}, fmt.Errorf("material %s: %q is neither 原件 nor 电子表单", m.Name, strings.TrimSpace(flag))
		}
	}
	return m, nil
}

// writeWorkbook writes items as the catalogue's workbook, departments by
// their units' names; with help, the sheet of instructions too. Every
// cell is text, and one a spreadsheet could take for a formula is marked
// as text (the quote prefix), so that opening the file runs nothing an
// item holds.
func writeWorkbook(items []item, units map[int64]string, help bool) ([]byte, error) {
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetSheetName(f.GetSheetName(0), sheetItems); err != nil {
		return nil, err
	}
	text, err := textStyle(f)
	if err != nil {
		return nil, err
	}
	head, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}, Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"DDEBF7"}}})
	if err != nil {
		return nil, err
	}
	sw, err := f.NewStreamWriter(sheetItems)
	if err != nil {
		return nil, err
	}
	for i, width := range []float64{24, 30, 12, 24, 40, 40, 36, 36, 12, 12, 20, 18} {
		if err := sw.SetColWidth(i+1, i+1, width); err != nil {
			return nil, err
		}
	}
	header := make([]any, len(xlsxColumns))
	for i, c := range xlsxColumns {
		header[i] = excelize.Cell{StyleID: head, Value: c.header}
	}
	if err := sw.SetRow("A1", header, excelize.RowOpts{}); err != nil {
		return nil, err
	}
	for i, it := range items {
		values := itemCells(it, units)
		row := make([]any, len(values))
		for j, v := range values {
			c := excelize.Cell{Value: v}
			if formulaLike(v) {
				c.StyleID = text
			}
			row[j] = c
		}
		cell, err := excelize.CoordinatesToCellName(1, i+2)
		if err != nil {
			return nil, err
		}
		if err := sw.SetRow(cell, row); err != nil {
			return nil, err
		}
	}
	if err := sw.Flush(); err != nil {
		return nil, err
	}
	if help {
		if err := helpSheet(f); err != nil {
			return nil, err
		}
	}
	buf, err := f.WriteToBuffer()
	if err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// itemCells are it's cells in the order of xlsxColumns.
func itemCells(it item, units map[int64]string) []string {
	deps := make([]string, len(it.Departments))
	for i, d := range it.Departments {
		name := units[d.UnitID]
		if name == "" {
			name = strconv.FormatInt(d.UnitID, 10)
		}
		deps[i] = name + ":" + strconv.Itoa(d.Days)
		if len(it.Departments) == 1 && d.Days == it.PromisedDays {
			deps[i] = name
		}
	}
	materials := make([]string, len(it.Materials))
	for i, m := range it.Materials {
		materials[i] = m.Name
		if m.Original {
			materials[i] += "|原件"
		}
		if m.EForm {
			materials[i] += "|电子表单"
		}
	}
	days := func(n int) string {
		if n == 0 {
			return ""
		}
		return strconv.Itoa(n)
	}
	return []string{it.Code, it.Name, it.Category, strings.Join(deps, "；"), it.LegalBasis, it.Conditions,
		strings.Join(materials, "\n"), it.Procedure, days(it.PromisedDays), days(it.StatutoryDays), it.Fees, it.Phone}
}

// helpSheet adds the sheet that says how to fill in each column.
func helpSheet(f *excelize.File) error {
	if _, err := f.NewSheet(sheetHelp); err != nil {
		return err
	}
	rows := [][]string{{"列", "填写说明"}}
	for _, c := range xlsxColumns {
		rows = append(rows, []string{c.header, c.help})
	}
	rows = append(rows, []string{"", "第一个工作表为事项目录，第一行为表头，勿改列名；每行一个事项。试导入（dry_run）只检查不写入。"})
	for r, row := range rows {
		for c, v := range row {
			cell, err := excelize.CoordinatesToCellName(c+1, r+1)
			if err != nil {
				return err
			}
			if err := f.SetCellStr(sheetHelp, cell, v); err != nil {
				return err
			}
		}
	}
	return f.SetColWidth(sheetHelp, "B", "B", 100)
}

// formulaLike says whether a spreadsheet could take v for a formula: it
// starts with =, +, -, @, a tab or a carriage return (OWASP's list), or
// their full-width forms a Chinese input method types.
func formulaLike(v string) bool {
	r, _ := utf8.DecodeRuneInString(v)
	return v != "" && strings.ContainsRune("=+-@\t\r＝＋－＠", r)
}

// textFormat is the built-in number format "@": the cell is text.
const textFormat = 49

// textStyle adds the style of a cell that is text typed with a leading
// apostrophe: the "@" format and the quote prefix, which excelize's
// Style has no field for, set on the cell format it created.
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
