package names

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// unusable are names that show as nothing, or as other than they are.
var unusable = map[string]string{
	"a zero-width space":                "\u200b",
	"zero-width spaces around spaces":   "\u200b \u200b",
	"a right-to-left override":          "翁源\u202e县",
	"a right-to-left override alone":    "\u202e",
	"a left-to-right mark":              "\u200e翁源县",
	"a right-to-left isolate":           "翁源\u2067县\u2069",
	"an Arabic letter mark":             "翁源\u061c县",
	"a zero-width joiner":               "翁\u200d源县",
	"a zero-width non-joiner":           "翁\u200c源县",
	"a word joiner":                     "翁源\u2060县",
	"a byte-order mark":                 "\ufeff翁源县",
	"a soft hyphen":                     "翁源\u00ad县",
	"an interlinear annotation":         "翁\ufff9源\ufffb县",
	"a tag character":                   "翁源县\U000E0041",
	"a control character":               "翁源\x07县",
	"a newline":                         "翁源\n县",
	"a line separator":                  "翁源\u2028县",
	"a Hangul filler":                   "\u3164",
	"a half-width Hangul filler":        "\uffa0",
	"a braille blank":                   "\u2800",
	"a combining mark alone":            "\u0301",
	"a variation selector alone":        "\ufe0f",
	"an ideographic space and a filler": "\u3000\u3164\u3000",
	"empty":                             "",
	"spaces":                            " \u3000 ",
	"invalid UTF-8":                     "翁源\xff",
}

var usable = map[string]string{
	"翁源县":           "翁源县",
	"  县信息中心\u3000": "县信息中心",
	"艾力·买买提":        "艾力·买买提",
	"Zhang San":     "Zhang San",
	"é":             "é",
	"葛\U000E0100":   "葛\U000E0100",
	"A-1":           "A-1",
	"㊙":             "㊙",
	"★":             "★",
}

func TestANameThatShowsNothingOrOtherThanItIsIsRefused(t *testing.T) {
	for why, s := range unusable {
		if name, err := Clean("county name", s, 64); err == nil {
			t.Errorf("%s: %q accepted as %q", why, s, name)
		} else if !strings.HasPrefix(err.Error(), "county name ") {
			t.Errorf("%s: %v does not begin with what is named", why, err)
		}
	}
	for s, want := range usable {
		if name, err := Clean("county name", s, 64); err != nil || name != want {
			t.Errorf("%q: %q, %v; want %q", s, name, err, want)
		}
	}
	if _, err := Clean("unit name", strings.Repeat("县", 65), 64); err == nil {
		t.Error("a name of 65 characters accepted")
	}
}

// FuzzClean: what Clean accepts is trimmed, valid UTF-8, short enough,
// free of control and format characters, and shows something.
func FuzzClean(f *testing.F) {
	for _, s := range unusable {
		f.Add(s)
	}
	for s := range usable {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		name, err := Clean("name", s, 64)
		if err != nil {
			return
		}
		if name != strings.TrimSpace(name) || !utf8.ValidString(name) || utf8.RuneCountInString(name) > 64 {
			t.Fatalf("%q accepted as %q", s, name)
		}
		shows := false
		for _, r := range name {
			if unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp, unicode.Bidi_Control) {
				t.Fatalf("%q accepted with %U", s, r)
			}
			shows = shows || visible(r)
		}
		if !shows {
			t.Fatalf("%q accepted, and shows nothing", s)
		}
	})
}
