package host_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/countycloud/countycloud/core/audit"
	"github.com/countycloud/countycloud/plugins/host"
	"github.com/countycloud/countycloud/plugins/sdk"
	"github.com/countycloud/countycloud/plugins/sdk/proto/pluginv1"
	"github.com/countycloud/countycloud/tenants/seals"
)

// The docs module is the test plugin of the seals service: it keeps a
// document's files and has the host seal them.
var docsManifest = sdk.Manifest{ID: "docs", Name: "公文", Vendor: "CountyCloud tests", Version: "1.0.0", Protocol: sdk.ProtocolVersion}

func init() {
	if os.Getenv(pluginEnv) == "docs" {
		sdk.Serve(docsManifest, docs{})
		os.Exit(0)
	}
}

type docs struct{}

func (docs) Handle(ctx context.Context, r *sdk.Request) (*sdk.Response, error) {
	answer := func(v any, err error) (*sdk.Response, error) {
		if err != nil {
			return &sdk.Response{Status: 400, Body: []byte(err.Error())}, nil
		}
		body, _ := json.Marshal(v)
		return &sdk.Response{Body: body}, nil
	}
	switch r.Path {
	case "/uploads":
		var in struct {
			Name        string `json:"name"`
			ContentType string `json:"content_type"`
			Size        int64  `json:"size"`
		}
		if err := json.Unmarshal(r.Body, &in); err != nil {
			return answer(nil, err)
		}
		return answer(r.Host.CreateUpload(ctx, in.Name, in.ContentType, in.Size))
	case "/seal":
		var in struct {
			Unit  int64    `json:"unit_id"`
			Files []string `json:"file_ids"`
		}
		if err := json.Unmarshal(r.Body, &in); err != nil {
			return answer(nil, err)
		}
		s, err := r.Host.SealDocument(ctx, in.Unit, in.Files...)
		if err != nil {
			return answer(nil, err)
		}
		return &sdk.Response{Body: s.JSON}, nil
	}
	return &sdk.Response{Status: 404}, nil
}

// hostSealer is the seals service as the host reaches it (cmd wires the
// same).
type hostSealer struct{ svc *seals.Service }

func (h hostSealer) Sign(ctx context.Context, county string, unit int64, files []host.SealFile) (json.RawMessage, error) {
	list := make([]seals.File, len(files))
	for i, f := range files {
		list[i] = seals.File{Name: f.Name, SM3: f.SM3}
	}
	s, err := h.svc.Sign(ctx, county, unit, list)
	if err != nil {
		return nil, err
	}
	return json.Marshal(s)
}

// sealWorld is the files world with the docs module and units' seals:
// Wengyuan's units 1 and 2 and Lechang's unit 1, each with a seal.
type sealWorld struct {
	*world
	svc     *seals.Service
	sealIDs map[string]int64
}

func newSealWorld(t *testing.T) sealWorld {
	t.Helper()
	w := newWorld(t)
	sw := sealWorld{world: w, svc: unitSeals(t, w.fixture), sealIDs: map[string]int64{}}
	list, err := sw.svc.List(context.Background(), wengyuan, 0)
	if err != nil {
		t.Fatal(err)
	}
	more, err := sw.svc.List(context.Background(), lechang, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range list {
		sw.sealIDs[fmt.Sprintf("%s/%d", wengyuan, v.UnitID)] = v.ID
	}
	for _, v := range more {
		sw.sealIDs[fmt.Sprintf("%s/%d", lechang, v.UnitID)] = v.ID
	}
	w.p.Close()
	f := w.fixture
	f.deps.Sealer = hostSealer{sw.svc}
	f.bin.Manifest, f.bin.Env = docsManifest, []string{pluginEnv + "=docs"}
	w.p = launch(t, f)
	return sw
}

// unitSeals is the seals service of f's counties, with Wengyuan's units
// 1 and 2 and Lechang's unit 1, each with a seal.
func unitSeals(t testing.TB, f fixture) *seals.Service {
	t.Helper()
	keys, err := seals.NewKeyRing(strings.Repeat("seal-key-", 4))
	if err != nil {
		t.Fatal(err)
	}
	svc := seals.NewService(f.deps.Router, f.db.Control, keys, time.Now)
	for county, units := range map[string]string{
		wengyuan: "(1, '县政府办', NOW(), NOW()), (2, '县民政局', NOW(), NOW())",
		lechang:  "(1, '乐昌市政府办', NOW(), NOW())",
	} {
		if _, err := f.db.Server.Exec("INSERT INTO `" + f.db.SchemaPrefix + strings.ReplaceAll(county, ".", "_") + "`.units (id, name, created_at, updated_at) VALUES " + units); err != nil {
			t.Fatal(err)
		}
	}
	admin := audit.WithActor(context.Background(), audit.Actor{Kind: "account", Login: "admin"})
	for _, u := range []struct {
		county string
		unit   int64
	}{{wengyuan, 1}, {wengyuan, 2}, {lechang, 1}} {
		if _, err := svc.Create(admin, u.county, seals.CreateRequest{UnitID: u.unit}); err != nil {
			t.Fatal(err)
		}
	}
	return svc
}

// put uploads content as name in county and returns its file id.
func (w sealWorld) put(t *testing.T, county, name string, content []byte) string {
	t.Helper()
	up := w.upload(t, county, name, "application/pdf", len(content))
	if resp, body := send(t, "PUT", up.URL, content, false); resp.StatusCode != 200 {
		t.Fatalf("upload %s: %d %s", name, resp.StatusCode, body)
	}
	return up.FileID
}

// seal asks the docs module, as caller, to seal files for unit.
func (w sealWorld) seal(t *testing.T, county string, caller *pluginv1.Caller, unit int64, files ...string) (int, string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"unit_id": unit, "file_ids": files})
	resp, err := w.p.Handle(context.Background(), county, &pluginv1.HandleRequest{Method: "POST", Path: "/seal", Body: body, RequestId: t.Name(), Caller: caller})
	if err != nil {
		t.Fatal(err)
	}
	return int(resp.GetStatus()), string(resp.GetBody())
}

