package classified

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/countycloud/countycloud/core/errs"
)

// classifiedBodies are every way a probe slipped classified content past
// the guard, and the plain ones. testdata/fuzz/FuzzCheck holds each.
var classifiedBodies = []struct{ name, body string }{
	{"a classification field", `{"title":"x","classification":"机密"}`},
	{"密级 in a nested object", `{"doc":{"密级":"绝密★30年"}}`},
	{"a field in an array of objects", `{"items":[{"Classification":" 秘密"}]}`},
	{"an escaped value", `{"secrecy_level":"\u673a\u5bc6"}`},
	{"an escaped key", `{"\u5bc6\u7ea7":"机密"}`},
	{"a value inside an array", `{"classification":["公开","机密"]}`},
	{"a value inside a nested object", `{"classification":{"level":"机密","term":"10年"}}`},
	{"a value deep inside the field", `{"meta":{"classification":[{"level":["绝密"]}]}}`},
	{"traditional 機密", `{"classification":"機密"}`},
	{"traditional 絕密", `{"密级":"絕密"}`},
	{"variant 祕密", `{"密级":"祕密"}`},
	{"traditional key 密級", `{"密級":"机密"}`},
	{"traditional key and value", `{"文件密級":"機密★5年"}`},
	{"full-width key", `{"ｃｌａｓｓｉｆｉｃａｔｉｏｎ":"机密"}`},
	{"upper-case key", `{"SECRECY-LEVEL":"秘密"}`},
	{"a bracketed marker in a title", `{"title":"【机密】关于调整机构设置的请示"}`},
	{"a square-bracketed marker", `{"title":"[秘密] 会议纪要"}`},
	{"a full-width square-bracketed marker", `{"title":"［秘密］会议纪要"}`},
	{"a 〔〕 marker", `{"title":"〔绝密〕方案"}`},
	{"a full-width parenthesised marker", `{"title":"关于某事的通知（机密）"}`},
	{"a parenthesised marker", `{"title":"通知(机密)"}`},
	{"a bracketed marker with its term", `{"title":"【机密★10年】年度计划"}`},
	{"a star before the level", `{"title":"★机密 年度计划"}`},
	{"a white star before the level", `{"title":"☆秘密 年度计划"}`},
	{"a label and a level", `{"note":"密级：机密"}`},
	{"a label and a level with an ASCII colon", `{"note":"本文件 密级: 绝密，请勿外传"}`},
	{"a traditional label", `{"note":"密級：機密"}`},
	{"a label and a bracketed level", `{"note":"密级：【秘密】"}`},
	{"a level, a star and a term", `{"title":"机密★1年 关于某事的报告"}`},
	{"a level and a star with a long term", `{"title":"绝密★长期"}`},
	{"a spaced level", `{"classification":"机 密"}`},
	{"an ideographic space", `{"classification":"机　密"}`},
	{"a zero-width space", "{\"classification\":\"机\u200b密\"}"},
	{"an escaped zero-width space", `{"classification":"机\u200b密"}`},
	{"a zero-width joiner in a marker", "{\"title\":\"【机\u200d密】报告\"}"},
	{"a soft hyphen in a marker", "{\"title\":\"★机\u00ad密\"}"},
	{"a word joiner in a key", "{\"密\u2060级\":\"机密\"}"},
	{"a byte-order mark in a value", "{\"classification\":\"\ufeff机密\"}"},
	{"a combining mark", "{\"classification\":\"机\u0332密\"}"},
	{"the circled 秘", `{"title":"【㊙密】"}`},
	{"a duplicate key with the classified value first", `{"classification":"机密","classification":"公开"}`},
	{"a duplicate nested key", `{"doc":{"密级":"秘密","title":"x","密级":"内部"}}`},
	{"a marker in a key", `{"【机密】附件":"x"}`},
	{"a marker in an array of strings", `{"tags":["普通","★机密"]}`},
	{"a top-level array", `[{"classification":"机密"}]`},
	{"a top-level string", `"【绝密】"`},
	{"a body with trailing data", `{"classification":"机密"}]`},
}

