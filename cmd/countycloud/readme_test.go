package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// tourStep is one command of README's tour, with the output the README
// shows for it (console blocks) or none (sh blocks, which only must
// succeed).
type tourStep struct {
	line    int // in README.md
	command string
	want    []string
	shown   bool // a console block: its output is compared
}

// readmeTour extracts the tour's commands, in order, from the README
// section headed "## A five-minute tour" up to the next "## " heading.
// In ```sh blocks every line that is not a comment is a command (a line
// ending in a backslash goes on); in ```console blocks a line beginning
// "$ " is a command and the lines after it, up to the next command, the
// output it prints, where a line "..." stands for any number of lines.
func readmeTour(t *testing.T, readme string) []tourStep {
	t.Helper()
	var (
		steps   []tourStep
		inTour  bool
		block   string // "", "sh", "console", or "other"
		pending string
	)
	for i, line := range strings.Split(readme, "\n") {
		n := i + 1
		switch {
		case strings.HasPrefix(line, "## "):
			inTour = line == "## A five-minute tour"
			continue
		case !inTour:
			continue
		case strings.HasPrefix(line, "```"):
			if block != "" {
				block = ""
				continue
			}
			switch lang := strings.TrimPrefix(line, "```"); lang {
			case "sh", "console":
				block = lang
			default:
				block = "other"
			}
			continue
		}
		switch block {
		case "sh":
			trimmed := strings.TrimSpace(line)
			if trimmed == "" || strings.HasPrefix(trimmed, "#") {
				continue
			}
			if strings.HasSuffix(line, `\`) {
				pending += strings.TrimSuffix(line, `\`) + " "
				continue
			}
			steps = append(steps, tourStep{line: n, command: pending + line})
			pending = ""
		case "console":
			if cmd, ok := strings.CutPrefix(line, "$ "); ok {
				steps = append(steps, tourStep{line: n, command: cmd, shown: true})
				continue
			}
			if len(steps) == 0 || !steps[len(steps)-1].shown {
				t.Fatalf("README.md:%d: a console block must begin with a $ command", n)
			}
			steps[len(steps)-1].want = append(steps[len(steps)-1].want, line)
		}
	}
	if len(steps) == 0 {
		t.Fatal("README.md has no tour")
	}
	return steps
}

// normalized collapses runs of spaces, which tables pad by the width of
// what they hold.
var spaces = regexp.MustCompile(`[ \t]+`)

func normalized(s string) string { return strings.TrimSpace(spaces.ReplaceAllString(s, " ")) }

// matchOutput reports whether got prints the lines want shows, "..."
// standing for any number of lines.
func matchOutput(want, got []string) bool {
	for len(want) > 0 && normalized(want[len(want)-1]) == "" {
		want = want[:len(want)-1]
	}
	for len(got) > 0 && normalized(got[len(got)-1]) == "" {
		got = got[:len(got)-1]
	}
	if len(want) == 0 {
		return len(got) == 0
	}
	if normalized(want[0]) == "..." {
		for i := 0; i <= len(got); i++ {
			if matchOutput(want[1:], got[i:]) {
				return true
			}
		}
		return false
	}
	return len(got) > 0 && normalized(want[0]) == normalized(got[0]) && matchOutput(want[1:], got[1:])
}

// TestTheREADMETourRunsAsWritten runs README's tour, command by command in
// one shell, against the server -dev it starts, from a directory that
// mirrors the repository (so files the tour writes stay out of the
// checkout). Every command must succeed, and what a console block shows is
// what the command prints. The liberties taken: 127.0.0.1:8080 is a free
// port, so that the test does not depend on 8080 being free, and Go builds
// -trimpath (tourEnv).
func TestTheREADMETourRunsAsWritten(t *testing.T) {
	t.Parallel()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	steps := readmeTour(t, string(readme))

	dir := t.TempDir()
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() == ".git" || e.Name() == "bin" {
			continue
		}
		if err := os.Symlink(filepath.Join(root, e.Name()), filepath.Join(dir, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	addr := freeAddr(t)

	// One shell runs the whole tour; it reports each command's end and
	// exit status on fd 3, after the command's output went to its file.
	var script strings.Builder
	script.WriteString("exec 2>&1\n")
	for i, s := range steps {
		fmt.Fprintf(&script, "{ %s\n} > %q 2>&1\necho \"%d $?\" >&3\n", strings.ReplaceAll(s.command, "127.0.0.1:8080", addr), filepath.Join(dir, ".tour-out-"+strconv.Itoa(i)), i)
	}
	shell := exec.Command("bash", "--noprofile", "--norc")
	shell.Dir = dir
	shell.Stdin = strings.NewReader(script.String())
	shell.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	shell.Env = tourEnv(t, dir)
	status, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	shell.ExtraFiles = []*os.File{w}
	if err := shell.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	// The server the tour starts in the background is in the shell's
	// process group.
	t.Cleanup(func() { _ = syscall.Kill(-shell.Process.Pid, syscall.SIGKILL); _ = shell.Wait() })
	t.Cleanup(func() {
		if log, err := os.ReadFile(filepath.Join(dir, "server.log")); err == nil && t.Failed() {
			t.Logf("the tour's server.log:\n%s", log)
		}
	})

	ends := make(chan string)
	go func() {
		defer close(ends)
		done := bufio.NewScanner(status)
		for done.Scan() {
			ends <- done.Text()
		}
	}()
	for i, s := range steps {
		output := func() []byte {
			out, _ := os.ReadFile(filepath.Join(dir, ".tour-out-"+strconv.Itoa(i)))
			return out
		}
		var end string
		select {
		case line, ok := <-ends:
			if !ok {
				t.Fatalf("README.md:%d: the tour stopped at %q:\n%s", s.line, s.command, output())
			}
			end = line
		case <-time.After(tourStepTimeout):
			t.Fatalf("README.md:%d: %q did not end within %s; it printed:\n%s", s.line, s.command, tourStepTimeout, output())
		}
		var idx, code int
		if _, err := fmt.Sscanf(end, "%d %d", &idx, &code); err != nil || idx != i {
			t.Fatalf("README.md:%d: unexpected status line %q", s.line, end)
		}
		out := output()
		got := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
		switch {
		case code != 0:
			t.Fatalf("README.md:%d: %s\nexit %d:\n%s", s.line, s.command, code, out)
		case s.shown && !matchOutput(s.want, got):
			t.Errorf("README.md:%d: %s\nREADME shows:\n%s\nit printed:\n%s", s.line, s.command, strings.Join(s.want, "\n"), out)
		}
	}
}

// tourStepTimeout bounds one command of the tour; the slowest builds a
// plugin.
const tourStepTimeout = 3 * time.Minute

// tourEnv is a newcomer's environment: a home of their own and none of
// the COUNTYCLOUD_ variables the test itself may run with, but Go's caches,
// so that the tour's go build takes seconds. The one liberty: GOFLAGS has
// -trimpath, without which every package of the module would compile
// afresh, the mirror's path being part of what Go caches them by; make
// unit builds -trimpath too.
func tourEnv(t *testing.T, dir string) []string {
	t.Helper()
	home := filepath.Join(dir, ".home")
	if err := os.Mkdir(home, 0o755); err != nil {
		t.Fatal(err)
	}
	env := []string{"HOME=" + home, "LANG=C.UTF-8"}
	for _, name := range []string{"PATH", "GOROOT", "GOPATH", "GOCACHE", "GOMODCACHE", "GOPROXY", "GOFLAGS", "GOTOOLCHAIN"} {
		v, ok := os.LookupEnv(name)
		if !ok {
			out, err := exec.Command("go", "env", name).Output()
			if err != nil {
				continue
			}
			v = strings.TrimSpace(string(out))
		}
		if name == "GOFLAGS" {
			v = strings.TrimSpace(v + " -trimpath")
		}
		env = append(env, name+"="+v)
	}
	return env
}

// freeAddr is a loopback address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func TestMatchOutput(t *testing.T) {
	cases := []struct {
		want, got string
		ok        bool
	}{
		{"a  b\nc", "a b\nc", true},
		{"a\n...", "a\nb\nc", true},
		{"a\n...\nc", "a\nb\nc", true},
		{"a\n...\nd", "a\nb\nc", false},
		{"a", "a\nb", false},
		{"...", "", true},
	}
	for _, c := range cases {
		if got := matchOutput(strings.Split(c.want, "\n"), strings.Split(c.got, "\n")); got != c.ok {
			t.Errorf("matchOutput(%q, %q) = %v", c.want, c.got, got)
		}
	}
}
