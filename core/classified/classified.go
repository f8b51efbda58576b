// Package classified keeps classified content out (DOMAIN.md: documents
// marked 绝密, 机密 or 秘密 never enter the system; 谁上网，谁负责). Every
// JSON body the platform accepts, a module's included, and every imported
// sheet is checked here first.
//
// Content is classified when a level (绝密, 机密, 秘密) is the value of a
// classification field (classification, secrecy_level, 密级 …), at any
// depth, or when a level is set off as a marker anywhere: in brackets
// (【机密】), after a star (★机密), after a label (密级：机密) or before a
// star and its term (机密★1年). Ordinary text that merely holds the words
// (商业秘密, 保密工作) is not. Text is compared once normalised: full-width
// forms folded (NFKC), spaces and invisible characters dropped, traditional
// forms (機密, 絕密, 祕密, 密級) folded to simplified.
//
// What the guard cannot see is the content of binary files (images, PDFs,
// office documents uploaded as files): whoever uploads them answers for
// them.
package classified

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/countycloud/countycloud/core/errs"
)

// CodeRefused is the code of content refused for its classification.
const CodeRefused = "classified_content_refused"

// levels are the classifications that are refused, normalised. Each holds
// 密, which is what lets most bodies skip the parse.
var levels = []string{"绝密", "机密", "秘密"}

// mi is 密, in every level; no other character normalises to it.
const mi = "密"

// traditional folds the traditional (and variant) forms the levels and
// the field's name are written in to the simplified ones.
var traditional = strings.NewReplacer("機", "机", "絕", "绝", "祕", "秘", "級", "级")

// fieldNames are the names a classification is submitted under, as
// normalised keys (lower case, without separators).
var fieldNames = map[string]bool{
	"classification":         true,
	"classificationlevel":    true,
	"securityclassification": true,
	"secrecy":                true,
	"secrecylevel":           true,
	"密级":                     true,
	"保密等级":                   true,
	"保密级别":                   true,
}

// label is what a level follows as a marker, normalised (NFKC makes ：
// ASCII).
const label = "密级:"

// The brackets that set a level off, normalised (NFKC makes （ and ［
// ASCII); a star may stand for the closing one, as in 【机密★1年】.
// Book-title marks (《秘密》) name a work and are left out.
const (
	opens  = "【〔〖[("
	closes = "】〕〗])★☆"
	stars  = "★☆"
)

// maxFieldName bounds the cells CheckTable considers as headers.
const maxFieldName = 64

// Check refuses body, a JSON text, if it holds classified content. A body
// that is not JSON is not refused here: the decoder refuses it.
func Check(body []byte) error {
	if !mayHold(body) {
		return nil
	}
	return walk(json.NewDecoder(bytes.NewReader(body)))
}

// CheckTable refuses rows of text, such as an imported sheet's cells, if
// a cell holds classified content: a level in a column headed by a
// classification field (a header anywhere above it), or a marker in any
// cell.
func CheckTable(rows [][]string) error {
	field := map[int]bool{}
	for i, row := range rows {
		for col, cell := range row {
			if !strings.Contains(cell, mi) {
				if !field[col] && len(cell) <= maxFieldName && isField(normalize(cell)) {
					field[col] = true
				}
				continue
			}
			text := normalize(cell)
			if level, ok := levelOf(text, field[col]); ok {
				return refusal(level, fmt.Sprintf("row %d, column %d", i+1, col+1))
			}
			if isField(text) {
				field[col] = true
			}
		}
	}
	return nil
}

// leads are the characters a level begins with, in every form that
// normalises to one (NFKC makes ㊙ 秘).
var leads = []rune("机機绝絕秘祕㊙")

// mayHold says whether body holds 密 and a level's first character, as
// they are or as JSON escapes: a level needs both, and a body without
// them (most bodies, and most that hold 密, as in 保密 or 密切) is spared
// the parse.
func mayHold(body []byte) bool {
	escapedMi, escapedLead := escapes(body)
	if !escapedMi && !bytes.Contains(body, []byte(mi)) {
		return false
	}
	if escapedLead {
		return true
	}
	for _, r := range leads {
		if bytes.Contains(body, utf8.AppendRune(nil, r)) {
			return true
		}
	}
	return false
}

// escapes says whether body spells 密, and a level's first character, as
// \u escapes.
func escapes(body []byte) (mi, lead bool) {
	for rest := body; !mi || !lead; {
		i := bytes.Index(rest, []byte(`\u`))
		if i < 0 || len(rest) < i+6 {
			break
		}
		rest = rest[i+2:]
		r, ok := hexRune(rest[:4])
		mi = mi || (ok && r == '密')
		lead = lead || (ok && slices.Contains(leads, r))
	}
	return mi, lead
}

