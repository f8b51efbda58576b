package main

import (
	"encoding/json"
	"testing"

	"github.com/countycloud/countycloud/core/store/storetest"
)

// The bench's own run, small: it provisions, seeds and measures what
// it says.
func TestBenchRolloutMeasuresWhatItSays(t *testing.T) {
	t.Parallel()
	dsn := storetest.ServerConfig(t).FormatDSN()
	r := cli(t, map[string]string{}, "bench", "rollout", "--mysql-dsn", dsn, "--tenants", "2", "--units", "3", "--gate-units", "5", "--requests", "10", "-o", "json")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var report rolloutBenchReport
	if err := json.Unmarshal([]byte(r.stdout), &report); err != nil {
		t.Fatal(err)
	}
	if report.Tenants != 2 || report.GateUnits != 5 || report.GateP50MS <= 0 || report.GateRawP50MS <= 0 || report.OverviewP50MS <= 0 || len(report.Goals) != 6 || report.ReportsSeconds < 0 {
		t.Errorf("report: %+v", report)
	}
}
