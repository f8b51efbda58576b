package onejson

import (
	"encoding/json"
	"strings"
	"testing"
)

// Walking valid JSON finds the duplicate decoding it token by token
// finds, the same name first.
func FuzzDuplicateKeyWalkedAsTokensFindIt(f *testing.F) {
	many := `{` + strings.Repeat(`"a0":1,"b\u0031":[],"c2":{},`, 6) + `"k":1,"` + "\u212a" + `":2}`
	for _, seed := range []string{`{"role":"clerk","Role":"operator"}`, `{"a":{"b":[{"c":1,"C":2}]}}`, `{"k":1,"K":2}`, `[{"a":1},{"a":1}]`, `{}`,
		`{"a\"b":1,"A\u0022B":2}`, "{\"\xff\":1,\"\xfe\":2}", "{\"\ufffd\":1,\"\xff\":2}", `{"s":{"x":"{\"s\":1}"},"ſ":[1,{"q":[]}]}`, many,
		`{"` + strings.Repeat(`x`, 40) + `":1,"y":[{"z":1},{"z":2}]}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if !json.Valid(b) {
			return
		}
		walked, foundWalking := duplicateKeyWalked(b)
		decoded, foundDecoding := duplicateKeyByTokens(b)
		if walked != decoded || foundWalking != foundDecoding {
			t.Fatalf("%q: walking found %q %v, decoding %q %v", b, walked, foundWalking, decoded, foundDecoding)
		}
	})
}

// BenchmarkDuplicateKey checks an online application's body.
func BenchmarkDuplicateKey(b *testing.B) {
	body := []byte(`{"item_code":"XK-001","materials":["备案申请表","营业执照"],"applicant":{"name":"翁源县宏达建材有限公司","id_type":"统一社会信用代码","id_number":"91440229MA4UJ1234X","contact":"13800138000"}}`)
	for name, find := range map[string]func([]byte) (string, bool){"walked": duplicateKeyWalked, "tokens": duplicateKeyByTokens} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				if _, found := find(body); found {
					b.Fatal("a duplicate in a body without one")
				}
			}
		})
	}
}
