package host_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/countycloud/countycloud/plugins/sdk"
)

// BenchmarkASubmission hands citizens' letters in, one after another,
// through the inbox plugin in a real process:
//
//	go test ./plugins/host -run '^$' -bench ASubmission -benchtime 300x -count 3
//
// Each iteration hands one letter in with one Submit (the record with
// its receipt's number in it, indexed, and the receipt: one call, one
// transaction) and one by the calls a module made before it (Put,
// IssueReceipt, Put again with the number: three calls, three
// transactions), neither starting a workflow. The two take turns within
// the iteration, so that a machine's load weighs on both alike; each
// side's time is reported (submit-ns/op, separate-ns/op), and
// separate/submit is how many times longer the separate calls take.
func BenchmarkASubmission(b *testing.B) {
	w := newInboxWorld(b)
	letter := sdk.Submission{Document: map[string]any{"status": "received", "title": "关于村道路灯不亮的来信", "text": "村口路灯已坏一周，夜间出行不便。"},
		NumberField: "number"}
	var (
		took    = map[string]time.Duration{}
		letters int
	)
	for b.Loop() {
		for _, path := range []string{"submit", "separate"} {
			letters++
			start := time.Now()
			if r := w.do(b, wengyuan, citizenCaller, "POST", "/"+path+"/L"+strconv.Itoa(letters), letter); r.status != 200 {
				b.Fatalf("%s: %d %s", path, r.status, r.body)
			}
			took[path] += time.Since(start)
		}
	}
	b.ReportMetric(float64(took["submit"].Nanoseconds())/float64(b.N), "submit-ns/op")
	b.ReportMetric(float64(took["separate"].Nanoseconds())/float64(b.N), "separate-ns/op")
	b.ReportMetric(float64(took["separate"])/float64(took["submit"]), "separate/submit")
}
