package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/countycloud/countycloud/core/audit"
	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/core/classified"
	"github.com/countycloud/countycloud/core/config"
	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/kit"
	"github.com/countycloud/countycloud/tenants/seals"
)

// TestSealsThroughTheAPIAndTheCLI: a county admin (and the province's
// operator) create, rotate and revoke a unit's seal, each in the trail; a
// unit admin, a clerk, another county's admin and a caller without a
// token are refused. A document the host sealed verifies for anyone
// through `seals verify`; one byte changed fails naming the file; once
// revoked, verification says since when.
func TestSealsThroughTheAPIAndTheCLI(t *testing.T) {
	t.Parallel()
	db, p, url, env := twoCounties(t, map[string]string{"wyadmin": auth.RoleCountyAdmin, "wyunit": auth.RoleUnitAdmin, "wyclerk": auth.RoleClerk})
	tokens := loginAs(t, db, url, env["COUNTYCLOUD_TOKEN"], "gd.shaoguan.wengyuan")
	lcadmin := loginAs(t, db, url, env["COUNTYCLOUD_TOKEN"], "gd.shaoguan.lechang")["lcadmin"]
	const wy = "/v1/tenants/gd.shaoguan.wengyuan"
	admin := map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": tokens["wyadmin"], "COUNTYCLOUD_TENANT": "gd.shaoguan.wengyuan"}

	for who, token := range map[string]string{"a unit admin": tokens["wyunit"], "a clerk": tokens["wyclerk"]} {
		want(t, who+" creating a seal", call(t, "POST", url+wy+"/seals", token, seals.CreateRequest{UnitID: 1}), http.StatusForbidden, auth.CodeForbidden)
		want(t, who+" listing seals", call(t, "GET", url+wy+"/seals", token, nil), http.StatusForbidden, auth.CodeForbidden)
	}
	want(t, "another county's admin", call(t, "POST", url+wy+"/seals", lcadmin, seals.CreateRequest{UnitID: 1}), http.StatusNotFound, "tenant_not_found")
	want(t, "no token", call(t, "POST", url+wy+"/seals", "", seals.CreateRequest{UnitID: 1}), http.StatusUnauthorized, "")
	want(t, "a unit that does not exist", call(t, "POST", url+wy+"/seals", tokens["wyadmin"], seals.CreateRequest{UnitID: 9}), http.StatusNotFound, seals.CodeUnitNotFound)

	var created seals.View
	if err := json.Unmarshal([]byte(mustCLI(t, admin, "seals", "create", "--unit", "1", "-o", "json")), &created); err != nil || created.Status != seals.StatusInUse {
		t.Fatalf("create: %+v %v", created, err)
	}
	want(t, "a second seal in use", call(t, "POST", url+wy+"/seals", env["COUNTYCLOUD_TOKEN"], seals.CreateRequest{UnitID: 1}), http.StatusConflict, seals.CodeSealExists)
	table := mustCLI(t, admin, "seals", "list")
	if !strings.Contains(table, "县信息中心 (1)") || !strings.Contains(table, "在用 in use") || strings.Contains(table, "private") {
		t.Errorf("seals list:\n%s", table)
	}

	// The host seals a document (as it does for a module) and anyone
	// verifies it.
	dir := t.TempDir()
	files := map[string]string{"正文.pdf": strings.Repeat("翁源县人民政府文件。", 500), "附件1.docx": "附件一"}
	var list []seals.File
	var paths []string
	for _, name := range []string{"正文.pdf", "附件1.docx"} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(files[name]), 0o644); err != nil {
			t.Fatal(err)
		}
		list = append(list, seals.File{Name: name, SM3: seals.DigestBytes([]byte(files[name]))})
		paths = append(paths, path)
	}
	ctx := audit.WithActor(context.Background(), audit.Actor{Kind: "account", Login: "wyadmin"})
	seal, err := p.seals.Sign(ctx, "gd.shaoguan.wengyuan", 1, list)
	if err != nil {
		t.Fatal(err)
	}
	sealFile := filepath.Join(dir, "seal.json")
	b, _ := json.Marshal(seal)
	if err := os.WriteFile(sealFile, b, 0o644); err != nil {
		t.Fatal(err)
	}
	anyone := map[string]string{"COUNTYCLOUD_ADDR": url}
	out := mustCLI(t, anyone, append([]string{"seals", "verify", "--seal", sealFile}, paths...)...)
	if !strings.Contains(out, "有效") || !strings.Contains(out, "县信息中心 (1)") || strings.Count(out, "完好 intact") != 2 {
		t.Errorf("verify:\n%s", out)
	}

	if err := os.WriteFile(paths[1], []byte("附件二"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := cli(t, anyone, append([]string{"seals", "verify", "--seal", sealFile, "-o", "json"}, paths...)...)
	var verdict seals.Verdict
	if r.code != exitFailed || json.Unmarshal([]byte(r.stdout), &verdict) != nil || verdict.Valid || !strings.Contains(strings.Join(verdict.Problems, " "), "附件1.docx") {
		t.Errorf("a changed file: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if err := os.WriteFile(paths[1], []byte(files["附件1.docx"]), 0o644); err != nil {
		t.Fatal(err)
	}

	// Rotation keeps the old seal verifying; revoking it is then said.
	var rotated seals.View
	if err := json.Unmarshal([]byte(mustCLI(t, admin, "seals", "rotate", itoa(created.ID), "-o", "json")), &rotated); err != nil || rotated.ID == created.ID {
		t.Fatalf("rotate: %+v %v", rotated, err)
	}
	mustCLI(t, anyone, append([]string{"seals", "verify", "--seal", sealFile}, paths...)...)
	mustCLI(t, map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": env["COUNTYCLOUD_TOKEN"], "COUNTYCLOUD_TENANT": "gd.shaoguan.wengyuan"},
		"seals", "revoke", itoa(created.ID), "--reason", "旧印章停用")
	r = cli(t, anyone, append([]string{"seals", "verify", "--seal", sealFile}, paths...)...)
	if r.code != exitFailed || !strings.Contains(r.stdout, "已吊销") || !strings.Contains(r.stdout, "旧印章停用") || !strings.Contains(r.stderr, "revoked") {
		t.Errorf("verify after the revocation: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if r := cli(t, admin, "seals", "revoke", itoa(created.ID)); r.code != exitUsage {
		t.Errorf("revoke without a reason: exit %d %s", r.code, r.stderr)
	}

	// Bad input at the public route: a seal that is not one, too large a body.
	want(t, "not a seal", call(t, "POST", url+seals.VerifyPath, "", map[string]any{"seal": map[string]any{"version": 2}, "files": list}), http.StatusBadRequest, seals.CodeInvalidSeal)
	want(t, "no seal", call(t, "POST", url+seals.VerifyPath, "", map[string]any{"files": list}), http.StatusBadRequest, seals.CodeInvalidSeal)
	want(t, "a body over the limit", call(t, "POST", url+seals.VerifyPath, "", map[string]any{"seal": seal, "padding": strings.Repeat("x", kit.MaxBodyBytes)}), http.StatusRequestEntityTooLarge, "")
	moved := seal
	moved.County = "gd.shaoguan.lechang"
	want(t, "Wengyuan's seal claimed for Lechang", call(t, "POST", url+seals.VerifyPath, "", seals.VerifyRequest{Seal: mustJSON(t, moved), Files: list}), http.StatusNotFound, seals.CodeSealNotFound)

	// The body is decoded and guarded as any: a seal named twice is
	// refused (a reader of the first would judge another seal than the
	// decoder's last), a classified file name is refused, and so is a
	// body not sent as JSON.
	forged := seal
	forged.UnitName = "县民政局"
	twice := json.RawMessage(`{"seal":` + string(mustJSON(t, seal)) + `,"files":` + string(mustJSON(t, list)) + `,"Seal":` + string(mustJSON(t, forged)) + `}`)
	want(t, "a seal named twice", call(t, "POST", url+seals.VerifyPath, "", twice), http.StatusBadRequest, errs.CodeInvalidJSON)
	marked := json.RawMessage(`{"seal":` + string(mustJSON(t, seal)) + `,"files":[{"name":"【绝密】正文.pdf","sm3":"` + list[0].SM3 + `"}]}`)
	want(t, "a classified file name after the seal", call(t, "POST", url+seals.VerifyPath, "", marked), http.StatusForbidden, classified.CodeRefused)
	resp, err := http.Post(url+seals.VerifyPath, "text/plain", strings.NewReader(string(mustJSON(t, seals.VerifyRequest{Seal: mustJSON(t, seal), Files: list}))))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("a verification sent as text/plain: %s", resp.Status)
	}

	var trail []string
	if err := db.Server.Select(&trail, "SELECT CONCAT(action, ' ', actor_login) FROM `"+db.SchemaPrefix+"gd_shaoguan_wengyuan`.audit_log WHERE object_type = 'seal' AND outcome = 'ok' ORDER BY id"); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(trail, ", "); got != "seals.create wyadmin, seals.sign wyadmin, seals.rotate wyadmin, seals.create wyadmin, seals.revoke admin" {
		t.Errorf("the trail: %s", got)
	}
}

func mustJSON(t *testing.T, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestVerificationIsLimitedPerAddress: a replica with a tight limit
// answers an address's second verification 429.
func TestVerificationIsLimitedPerAddress(t *testing.T) {
	t.Parallel()
	db, _, _, _ := startedPlatformWith(t, quiet)
	_, limited, _ := startPlatform(t, db, db.Config, quiet, func(c *config.Server) { c.RateLimitAccount = 0.1 })
	body := map[string]any{"seal": map[string]any{"version": 1}}
	want(t, "first", call(t, "POST", limited+seals.VerifyPath, "", body), http.StatusBadRequest, seals.CodeInvalidSeal)
	want(t, "again", call(t, "POST", limited+seals.VerifyPath, "", body), http.StatusTooManyRequests, auth.CodeRateLimited)
}

// TestAWrongSealKeyStopsTheServerWithAClearError: a server started on a
// platform's database with another --seal-key refuses to start and says
// why, in process and as the server command.
func TestAWrongSealKeyStopsTheServerWithAClearError(t *testing.T) {
	t.Parallel()
	db, _, _, _ := startedPlatformWith(t, quiet, func(c *config.Server) { c.SealKey = strings.Repeat("right-key-", 4) })
	other, _, _ := startPlatform(t, db, db.Config, quiet, func(c *config.Server) { c.SealKey = strings.Repeat("wrong-key-", 4) })
	if err := other.start(context.Background()); !errors.Is(err, seals.ErrWrongKey) {
		t.Errorf("start with a wrong seal key: %v", err)
	}
	r := cli(t, map[string]string{
		"COUNTYCLOUD_MYSQL_DSN": db.Config.FormatDSN(), "COUNTYCLOUD_SCHEMA_PREFIX": db.SchemaPrefix, "COUNTYCLOUD_ADDR": "127.0.0.1:0",
		"COUNTYCLOUD_SEAL_KEY": strings.Repeat("wrong-key-", 4), "COUNTYCLOUD_PLUGIN_SANDBOX": "off", "COUNTYCLOUD_FILE_DIR": t.TempDir(), "COUNTYCLOUD_WORKERS": "0",
	}, "server")
	if r.code == exitOK || !strings.Contains(r.stderr, "--seal-key (COUNTYCLOUD_SEAL_KEY) is not the key") || strings.Contains(r.stderr, "wrong-key-") {
		t.Errorf("server with a wrong seal key: exit %d\n%s", r.code, r.stderr)
	}
}
