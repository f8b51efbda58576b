package host

import (
	"encoding/json"
	"fmt"
	"testing"
)

// indexedByMap is what indexing read of a document before it walked
// the document: its fields decoded into a map. The walk must find the
// same values.
func indexedByMap(indexed []string, document []byte) ([]json.RawMessage, bool) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(document, &top); err != nil || top == nil {
		return nil, false
	}
	out := make([]json.RawMessage, len(indexed))
	for i, f := range indexed {
		out[i] = top[f]
	}
	return out, true
}

func FuzzObjectFieldsAsEncodingJSONFindsThem(f *testing.F) {
	f.Add([]byte(`{"code":"XK-001","unit_id":20,"category":"行政许可","complete":true,"materials":[{"name":"a\"}"}],"unit_id":30}`))
	f.Add([]byte(` { "unit\u005fid" : "x" , "complete":null, "category":{"a":[1,{"b":"]"}]}} `))
	f.Add([]byte(`{}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`[{"unit_id":1}]`))
	f.Add([]byte(`{"unit_id":1e3,"complete":false,"category":"\ud800"}`))
	f.Add([]byte("{\"category\":\"\xff\",\"\xffunit_id\":1}"))
	indexed := []string{"unit_id", "category", "complete", "unit_id"}
	f.Fuzz(func(t *testing.T, document []byte) {
		got, ok := objectFields(document, indexed)
		want, wantOK := indexedByMap(indexed, document)
		if ok != wantOK || fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) {
			t.Fatalf("%q: walked %q %v, decoded %q %v", document, got, ok, want, wantOK)
		}
	})
}

// BenchmarkIndexedFields finds the indexed fields of a catalogue item's
// document, as an import of the catalogue does for each of its items,
// by walking the document and by decoding it into a map.
func BenchmarkIndexedFields(b *testing.B) {
	document := []byte(`{"code":"11360922MB1521004X-00001","name":"建设工程规划许可证核发（第1项）","category":"行政许可","unit_id":20,"departments":[{"unit_id":20,"days":3},{"unit_id":30,"days":4}],` +
		`"legal_basis":"《中华人民共和国城乡规划法》第四十条","conditions":"申请人为在本县行政区域内从事建设活动的法人或者其他组织；项目已取得用地批准文件（编号1），符合控制性详细规划和规划条件。",` +
		`"materials":[{"name":"建设工程规划许可证申请表","original":true,"eform":true},{"name":"营业执照","original":true}],"procedure":"1.申请：申请人通过网上办事大厅提交申请材料；2.受理：窗口审查材料是否齐全。",` +
		`"promised_days":10,"statutory_days":20,"fees":"不收费","phone":"0751-2881234","complete":true,"counted_on":"2026-12-07","updated_by":"wyadmin","updated_at":"2026-12-07T19:00:00Z"}`)
	indexed := []string{"unit_id", "category", "complete"}
	b.Run("walked", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			if _, ok := objectFields(document, indexed); !ok {
				b.Fatal("not an object")
			}
		}
	})
	b.Run("decoded", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			if _, ok := indexedByMap(indexed, document); !ok {
				b.Fatal("not an object")
			}
		}
	})
}
