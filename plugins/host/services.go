package host

import (
	"log/slog"
	"time"

	"github.com/countycloud/countycloud/plugins/sdk"
)

// Deps is what a plugin process needs of the host.
type Deps struct {
	Capabilities *Capabilities
	Router       Router
	Log          *slog.Logger
	Now          func() time.Time
}

// hostServer is the Host service of one plugin process: each of the
// services a plugin may call back, every call checked against the
// capability it carries. (The protocol is generated without the
// "unimplemented" stubs, so a service left out does not compile.)
type hostServer struct {
	*records
}

func newHostServer(m sdk.Manifest, d Deps) *hostServer {
	return &hostServer{
		records: &records{plugin: m.ID, indexed: indexed(m), caps: d.Capabilities, router: d.Router, now: d.Now, log: d.Log},
	}
}

func indexed(m sdk.Manifest) map[string][]string {
	out := make(map[string][]string, len(m.Collections))
	for name, c := range m.Collections {
		out[name] = c.Indexed
	}
	return out
}
