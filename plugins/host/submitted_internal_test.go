package host

import (
	"bytes"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/countycloud/countycloud/plugins/sdk/proto/pluginv1"
)

// writtenByEncoder is how a submission's document was written before its
// members were encoded once: decoded into a map, the host's members set
// (the deadline's left out when there is none), the map encoded. with
// must write the same bytes.
func writtenByEncoder(document []byte, numberField, instanceField, dueField, number string, instance int64, due *time.Time) ([]byte, bool) {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(document, &members); err != nil || members == nil {
		return nil, false
	}
	if numberField != "" {
		members[numberField], _ = json.Marshal(number)
	}
	if instanceField != "" {
		members[instanceField] = json.RawMessage(strconv.FormatInt(instance, 10))
	}
	if dueField != "" {
		delete(members, dueField)
		if due != nil {
			members[dueField], _ = json.Marshal(due.UTC())
		}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(members); err != nil {
		return nil, false
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), true
}

func FuzzSubmittedDocumentAsEncodingJSONWritesIt(f *testing.F) {
	f.Add([]byte(`{"item_code":"XK-001","applicant":{"name":"翁源县<宏达>&建材","id":"9144"},"materials":["备案申请表", "营业执照"],"number":"x","status":"submitted"}`), "number", "instance_id", "", "2026-000001", int64(7), int64(0), false)
	f.Add([]byte(` { "b" : 1 , "a":[ 1 , 2 ], "\u2028k\u00e9":"\u2028", "a":null, "instance_id" : 3 } `), "", "instance_id", "", "", int64(9223372036854775807), int64(0), false)
	f.Add([]byte(`{"\"q\\":"x","<":">","\u007f":1e3,"z":{"y":{"x":[]}}}`), "number", "", "", "0000-000000000000", int64(0), int64(0), false)
	f.Add([]byte(`{}`), "n", "i", "", "1", int64(1), int64(0), false)
	f.Add([]byte("{\"\xff\":\"\xfe\",\"a\":true}"), "a", "", "", "2", int64(2), int64(0), false)
	f.Add([]byte(`[1]`), "n", "", "", "1", int64(1), int64(0), false)
	f.Add([]byte(`{"":1,"n":2,"i":3}`), "", "i", "", "", int64(4), int64(0), false)
	f.Add([]byte(`{"":1,"n":2,"i":3}`), "n", "", "", "5", int64(0), int64(0), false)
	f.Add([]byte(`{"category":"投诉","status":"routed","due_at":"x","instance_id":0}`), "number", "instance_id", "due_at", "2026-000002", int64(12), int64(1797843600123456789), true)
	f.Add([]byte(`{"due_at":null,"a":1}`), "", "", "due_at", "", int64(3), int64(0), false)
	f.Fuzz(func(t *testing.T, document []byte, numberField, instanceField, dueField, number string, instance, dueNanos int64, hasDue bool) {
		fields := []string{numberField, instanceField, dueField}
		named := 0
		for i, f := range fields {
			if f == "" {
				continue
			}
			named++
			for _, g := range fields[i+1:] {
				if f == g {
					return
				}
			}
		}
		if named == 0 {
			return
		}
		var due *time.Time
		if hasDue {
			d := time.Unix(0, dueNanos).In(time.FixedZone("CST", 8*3600))
			due = &d
		}
		want, ok := writtenByEncoder(document, numberField, instanceField, dueField, number, instance, due)
		s := &submissions{records: &records{}}
		req := &pluginv1.SubmitRequest{Document: document, NumberField: numberField, InstanceField: instanceField, Workflow: "w"}
		if dueField != "" {
			req.DueField, req.DueStep = dueField, "reply"
		}
		d, err := s.submitted(req)
		if !ok || err != nil {
			valid := true
			for _, f := range fields {
				valid = valid && (f == "" || memberPattern.MatchString(f))
			}
			if valid && len(document) <= MaxDocumentBytes && ok != (err == nil) {
				t.Fatalf("%q: submitted %v, encoder %v", document, err, ok)
			}
			return
		}
		got, _, err := d.with(number, instance, due)
		if err != nil {
			t.Fatalf("%q: %v", document, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("%q with %s=%q, %s=%d, %s=%v:\nwrote   %s\nencoder %s", document, numberField, number, instanceField, instance, dueField, due, got, want)
		}
	})
}