// plainBodies hold the words in ordinary text, or other levels.
var plainBodies = []struct{ name, body string }{
	{"保守秘密 in a sentence", `{"title":"关于保守秘密的通知"}`},
	{"商业秘密 in a sentence", `{"text":"企业申请商业秘密保护的办事指南"}`},
	{"保密 in a sentence", `{"text":"做好保密工作，严防失泄密"}`},
	{"the levels named in a sentence", `{"text":"三密（绝密、机密、秘密）文件不得上网"}`},
	{"a level in plain text", `{"title":"绝密档案展观后感"}`},
	{"a book title", `{"title":"《秘密》读书笔记"}`},
	{"public", `{"classification":"公开"}`},
	{"internal", `{"classification":"内部"}`},
	{"not classified", `{"密级":"非密"}`},
	{"commercial secret as a classification", `{"classification":"商业秘密"}`},
	{"a label in English in a note", `{"note":"classification: 机密 is refused"}`},
	{"a star elsewhere", `{"text":"★★★ 五星服务窗口，注意保密"}`},
	{"the field without a level", `{"classification":"","密级":null,"secrecy_level":3}`},
	{"no JSON", `not json`},
	{"a broken body", `{"title":"秘密`},
	{"an escape of something else", `{"text":"\u4fdd\u5bc6\u5de5\u4f5c"}`},
}

func TestEveryClassifiedVariantIsRefusedAndPlainTextIsNot(t *testing.T) {
	for _, c := range classifiedBodies {
		if code := errs.CodeOf(Check([]byte(c.body))); code != CodeRefused {
			t.Errorf("%s: %s was let in", c.name, c.body)
		}
		if escaped := asciiEscaped([]byte(c.body)); errs.CodeOf(Check(escaped)) != CodeRefused {
			t.Errorf("%s: escaped as %s it was let in", c.name, escaped)
		}
	}
	for _, c := range plainBodies {
		if err := Check([]byte(c.body)); err != nil {
			t.Errorf("%s: %s refused: %v", c.name, c.body, err)
		}
	}
}

// TestARefusalSaysWhereButNotWhat: the answer names the level and the
// field, never the classified text, which would otherwise reach every log
// an answer passes through.
func TestARefusalSaysWhereButNotWhat(t *testing.T) {
	for body, where := range map[string]string{
		`{"title":"【机密】关于调整机构设置的请示"}`:       `the value of "title"`,
		`{"tags":["公开","★机密 关于调整机构设置的请示"]}`: "a value in a list",
	} {
		e := errs.As(Check([]byte(body)))
		if e.Kind != errs.KindForbidden || !strings.Contains(e.Message, "机密") || !strings.Contains(e.Message, where) || strings.Contains(e.Message, "关于") {
			t.Errorf("%s refused with %v", body, e)
		}
	}
}

func TestASheetWithAClassificationColumnOrAMarkedCellIsRefused(t *testing.T) {
	header := []string{"单位名称", "姓名", "登录名"}
	refused := map[string][][]string{
		"a 密级 column":                        {{"单位名称", "密级"}, {"县政府办", "公开"}, {"县保密局", "机密"}},
		"a 密級 column":                        {{"单位名称", "密級"}, {"县保密局", "機密★10年"}},
		"a full-width classification column": {{"ｃｌａｓｓｉｆｉｃａｔｉｏｎ", "单位名称"}, {"秘密", "县保密局"}},
		"a header below a title row":         {{"某县花名册"}, {"单位名称", "文件密级"}, {"县保密局", "绝 密"}},
		"a marked cell":                      {header, {"【机密】县保密局", "张三", "zhangsan"}},
		"a label in a cell":                  {header, {"县保密局", "密级：秘密", "zhangsan"}},
	}
	for name, rows := range refused {
		if code := errs.CodeOf(CheckTable(rows)); code != CodeRefused {
			t.Errorf("%s: %v was let in", name, rows)
		}
	}
	plain := [][]string{header, {"县保密局", "李保密", "libaomi"}, {"县国家保密局", "王秘密", "wang"}, {"机密", "绝密", "秘密"}}
	if err := CheckTable(plain); err != nil {
		t.Errorf("a sheet naming the levels in plain cells: %v", err)
	}
}

