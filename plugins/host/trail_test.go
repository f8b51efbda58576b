package host

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/countycloud/countycloud/core/audit"
)

// A plugin written without the SDK may send anything as an object; the
// SDK's own encoding never sends what is refused here.
func TestAuditDigestsAreOfOneJSONValueEach(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{`{"a":`, `{} {}`, `{}}`, `[1]]`, `nope`, `"` + strings.Repeat("x", MaxDocumentBytes) + `"`} {
		if _, err := digest("after", []byte(bad)); status.Code(err) != codes.InvalidArgument {
			t.Errorf("digest of %.20q = %v, want InvalidArgument", bad, err)
		}
	}
	for _, none := range []string{``, `null`} {
		if d, err := digest("after", []byte(none)); d != nil || err != nil {
			t.Errorf("digest of %q = %v %v, want none", none, d, err)
		}
	}
	d, err := digest("after", []byte(" {\"n\": 12345678901234567890, \"a\": [1, 2]}\n"))
	if want := audit.Digest(map[string]any{"a": []int{1, 2}, "n": uint64(12345678901234567890)}); err != nil || d == nil || *d != *want {
		t.Errorf("digest = %v %v, want %s", d, err, *want)
	}
}
