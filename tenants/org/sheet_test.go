package org

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"
)

const sampleCSV = "单位名称,上级单位,姓名,登录名,角色,手机号,邮箱\n" +
	"县委办公室,,张三,zhangsan,领导、收发员,13800138000,zhangsan@example.gov.cn\n" +
	"县发展和改革局,,李四,lisi,收发员,+86 139 0013 9000,\n" +
	"综合股,县发展和改革局,,,,,\n"

func read(t *testing.T, file []byte) (records, []RowError) {
	t.Helper()
	s, problems := readSheet(file)
	if len(problems) > 0 {
		return records{}, problems
	}
	rows, _, problems := parseRows(s)
	if len(problems) > 0 {
		return records{}, problems
	}
	return checkRows(rows)
}

func TestEncodingsOfferedByOffices(t *testing.T) {
	gbk, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(sampleCSV))
	if err != nil {
		t.Fatal(err)
	}
	for name, file := range map[string][]byte{
		"utf-8":          []byte(sampleCSV),
		"utf-8 with BOM": append(append([]byte{}, utf8BOM...), sampleCSV...),
		"gbk":            gbk,
		"crlf":           []byte(strings.ReplaceAll(sampleCSV, "\n", "\r\n")),
	} {
		recs, problems := read(t, file)
		if len(problems) > 0 {
			t.Errorf("%s: %v", name, problems)
			continue
		}
		if len(recs.order) != 3 || len(recs.accounts) != 2 || recs.accounts[0].name != "张三" ||
			strings.Join(recs.accounts[0].roles, "|") != "领导|收发员" || recs.accounts[1].mobile != "13900139000" ||
			recs.units["综合股"].parent != "县发展和改革局" {
			t.Errorf("%s: read %+v %+v", name, recs.units, recs.accounts)
		}
	}
}

func TestUndecodableLinesAreReportedNotGuessed(t *testing.T) {
	damaged := []byte(sampleCSV)
	damaged = append(damaged[:len(damaged)-1], []byte("\n县民政局,,王五,wangwu,,,\xff\xfe\n")...)
	_, problems := read(t, damaged)
	if len(problems) != 1 || problems[0].Row != 5 || problems[0].Code != RowUndecodable {
		t.Errorf("damaged UTF-8: %+v", problems)
	}
	_, problems = read(t, append(append([]byte{}, utf8BOM...), "单位名称\n\x80\x80\x80\n"...))
	if len(problems) != 1 || problems[0].Row != 2 {
		t.Errorf("invalid bytes after a BOM: %+v", problems)
	}
}

func TestHeaderProblems(t *testing.T) {
	cases := map[string]string{
		"":                         RowMissingColumn,
		"姓名,登录名\n张三,zhangsan\n":    RowMissingColumn,
		"单位名称,单位\nA,B\n":           RowDuplicate,
		"单位名称,\"unterminated\nA\n": RowMalformed,
	}
	for file, code := range cases {
		_, problems := read(t, []byte(file))
		if len(problems) == 0 || problems[0].Code != code || problems[0].Row != 1 {
			t.Errorf("%q: %+v, want %s on row 1", file, problems, code)
		}
	}
	s, _ := readSheet([]byte("\uFEFF单位名称*, 序号 ,备注\nA,1,x\n"))
	rows, ignored, problems := parseRows(s)
	if len(problems) > 0 || len(rows) != 1 || strings.Join(ignored, ",") != "序号,备注" {
		t.Errorf("marked and extra headers: %v %v %v", rows, ignored, problems)
	}
}

func TestRowProblemsNameRowAndColumn(t *testing.T) {
	file := "单位名称,上级单位,排序,姓名,登录名,手机号,邮箱\n" +
		"A,,1,张三,zhangsan,13800138000,\n" + // 2: fine
		"A,,2,李四,lisi,,\n" + // 3: sort differs from row 2
		"B,,,王五,zhangsan,,\n" + // 4: login taken by row 2
		"C,,,赵六,ZhaoLiu,12345,not-an-email\n" + // 5: login, mobile, e-mail
		"D,,,,qianqi,,\n" + // 6: login without name
		"E,E,x,,,,\n" + // 7: own parent, sort not a number
		",,,,,,\n" // empty: skipped
	_, problems := read(t, []byte(file))
	var got []string
	for _, p := range problems {
		got = append(got, fmt.Sprintf("%d:%s:%s", p.Row, p.Column, p.Code))
	}
	want := []string{"3:排序:conflict", "4:登录名:duplicate", "5:登录名:invalid", "5:手机号:invalid", "5:邮箱:invalid", "6:姓名:required", "7:排序:invalid", "7:上级单位:cycle"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("problems:\n got %v\nwant %v", got, want)
	}
}

func TestTemplatesReadBackClean(t *testing.T) {
	for _, format := range []string{TemplateCSV, TemplateXLSX} {
		file, err := Template(format)
		if err != nil {
			t.Fatal(err)
		}
		recs, problems := read(t, file)
		if len(problems) > 0 || len(recs.order) != 3 || len(recs.accounts) != 3 {
			t.Errorf("%s template: %d units, %d accounts, problems %v", format, len(recs.order), len(recs.accounts), problems)
		}
	}
	if _, err := Template("pdf"); err == nil {
		t.Error("a pdf template")
	}
}

// FuzzImportCSV feeds the importer's reading and checking any bytes: it
// never panics, every problem names a row and a code, every account line
// without a flaw has a valid login, name and unit, and every flawed one
// has a problem on its row.
func FuzzImportCSV(f *testing.F) {
	f.Add([]byte(sampleCSV))
	f.Add([]byte("单位名称\n\xff\n"))
	f.Add([]byte("单位名称,登录名,姓名\nA,a1,x\nA,a1,y\n"))
	f.Add([]byte("单位名称,账号限额,姓名,登录名,角色,手机号\n,x,,Sun Qi,皇帝、太监,12345\n"))
	gbk, _ := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(sampleCSV))
	f.Add(gbk)
	f.Fuzz(func(t *testing.T, file []byte) {
		if bytes.HasPrefix(file, []byte("PK")) {
			return
		}
		recs, problems := read(t, file)
		for _, p := range problems {
			if p.Row < 1 || p.Code == "" || p.Message == "" {
				t.Fatalf("problem without a row or code: %+v", p)
			}
		}
		for _, a := range recs.accounts {
			if !a.flawed && (checkLogin(a.login) != nil || a.name == "" || a.unit == "") {
				t.Fatalf("accepted account %+v", a)
			}
			if a.flawed && !slices.ContainsFunc(problems, func(p RowError) bool { return p.Row == a.row }) {
				t.Fatalf("a flawed account without a problem on its row: %+v %v", a, problems)
			}
		}
	})
}
