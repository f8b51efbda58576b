package host_test

import (
	"strconv"
	"testing"

	"github.com/countycloud/countycloud/plugins/sdk"
)

// BenchmarkASubmission hands a citizen's letter in, one after another,
// through the inbox plugin in a real process:
//
//	go test ./plugins/host -run '^$' -bench ASubmission -benchtime 300x -count 3
//
// "submit" is one Submit: the record with its receipt's number in it,
// indexed, and the receipt, in one call and one transaction. "separate"
// is the calls a module made before it: Put, IssueReceipt, and Put again
// with the number, three calls and three transactions. Neither starts a
// workflow. With -count the two take turns; compare their ns/op.
func BenchmarkASubmission(b *testing.B) {
	w := newInboxWorld(b)
	letter := sdk.Submission{Document: map[string]any{"status": "received", "title": "关于村道路灯不亮的来信", "text": "村口路灯已坏一周，夜间出行不便。"},
		NumberField: "number"}
	// Each letter its own id, across the runs of each side.
	letters := 0
	for _, path := range []string{"submit", "separate"} {
		b.Run(path, func(b *testing.B) {
			for b.Loop() {
				letters++
				if r := w.do(b, wengyuan, citizenCaller, "POST", "/"+path+"/L"+strconv.Itoa(letters), letter); r.status != 200 {
					b.Fatalf("%d %s", r.status, r.body)
				}
			}
		})
	}
}
