package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/countycloud/countycloud/core/store"
	"github.com/countycloud/countycloud/core/store/storetest"
	"github.com/countycloud/countycloud/tenants/provision"
	"github.com/countycloud/countycloud/tenants/registry"
)

// buildBinary builds countycloud for a test; tags "nodev" leaves the dev
// engine out, whose start-up would dwarf what the test times. -trimpath,
// as make unit builds, to reuse the packages it compiled.
func buildBinary(t *testing.T, tags string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "countycloud")
	if out, err := exec.Command("go", "build", "-trimpath", "-tags", tags, "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// firstMigrationOnly is the tenant migrations as they stood at version 1.
func firstMigrationOnly(t *testing.T) *store.Migrations {
	t.Helper()
	body, err := fs.ReadFile(store.TenantMigrationFiles(), "00001_baseline.sql")
	if err != nil {
		t.Fatal(err)
	}
	migs, err := store.LoadMigrations(fstest.MapFS{"00001_baseline.sql": {Data: body}})
	if err != nil {
		t.Fatal(err)
	}
	return migs
}

// countyCode makes the i-th of many county codes out of letters only.
func countyCode(i int) string {
	const letters = "abcdefghijklmnopqrstuvwxyz"
	return fmt.Sprintf("gd.shaoguan.x%c%c%c", letters[i/676%26], letters[i/26%26], letters[i%26])
}

// TestMigrateFinishesAfterBeingKilled provisions 64 counties at version 1,
// then kills `countycloud migrate` at random points and runs it again: in
// the end every county is at the latest version, and a further run finds
// nothing to do. Sixty-four counties of eight workers each take every
// migration since the first, a run of seconds the kills land in; each
// county more costs the suite its schema and every migration again.
func TestMigrateFinishesAfterBeingKilled(t *testing.T) {
	t.Parallel()
	const counties = 64
	db := storetest.New(t)
	repo := registry.NewMySQLRepository(db.Control)
	old := registry.NewService(repo, db.Locker, provision.New(store.Clusters{"default": db.Cluster}, firstMigrationOnly(t), quiet),
		registry.Options{SchemaPrefix: db.SchemaPrefix, Clusters: []string{"default"}}, quiet)
	mustCreateIn(t, old, "gd", "广东省")
	mustCreateIn(t, old, "gd.shaoguan", "韶关市")
	var wg sync.WaitGroup
	codes := make(chan string)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for code := range codes {
				mustCreateIn(t, old, code, code)
			}
		}()
	}
	for i := range counties {
		codes <- countyCode(i)
	}
	close(codes)
	wg.Wait()

	bin := buildBinary(t, "nodev")
	args := []string{"migrate", "--mysql-dsn", db.Config.FormatDSN(), "--schema-prefix", db.SchemaPrefix, "--provision-concurrency", "8", "-o", "json"}
	latest := store.TenantMigrations().Latest()
	atLatest := func() int {
		var n int
		if err := db.Control.Get(&n, "SELECT COUNT(*) FROM tenants WHERE level = 'county' AND schema_version = ?", latest); err != nil {
			t.Fatal(err)
		}
		return n
	}
	seed := time.Now().UnixNano()
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	t.Logf("kill delays seeded with %d", seed)
	interrupted := 0
	for kill := 0; kill < 6 && atLatest() < counties; kill++ {
		cmd := exec.Command(bin, args...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Each kill later than the one before, from the binary's start to
		// well into the counties' migrations.
		time.Sleep(time.Duration(50<<kill+rng.IntN(100)) * time.Millisecond)
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if n := atLatest(); n < counties {
			interrupted++
			t.Logf("kill %d: %d of %d counties at version %d", kill+1, n, counties, latest)
		}
	}
	if interrupted == 0 {
		t.Log("no kill landed before the run finished; the final run still proves the outcome")
	}

	out, err := exec.Command(bin, args...).Output()
	if err != nil {
		t.Fatalf("final run: %v\n%s", err, out)
	}
	var report migrateReport
	if err := json.Unmarshal(out, &report); err != nil || report.Failed != 0 {
		t.Fatalf("final run report: %v %+v", err, report)
	}
	if n := atLatest(); n != counties {
		t.Fatalf("%d of %d counties at version %d", n, counties, latest)
	}
	var migrated int
	if err := db.Server.Get(&migrated, `SELECT COUNT(*) FROM information_schema.TABLES
WHERE TABLE_SCHEMA LIKE ? AND TABLE_NAME = 'quota_requests'`, strings.ReplaceAll(db.SchemaPrefix, "_", `\_`)+"%"); err != nil {
		t.Fatal(err)
	}
	if migrated != counties {
		t.Errorf("%d county schemas have the new tables, want %d", migrated, counties)
	}
	var versions []int64
	if err := db.Server.Select(&versions, "SELECT MAX(version) FROM `"+registry.SchemaName(db.SchemaPrefix, countyCode(counties-1))+"`.schema_migrations"); err != nil || versions[0] != latest {
		t.Errorf("the last county's own record: %v, %v", versions, err)
	}

	out, err = exec.Command(bin, "migrate", "--mysql-dsn", db.Config.FormatDSN(), "--schema-prefix", db.SchemaPrefix).Output()
	if err != nil || !strings.Contains(string(out), "Nothing to migrate") {
		t.Errorf("a run with nothing pending: %v\n%s", err, out)
	}
}

func mustCreateIn(t *testing.T, svc registry.Service, code, name string) {
	t.Helper()
	if _, err := svc.Create(context.Background(), registry.CreateRequest{Code: code, Name: name}); err != nil {
		t.Errorf("create %s: %v", code, err)
	}
}
