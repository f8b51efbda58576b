package host

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/countycloud/countycloud/plugins/sdk/proto/pluginv1"
)

func TestUnknownFieldsAreFoundWhereverTheyAre(t *testing.T) {
	newer := protowire.AppendVarint(protowire.AppendTag(nil, 42, protowire.VarintType), 1)
	withNewer := func(m proto.Message) proto.Message {
		m.ProtoReflect().SetUnknown(newer)
		return m
	}
	for _, c := range []struct {
		what string
		req  proto.Message
		want string
	}{
		{"none", &pluginv1.SubmitRequest{Collection: "letters", Start: &pluginv1.SubmitStart{Title: "来信"}, Also: []*pluginv1.RecordPut{{Id: "a"}}}, ""},
		{"in the request", withNewer(&pluginv1.SubmitRequest{Collection: "letters"}), "42 of countycloud.plugin.v1.SubmitRequest"},
		{"in a message within", &pluginv1.SubmitRequest{Start: withNewer(&pluginv1.SubmitStart{}).(*pluginv1.SubmitStart)}, "42 of countycloud.plugin.v1.SubmitStart"},
		{"in a list's second message", &pluginv1.SubmitRequest{Also: []*pluginv1.RecordPut{{Id: "a"}, withNewer(&pluginv1.RecordPut{Id: "b"}).(*pluginv1.RecordPut)}},
			"42 of countycloud.plugin.v1.RecordPut"},
	} {
		if got := unknownField(c.req.ProtoReflect()); got != c.want {
			t.Errorf("%s: %q, want %q", c.what, got, c.want)
		}
	}
	// As received: the unknown field survives the wire into the decoded message.
	wire, err := proto.Marshal(withNewer(&pluginv1.GetRecordRequest{Collection: "notes"}))
	if err != nil {
		t.Fatal(err)
	}
	var got pluginv1.GetRecordRequest
	if err := proto.Unmarshal(wire, &got); err != nil {
		t.Fatal(err)
	}
	if field := unknownField(got.ProtoReflect()); !strings.HasPrefix(field, "42 of") {
		t.Errorf("a decoded request's unknown field: %q", field)
	}
}
