package oa

import (
	"sync"
	"time"

	"github.com/countycloud/countycloud/plugins/sdk"
	"github.com/countycloud/countycloud/plugins/sdk/sdkfake"
)

// fakeHost is the host's services in memory (sdkfake: records, files,
// numbers, units, measures, audit, and the one failure hook) with what
// the module uses beyond them: the workflow engine and the seals
// (fakeflow_test.go), the directory's accounts and notices
// (fakehost_messaging_test.go).
type fakeHost struct {
	*sdkfake.Host
	now    func() time.Time
	mu     sync.Mutex
	engine *fakeEngine
}

// newFakeHost gives the fake county units 10 (县信息中心), 20 (县政府办), 30
// (民政局) and 40 (财政局).
func newFakeHost(now func() time.Time) *fakeHost {
	units := []sdk.Unit{{ID: 10, Name: "县信息中心"}, {ID: 20, Name: "县政府办"}, {ID: 30, Name: "民政局"}, {ID: 40, Name: "财政局"}}
	return &fakeHost{Host: sdkfake.New(Manifest(), now, units...), now: now, engine: newFakeEngine()}
}
