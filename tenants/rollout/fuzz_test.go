package rollout_test

import (
	"encoding/json"
	"testing"

	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/tenants/rollout"
)

// FuzzParseTemplate: any body is a valid template or refused with the
// template's code and its problems, and a valid one survives its own
// JSON unchanged.
func FuzzParseTemplate(f *testing.F) {
	f.Add([]byte(`{"id":"gd.basic","name":{"zh-CN":"基本","en":"Basic"},"phases":[{"phase":"preparation","days":30,"tasks":[` +
		`{"id":"org","name":{"zh-CN":"导入","en":"Import"},"owner":"county","due_days":10,"kind":"evidence","check":{"measure":"platform.org.units","scope":"county","at_least":1,"since":"ever"}},` +
		`{"id":"enable","name":{"zh-CN":"开通","en":"Enable"},"owner":"province","due_days":0,"kind":"automatic","action":"enable_modules"}],"gate":["org"]},` +
		`{"phase":"testing","days":14,"tasks":[{"id":"keys","name":{"zh-CN":"测试","en":"Test"},"owner":"unit","due_days":3,"kind":"evidence","modules":["oa"],` +
		`"check":{"measure":"oa.notices.sent","scope":"key_units","at_least":2}}]},{"phase":"trial","days":30,"tasks":[]},{"phase":"formal","tasks":[]},{"phase":"expansion","tasks":[]}]}`))
	f.Add([]byte(`{"id":"x","name":{"zh-CN":"甲","en":"A"},"phases":[]}`))
	f.Add([]byte(`{"id":"x","phases":[{"phase":"preparation","days":-1,"tasks":[{"id":"a","kind":"evidence","check":{"measure":"a.b","scope":"accounts","at_least":2}}],"gate":["a","a"]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		tpl, err := rollout.ParseTemplate(body)
		if err != nil {
			if e := errs.As(err); e == nil || e.Code != rollout.CodeInvalidTemplate {
				t.Fatalf("refused without the template's code: %v", err)
			}
			return
		}
		again, err := json.Marshal(tpl)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rollout.ParseTemplate(again); err != nil {
			t.Fatalf("a valid template's own JSON is refused: %v", err)
		}
	})
}
