package host_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/store/storetest"
	"github.com/countycloud/countycloud/plugins/host"
	"github.com/countycloud/countycloud/tenants/provision/provisiontest"
	"github.com/countycloud/countycloud/tenants/registry"
)

type anyCounty struct{}

func (anyCounty) Ready(context.Context, string) error { return nil }

// pluginScript writes into dir an executable that runs the test binary
// as the notes plugin at version, with env (NAME=value) besides, as a
// vendor's binary in the plugin directory would be, and returns its name
// and SHA-256.
func pluginScript(t *testing.T, dir, version string, env ...string) (string, string) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	name := "notes-" + version
	script := fmt.Sprintf("#!/bin/sh\n%s=notes %s=%s %s exec %q\n", pluginEnv, pluginVersionEnv, version, strings.Join(env, " "), self)
	if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	sum, err := host.FileSHA256(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return name, hex.EncodeToString(sum)
}

func TestACountyMovedToANewVersionLosesNoRequest(t *testing.T) {
	t.Parallel()
	db := storetest.New(t)
	provisiontest.Registry(t, db, registry.CreateRequest{Code: wengyuan, Name: "翁源县"})
	caps := host.NewCapabilities(time.Minute, time.Now)
	dir := t.TempDir()
	deps := host.Deps{Capabilities: caps, Router: provisiontest.Router(db, registry.LocatorInterval), Log: quiet, Now: time.Now}
	svc := host.NewService(host.NewMySQLRepository(db.Control), anyCounty{}, deps, fastOptions(), dir, nil)
	t.Cleanup(svc.Manager().Close)
	ctx := context.Background()
	for _, v := range []string{"1.0.0", "1.1.0"} {
		file, sum := pluginScript(t, dir, v)
		if _, err := svc.Register(ctx, "operator", host.RegisterInput{File: file, SHA256: sum}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := svc.Enable(ctx, wengyuan, "notes", "admin", host.EnableInput{Version: "1.0.0"}); err != nil {
		t.Fatal(err)
	}
	var (
		wg       sync.WaitGroup
		stop     atomic.Bool
		switched atomic.Bool
		failures atomic.Int64
		mu       sync.Mutex
		seen     = map[string]int{}
		oldAfter int
	)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				after := switched.Load()
				resp, err := svc.Serve(ctx, wengyuan, "notes", request("/version"))
				if err != nil {
					failures.Add(1)
					t.Errorf("a request during the upgrade: %v", err)
					return
				}
				mu.Lock()
				seen[string(resp.GetBody())]++
				if after && string(resp.GetBody()) == "1.0.0" {
					oldAfter++
				}
				mu.Unlock()
			}
		}()
	}
	// Until each version has answered a hundred requests, however slowly
	// the machine starts the processes.
	answered := func(version string) {
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) && failures.Load() == 0 {
			mu.Lock()
			n := seen[version]
			mu.Unlock()
			if n >= 100 {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	answered("1.0.0")
	if _, err := svc.Enable(ctx, wengyuan, "notes", "admin", host.EnableInput{Version: "1.1.0"}); err != nil {
		t.Fatal(err)
	}
	switched.Store(true)
	answered("1.1.0")
	stop.Store(true)
	wg.Wait()
	if failures.Load() > 0 || seen["1.0.0"] < 100 || seen["1.1.0"] < 100 || oldAfter > 4 {
		t.Fatalf("answers by version %v, %d failed, %d from the old version after the switch (at most one a caller may be under way)", seen, failures.Load(), oldAfter)
	}
}

func TestEnablingChecksTheVersionAndTheSettings(t *testing.T) {
	t.Parallel()
	db := storetest.New(t)
	caps := host.NewCapabilities(time.Minute, time.Now)
	dir := t.TempDir()
	svc := host.NewService(host.NewMySQLRepository(db.Control), anyCounty{}, host.Deps{Capabilities: caps, Log: quiet, Now: time.Now}, fastOptions(), dir, nil)
	t.Cleanup(svc.Manager().Close)
	ctx := context.Background()
	file, sum := pluginScript(t, dir, "1.0.0")
	if _, err := svc.Register(ctx, "operator", host.RegisterInput{File: file, SHA256: sum}); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		in   host.EnableInput
		code string
	}{
		"a version not registered": {host.EnableInput{Version: "9.9.9"}, host.CodePluginNotFound},
		"settings not an object":   {host.EnableInput{Settings: []byte(`[1]`)}, host.CodeInvalidSettings},
		"settings not JSON":        {host.EnableInput{Settings: []byte(`{`)}, host.CodeInvalidSettings},
	} {
		if _, err := svc.Enable(ctx, wengyuan, "notes", "admin", c.in); errs.CodeOf(err) != c.code {
			t.Errorf("%s: %v, want %s", name, err, c.code)
		}
	}
	if _, err := svc.Enable(ctx, wengyuan, "nothing", "admin", host.EnableInput{}); errs.CodeOf(err) != host.CodePluginNotFound {
		t.Errorf("a plugin not registered: %v", err)
	}
	if m, err := svc.Enable(ctx, wengyuan, "notes", "admin", host.EnableInput{}); err != nil || m.Version != "1.0.0" || string(m.Settings) != "{}" {
		t.Errorf("enable the newest: %+v %v", m, err)
	}
}

