package workday

import (
	"errors"
	"fmt"
	"io/fs"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/countycloud/countycloud/core/errs"
)

func TestParseReadsAYearFile(t *testing.T) {
	y, err := Parse([]byte(`{
		"year": 2026, "status": "official", "source": "通知",
		"holidays": [
			{"name": "春节", "from": "2026-02-15", "to": "2026-02-23"},
			{"name": "中秋节", "from": "2026-09-25"}
		],
		"workdays": [{"date": "2026-02-14", "for": "春节"}]
	}`))
	if err != nil {
		t.Fatal(err)
	}
	want := Year{
		Year: 2026, Status: Official, Source: "通知",
		Holidays: []Holiday{
			{Name: "春节", From: Date{2026, time.February, 15}, To: Date{2026, time.February, 23}},
			{Name: "中秋节", From: Date{2026, time.September, 25}, To: Date{2026, time.September, 25}},
		},
		Workdays: []Workday{{Date: Date{2026, time.February, 14}, For: "春节"}},
	}
	if !reflect.DeepEqual(y, want) {
		t.Errorf("got %+v, want %+v", y, want)
	}
}

func TestParseRefusesBadYearFiles(t *testing.T) {
	for _, tc := range []struct {
		name, file, want string
	}{
		{"not JSON", `{"year": 2026,`, "not the expected JSON"},
		{"a misspelt field", `{"year": 2026, "holidayz": []}`, "unknown field"},
		{"trailing data", file("year", "2026") + " {}", "goes on after"},
		{"no year", file("year", ""), "year 0 is not between"},
		{"an unknown status", file("status", `"final"`), `status "final"`},
		{"no source", file("source", ""), "source is empty"},
		{"no holidays", file("holidays", ""), "no holidays"},
		{"a malformed date", file("holidays", `[{"name": "春节", "from": "2026-2-15", "to": "2026-02-23"}]`), `"2026-2-15" is not a date`},
		{"a day that does not exist", file("holidays", `[{"name": "春节", "from": "2026-02-15", "to": "2026-02-30"}]`), `"2026-02-30" is not a date`},
		{"a holiday outside the year", file("holidays", `[{"name": "元旦", "from": "2025-12-31", "to": "2026-01-01"}]`), "not all in 2026"},
		{"a holiday backwards", file("holidays", `[{"name": "春节", "from": "2026-02-23", "to": "2026-02-15"}]`), "ends before it starts"},
		{"a holiday without a name", file("holidays", `[{"from": "2026-02-15"}]`), "has no name"},
		{"overlapping holidays", file("holidays", `[{"name": "春节", "from": "2026-02-15", "to": "2026-02-23"}, {"name": "元宵", "from": "2026-02-23"}]`), "2026-02-23 is already listed by holiday \"春节\""},
		{"a working day outside the year", file("workdays", `[{"date": "2027-01-02", "for": "元旦"}]`), "is not in 2026"},
		{"a working weekday", file("workdays", `[{"date": "2026-02-16", "for": "春节"}]`), "is a Monday: only a Saturday or Sunday"},
		{"a day both off and worked", file("workdays", `[{"date": "2026-10-03", "for": "国庆节"}]`), "is also a day off of holiday \"国庆节\""},
		{"a working day twice", file("workdays", `[{"date": "2026-10-10", "for": "国庆节"}, {"date": "2026-10-10", "for": "国庆节"}]`), "listed twice"},
		{"a working day for no holiday", file("workdays", `[{"date": "2026-10-10"}]`), "does not name the holiday"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.file))
			if errs.CodeOf(err) != CodeInvalidCalendar {
				t.Fatalf("err = %v, want code %s", err, CodeInvalidCalendar)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

// file is a valid year file for 2026 whose field key holds value instead,
// or lacks key if value is empty.
func file(key, value string) string {
	fields := map[string]string{
		"year":     `2026`,
		"status":   `"official"`,
		"source":   `"s"`,
		"holidays": `[{"name": "国庆节", "from": "2026-10-01", "to": "2026-10-07"}]`,
		"workdays": `[]`,
	}
	fields[key] = value
	var members []string
	for _, k := range []string{"year", "status", "source", "holidays", "workdays"} {
		if fields[k] != "" {
			members = append(members, fmt.Sprintf("%q: %s", k, fields[k]))
		}
	}
	return "{" + strings.Join(members, ", ") + "}"
}

func TestParseListsEveryProblemNotOnlyTheFirst(t *testing.T) {
	_, err := Parse([]byte(`{
		"year": 2026, "status": "draft", "source": "",
		"holidays": [
			{"name": "春节", "from": "2026-02-15", "to": "2026-02-31"},
			{"name": "元旦", "from": "2025-12-31"}
		],
		"workdays": [
			{"date": "2026-02-16", "for": "春节"},
			{"date": "02/28/2026", "for": "春节"}
		]
	}`))
	var e *errs.Error
	if !errors.As(err, &e) || e.Code != CodeInvalidCalendar || e.Kind != errs.KindInvalid {
		t.Fatalf("err = %v", err)
	}
	problems, _ := e.Details.([]string)
	for _, want := range []string{"2026-02-31", "02/28/2026", `status "draft"`, "source is empty", "not all in 2026", "is a Monday"} {
		if !containsPart(problems, want) {
			t.Errorf("no problem mentions %q in %q", want, problems)
		}
	}
	if len(problems) != 6 {
		t.Errorf("%d problems, want 6: %q", len(problems), problems)
	}
}

func TestEveryEmbeddedFileParses(t *testing.T) {
	names, err := fs.Glob(yearFiles, "data/*.json")
	if err != nil || len(names) == 0 {
		t.Fatalf("no year files: %v", err)
	}
	for _, name := range names {
		b, err := yearFiles.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Parse(b); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	names, err := fs.Glob(yearFiles, "data/*.json")
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range names {
		b, err := yearFiles.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(file("workdays", `[{"date": "2026-10-10", "for": "国庆节"}, {"date": "2026-10-03", "for": "国庆节"}]`)))
	f.Add([]byte(`{"year": 9999, "status": "provisional", "source": "s", "holidays": [{"name": "x", "from": "9999-12-31"}]}`))
	f.Add([]byte(`{"year": -1, "holidays": [{"from": "0000-01-01", "to": "9999-12-31"}]}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		y, err := Parse(b)
		if err != nil {
			if errs.CodeOf(err) != CodeInvalidCalendar {
				t.Fatalf("err = %v, want code %s", err, CodeInvalidCalendar)
			}
			return
		}
		// What Parse accepts, New accepts, and the calendar says what the
		// file says.
		c, err := New([]Year{y}, nil)
		if err != nil {
			t.Fatalf("Parse accepted a year New refuses: %v", err)
		}
		noon := func(d Date) time.Time {
			return time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, time.FixedZone("CST", chinaOffset))
		}
		for _, h := range y.Holidays {
			if c.IsWorkingDay(noon(h.From)) || c.IsWorkingDay(noon(h.To)) {
				t.Fatalf("holiday %+v is a working day", h)
			}
		}
		for _, w := range y.Workdays {
			if !c.IsWorkingDay(noon(w.Date)) {
				t.Fatalf("working day %+v is a day off", w)
			}
		}
	})
}

func TestLeastIsTheLessTrustedOfTwoStatuses(t *testing.T) {
	order := []Status{Official, Provisional, Missing}
	for i, a := range order {
		for j, b := range order {
			if got, want := Least(a, b), order[max(i, j)]; got != want {
				t.Errorf("Least(%s, %s) = %s, want %s", a, b, got, want)
			}
		}
	}
}
