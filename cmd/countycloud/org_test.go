package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/countycloud/countycloud/tenants/org"
)

func TestOrgThroughTheCLI(t *testing.T) {
	t.Parallel()
	_, _, env := startedPlatform(t, quiet)
	mustCLI(t, env, "tenant", "create", "--code", "gd", "--name", "广东省")
	mustCLI(t, env, "tenant", "create", "--code", "gd.shaoguan", "--name", "韶关市")
	mustCLI(t, env, "tenant", "create", "--code", "gd.shaoguan.wengyuan", "--name", "翁源县")
	if r := cli(t, env, "org", "units", "list"); r.code != exitUsage || !strings.Contains(r.stderr, "COUNTYCLOUD_TENANT") {
		t.Errorf("without a county: exit %d %s", r.code, r.stderr)
	}
	env["COUNTYCLOUD_TENANT"] = "gd.shaoguan.wengyuan"
	dir := t.TempDir()
	for _, format := range []string{"xlsx", "csv"} {
		out := filepath.Join(dir, "template."+format)
		mustCLI(t, env, "org", "template", "--format", format, "--out", out)
		if r := mustCLI(t, env, "org", "import", out, "--dry-run"); !strings.Contains(r, "Dry run: would import 4 rows") {
			t.Errorf("dry run of the %s template:\n%s", format, r)
		}
	}
	if r := mustCLI(t, env, "org", "import", filepath.Join(dir, "template.xlsx")); !strings.Contains(r, "Accounts: 3 created") {
		t.Errorf("import:\n%s", r)
	}
	var report org.ImportReport
	if err := json.Unmarshal([]byte(mustCLI(t, env, "org", "import", filepath.Join(dir, "template.csv"), "-o", "json")), &report); err != nil ||
		report.Accounts.Unchanged != 3 || report.Units.Unchanged != 3 {
		t.Errorf("re-import of the same list: %+v %v", report, err)
	}

	bad := filepath.Join(dir, "bad.csv")
	if err := os.WriteFile(bad, []byte("单位名称,姓名,登录名,手机号\n县委办公室,孙七,sunqi,123\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := cli(t, env, "org", "import", bad)
	if r.code != exitFailed || !strings.Contains(r.stdout, "手机号") || !strings.Contains(r.stderr, "import_invalid") || !strings.Contains(r.stderr, "1 problem in the file") {
		t.Errorf("bad file: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := cli(t, env, "org", "import", bad, "--dry-run"); r.code != exitFailed || !strings.Contains(r.stderr, "1 problem in the file; nothing would be changed") {
		t.Errorf("bad file, dry run: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = cli(t, env, "org", "import", bad, "-o", "json")
	var eb struct {
		Error struct {
			Code    string
			Details []org.RowError
		}
	}
	if err := json.Unmarshal([]byte(r.stderr), &eb); err != nil || eb.Error.Code != org.CodeImportInvalid || len(eb.Error.Details) != 1 || eb.Error.Details[0].Row != 2 {
		t.Errorf("bad file, -o json: %v %s", err, r.stderr)
	}

	var units []org.Unit
	if err := json.Unmarshal([]byte(mustCLI(t, env, "org", "units", "list", "-o", "json")), &units); err != nil || len(units) != 3 {
		t.Fatalf("units: %v %v", units, err)
	}
	mustCLI(t, env, "org", "units", "update", "1", "--quota", "1")
	r = cli(t, env, "org", "accounts", "create", "--login", "zhaoliu", "--name", "赵六", "--unit", "1")
	if r.code != exitFailed || !strings.Contains(r.stderr, org.CodeQuotaExceeded) {
		t.Errorf("over quota: exit %d %s", r.code, r.stderr)
	}
	mustCLI(t, env, "org", "quota", "request", "--unit", "1", "--quota", "3", "--reason", "新增一人")
	mustCLI(t, env, "org", "quota", "approve", "1", "--note", "同意")
	mustCLI(t, env, "org", "accounts", "create", "--login", "zhaoliu", "--name", "赵六", "--unit", "1", "--role", "clerk")
	lower := filepath.Join(dir, "lower.csv")
	if err := os.WriteFile(lower, []byte("单位名称,账号限额\n县委办公室,1\n县发展和改革局,16\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := mustCLI(t, env, "org", "import", lower, "--dry-run"); !strings.Contains(r, "3 → 3") || !strings.Contains(r, "kept: the file says 1, below the raise approved by quota request 1") || !strings.Contains(r, "15 → 16") {
		t.Errorf("the dry run of a file lowering an approved raise:\n%s", r)
	}
	if r := cli(t, env, "org", "accounts", "get", "999"); r.code != exitNotFound {
		t.Errorf("missing account: exit %d", r.code)
	}
	if r := cli(t, env, "org", "accounts", "get", "abc"); r.code != exitUsage {
		t.Errorf("non-numeric id: exit %d", r.code)
	}
}
