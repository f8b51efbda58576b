package host_test

import (
	"context"
	"errors"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/countycloud/countycloud/plugins/sdk"
	"github.com/countycloud/countycloud/plugins/sdk/proto/pluginv1"
)

var escapeManifest = sdk.Manifest{ID: "escape", Name: "越狱", Vendor: "CountyCloud tests", Version: "1.0.0", Protocol: sdk.ProtocolVersion}

// serveEscape serves the escaping module: each route tries one way out
// of the sandbox with what the query names, and answers 200 "escaped" if
// it got out, 403 and the error if not.
func serveEscape() {
	sdk.Serve(escapeManifest, escaper{})
}

type escaper struct{}

func (escaper) Handle(_ context.Context, r *sdk.Request) (*sdk.Response, error) {
	q, _ := url.ParseQuery(r.Query)
	err := escape(strings.TrimPrefix(r.Path, "/"), q)
	if err != nil {
		return &sdk.Response{Status: 403, Body: []byte(err.Error())}, nil
	}
	return &sdk.Response{Body: []byte("escaped")}, nil
}

func escape(what string, q url.Values) error {
	pid := q.Get("pid")
	switch what {
	case "environ":
		_, err := os.ReadFile("/proc/" + pid + "/environ")
		return err
	case "mem":
		f, err := os.Open("/proc/" + pid + "/mem")
		if err == nil {
			f.Close()
		}
		return err
	case "fd":
		fds, err := os.ReadDir("/proc/" + pid + "/fd")
		if err == nil {
			for _, fd := range fds {
				if l, err := os.Readlink("/proc/" + pid + "/fd/" + fd.Name()); err == nil && strings.HasPrefix(l, q.Get("dir")) {
					_, err := os.ReadFile(l)
					return err
				}
			}
		}
		return err
	case "read-store":
		_, err := os.ReadFile(filepath.Join(q.Get("dir"), "video.mp4"))
		return err
	case "write-store":
		return os.WriteFile(filepath.Join(q.Get("dir"), "video.mp4"), []byte("overwritten"), 0o644)
	case "write-plugin-dir":
		return os.WriteFile(filepath.Join(q.Get("dir"), "evil"), []byte("evil"), 0o755)
	case "tcp":
		c, err := net.DialTimeout("tcp", q.Get("addr"), time.Second)
		if err == nil {
			c.Close()
		}
		return err
	case "unix":
		c, err := net.DialTimeout("unix", q.Get("addr"), time.Second)
		if err == nil {
			c.Close()
		}
		return err
	case "signal":
		n, _ := strconv.Atoi(pid)
		// SIGCONT: were it delivered, it would do the host no harm.
		return syscall.Kill(n, syscall.SIGCONT)
	case "signal-parent":
		ppid := os.Getppid()
		if ppid == 0 {
			return errors.New("no parent in sight: a PID namespace of its own")
		}
		return syscall.Kill(ppid, syscall.SIGCONT)
	case "child":
		cmd := exec.Command("/proc/self/exe", q.Get("marker"))
		cmd.Env = []string{pluginEnv + "=escape-child"}
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		return cmd.Start()
	}
	return os.ErrInvalid
}

// TestASandboxedPluginEscapesNowhere runs a plugin that tries each way
// out the probe of issue 15 found, in the sandbox as the server runs it,
// and checks that every one is refused.
func TestASandboxedPluginEscapesNowhere(t *testing.T) {
	// Not parallel: a sandbox's starts make the whole test process dumpable for a moment when it is not root, and this plugin reads the host's /proc.
	// The file store: a directory anyone may write, holding a county's
	// video, which the host keeps open.
	store := t.TempDir()
	if err := os.Chmod(store, 0o777); err != nil {
		t.Fatal(err)
	}
	video := filepath.Join(store, "video.mp4")
	if err := os.WriteFile(video, []byte("a county's video"), 0o666); err != nil {
		t.Fatal(err)
	}
	open, err := os.Open(video)
	if err != nil {
		t.Fatal(err)
	}
	defer open.Close()
	// The dev engine stands for any TCP service of the host's.
	engine, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer engine.Close()
	p := launchEscape(t)
	defer p.Close()
	pid := strconv.Itoa(os.Getpid())
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	pluginDir := filepath.Dir(self)
	for _, c := range []struct{ name, path string }{
		{"the host's environment", "/environ?pid=" + pid},
		{"the host's memory", "/mem?pid=" + pid},
		{"the host's descriptors and the files they are open on", "/fd?pid=" + pid + "&dir=" + store},
		{"reading the file store", "/read-store?dir=" + store},
		{"writing the file store", "/write-store?dir=" + store},
		{"writing the plugin directory", "/write-plugin-dir?dir=" + pluginDir},
		{"MariaDB over TCP", "/tcp?addr=127.0.0.1:3306"},
		{"the dev engine over TCP", "/tcp?addr=" + engine.Addr().String()},
		{"MariaDB over its unix socket", "/unix?addr=/run/mysqld/mysqld.sock"},
		{"a signal to the host", "/signal?pid=" + pid},
		{"a signal to its parent", "/signal-parent"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path, query, _ := strings.Cut(c.path, "?")
			resp, err := p.Handle(context.Background(), "gd.shaoguan.wengyuan", &pluginv1.HandleRequest{Method: "GET", Path: path, Query: query, RequestId: c.name})
			if err != nil {
				t.Fatal(err)
			}
			if string(resp.GetBody()) == "escaped" {
				t.Fatalf("%s: the plugin got out", c.name)
			}
			t.Logf("refused: %s", resp.GetBody())
		})
	}
	if b, _ := os.ReadFile(video); string(b) != "a county's video" {
		t.Fatalf("the video is now %q", b)
	}
	if _, err := os.Stat(filepath.Join(pluginDir, "evil")); err == nil {
		t.Fatal("the plugin wrote its directory")
	}
}

// TestNothingAPluginStartsOutlivesIt has a sandboxed plugin start a
// child in a session of its own, then stops the plugin as a dying host
// would have the kernel stop it: the child must be gone too.
func TestNothingAPluginStartsOutlivesIt(t *testing.T) {
	// Not parallel: a sandbox's starts make the whole test process dumpable for a moment when it is not root.
	p := launchEscape(t)
	marker := "escape-child-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	resp, err := p.Handle(context.Background(), "gd.shaoguan.wengyuan", &pluginv1.HandleRequest{Method: "GET", Path: "/child", Query: "marker=" + marker, RequestId: "child"})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("starting a child: %s", resp.GetBody())
	// Killed outright, as the kernel kills a plugin whose host died.
	if err := syscall.Kill(p.Pid(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.Close()
	deadline := time.Now().Add(5 * time.Second)
	for childRunning(marker) {
		if time.Now().After(deadline) {
			t.Fatal("the plugin's child outlived it")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// childRunning says whether a process whose arguments hold marker runs.
func childRunning(marker string) bool {
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		cmdline, err := os.ReadFile("/proc/" + d.Name() + "/cmdline")
		if err != nil {
			continue
		}
		stat, _ := os.ReadFile("/proc/" + d.Name() + "/stat")
		if strings.Contains(string(cmdline), marker) && !strings.Contains(string(stat), ") Z ") {
			return true
		}
	}
	return false
}
