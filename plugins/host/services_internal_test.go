package host

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/countycloud/countycloud/core/store"
)

// TestACountyNoLongerServedIsNoFaultOfTheHosts: a plugin's call whose
// county the router refuses (suspended while the request was under way)
// is answered Unavailable, not hidden as the host's fault; anything else
// the host did not choose to say stays hidden.
func TestACountyNoLongerServedIsNoFaultOfTheHosts(t *testing.T) {
	t.Parallel()
	g := guard{plugin: "desk", log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	ctx := context.Background()
	if got := status.Code(g.grpcError(ctx, fmt.Errorf("%w: wengyuan is suspended", store.ErrNotServed))); got != codes.Unavailable {
		t.Errorf("a county suspended meanwhile: %v", got)
	}
	err := g.grpcError(ctx, errors.New("dial tcp 10.0.0.7:3306: connection refused"))
	if st := status.Convert(err); st.Code() != codes.Internal || st.Message() != "the host could not serve the call; it is logged" {
		t.Errorf("a fault: %v", err)
	}
}
