package host_test

import (
	"testing"

	"github.com/countycloud/countycloud/plugins/host/sandbox"
)

// confined has f's plugins run in the sandbox, as the server runs them.
func confined(t testing.TB, f fixture) fixture {
	t.Helper()
	if err := sandbox.KeepSecrets(); err != nil {
		t.Fatal(err)
	}
	sb, err := sandbox.New(sandbox.Options{OpenFiles: 256, Processes: 4096, MemoryMiB: memoryMiB})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("sandbox: %+v", sb.Protections())
	f.deps.Sandbox = sb
	return f
}

func TestASandboxedPluginServesAndCallsTheHost(t *testing.T) {
	f := confined(t, setup(t))
	p := launch(t, f)
	if status, body := call(t, p, wengyuan, "PUT", "/notes/a", "", `{"unit":"县委办"}`); status != 0 && status != 200 {
		t.Fatalf("PUT: %d %s", status, body)
	}
	if _, body := call(t, p, wengyuan, "GET", "/notes/a", "", ""); body == "" {
		t.Fatal("no note")
	}
}
