package registry

import (
	"regexp"
	"strings"
	"testing"

	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/store"
)

func TestParseCode(t *testing.T) {
	valid := []string{"gd", "gd.shaoguan", "gd.shaoguan.wengyuan", "bj.haidian", strings.Repeat("a", MaxSegmentLen)}
	for _, c := range valid {
		if _, err := ParseCode(c); err != nil {
			t.Errorf("ParseCode(%q) = %v, want ok", c, err)
		}
	}
	invalid := []string{
		"", "GD", "gd.ShaoGuan", "gd shaoguan", "gd.shao guan", "'gd'", "gd`", "gd;drop", "gd.", ".gd", "gd..sg",
		"gd.sg.wy.town", "gd-sg", "gd_sg", "gd1", "广东", strings.Repeat("a", MaxSegmentLen+1),
		strings.Repeat("abcdefghijklmnop.", 3)[:MaxCodeLen+1], "gd\x00", "gd\n",
	}
	for _, c := range invalid {
		_, err := ParseCode(c)
		if errs.CodeOf(err) != CodeInvalidCode {
			t.Errorf("ParseCode(%q) = %v, want %s", c, err, CodeInvalidCode)
		}
	}
}

var validCode = regexp.MustCompile(`^[a-z]{1,24}(\.[a-z]{1,24}){0,2}$`)

// FuzzParseCode checks that whatever ParseCode accepts is safe to turn into
// a schema name, and that distinct codes never share one.
func FuzzParseCode(f *testing.F) {
	for _, s := range []string{"gd", "gd.shaoguan.wengyuan", "bj.haidian", "GD", "a.b.c.d", "gd;`x`", "gd..x", "广东"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		code, err := ParseCode(s)
		if err != nil {
			if errs.CodeOf(err) != CodeInvalidCode {
				t.Fatalf("ParseCode(%q) error %v has code %q", s, err, errs.CodeOf(err))
			}
			return
		}
		if code != s || !validCode.MatchString(code) || len(code) > MaxCodeLen {
			t.Fatalf("ParseCode accepted %q", s)
		}
		schema := SchemaName("cc_", code)
		if _, err := store.QuoteSchema(schema); err != nil {
			t.Fatalf("code %q gives unusable schema name %q: %v", code, schema, err)
		}
		if back := strings.ReplaceAll(strings.TrimPrefix(schema, "cc_"), "_", "."); back != code {
			t.Fatalf("schema name %q of %q does not map back to its code", schema, code)
		}
		if _, err := resolveLevel(code, ""); err != nil {
			t.Fatalf("no level for valid code %q: %v", code, err)
		}
	})
}

func TestParseName(t *testing.T) {
	if n, err := ParseName("  翁源县 "); err != nil || n != "翁源县" {
		t.Errorf("ParseName = %q, %v", n, err)
	}
	for _, s := range []string{"", "   ", strings.Repeat("县", MaxNameLen+1), "翁源\x00县", "a\nb", "\xff\xfe"} {
		if _, err := ParseName(s); errs.CodeOf(err) != CodeInvalidName {
			t.Errorf("ParseName(%q) = %v, want %s", s, err, CodeInvalidName)
		}
	}
}

func TestResolveLevel(t *testing.T) {
	cases := []struct {
		code, asked string
		want        Level
		wantErr     string
	}{
		{"gd", "", LevelProvince, ""},
		{"gd.shaoguan", "", LevelCity, ""},
		{"gd.shaoguan.wengyuan", "", LevelCounty, ""},
		{"bj.haidian", "county", LevelCounty, ""},
		{"gd", "county", "", CodeInvalidLevel},
		{"gd.shaoguan.wengyuan", "city", "", CodeInvalidLevel},
		{"gd.shaoguan", "province", "", CodeInvalidLevel},
		{"gd", "township", "", CodeInvalidLevel},
	}
	for _, c := range cases {
		got, err := resolveLevel(c.code, c.asked)
		if got != c.want || errs.CodeOf(err) != c.wantErr {
			t.Errorf("resolveLevel(%q, %q) = %q, %v; want %q, %q", c.code, c.asked, got, err, c.want, c.wantErr)
		}
	}
}

func TestCheckTransition(t *testing.T) {
	county := Tenant{Code: "gd.sg.wy", Level: LevelCounty, SchemaVersion: 1}
	cases := []struct {
		from, to Status
		version  int64
		wantErr  string
	}{
		{StatusReady, StatusSuspended, 1, ""},
		{StatusSuspended, StatusReady, 1, ""},
		{StatusReady, StatusArchived, 1, ""},
		{StatusFailed, StatusArchived, 0, ""},
		{StatusArchived, StatusReady, 1, ""},
		{StatusArchived, StatusReady, 0, CodeStatusChange},
		{StatusArchived, StatusSuspended, 1, CodeStatusChange},
		{StatusFailed, StatusReady, 0, CodeStatusChange},
		{StatusProvisioning, StatusArchived, 0, CodeProvisioningBusy},
		{StatusReady, StatusFailed, 1, CodeInvalidStatus},
		{StatusReady, "deleted", 1, CodeInvalidStatus},
	}
	for _, c := range cases {
		tn := county
		tn.Status, tn.SchemaVersion = c.from, c.version
		if err := checkTransition(tn, c.to); errs.CodeOf(err) != c.wantErr {
			t.Errorf("%s -> %s: %v, want %q", c.from, c.to, err, c.wantErr)
		}
	}
}
