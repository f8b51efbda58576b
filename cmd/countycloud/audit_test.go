package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/countycloud/countycloud/core/audit"
	"github.com/countycloud/countycloud/tenants/registry"
)

// TestRefusedTenantCreatesAreInTheProvincesTrail: a bad code, a duplicate
// and an unknown parent are refused, and each refusal is in the
// province's trail with its code.
func TestRefusedTenantCreatesAreInTheProvincesTrail(t *testing.T) {
	t.Parallel()
	_, _, env := startedPlatform(t, quiet)
	mustCLI(t, env, "tenant", "create", "--code", "gd", "--name", "广东省")
	for _, args := range [][]string{
		{"--code", "GD.Bad!", "--name", "坏代码"},
		{"--code", "gd", "--name", "广东省"},
		{"--code", "gd.nowhere.wengyuan", "--name", "翁源县"},
	} {
		if r := cli(t, env, append([]string{"tenant", "create"}, args...)...); r.code == exitOK {
			t.Errorf("tenant create %v was accepted", args)
		}
	}
	var page audit.Page
	if err := json.Unmarshal([]byte(mustCLI(t, env, "audit", "--province", "--action", "tenant.create", "--outcome", "refused", "-o", "json")), &page); err != nil {
		t.Fatal(err)
	}
	var codes []string
	for _, e := range page.Entries {
		if e.Code != nil && e.ActorLogin == "admin" {
			codes = append(codes, *e.Code)
		}
	}
	slices.Sort(codes)
	if want := []string{registry.CodeInvalidCode, registry.CodeTenantExists, registry.CodeUnknownParent}; !slices.Equal(codes, want) {
		t.Errorf("refused creates in the province's trail: %v, want %v", codes, want)
	}
}

// TestEveryFlagSaysWhatItMeans walks the command tree: no flag is
// described by its own name ("--from: only entries with this from"), and
// the audit command's filters give their formats and examples.
func TestEveryFlagSaysWhatItMeans(t *testing.T) {
	t.Parallel()
	seen := 0
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			seen++
			usage := strings.ToLower(f.Usage)
			for _, own := range []string{f.Name, strings.ReplaceAll(f.Name, "-", "_"), strings.ReplaceAll(f.Name, "-", " ")} {
				if strings.HasSuffix(usage, "with this "+own) || usage == own {
					t.Errorf("%s --%s: %q describes the flag by its own name", c.CommandPath(), f.Name, f.Usage)
					break
				}
			}
			if len(strings.Fields(usage)) < 2 {
				t.Errorf("%s --%s: %q says too little", c.CommandPath(), f.Name, f.Usage)
			}
		})
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRootCmd(env{}))
	if seen < 100 {
		t.Fatalf("only %d flags; is the command tree empty?", seen)
	}
	help := mustCLI(t, map[string]string{}, "audit", "--help")
	for _, says := range []string{"RFC 3339", "2026-11-01T00:00:00+08:00", "auth.login", "ok or refused", "org.accounts.create"} {
		if !strings.Contains(help, says) {
			t.Errorf("audit --help does not say %q:\n%s", says, help)
		}
	}
}