var (
	wyClerk = &pluginv1.Caller{Kind: "account", AccountId: 3, Login: "wyclerk", UnitId: 1, Roles: []string{"clerk"}}
	wyAdmin = &pluginv1.Caller{Kind: "account", AccountId: 4, Login: "wyadmin", UnitId: 2, Roles: []string{"system_admin"}}
	lcClerk = &pluginv1.Caller{Kind: "account", AccountId: 3, Login: "lcclerk", UnitId: 1, Roles: []string{"clerk"}}
)

// TestAModuleSealsItsDocumentThroughTheHost: a clerk's request seals the
// module's files for the clerk's unit; the seal the module gets verifies
// against the files' bytes, names the unit, and holds no key. A county
// admin seals for any unit; a clerk for another unit, another county's
// request on these files, a revoked seal and a pending file are refused.
func TestAModuleSealsItsDocumentThroughTheHost(t *testing.T) {
	t.Parallel()
	w := newSealWorld(t)
	body, attachment := []byte(strings.Repeat("翁源县人民政府文件。", 2000)), []byte("附件一：经费预算")
	ids := []string{w.put(t, wengyuan, "正文.pdf", body), w.put(t, wengyuan, "附件1.pdf", attachment)}

	status, out := w.seal(t, wengyuan, wyClerk, 1, ids...)
	if status != 200 {
		t.Fatalf("a clerk sealing for their unit: %d %s", status, out)
	}
	seal, err := seals.ParseSeal([]byte(out))
	if err != nil {
		t.Fatalf("the module's seal does not parse: %v\n%s", err, out)
	}
	if seal.County != wengyuan || seal.UnitID != 1 || seal.UnitName != "县政府办" || seal.SealID != w.sealIDs[wengyuan+"/1"] || strings.Contains(out, "private") {
		t.Errorf("the seal: %s", out)
	}
	files := []seals.File{{Name: "正文.pdf", SM3: seals.DigestBytes(body)}, {Name: "附件1.pdf", SM3: seals.DigestBytes(attachment)}}
	if v, err := w.svc.Verify(context.Background(), seal, files); err != nil || !v.Valid {
		t.Errorf("the module's sealed document does not verify: %+v %v", v, err)
	}
	files[1].SM3 = seals.DigestBytes(append(attachment[:len(attachment):len(attachment)], '!'))
	if v, _ := w.svc.Verify(context.Background(), seal, files); v.Valid || !strings.Contains(strings.Join(v.Problems, " "), "附件1.pdf") {
		t.Errorf("a changed attachment: %+v", v)
	}
	var trail string
	if err := w.db.Server.Get(&trail, "SELECT CONCAT(actor_login, ' ', source) FROM `"+w.db.SchemaPrefix+"gd_shaoguan_wengyuan`.audit_log WHERE action = 'seals.sign'"); err != nil || trail != "wyclerk plugin:docs" {
		t.Errorf("the sealing's audit entry: %q %v", trail, err)
	}

	if status, out := w.seal(t, wengyuan, wyAdmin, 1, ids...); status != 200 {
		t.Errorf("a county admin of another unit: %d %s", status, out)
	}
	for _, c := range []struct {
		what   string
		county string
		caller *pluginv1.Caller
		unit   int64
		files  []string
		want   error
	}{
		{"a clerk for another unit", wengyuan, wyClerk, 2, ids, sdk.ErrDenied},
		{"no caller", wengyuan, nil, 1, ids, sdk.ErrDenied},
		{"Lechang's request on Wengyuan's files", lechang, lcClerk, 1, ids, sdk.ErrNotFound},
		{"no files", wengyuan, wyClerk, 1, nil, sdk.ErrInvalid},
		{"a file id the host never gave", wengyuan, wyClerk, 1, []string{"../etc/passwd"}, sdk.ErrInvalid},
	} {
		status, out := w.seal(t, c.county, c.caller, c.unit, c.files...)
		if status != 400 || !strings.HasPrefix(out, c.want.Error()) {
			t.Errorf("%s: %d %s, want %v", c.what, status, out, c.want)
		}
	}
	pending := w.upload(t, wengyuan, "草稿.pdf", "application/pdf", 10)
	if status, out := w.seal(t, wengyuan, wyClerk, 1, pending.FileID); status != 400 || !strings.HasPrefix(out, sdk.ErrNotReady.Error()) {
		t.Errorf("a pending file: %d %s", status, out)
	}
	admin := audit.WithActor(context.Background(), audit.Actor{Kind: "account", Login: "admin"})
	if _, err := w.svc.Revoke(admin, wengyuan, w.sealIDs[wengyuan+"/1"], seals.RevokeRequest{Reason: "测试吊销"}); err != nil {
		t.Fatal(err)
	}
	if status, out := w.seal(t, wengyuan, wyClerk, 1, ids...); status != 400 || !strings.HasPrefix(out, sdk.ErrConflict.Error()) || !strings.Contains(out, "revoked") {
		t.Errorf("a revoked seal: %d %s", status, out)
	}
}
