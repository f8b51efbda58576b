package rollout

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	"github.com/xuri/excelize/v2"

	"github.com/countycloud/countycloud/core/spreadsheet"
)

// Formats a report is handed out in.
const (
	FormatJSON = "json"
	FormatCSV  = "csv"
	FormatXLSX = "xlsx"
)

// Cells of a figure that has no number.
const (
	cellAbsent = "未启用"
	cellNone   = "—"
)

// reportSheet is the sheet of the XLSX export.
const reportSheet = "使用情况"

// headerRows are the rows above the units': title, county and period,
// the figures' names, the province's targets.
const headerRows = 4

// table is doc as rows of text, for CSV and XLSX: the title, the county
// and period, the header, the targets, a row per unit, the county's, and
// what "未启用" means; numbers are where their text is a number.
func table(doc ReportDocument) [][]string {
	header := []string{"单位编码", "单位名称"}
	targets := []string{"", "省定目标"}
	for _, c := range doc.Columns {
		header = append(header, c.Label.ZH)
		t := ""
		if c.Target != nil {
			t = "≥" + number(*c.Target)
		}
		targets = append(targets, t)
	}
	rows := [][]string{
		{doc.Title},
		{"县（市、区）", doc.CountyName + "（" + doc.County + "）", "统计期间", doc.From + " 至 " + doc.To, "生成时间", doc.GeneratedAt.In(china).Format("2006-01-02 15:04")},
		header,
		targets,
	}
	for _, r := range append(slices.Clone(doc.Rows), doc.Total) {
		row := []string{r.Unit.Code, r.Unit.Name}
		for _, c := range doc.Columns {
			v, ok := r.Figures[c.ID]
			switch {
			case c.Absent:
				row = append(row, cellAbsent)
			case !ok:
				row = append(row, cellNone)
			default:
				row = append(row, number(v))
			}
		}
		rows = append(rows, row)
	}
	return append(rows, []string{"说明：“未启用”为本县未启用该模块，无此数据（不是 0）；“—”为无可计算的比率（如无发文）。活跃账号数为统计期间内登录或续用会话的账号数，每账号每半月计一次。"})
}

func number(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// Render is the archived document body in format: the bytes themselves
// for JSON, a CSV or an XLSX workbook (with a chart) rendered from them.
func Render(body []byte, format string) ([]byte, string, error) {
	if format == FormatJSON || format == "" {
		return body, "application/json; charset=utf-8", nil
	}
	var doc ReportDocument
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, "", fmt.Errorf("the archived report: %w", err)
	}
	switch format {
	case FormatCSV:
		data, err := spreadsheet.CSV(table(doc))
		return data, "text/csv; charset=utf-8", err
	case FormatXLSX:
		data, err := workbook(doc)
		return data, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", err
	}
	return nil, "", fmt.Errorf("format %q", format)
}

// chartFigures are the figures the workbook's chart shows per unit, those
// the county has.
var chartFigures = []string{"docs_online", "approvals_decided", "logins", "active_accounts"}

// workbook is doc as an XLSX workbook: the table's text written safe
// from formulas (core/spreadsheet), its figures as numbers, and a column
// chart of the main figures per unit.
func workbook(doc ReportDocument) ([]byte, error) {
	rows := table(doc)
	text, err := spreadsheet.XLSX(spreadsheet.Sheet{Name: reportSheet, Rows: rows})
	if err != nil {
		return nil, err
	}
	f, err := excelize.OpenReader(bytes.NewReader(text))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	figureRows := append(slices.Clone(doc.Rows), doc.Total)
	for i, r := range figureRows {
		for j, c := range doc.Columns {
			v, ok := r.Figures[c.ID]
			if !ok || c.Absent {
				continue
			}
			cell, err := excelize.CoordinatesToCellName(j+3, headerRows+i+1)
			if err != nil {
				return nil, err
			}
			if err := f.SetCellFloat(reportSheet, cell, v, -1, 64); err != nil {
				return nil, err
			}
		}
	}
	// The units' rows, or the county's when it has none.
	first, last := headerRows+1, headerRows+len(doc.Rows)
	if len(doc.Rows) == 0 {
		last = first
	}
	chart := &excelize.Chart{
		Type:   excelize.Col,
		Title:  []excelize.RichTextRun{{Text: doc.Title}},
		Legend: excelize.ChartLegend{Position: "bottom"},
		Dimension: excelize.ChartDimension{
			Width: 960, Height: 400,
		},
	}
	for j, c := range doc.Columns {
		if c.Absent || !slices.Contains(chartFigures, c.ID) {
			continue
		}
		col, err := excelize.ColumnNumberToName(j + 3)
		if err != nil {
			return nil, err
		}
		chart.Series = append(chart.Series, excelize.ChartSeries{
			Name:       fmt.Sprintf("'%s'!$%s$%d", reportSheet, col, headerRows-1),
			Categories: fmt.Sprintf("'%s'!$B$%d:$B$%d", reportSheet, first, last),
			Values:     fmt.Sprintf("'%s'!$%s$%d:$%s$%d", reportSheet, col, first, col, last),
		})
	}
	anchor, err := excelize.CoordinatesToCellName(2, headerRows+len(figureRows)+3)
	if err != nil {
		return nil, err
	}
	if err := f.AddChart(reportSheet, anchor, chart); err != nil {
		return nil, fmt.Errorf("the report's chart: %w", err)
	}
	buf, err := f.WriteToBuffer()
	if err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
