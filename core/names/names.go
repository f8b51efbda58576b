// Package names checks the names people give things (a county, a unit, a
// person, a role): what the platform accepts as a name is the same
// everywhere.
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
	for _, r := range name {
		if unicode.IsControl(r) {
			return "", fmt.Errorf("%s holds a control character (%U)", what, r)
		}
	}
	return name, nil
}
