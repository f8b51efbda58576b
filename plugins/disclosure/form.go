package disclosure

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// problems gathers what is wrong with a form, field by field, so that
// one answer names every field to fix.
type problems []string

func (p *problems) add(format string, args ...any) { *p = append(*p, fmt.Sprintf(format, args...)) }

// text trims *s and checks it: required or not, at most max characters,
// on one line or (multiline) several, and without control characters
// otherwise.
func (p *problems) text(field string, s *string, max int, required, multiline bool) {
	*s = strings.TrimSpace(strings.ReplaceAll(*s, "\r\n", "\n"))
	switch {
	case *s == "" && required:
		p.add("%s is required", field)
	case required && strings.IndexFunc(*s, visible) < 0:
		p.add("%s shows nothing: give it letters, digits or punctuation", field)
	case !utf8.ValidString(*s):
		p.add("%s is not valid UTF-8", field)
	case utf8.RuneCountInString(*s) > max:
		p.add("%s has %d characters; at most %d", field, utf8.RuneCountInString(*s), max)
	case strings.ContainsFunc(*s, func(r rune) bool { return badRune(r, multiline) }):
		if multiline {
			p.add("%s holds a control character other than a line break or a tab", field)
		} else {
			p.add("%s holds a line break or another control character", field)
		}
	}
}

// badRune refuses control and format characters (U+200B, U+202E …) and
// line or paragraph separators, which would hide or reorder what the
// public reads, keeping line breaks and tabs in multiline text.
func badRune(r rune, multiline bool) bool {
	if multiline && (r == '\n' || r == '\t') {
		return false
	}
	return unicode.IsControl(r) || unicode.In(r, unicode.Zl, unicode.Zp, unicode.Cf) || unicode.Is(unicode.Bidi_Control, r)
}

// visible reports a character that shows: a letter, digit, punctuation
// or symbol, save the blank fillers (U+3164, U+2800 …).
func visible(r rune) bool {
	return unicode.In(r, unicode.L, unicode.N, unicode.P, unicode.S) &&
		!unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r) && r != '\u2800'
}

// phonePattern is a telephone number as Chinese units print them:
// 0751-5551234, (0751)5551234, 12345, +86 751 555 1234, with an
// extension after 转 or a comma.
var phonePattern = regexp.MustCompile(`^\+?[0-9()\- ]{3,24}((转|,|，)[0-9]{1,6})?$`)

func (p *problems) phone(field string, s *string, required bool) {
	p.text(field, s, 40, required, false)
	if *s != "" && !phonePattern.MatchString(*s) {
		p.add("%s %q is not a telephone number (digits, spaces, dashes, parentheses, a leading +, an extension after 转)", field, *s)
	}
}

func (p *problems) email(field string, s *string) {
	p.text(field, s, 100, false, false)
	if *s == "" {
		return
	}
	local, domain, ok := strings.Cut(*s, "@")
	if !ok || local == "" || !strings.Contains(domain, ".") || strings.ContainsAny(*s, " <>,;") || strings.Contains(domain, "@") {
		p.add("%s %q is not an e-mail address", field, *s)
	}
}

// datePattern is a day, 2026-06-05.
var datePattern = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`)

// date checks a day, 2026-06-05: a real one of years 1949 to 2099.
func (p *problems) date(field string, s *string, required bool) {
	*s = strings.TrimSpace(*s)
	if *s == "" {
		if required {
			p.add("%s is required (a day such as 2026-06-05)", field)
		}
		return
	}
	if !validDay(*s) {
		p.add("%s %q is not a day such as 2026-06-05", field, *s)
	}
}

func validDay(s string) bool {
	if !datePattern.MatchString(s) || s < "1949-01-01" || s > "2099-12-31" {
		return false
	}
	var y, m, d int
	if _, err := fmt.Sscanf(s, "%4d-%2d-%2d", &y, &m, &d); err != nil {
		return false
	}
	return m >= 1 && m <= 12 && d >= 1 && d <= daysIn(y, m)
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

func (p problems) err(code string) error {
	if len(p) == 0 {
		return nil
	}
	return badRequest(code, "%s", strings.Join(p, "; "))
}
