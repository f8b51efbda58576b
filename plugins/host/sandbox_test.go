package host_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/countycloud/countycloud/plugins/host"
	"github.com/countycloud/countycloud/plugins/host/sandbox"
)

// confined has f's plugins run in the sandbox, as the server runs them.
func confined(t testing.TB, f fixture) fixture {
	t.Helper()
	f.deps.Sandbox = testSandbox(t)
	return f
}

// testSandbox is the sandbox as the server sets it up: the host made
// non-dumpable first.
func testSandbox(t testing.TB) *sandbox.Sandbox {
	t.Helper()
	if err := sandbox.KeepSecrets(); err != nil {
		t.Fatal(err)
	}
	sb, err := sandbox.New(sandbox.Options{OpenFiles: 256, Processes: 4096, MemoryMiB: memoryMiB})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("uid %d, sandbox %+v", os.Getuid(), sb.Protections())
	return sb
}

// launchEscape starts the test binary as the escape plugin in the
// sandbox, with nothing of a county behind it.
func launchEscape(t *testing.T) *host.Process {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	sum, err := host.FileSHA256(self)
	if err != nil {
		t.Fatal(err)
	}
	deps := host.Deps{Capabilities: host.NewCapabilities(time.Minute, time.Now), Log: quiet, Now: time.Now, Sandbox: testSandbox(t)}
	p, err := host.Launch(context.Background(), host.Binary{Path: self, SHA256: sum, Manifest: escapeManifest, Env: []string{pluginEnv + "=escape"}}, deps)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestASandboxedPluginServesAndCallsTheHost(t *testing.T) {
	// Not parallel: a sandbox's starts make the whole test process dumpable for a moment when it is not root.
	f := confined(t, setup(t))
	p := launch(t, f)
	if status, body := call(t, p, wengyuan, "PUT", "/notes/a", "", `{"unit":"县委办"}`); status != 0 && status != 200 {
		t.Fatalf("PUT: %d %s", status, body)
	}
	if _, body := call(t, p, wengyuan, "GET", "/notes/a", "", ""); body == "" {
		t.Fatal("no note")
	}
}
