package sdk_test

import (
	"testing"
	"time"

	"github.com/countycloud/countycloud/plugins/sdk"
)

// Ids of later records sort first, ids of one millisecond differ, and
// only what NewestFirstID makes passes ValidNewestFirstID.
func TestNewestFirstIDsSortTheNewestFirst(t *testing.T) {
	at := time.Date(2026, 12, 6, 23, 0, 0, 0, time.UTC)
	older, newer := sdk.NewestFirstID(at), sdk.NewestFirstID(at.Add(time.Millisecond))
	if newer >= older {
		t.Errorf("the newer id %s does not sort before the older %s", newer, older)
	}
	if a, b := sdk.NewestFirstID(at), sdk.NewestFirstID(at); a == b {
		t.Errorf("two ids of one millisecond met: %s", a)
	}
	if !sdk.ValidNewestFirstID(older) {
		t.Errorf("%s is refused", older)
	}
	for _, bad := range []string{"", older[:25], older + "0", "ILOU" + older[4:], "../" + older[3:], "ZYC" + older[3:]} {
		if sdk.ValidNewestFirstID(bad) {
			t.Errorf("%q passes", bad)
		}
	}
}
