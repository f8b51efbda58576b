package host_test

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a log the plugin's streams and the test share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestWhatAPluginPrintsReachesTheHostsLog(t *testing.T) {
	t.Parallel()
	f := setup(t)
	var out syncBuffer
	f.deps.Log = slog.New(slog.NewTextHandler(&out, nil))
	p := launch(t, f)
	if status, body := call(t, p, wengyuan, "GET", "/print", "", ""); status != 204 {
		t.Fatalf("print: %d %s", status, body)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(out.String(), "一行到标准输出") || !strings.Contains(out.String(), "and one to stderr") {
		if time.Now().After(deadline) {
			t.Fatalf("the host's log:\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(out.String(), "plugin=notes stream=stdout") {
		t.Fatalf("the lines are not named by their plugin and stream:\n%s", out.String())
	}
}
