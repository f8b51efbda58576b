package rollout

import (
	"net/url"
	"testing"

	"github.com/countycloud/countycloud/core/errs"
)

// FuzzParseFeedbackFilter: any query is read into a filter within its
// bounds or refused as bad input, never anything else.
func FuzzParseFeedbackFilter(f *testing.F) {
	for _, seed := range []string{"", "module=oa&unit=3&status=answered&overdue=true", "limit=500&before=9", "limit=501", "overdue=yes", "unit=-1", "x=1", "status=closed"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		got, err := ParseFeedbackFilter(q)
		if err != nil {
			if errs.As(err).Kind != errs.KindInvalid {
				t.Fatalf("%q: %v", raw, err)
			}
			return
		}
		if got.Limit < 1 || got.Limit > maxFeedbackPage || got.Unit < 0 || got.Before < 0 || len(got.Module) > 32 {
			t.Fatalf("%q: %+v", raw, got)
		}
	})
}
