package sdk_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/countycloud/countycloud/plugins/sdk"
	"github.com/countycloud/countycloud/plugins/sdk/onejson"
)

// DecodeJSON takes exactly one JSON object within its limit, with no
// field the target lacks, and nothing else.
func FuzzDecodeJSON(f *testing.F) {
	for _, seed := range []string{`{"title":"通知","urgency":"特急"}`, `{"title":1}`, `{"titel":"x"}`, `{} {}`, `{"title":"a","Title":"b"}`, `{"urgenCY":"特急"}`, "{}\v", "{}\u00a0", ``, `  `, "\f", `[1]`, `{"title":"` + string(make([]byte, 40)) + `"}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		const limit = 64
		var v struct {
			Title   string `json:"title"`
			Urgency string `json:"urgency"`
		}
		if err := sdk.DecodeJSON(body, limit, &v); err != nil {
			return
		}
		if len(body) > limit {
			t.Fatalf("took %d bytes past its limit of %d", len(body), limit)
		}
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(body, &fields); err != nil {
			t.Fatalf("took %q, which is not one JSON object: %v", body, err)
		}
		if name, dup := onejson.DuplicateKey(body); dup {
			t.Fatalf("took %q, which names %q twice", body, name)
		}
		// encoding/json fills a field from a member named in any case.
		for k := range fields {
			if !strings.EqualFold(k, "title") && !strings.EqualFold(k, "urgency") {
				t.Fatalf("took %q with the field %q the target lacks", body, k)
			}
		}
	})
}
