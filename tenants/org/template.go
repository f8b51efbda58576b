package org

import (
	"fmt"

	"github.com/countycloud/countycloud/core/spreadsheet"
)

// Template formats.
const (
	TemplateCSV  = "csv"
	TemplateXLSX = "xlsx"
)

// templateRows are the template's examples: a row per account, a unit's
// own row when it has no accounts yet.
var templateRows = [][]string{
	{"县委办公室", "", "BGS", "1", "20", "张三", "zhangsan", "领导、收发员", "13800138000", "zhangsan@example.gov.cn"},
	{"县委办公室", "", "", "", "", "李四", "lisi", "业务管理员", "13900139000", "lisi@example.gov.cn"},
	{"县发展和改革局", "", "FGJ", "2", "15", "王五", "wangwu", "收发员", "", ""},
	{"综合股", "县发展和改革局", "FGJ-ZHG", "1", "", "", "", "", "", ""},
}

func templateHeader() []string {
	header := make([]string, len(columns))
	for i, c := range columns {
		header[i] = c.headers[0]
		if c.required {
			header[i] += "*"
		}
	}
	return header
}

// Template returns the staffing-office file users fill in, as CSV (UTF-8
// with a BOM, so that Excel shows the Chinese headers) or XLSX (with a
// sheet explaining every column).
func Template(format string) ([]byte, error) {
	rows := append([][]string{templateHeader()}, templateRows...)
	switch format {
	case TemplateCSV:
		return spreadsheet.CSV(rows)
	case TemplateXLSX:
		explain := [][]string{{"列", "必填", "说明"}}
		for _, c := range columns {
			required := ""
			if c.required {
				required = "是"
			}
			explain = append(explain, []string{c.headers[0], required, c.help})
		}
		return spreadsheet.XLSX(spreadsheet.Sheet{Name: "导入", Rows: rows}, spreadsheet.Sheet{Name: "说明", Rows: explain})
	}
	return nil, fmt.Errorf("template format %q is not csv or xlsx", format)
}
