package convenience

import (
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// checkText holds a text the parsers accepted to their promises.
func checkAccepted(t *testing.T, field, s string, least, most int) {
	t.Helper()
	if !utf8.ValidString(s) || s != strings.TrimSpace(s) {
		t.Fatalf("%s %q is not valid trimmed UTF-8", field, s)
	}
	if n := utf8.RuneCountInString(s); n < least || n > most {
		t.Fatalf("%s has %d characters", field, n)
	}
	if strings.ContainsFunc(s, func(r rune) bool {
		return unicode.IsControl(r) && r != '\n' && r != '\t' && r != '\r' || bidiControl(r)
	}) {
		t.Fatalf("%s %q holds control characters", field, s)
	}
}

// FuzzParseMessage holds parseMessage to its promises on any body: an
// error, or a message of a known category, a content and a name within
// bounds, and a way to reach the citizen.
func FuzzParseMessage(f *testing.F) {
	f.Add([]byte(`{"category":"投诉","content":"小区门口路灯坏了一个月。","contact":{"name":"王小明","phone":"138-1234-5678","address":"人民路12号"},"publishable":true}`))
	f.Add([]byte(`{"category":"建议","content":"建议增加公交班次。","contact":{"name":"Li Lei","email":"li@example.cn"}}`))
	f.Add([]byte(`{"category":"求助","content":"\u202e反向文字测试内容","contact":{"name":"张三","phone":"+86 138 0000 0000"}}`))
	f.Add([]byte(`{"category":"咨询","content":"  ","contact":{}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		in, err := parseMessage(body)
		if err != nil {
			return
		}
		if !slices.Contains(categories, in.Category) {
			t.Fatalf("category %q", in.Category)
		}
		checkAccepted(t, "content", in.Content, minContentRunes, maxContentRunes)
		if !validName(in.Contact.Name) || in.Contact.Phone == "" && in.Contact.Email == "" {
			t.Fatalf("contact %+v", in.Contact)
		}
		if in.Contact.Address != "" {
			checkAccepted(t, "address", in.Contact.Address, 1, maxAddressRunes)
		}
	})
}

// FuzzParseReply holds the unit's reply and the office's review to
// theirs: an error, or a reply within bounds, a decision that is accept
// or return, a return with its reason and never published.
func FuzzParseReply(f *testing.F) {
	f.Add([]byte(`{"reply":"您好，已核实处理。"}`), []byte(`{"decision":"return","reason":"请补充处理结果"}`))
	f.Add([]byte(`{"reply":"好"}`), []byte(`{"decision":"accept","publish":true}`))
	f.Add([]byte(`{"reply":"\u0000答复内容很长"}`), []byte(`{"decision":"return","publish":true}`))
	f.Fuzz(func(t *testing.T, reply, review []byte) {
		if in, err := parseReply(reply); err == nil {
			checkAccepted(t, "reply", in.Reply, minReplyRunes, maxReplyRunes)
		}
		in, err := parseReview(review)
		if err != nil {
			return
		}
		switch in.Decision {
		case actAccept:
		case actReturn:
			if in.Publish {
				t.Fatalf("a return published: %+v", in)
			}
			checkAccepted(t, "reason", in.Reason, 1, maxReasonRunes)
		default:
			t.Fatalf("decision %q", in.Decision)
		}
	})
}

// FuzzMask holds mask to its promises on any text and name: the text
// keeps its length in visible characters (invisible ones are dropped), is valid UTF-8, holds no run of seven
// digits and not the name, and masking it again changes nothing more.
func FuzzMask(f *testing.F) {
	f.Add("我叫王小明，电话13812345678，身份证44022919900101123X，住人民路12号3栋501室，邮箱wxm@example.cn", "王小明")
	f.Add("联系电话：0751-2812345 或 １３８１２３４５６７８", "李雷")
	f.Add("姓名：张三丰 住址：三号楼二单元", "张三丰")
	f.Add("\xff\xfe13812345678", "")
	f.Add("电话138.1234\u200b5678，王 小\u00ad明", "王小明")
	f.Add("2026-12-07-13812345678，2026/12/7 10:30，幸福小区5-2-301", "幸福小区5-2-301")
	f.Add("邻居王建国说张建国主任和李明医生住人民路12", "人民路12号")
	f.Fuzz(func(t *testing.T, text, name string) {
		out := mask(text, name)
		visible := strings.Map(func(c rune) rune {
			if unicode.Is(unicode.Cf, c) {
				return -1
			}
			return c
		}, text)
		if utf8.RuneCountInString(out) != len([]rune(visible)) {
			t.Fatalf("mask(%q) = %q changes the length", text, out)
		}
		if !utf8.ValidString(out) {
			t.Fatalf("mask(%q) = %q is not valid UTF-8", text, out)
		}
		if hasDigitRun(out, 7) {
			t.Fatalf("mask(%q) = %q leaves a long number", text, out)
		}
		if address := strings.TrimSpace(name); utf8.RuneCountInString(address) >= minAddressRunes && utf8.ValidString(address) && !strings.ContainsRune(address, '*') {
			if got := maskFor(text, contact{Address: address}); strings.Contains(got, address) {
				t.Fatalf("maskFor(%q) with address %q = %q leaves the address", text, address, got)
			}
		}
		if n := strings.TrimSpace(name); utf8.ValidString(n) && utf8.RuneCountInString(n) >= 2 && !strings.ContainsRune(n, '*') && strings.Contains(out, n) {
			t.Fatalf("mask(%q, %q) = %q leaves the name", text, name, out)
		}
		if again := mask(out, name); again != out {
			t.Fatalf("mask(%q) = %q, and again %q", text, out, again)
		}
	})
}

// hasDigitRun reports whether s holds n digits in a row, single
// separators between them aside, but for dates that begin a run
// (2026-12-07), which mask keeps.
func hasDigitRun(s string, n int) bool {
	r := []rune(s)
	run := 0
	for i := 0; i < len(r); i++ {
		c := r[i]
		switch {
		case run == 0 && (i == 0 || !isDigit(r[i-1])) && dateAt(r, i) > 0:
			i += dateAt(r, i) - 1
		case isDigit(c):
			run++
			if run >= n {
				return true
			}
		case strings.ContainsRune(digitSeparators, c) && run > 0 && i+1 < len(r) && isDigit(r[i+1]):
		default:
			run = 0
		}
	}
	return false
}
