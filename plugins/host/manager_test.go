package host_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/plugins/host"
	"github.com/countycloud/countycloud/plugins/sdk/proto/pluginv1"
)

// fastOptions supervise in test time: short back-offs and checks.
func fastOptions() host.ManagerOptions {
	o := host.DefaultManagerOptions()
	o.BackoffMin, o.BackoffMax, o.HealthInterval = 10*time.Millisecond, 50*time.Millisecond, 20*time.Millisecond
	return o
}

func manager(t *testing.T, f fixture, opts host.ManagerOptions) *host.Manager {
	t.Helper()
	m := host.NewManager(f.deps, opts, func(e host.Entry) (host.Binary, error) {
		b := f.bin
		b.Manifest = e.Manifest
		if e.ID != f.bin.Manifest.ID {
			b.Env = append(b.Env, pluginIDEnv+"="+e.ID)
		}
		return b, nil
	})
	t.Cleanup(m.Close)
	return m
}

func entry(id string) host.Entry {
	m := notesManifest
	m.ID = id
	return host.Entry{ID: id, Version: m.Version, Manifest: m}
}

func request(path string) *pluginv1.HandleRequest {
	return &pluginv1.HandleRequest{Method: "GET", Path: path, RequestId: path}
}

func TestAPluginThatCrashesMidRequestAnswersThatRequestAndIsRestarted(t *testing.T) {
	t.Parallel()
	f := setup(t)
	m := manager(t, f, fastOptions())
	ctx := context.Background()
	notes := entry("notes")
	_, err := m.Call(ctx, notes, wengyuan, request("/crash"))
	if errs.CodeOf(err) != host.CodeModuleFailed || !strings.Contains(err.Error(), "stopped while serving the request") {
		t.Fatalf("crashing call = %v, want module_failed", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := m.Call(ctx, notes, wengyuan, request("/notes/none"))
		if err == nil {
			if resp.GetStatus() != 400 {
				t.Fatalf("after the restart: %d %s", resp.GetStatus(), resp.GetBody())
			}
			break
		}
		if errs.CodeOf(err) != host.CodeModuleUnavailable || time.Now().After(deadline) {
			t.Fatalf("while restarting: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if st := m.Statuses(); len(st) != 1 || !st[0].Running || st[0].Crashes != 1 || st[0].Failed {
		t.Fatalf("statuses = %+v", st)
	}
}

func TestThreeCrashesInTenMinutesMarkAPluginFailedAndOthersKeepServing(t *testing.T) {
	t.Parallel()
	f := setup(t)
	m := manager(t, f, fastOptions())
	ctx := context.Background()
	notes, other := entry("notes"), entry("other")
	if _, err := m.Call(ctx, other, lechang, request("/notes/none")); err != nil {
		t.Fatal(err)
	}
	for crash := range 3 {
		for {
			_, err := m.Call(ctx, notes, wengyuan, request("/crash"))
			if errs.CodeOf(err) == host.CodeModuleFailed {
				break
			}
			if errs.CodeOf(err) != host.CodeModuleUnavailable || crash == 3 {
				t.Fatalf("crash %d: %v", crash, err)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	time.Sleep(100 * time.Millisecond)
	_, err := m.Call(ctx, notes, wengyuan, request("/notes/none"))
	if errs.CodeOf(err) != host.CodeModuleUnavailable || !strings.Contains(err.Error(), "crashed 3 times") {
		t.Fatalf("after three crashes: %v, want module_unavailable", err)
	}
	if resp, err := m.Call(ctx, other, lechang, request("/notes/none")); err != nil || resp.GetStatus() != 400 {
		t.Fatalf("the other plugin: %v %v", resp, err)
	}
}

func TestACallThatHangsEndsAtItsDeadline(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.deps.CallTimeout = 200 * time.Millisecond
	m := manager(t, f, fastOptions())
	_, err := m.Call(context.Background(), entry("notes"), wengyuan, request("/hang"))
	if errs.CodeOf(err) != host.CodeModuleFailed || !strings.Contains(err.Error(), "did not answer within 200ms") {
		t.Fatalf("hanging call = %v", err)
	}
}

func TestAPluginOfAnotherProtocolIsRefusedWithAClearMessage(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.bin.Env = []string{pluginEnv + "=future"}
	_, err := host.Launch(context.Background(), f.bin, f.deps)
	if !errors.Is(err, host.ErrProtocol) || !strings.Contains(err.Error(), "incompatible API version") {
		t.Fatalf("launch = %v, want ErrProtocol", err)
	}
}

// children lists the processes whose parent is pid.
func children(t testing.TB, pid int) []int {
	t.Helper()
	stats, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	for _, path := range stats {
		data, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		// The command name, in parentheses, may hold spaces.
		fields := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
		if len(fields) > 1 && fields[1] == strconv.Itoa(pid) {
			child, _ := strconv.Atoi(filepath.Base(filepath.Dir(path)))
			out = append(out, child)
		}
	}
	return out
}

func TestFiftyStartsAndStopsLeakNoGoroutineOrProcess(t *testing.T) {
	// Not parallel: it counts the whole test process's goroutines and plugin processes.
	f := setup(t)
	ctx := context.Background()
	// The SDK harness's echo plugin, built as a vendor's would be: this
	// test binary, built with the race detector, starts ten times slower.
	path := filepath.Join(t.TempDir(), "echo")
	build := exec.Command("go", "build", "-o", path, "./plugins/sdk/sdktest/testdata/echo")
	build.Dir = filepath.Join("..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the echo plugin: %v\n%s", err, out)
	}
	sum, err := host.FileSHA256(path)
	if err != nil {
		t.Fatal(err)
	}
	echo := host.Binary{Path: path, SHA256: sum}
	run := func() {
		p, err := host.Launch(ctx, echo, f.deps)
		if err != nil {
			t.Fatal(err)
		}
		if resp, err := p.Handle(ctx, wengyuan, request("/anything")); err != nil || resp.GetStatus() != 200 {
			t.Fatalf("call: %v %v", resp, err)
		}
		p.Close()
	}
	run()
	settle := func() int {
		time.Sleep(200 * time.Millisecond)
		return runtime.NumGoroutine()
	}
	before := settle()
	for range 50 {
		run()
	}
	after := settle()
	if after > before+2 {
		t.Errorf("goroutines: %d before 50 starts and stops, %d after", before, after)
	}
	if left := children(t, os.Getpid()); len(left) != 0 {
		t.Errorf("plugin processes left: %v", left)
	}
}

// hostUntilKilled is the host process of the next test: it launches the
// notes plugin, says so, and waits to be killed.
func hostUntilKilled() {
	self, _ := os.Executable()
	sum, _ := host.FileSHA256(self)
	caps := host.NewCapabilities(time.Minute, time.Now)
	_, err := host.Launch(context.Background(), host.Binary{Path: self, SHA256: sum, Manifest: notesManifest, Env: []string{pluginEnv + "=notes"}},
		host.Deps{Capabilities: caps, Log: quiet, Now: time.Now})
	if err != nil {
		fmt.Println("launch:", err)
		os.Exit(1)
	}
	fmt.Println("launched")
	select {}
}

func TestAKilledHostLeavesNoPluginProcessBehind(t *testing.T) {
	t.Parallel()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), pluginEnv+"=host")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line := make([]byte, 64)
	n, _ := out.Read(line)
	if !strings.HasPrefix(string(line[:n]), "launched") {
		t.Fatalf("host said %q", line[:n])
	}
	plugins := children(t, cmd.Process.Pid)
	if len(plugins) != 1 {
		t.Fatalf("the host runs %v, want one plugin process", plugins)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for syscall.Kill(plugins[0], 0) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("plugin process %d outlived its host", plugins[0])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestAProcessNobodyUsesIsStoppedAndStartsAgainWhenNeeded(t *testing.T) {
	// Not parallel: it waits for the test process to run no plugin process at all.
	f := setup(t)
	opts := fastOptions()
	opts.IdleTimeout = 200 * time.Millisecond
	m := manager(t, f, opts)
	runManager(t, m)
	notes := entry("notes")
	if _, err := m.Call(context.Background(), notes, wengyuan, request("/notes/none")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(children(t, os.Getpid())) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the idle process still runs: %+v", m.Statuses())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if st := m.Statuses(); len(st) != 1 || st[0].Running || st[0].Crashes != 0 {
		t.Fatalf("after stopping for want of use: %+v", st)
	}
	if resp, err := m.Call(context.Background(), notes, wengyuan, request("/notes/none")); err != nil || resp.GetStatus() != 400 {
		t.Fatalf("a request after the stop: %v %v", resp, err)
	}
}
