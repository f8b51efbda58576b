// Package names checks the names people give things (a county, a unit, a
// person, a role, a module): what the platform accepts as a name is the
// same everywhere.
package names

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Clean returns s without surrounding spaces if it is a usable name of at
// most max characters, else an error saying what is wrong with it, which
// begins with what (such as "unit name").
//
// A name shows as what it holds: control and format characters (zero-width
// spaces and joiners, the bidirectional controls that reverse what follows
// them, such as U+202E) are refused, and so is a name in which nothing
// shows once they, spaces and other invisible characters are set aside.
func Clean(what, s string, max int) (string, error) {
	name := strings.TrimSpace(s)
	switch {
	case !utf8.ValidString(name):
		return "", fmt.Errorf("%s is not valid UTF-8", what)
	case name == "":
		return "", fmt.Errorf("%s is empty", what)
	case utf8.RuneCountInString(name) > max:
		return "", fmt.Errorf("%s is %d characters long; at most %d are allowed", what, utf8.RuneCountInString(name), max)
	}
	shows := false
	for _, r := range name {
		switch {
		case unicode.IsControl(r), unicode.In(r, unicode.Zl, unicode.Zp):
			return "", fmt.Errorf("%s holds a control character (%U)", what, r)
		case unicode.Is(unicode.Bidi_Control, r):
			return "", fmt.Errorf("%s holds a bidirectional control character (%U), which changes the order it shows in", what, r)
		case unicode.Is(unicode.Cf, r):
			return "", fmt.Errorf("%s holds an invisible format character (%U)", what, r)
		case visible(r):
			shows = true
		}
	}
	if !shows {
		return "", fmt.Errorf("%s shows nothing: it holds no letter, digit, punctuation or symbol that is visible", what)
	}
	return name, nil
}

// visible says whether r shows as something: a letter, digit, punctuation
// or symbol, save the fillers that are letters or symbols only in name
// (U+3164 HANGUL FILLER, U+2800 BRAILLE PATTERN BLANK …).
func visible(r rune) bool {
	return unicode.In(r, unicode.L, unicode.N, unicode.P, unicode.S) &&
		!unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r) && r != '\u2800'
}