func TestAPluginMayNotTakeAnIdOfThePlatform(t *testing.T) {
	t.Parallel()
	db := storetest.New(t)
	dir := t.TempDir()
	svc := host.NewService(host.NewMySQLRepository(db.Control), anyCounty{}, host.Deps{Capabilities: host.NewCapabilities(time.Minute, time.Now), Log: quiet, Now: time.Now}, fastOptions(), dir, nil)
	t.Cleanup(svc.Manager().Close)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	script := fmt.Sprintf("#!/bin/sh\n%s=notes %s=workflow exec %q\n", pluginEnv, pluginIDEnv, self)
	if err := os.WriteFile(filepath.Join(dir, "impostor"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	sum, err := host.FileSHA256(filepath.Join(dir, "impostor"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = svc.Register(context.Background(), "operator", host.RegisterInput{File: "impostor", SHA256: hex.EncodeToString(sum)})
	if errs.CodeOf(err) != host.CodeInvalidPlugin || !strings.Contains(err.Error(), "platform's own") {
		t.Fatalf("register a plugin called workflow: %v", err)
	}
}

func TestAModuleNamedByInvisibleOrReorderingCharactersIsNotRegistered(t *testing.T) {
	t.Parallel()
	db := storetest.New(t)
	dir := t.TempDir()
	svc := host.NewService(host.NewMySQLRepository(db.Control), anyCounty{}, host.Deps{Capabilities: host.NewCapabilities(time.Minute, time.Now), Log: quiet, Now: time.Now}, fastOptions(), dir, nil)
	t.Cleanup(svc.Manager().Close)
	for version, name := range map[string]string{"1.0.1": "\u200b", "1.0.2": "意见\u202e箱", "1.0.3": "\u3164"} {
		file, sum := pluginScript(t, dir, version, pluginNameEnv+"='"+name+"'")
		_, err := svc.Register(context.Background(), "operator", host.RegisterInput{File: file, SHA256: sum})
		if errs.CodeOf(err) != host.CodeInvalidPlugin || !strings.Contains(err.Error(), "name") {
			t.Errorf("register a module named %q: %v", name, err)
		}
	}
	file, sum := pluginScript(t, dir, "1.0.4", pluginNameEnv+"='意见箱'")
	if _, err := svc.Register(context.Background(), "operator", host.RegisterInput{File: file, SHA256: sum}); err != nil {
		t.Errorf("register a module named 意见箱: %v", err)
	}
}
