package host

import (
	"bytes"
	"encoding/json"
	"strconv"
	"testing"

	"github.com/countycloud/countycloud/plugins/sdk/proto/pluginv1"
)

// writtenByEncoder is how a submission's document was written before its
// members were encoded once: decoded into a map, the host's members set,
// the map encoded. with must write the same bytes.
func writtenByEncoder(document []byte, numberField, instanceField, number string, instance int64) ([]byte, bool) {
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
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(members); err != nil {
		return nil, false
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), true
}

func FuzzSubmittedDocumentAsEncodingJSONWritesIt(f *testing.F) {
	f.Add([]byte(`{"item_code":"XK-001","applicant":{"name":"翁源县<宏达>&建材","id":"9144"},"materials":["备案申请表", "营业执照"],"number":"x","status":"submitted"}`), "number", "instance_id", "2026-000001", int64(7))
	f.Add([]byte(` { "b" : 1 , "a":[ 1 , 2 ], "\u2028k\u00e9":"\u2028", "a":null, "instance_id" : 3 } `), "", "instance_id", "", int64(9223372036854775807))
	f.Add([]byte(`{"\"q\\":"x","<":">","\u007f":1e3,"z":{"y":{"x":[]}}}`), "number", "", "0000-000000000000", int64(0))
	f.Add([]byte(`{}`), "n", "i", "1", int64(1))
	f.Add([]byte("{\"\xff\":\"\xfe\",\"a\":true}"), "a", "", "2", int64(2))
	f.Add([]byte(`[1]`), "n", "", "1", int64(1))
	f.Add([]byte(`{"":1,"n":2,"i":3}`), "", "i", "", int64(4))
	f.Add([]byte(`{"":1,"n":2,"i":3}`), "n", "", "5", int64(0))
	f.Fuzz(func(t *testing.T, document []byte, numberField, instanceField, number string, instance int64) {
		if numberField == "" && instanceField == "" || numberField == instanceField {
			return
		}
		want, ok := writtenByEncoder(document, numberField, instanceField, number, instance)
		s := &submissions{records: &records{}}
		d, err := s.submitted(&pluginv1.SubmitRequest{Document: document, NumberField: numberField, InstanceField: instanceField, Workflow: "w"})
		if !ok || err != nil {
			if memberPattern.MatchString(numberField) && (instanceField == "" || memberPattern.MatchString(instanceField)) &&
				len(document) <= MaxDocumentBytes && ok != (err == nil) {
				t.Fatalf("%q: submitted %v, encoder %v", document, err, ok)
			}
			return
		}
		got, _, err := d.with(number, instance)
		if err != nil {
			t.Fatalf("%q: %v", document, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("%q with %s=%q, %s=%d:\nwrote   %s\nencoder %s", document, numberField, number, instanceField, instance, got, want)
		}
	})
}