func TestNormalizeFoldsWidthSpacesInvisiblesAndTraditionalForms(t *testing.T) {
	for in, want := range map[string]string{
		"ｃｌａｓｓｉｆｉｃａｔｉｏｎ":  "classification",
		"机 \u200b\u2060密": "机密",
		"密級：機密":           "密级:机密",
		"絕\ufe0f密":        "绝密",
		"㊙密":              "秘密",
	} {
		if got := normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}

// asciiEscaped is body with every non-ASCII character in its strings
// written as a JSON escape, as clients that encode ASCII only send it.
func asciiEscaped(body []byte) []byte {
	var out []byte
	inString, escaped := false, false
	for i := 0; i < len(body); {
		c := body[i]
		if inString && c >= utf8.RuneSelf {
			r, size := utf8.DecodeRune(body[i:])
			if r == utf8.RuneError && size == 1 {
				out = append(out, c)
				i++
				continue
			}
			if r1, r2 := utf16.EncodeRune(r); r1 != utf8.RuneError {
				out = fmt.Appendf(out, `\u%04x\u%04x`, r1, r2)
			} else {
				out = fmt.Appendf(out, `\u%04x`, r)
			}
			i += size
			continue
		}
		switch {
		case escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case c == '"':
			inString = !inString
		}
		out = append(out, c)
		i++
	}
	return out
}

// FuzzCheck holds every variant above in its corpus. Whatever the input,
// the guard answers nothing or a refusal, and the same whether a valid
// body's characters come as they are or escaped.
func FuzzCheck(f *testing.F) {
	for _, c := range classifiedBodies {
		f.Add([]byte(c.body))
	}
	for _, c := range plainBodies {
		f.Add([]byte(c.body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		err := Check(body)
		if err != nil && errs.CodeOf(err) != CodeRefused {
			t.Fatalf("unexpected error %v", err)
		}
		if !utf8.Valid(body) || !json.Valid(body) {
			return
		}
		if escaped := asciiEscaped(body); (Check(escaped) != nil) != (err != nil) {
			t.Fatalf("%s gives %v, escaped as %s it gives %v", body, err, escaped, Check(escaped))
		}
	})
}

func FuzzCheckTable(f *testing.F) {
	f.Add("单位名称", "密级", "机密")
	f.Add("classification", "x", "【秘密】")
	f.Add("单位名称", "姓名", "李保密")
	f.Fuzz(func(t *testing.T, a, b, c string) {
		err := CheckTable([][]string{{a, b}, {c, c}})
		if err != nil && errs.CodeOf(err) != CodeRefused {
			t.Fatalf("unexpected error %v", err)
		}
	})
}

// typicalBody is what most requests carry: an account created, in
// Chinese, with no candidate character.
var typicalBody = []byte(`{"login":"zhangsan","name":"张三","unit_id":12,"roles":["clerk","unit_admin"],"mobile":"13800138000","email":"zhangsan@wengyuan.gov.cn","title":"关于做好2026年春节期间值班工作的通知","note":"请各单位于1月20日前报送值班表，并安排专人负责"}`)

// BenchmarkCheck compares the guard on a typical body with json.Valid,
// the least any JSON body costs, on one holding 密 in a word, and on one
// that needs the parse (a level's first character and 密, apart).
func BenchmarkCheck(b *testing.B) {
	withMi := []byte(strings.Replace(string(typicalBody), "值班工作", "保密工作", 1))
	parsed := []byte(strings.Replace(string(typicalBody), "值班工作", "机关保密工作", 1))
	for _, c := range []struct {
		name string
		body []byte
		run  func([]byte)
	}{
		{"json.Valid/typical", typicalBody, func(body []byte) { json.Valid(body) }},
		{"Check/typical", typicalBody, func(body []byte) { _ = Check(body) }},
		{"Check/holding 密", withMi, func(body []byte) { _ = Check(body) }},
		{"Check/parsed", parsed, func(body []byte) { _ = Check(body) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.body)))
			for b.Loop() {
				c.run(c.body)
			}
		})
	}
}
