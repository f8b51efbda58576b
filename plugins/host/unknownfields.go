package host

import (
	"context"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// refuseUnknownFields refuses a host-service request carrying a field
// the host's protocol does not declare. The SDK only grows: a plugin
// built against a newer SDK than the platform serves may send a field
// added since (a submission's deadline member, its further records),
// which protocol buffers would skip, and the host would then answer as
// if it had done what it never read. Refused, the plugin learns at its
// first call that this host is older than its SDK, as it learns of a
// service the host lacks (codes.Unimplemented either way).
func refuseUnknownFields(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if m, ok := req.(proto.Message); ok {
		if field := unknownField(m.ProtoReflect()); field != "" {
			return nil, status.Errorf(codes.Unimplemented, "%s: this host does not know field %s: the plugin was built against a newer SDK than this platform serves", info.FullMethod, field)
		}
	}
	return handler(ctx, req)
}

// unknownField names the first field of m, or of a message within it,
// that its type does not declare, "" if there is none.
func unknownField(m protoreflect.Message) string {
	if raw := m.GetUnknown(); len(raw) > 0 {
		// Unknown fields come from the wire, whose decoding kept them
		// whole: the first one's tag reads.
		number, _, _ := protowire.ConsumeTag(raw)
		return fmt.Sprintf("%d of %s", number, m.Descriptor().FullName())
	}
	var found string
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList() && fd.Message() != nil:
			for l, i := v.List(), 0; i < l.Len() && found == ""; i++ {
				found = unknownField(l.Get(i).Message())
			}
		case fd.IsMap() && fd.MapValue().Message() != nil:
			v.Map().Range(func(_ protoreflect.MapKey, value protoreflect.Value) bool {
				found = unknownField(value.Message())
				return found == ""
			})
		case !fd.IsList() && !fd.IsMap() && fd.Message() != nil:
			found = unknownField(v.Message())
		}
		return found == ""
	})
	return found
}
