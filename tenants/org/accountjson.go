package org

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// appendJSON writes the page as encoding/json would, without reflection:
// an account list is the most frequent read of a county's data, and
// reflection over its times and strings was an eighth of a request's CPU.
// FuzzAccountPageJSON holds it to encoding/json's output.
func (p AccountPage) appendJSON(b []byte) []byte {
	b = append(b, `{"accounts":[`...)
	for i, a := range p.Accounts {
		if i > 0 {
			b = append(b, ',')
		}
		b = a.appendJSON(b)
	}
	b = append(b, ']')
	if p.NextAfter != 0 {
		b = append(b, `,"next_after":`...)
		b = strconv.AppendInt(b, p.NextAfter, 10)
	}
	return append(b, '}')
}

func (a Account) appendJSON(b []byte) []byte {
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, a.ID, 10)
	b = append(b, `,"login":`...)
	b = appendString(b, a.Login)
	b = append(b, `,"name":`...)
	b = appendString(b, a.Name)
	b = append(b, `,"unit_id":`...)
	b = strconv.AppendInt(b, a.UnitID, 10)
	b = append(b, `,"roles":`...)
	if a.Roles == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, r := range a.Roles {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, r)
		}
		b = append(b, ']')
	}
	if a.Mobile != "" {
		b = append(b, `,"mobile":`...)
		b = appendString(b, a.Mobile)
	}
	if a.Email != "" {
		b = append(b, `,"email":`...)
		b = appendString(b, a.Email)
	}
	b = append(b, `,"status":`...)
	b = appendString(b, a.Status)
	b = append(b, `,"created_at":`...)
	b = appendTime(b, a.CreatedAt)
	b = append(b, `,"updated_at":`...)
	b = appendTime(b, a.UpdatedAt)
	return append(b, '}')
}

func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

const hexDigits = "0123456789abcdef"

// appendString quotes s as encoding/json does by default: control
// characters, quotes and backslashes escaped, <, > and & too (safe in
// HTML), invalid UTF-8 as U+FFFD, and U+2028, U+2029 escaped.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