// hexRune reads the four hexadecimal digits of a \u escape.
func hexRune(digits []byte) (rune, bool) {
	var r rune
	for _, c := range digits {
		switch {
		case '0' <= c && c <= '9':
			r = r<<4 | rune(c-'0')
		case 'a' <= c && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case 'A' <= c && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// frame is an array or object being read: whether it is an object whose
// next string is a key, and whether it lies within a classification
// field's value.
type frame struct {
	object, wantKey, field bool
}

// walk reads the tokens of a JSON text in order, so that a key given
// twice is seen each time (a map keeps only the last), and refuses the
// first classified value. It stops quietly at malformed input.
func walk(dec *json.Decoder) error {
	stack := []frame{{}}
	fieldKey := false
	key := ""
	for {
		tok, err := dec.Token()
		if err != nil {
			// The end, or malformed text the decoder refuses.
			return nil
		}
		top := &stack[len(stack)-1]
		inField := top.field || (top.object && fieldKey)
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				top.wantKey = top.object
				stack = append(stack, frame{object: t == '{', wantKey: t == '{', field: inField})
			default:
				if len(stack) > 1 {
					stack = stack[:len(stack)-1]
				}
			}
		case string:
			if top.object && top.wantKey {
				top.wantKey = false
				text := normalize(t)
				fieldKey = isField(text)
				if level, ok := levelOf(text, top.field); ok {
					return refusal(level, "a field's name")
				}
				key = t
				continue
			}
			top.wantKey = top.object
			// Only a string holding 密 can hold a level.
			if !strings.Contains(t, mi) {
				continue
			}
			if level, ok := levelOf(normalize(t), inField); ok {
				// Where, but not what: the content stays out of the answer
				// and of every log the answer passes through.
				where := "a value in a list"
				if top.object {
					where = "the value of " + excerpt(key)
				}
				return refusal(level, where)
			}
		default:
			top.wantKey = top.object
		}
	}
}

// refusal says which level was found where.
func refusal(level, where string) error {
	return errs.E(errs.KindForbidden, CodeRefused,
		"content classified %s is refused (%s): classified documents never enter this system (谁上网，谁负责)", level, where)
}

// excerpt quotes the start of s, enough to find it again.
func excerpt(s string) string {
	const most = 40
	if utf8.RuneCountInString(s) <= most {
		return strconv.Quote(s)
	}
	return strconv.Quote(string([]rune(s)[:most])) + "…"
}

// normalize is text as the guard compares it: NFKC (full-width forms
// become ASCII), in lower case, without spaces, control, format,
// zero-width or combining characters, traditional forms folded.
func normalize(s string) string {
	if ascii(s) {
		// What NFKC and the folding leave as it is; a key mostly.
		return strings.Map(func(r rune) rune {
			if invisible(r) {
				return -1
			}
			return unicode.ToLower(r)
		}, s)
	}
	s = norm.NFKC.String(s)
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if invisible(r) {
			continue
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return traditional.Replace(b.String())
}

// invisible says whether r shows nothing between two characters: a space,
// a control, format or zero-width character, a combining mark, a
// variation selector or another default-ignorable code point.
func invisible(r rune) bool {
	switch {
	case r < utf8.RuneSelf:
		return r <= ' ' || r == 0x7f
	case r >= 0x4e00 && r <= 0x9fff:
		// The common ideographs, most of what is compared.
		return false
	}
	return unicode.IsSpace(r) || unicode.In(r, unicode.Cc, unicode.Cf, unicode.Mn, unicode.Me,
		unicode.Variation_Selector, unicode.Other_Default_Ignorable_Code_Point)
}

func ascii(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// isField says whether a normalised key names a classification.
func isField(key string) bool {
	if strings.Contains(key, "密级") {
		return true
	}
	return fieldNames[strings.Map(func(r rune) rune {
		if r == '_' || r == '-' || r == '.' {
			return -1
		}
		return r
	}, key)]
}

// levelOf finds a level in normalised text: at its start (past brackets
// and stars) if the text is a classification field's value, else only set
// off as a marker.
func levelOf(text string, field bool) (string, bool) {
	if !strings.Contains(text, mi) {
		return "", false
	}
	if field {
		rest := strings.TrimLeft(text, opens+stars)
		for _, l := range levels {
			if strings.HasPrefix(rest, l) {
				return l, true
			}
		}
	}
	for _, l := range levels {
		for at := 0; ; {
			i := strings.Index(text[at:], l)
			if i < 0 {
				break
			}
			i += at
			if marked(text[:i], text[i+len(l):]) {
				return l, true
			}
			at = i + len(l)
		}
	}
	return "", false
}

// marked says whether a level between before and after is set off as a
// marker.
func marked(before, after string) bool {
	prev, _ := utf8.DecodeLastRuneInString(before)
	next, _ := utf8.DecodeRuneInString(after)
	switch {
	case strings.ContainsRune(opens, prev) && strings.ContainsRune(closes, next):
		return true
	case strings.ContainsRune(stars, prev), strings.ContainsRune(stars, next):
		return true
	}
	return strings.HasSuffix(strings.TrimRight(before, opens+stars), label)
}
