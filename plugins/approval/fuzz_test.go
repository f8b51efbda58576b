package approval

import (
	"slices"
	"strings"
	"testing"

	"github.com/countycloud/countycloud/plugins/sdk"
)

// fuzzUnits are the county's units the fuzzed rows name.
var fuzzUnits = []sdk.Unit{{ID: 10, Name: "县政府办", Code: "ZFB"}, {ID: 20, Name: "发改局", Code: "FGJ"}, {ID: 30, Name: "住建局"}}

// checkParsed holds what any parse must: every item it takes passes the
// item's own checks, every row error names a row below the header and a
// column of the workbook, and a row is either taken or reported.
func checkParsed(t *testing.T, rows []importRow, errs []rowError, lastRow int) {
	t.Helper()
	known := map[int64]bool{10: true, 20: true, 30: true}
	taken := map[int]bool{}
	for _, r := range rows {
		if ps := r.in.check(known); len(ps) > 0 {
			t.Fatalf("row %d was taken with problems %v", r.row, ps)
		}
		if r.in.Code != strings.ToUpper(strings.TrimSpace(r.in.Code)) || r.row < 2 || r.row > lastRow {
			t.Fatalf("row %d: code %q", r.row, r.in.Code)
		}
		taken[r.row] = true
	}
	columns := append(header(), "")
	for _, e := range errs {
		if e.Row < 2 || e.Row > lastRow || !slices.Contains(columns, e.Column) || e.Code == "" || e.Message == "" || taken[e.Row] {
			t.Fatalf("row error %+v", e)
		}
	}
}

func FuzzImportRow(f *testing.F) {
	f.Add("XK-001", "企业投资项目备案", "行政许可", "发改局", "《条例》", "条件", "申请表|电子表单\n营业执照|原件", "流程", "3", "20个工作日", "不收费", "0751-2881234")
	f.Add("lh-2", "联合", "公共服务", "FGJ:2；住建局：3\n县政府办:1", "", "", "", "", "5", "", "", "")
	f.Add(" x ", "=1+1", "非行政许可", "发改局:", "\x00", "\r\n", "|原件||", "", "-1", "3.0", "", "转")
	f.Fuzz(func(t *testing.T, code, name, category, departments, basis, conditions, materials, procedure, promised, statutory, fees, phone string) {
		cells := []string{code, name, category, departments, basis, conditions, materials, procedure, promised, statutory, fees, phone}
		rows, errs, err := parseRows([][]string{header(), cells}, fuzzUnits)
		if err != nil {
			return
		}
		checkParsed(t, rows, errs, 2)
		if len(rows)+rowsWithErrors(errs) != 1 {
			t.Fatalf("one row gave %d items and %d rows of errors", len(rows), rowsWithErrors(errs))
		}
	})
}

func FuzzImportWorkbook(f *testing.F) {
	template, err := writeWorkbook(nil, nil, true)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(template)
	one, err := writeWorkbook([]item{{Code: "XK-001", Name: "备案", Category: categoryLicence, UnitID: 20, Departments: []department{{20, 2}, {30, 3}},
		Materials: []material{{Name: "营业执照", Original: true}}, PromisedDays: 5, StatutoryDays: 20, Fees: "-"}}, map[int64]string{20: "发改局", 30: "住建局"}, false)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(one)
	f.Add([]byte("PK\x03\x04"))
	f.Add([]byte("事项编码,事项名称\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, errs, err := parseWorkbook(data, fuzzUnits)
		if err != nil {
			return
		}
		checkParsed(t, rows, errs, maxImportRows+2)
	})
}

// FuzzParseApplicantToken: whatever is sent as a token, the parser takes
// only what one of the module's tokens is (160 bits as 32 base32
// characters, in either case, with or without dashes and surrounding
// spaces), and then gives a record id the host takes and the same one as
// for the token's canonical form; anything else is refused.
func FuzzParseApplicantToken(f *testing.F) {
	token, _ := newApplicantToken()
	f.Add(token)
	f.Add(strings.ToLower(strings.ReplaceAll(token, "-", "")))
	f.Add(" " + token + "\n")
	f.Add(token[:len(token)-1] + "=")
	f.Add(strings.Repeat("A", 32))
	f.Add(strings.Repeat("7", 32) + "-")
	f.Add("ＡＡＡＡ")
	f.Fuzz(func(t *testing.T, s string) {
		key, ok := parseApplicantToken(s)
		if !ok {
			if key != "" {
				t.Fatalf("%q refused with key %q", s, key)
			}
			return
		}
		if len(key) != 64 || strings.Trim(key, "0123456789abcdef") != "" {
			t.Fatalf("%q gives key %q", s, key)
		}
		plain := strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(s), "-", ""))
		var groups []string
		for i := 0; i < len(plain); i += tokenGroup {
			groups = append(groups, plain[i:i+tokenGroup])
		}
		canonical := strings.Join(groups, "-")
		if again, ok := parseApplicantToken(canonical); !ok || again != key {
			t.Fatalf("%q gives %q, its canonical form %q gives %q", s, key, canonical, again)
		}
	})
}
