package audit_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/countycloud/countycloud/core/audit"
)

// digestDecoded is how a plugin's document was digested before
// DigestJSON: decoded, its numbers as written, and given to Digest.
func digestDecoded(doc []byte) *string {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		panic(err)
	}
	return audit.Digest(v)
}

// Whatever valid JSON a plugin writes, DigestJSON is the digest of its
// value decoded: one value, one digest, however it is spaced, ordered
// or escaped.
func FuzzDigestJSONIsTheDecodedValuesDigest(f *testing.F) {
	for _, seed := range []string{`{"b":1,"a":[1,2.50,-0,1e3,true,false,null],"c":{"z":"<&>","y":"\u2028 \u2029"}}`, `null`, `"x"`, `[]`, `{}`, ` [ { } , [ ] ] `,
		`{"a":1,"a":2,"A":3,"\u0061":4}`, "{\"\xff\":\"\xfe\",\"é\":\"\\u00e9\",\"\\ud800\":\"\\udc00x\"}", `{"k":"\"\\\/\b\f\n\r\t\u0001"}`,
		`{"item_code":"XK-001","applicant":{"name":"翁源县宏达建材有限公司","id_type":"统一社会信用代码"},"materials":["备案申请表","营业执照"],"unit_id":2,"number":"2026-000001"}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		if !json.Valid(doc) {
			return
		}
		got, want := audit.DigestJSON(doc), digestDecoded(doc)
		if (got == nil) != (want == nil) || got != nil && *got != *want {
			t.Fatalf("%q: DigestJSON %v, the decoded value's %v", doc, deref(got), deref(want))
		}
	})
}

func deref(s *string) string {
	if s == nil {
		return "nil"
	}
	return *s
}

// BenchmarkDigestJSON digests an online application's record.
func BenchmarkDigestJSON(b *testing.B) {
	doc := []byte(`{"applicant":{"contact":"13800138000","id_number":"91440229MA4UJ1234X","id_type":"统一社会信用代码","name":"翁源县宏达建材有限公司"},"channel":"online","instance_id":123456,` +
		`"item_code":"XK-001","item_name":"企业投资项目备案","materials":["备案申请表","营业执照"],"number":"2026-000123","status":"submitted","submitted_at":"2026-12-07T23:00:00.123456Z",` +
		`"unit_id":2,"updated_at":"2026-12-07T23:00:00.123456Z","updated_by":"anonymous"}`)
	b.Run("walked", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			audit.DigestJSON(doc)
		}
	})
	b.Run("decoded", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			digestDecoded(doc)
		}
	})
}
