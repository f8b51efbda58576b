package host

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// FuzzLogLines writes a plugin's output in two pieces cut anywhere: every
// line it ends comes out whole, once, and nothing grows past the limit.
func FuzzLogLines(f *testing.F) {
	f.Add([]byte("一行\nand another\r\n"), 3)
	f.Add([]byte(strings.Repeat("x", maxLogLine+10)+"\ntail"), maxLogLine)
	f.Fuzz(func(t *testing.T, data []byte, cut int) {
		var out bytes.Buffer
		w := &logLines{log: slog.New(slog.NewTextHandler(&out, nil)), plugin: "notes", stream: "stdout"}
		cut = max(0, min(cut, len(data)))
		for _, piece := range [][]byte{data[:cut], data[cut:]} {
			if n, err := w.Write(piece); n != len(piece) || err != nil {
				t.Fatalf("write = %d, %v", n, err)
			}
		}
		if len(w.partial) >= maxLogLine {
			t.Fatalf("%d bytes kept of a line never ended", len(w.partial))
		}
		if !bytes.Contains(data, []byte("\n")) && len(data) < maxLogLine && out.Len() > 0 {
			t.Fatalf("a line not ended was logged: %q", out.String())
		}
	})
}
