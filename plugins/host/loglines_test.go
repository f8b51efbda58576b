package host

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

// FuzzLogLines writes a plugin's output in two pieces cut anywhere: every
// line it ends comes out whole, once, and nothing grows past the limit.
func FuzzLogLines(f *testing.F) {
	f.Add([]byte("一行\nand another\r\n"), 3)
	f.Add([]byte(strings.Repeat("x", maxLogLine+10)+"\ntail"), maxLogLine)
	f.Add([]byte(strings.Repeat("x", maxLogLine)+"\n"), maxLogLine)
	f.Fuzz(func(t *testing.T, data []byte, cut int) {
		var out bytes.Buffer
		w := &logLines{log: slog.New(slog.NewTextHandler(&out, nil)), plugin: "notes", stream: "stdout", limit: logLimit{lines: rate.NewLimiter(rate.Inf, 0), chunks: rate.NewLimiter(rate.Inf, 0), bytes: rate.NewLimiter(rate.Inf, 0), now: time.Now}}
		cut = max(0, min(cut, len(data)))
		for _, piece := range [][]byte{data[:cut], data[cut:]} {
			if n, err := w.Write(piece); n != len(piece) || err != nil {
				t.Fatalf("write = %d, %v", n, err)
			}
		}
		if len(w.partial) > maxLogLine {
			t.Fatalf("%d bytes kept of a line never ended", len(w.partial))
		}
		if !bytes.Contains(data, []byte("\n")) && len(data) <= maxLogLine && out.Len() > 0 {
			t.Fatalf("a line not ended was logged: %q", out.String())
		}
		ended := bytes.Count(data, []byte("\n"))
		if entries := bytes.Count(out.Bytes(), []byte("msg=")); entries > ended+1 {
			t.Fatalf("%d entries of %d lines ended", entries, ended)
		}
	})
}

// One line of 100 MB, written as go-plugin would copy it, is one entry of
// 16 KiB marked as cut, and the line after it is whole.
func TestALongLineIsOneEntryCut(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	// Read as fast as it comes: what is read is not what this tests.
	limit := newLogLimit()
	limit.chunks.SetLimit(rate.Inf)
	limit.bytes.SetLimit(rate.Inf)
	w := &logLines{log: slog.New(slog.NewJSONHandler(&out, nil)), plugin: "hostile", stream: "stdout", limit: limit}
	chunk := bytes.Repeat([]byte("x"), 32<<10)
	for range 100 << 20 / len(chunk) {
		w.Write(chunk)
	}
	w.Write([]byte("\nnext line\n"))
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"truncated":true`) || len(lines[0]) > maxLogLine+200 || !strings.Contains(lines[1], `"line":"next line"`) {
		t.Fatalf("%d entries, the first %d bytes, the last %.200s", len(lines), len(lines[0]), lines[len(lines)-1])
	}
	if cap(w.partial) > 2*maxLogLine {
		t.Fatalf("the writer keeps %d bytes", cap(w.partial))
	}
}

// A plugin printing a flood of lines at once gets a hundred logged (the
// lines the limit holds at once), and the count of the others.
func TestAFloodOfLinesIsRateLimited(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	limit := newLogLimit()
	limit.chunks.SetLimit(rate.Inf)
	limit.bytes.SetLimit(rate.Inf)
	// The lines come at one instant, however long this machine takes to
	// write them: a slow machine's limit would have had lines to spare.
	instant := time.Now()
	limit.now = func() time.Time { return instant }
	// The limit's clock alone moves the lines' limit on, so that the
	// test does not depend on how long the flood took this machine.
	log := slog.New(slog.NewTextHandler(&out, nil))
	stdout := &logLines{log: log, plugin: "hostile", stream: "stdout", limit: limit}
	stderr := &logLines{log: log, plugin: "hostile", stream: "stderr", limit: limit}
	for range 5000 {
		stdout.Write([]byte("flood\n"))
		stderr.Write([]byte("flood\n"))
	}
	if entries := strings.Count(out.String(), "msg=\"plugin output\""); entries != logLinesPerSecond {
		t.Fatalf("%d entries of 10,000 lines printed at once, want %d", entries, logLinesPerSecond)
	}
	instant = instant.Add(time.Second)
	stdout.Write([]byte("after\n"))
	if !strings.Contains(out.String(), `msg="plugin output dropped"`) || !strings.Contains(out.String(), "lines=") {
		t.Fatalf("no count of the lines dropped:\n%.500s", out.String()[max(0, out.Len()-500):])
	}
}
