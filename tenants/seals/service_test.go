package seals_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"

	"github.com/countycloud/countycloud/core/audit"
	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/store/storetest"
	"github.com/countycloud/countycloud/tenants/provision/provisiontest"
	"github.com/countycloud/countycloud/tenants/registry"
	"github.com/countycloud/countycloud/tenants/seals"
)

const (
	wengyuan = "gd.shaoguan.wengyuan"
	lechang  = "gd.shaoguan.lechang"
	sealKey  = "翁源县-test-seal-key-0123456789abcdef"
)

type fixture struct {
	db  *storetest.DB
	svc *seals.Service
	ctx context.Context
}

// setup gives Wengyuan units 1 (县政府办) and 2 (县民政局), Lechang unit
// 1, and the seals service under sealKey.
func setup(t *testing.T) fixture {
	t.Helper()
	db := storetest.New(t)
	provisiontest.Registry(t, db, registry.CreateRequest{Code: wengyuan, Name: "翁源县"}, registry.CreateRequest{Code: lechang, Name: "乐昌市"})
	for county, units := range map[string]string{
		wengyuan: "(1, '县政府办', NOW(), NOW()), (2, '县民政局', NOW(), NOW())",
		lechang:  "(1, '乐昌市政府办', NOW(), NOW())",
	} {
		if _, err := db.Server.Exec("INSERT INTO `" + schema(db, county) + "`.units (id, name, created_at, updated_at) VALUES " + units); err != nil {
			t.Fatal(err)
		}
	}
	keys, err := seals.NewKeyRing(sealKey)
	if err != nil {
		t.Fatal(err)
	}
	svc := seals.NewService(provisiontest.Router(db, registry.LocatorInterval), db.Control, keys, time.Now)
	ctx := audit.WithActor(context.Background(), audit.Actor{Kind: "account", ID: 1, Login: "wyadmin", Unit: 1})
	if err := svc.CheckKey(ctx); err != nil {
		t.Fatal(err)
	}
	return fixture{db: db, svc: svc, ctx: ctx}
}

func schema(db *storetest.DB, county string) string {
	return db.SchemaPrefix + strings.ReplaceAll(county, ".", "_")
}

// document is a sealed document's files by name.
type document map[string][]byte

func (d document) files() []seals.File {
	var list []seals.File
	for _, name := range []string{"正文.pdf", "附件1.docx", "附件2.xlsx"} {
		if b, ok := d[name]; ok {
			list = append(list, seals.File{Name: name, SM3: seals.DigestBytes(b)})
		}
	}
	return list
}

func newDocument() document {
	return document{
		"正文.pdf":   bytes.Repeat([]byte("翁源县人民政府关于兰花节的通知。"), 1000),
		"附件1.docx": []byte("附件一：活动安排"),
		"附件2.xlsx": []byte("附件二：经费预算"),
	}
}

func code(err error) string {
	if err == nil {
		return ""
	}
	return errs.As(err).Code
}

// roundTrip passes a seal through its JSON and the parser, as a module
// keeps it and a verifier sends it.
func roundTrip(t *testing.T, s seals.Seal) seals.Seal {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := seals.ParseSeal(b)
	if err != nil {
		t.Fatalf("a seal the host made does not parse: %v\n%s", err, b)
	}
	return parsed
}

// TestASealedDocumentVerifiesAndOneChangedByteNamesItsFile: a document
// sealed for a unit verifies with who sealed it and when; one byte
// changed in one file fails and names that file; a missing file and an
// added one are named too; a seal whose fields were edited fails its
// signature.
func TestASealedDocumentVerifiesAndOneChangedByteNamesItsFile(t *testing.T) {
	t.Parallel()
	f := setup(t)
	created, err := f.svc.Create(f.ctx, wengyuan, seals.CreateRequest{UnitID: 1})
	if err != nil {
		t.Fatal(err)
	}
	if created.Status != seals.StatusInUse || created.UnitName != "县政府办" || created.CreatedBy != "wyadmin" || len(created.PublicKey) != 130 {
		t.Errorf("created: %+v", created)
	}
	doc := newDocument()
	before := time.Now()
	seal, err := f.svc.Sign(f.ctx, wengyuan, 1, doc.files())
	if err != nil {
		t.Fatal(err)
	}
	seal = roundTrip(t, seal)
	v, err := f.svc.Verify(context.Background(), seal, doc.files())
	if err != nil {
		t.Fatal(err)
	}
	if !v.Valid || !v.Intact || !v.SignatureValid || v.UnitID != 1 || v.UnitName != "县政府办" || v.County != wengyuan || v.SealID != created.ID ||
		v.Status != seals.StatusInUse || v.SealedAt.Before(before.Add(-time.Second)) || len(v.Problems) != 0 || len(v.Files) != 3 {
		t.Fatalf("the sealed document does not verify: %+v", v)
	}

	changed := newDocument()
	changed["附件1.docx"][3] ^= 1
	v, err = f.svc.Verify(context.Background(), seal, changed.files())
	if err != nil {
		t.Fatal(err)
	}
	if v.Valid || v.Intact || !v.SignatureValid || len(v.Problems) != 1 || !strings.Contains(v.Problems[0], "附件1.docx") {
		t.Errorf("one byte changed in 附件1.docx: %+v", v)
	}
	for _, c := range v.Files {
		if want := map[bool]string{true: seals.FileChanged, false: seals.FileIntact}[c.Name == "附件1.docx"]; c.Status != want {
			t.Errorf("%s: %s, want %s", c.Name, c.Status, want)
		}
	}

	missing := newDocument()
	delete(missing, "附件2.xlsx")
	missing["附件9.txt"] = []byte("加塞的文件")
	list := append(missing.files(), seals.File{Name: "附件9.txt", SM3: seals.DigestBytes(missing["附件9.txt"])})
	v, err = f.svc.Verify(context.Background(), seal, list)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, c := range v.Files {
		got[c.Name] = c.Status
	}
	if v.Valid || got["附件2.xlsx"] != seals.FileMissing || got["附件9.txt"] != seals.FileNotSealed || got["正文.pdf"] != seals.FileIntact {
		t.Errorf("a file missing and one added: %+v", v)
	}

	// The seal's own fields are signed: another unit's name, a later
	// time, a digest swapped in the seal itself all fail.
	for name, edit := range map[string]func(*seals.Seal){
		"unit name": func(s *seals.Seal) { s.UnitName = "县民政局" },
		"time":      func(s *seals.Seal) { s.SealedAt = s.SealedAt.Add(time.Hour) },
		"digest":    func(s *seals.Seal) { s.Files[0].SM3 = seals.DigestBytes([]byte("另一份正文")) },
	} {
		forged := roundTrip(t, seal)
		edit(&forged)
		files := doc.files()
		if name == "digest" {
			files[0].SM3 = forged.Files[0].SM3
		}
		v, err := f.svc.Verify(context.Background(), forged, files)
		if err != nil {
			t.Fatal(err)
		}
		if v.Valid || v.SignatureValid || !strings.Contains(strings.Join(v.Problems, " "), "forged") {
			t.Errorf("a seal with its %s edited: %+v", name, v)
		}
	}
}

// TestARevokedSealVerifiesAsRevokedSinceItsTime: a document sealed before
// the seal was revoked is still intact, but verification says revoked
// since when; the seal signs no more, and a revoked seal cannot be
// revoked or rotated again.
func TestARevokedSealVerifiesAsRevokedSinceItsTime(t *testing.T) {
	t.Parallel()
	f := setup(t)
	created, err := f.svc.Create(f.ctx, wengyuan, seals.CreateRequest{UnitID: 1})
	if err != nil {
		t.Fatal(err)
	}
	doc := newDocument()
	seal, err := f.svc.Sign(f.ctx, wengyuan, 1, doc.files())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Revoke(f.ctx, wengyuan, created.ID, seals.RevokeRequest{}); code(err) != seals.CodeInvalidSeal {
		t.Errorf("revoke without a reason: %v", err)
	}
	// Verified just before, the seal is known to this replica as in use:
	// the revocation forgets it at once.
	if v, err := f.svc.Verify(context.Background(), seal, doc.files()); err != nil || !v.Valid {
		t.Fatalf("before the revocation: %+v %v", v, err)
	}
	revoked, err := f.svc.Revoke(f.ctx, wengyuan, created.ID, seals.RevokeRequest{Reason: "印章管理员离职"})
	if err != nil {
		t.Fatal(err)
	}
	v, err := f.svc.Verify(context.Background(), seal, doc.files())
	if err != nil {
		t.Fatal(err)
	}
	if v.Valid || !v.Intact || v.Status != seals.StatusRevoked || v.RevokedAt == nil || !v.RevokedAt.Equal(*revoked.RevokedAt) ||
		v.RevokeReason != "印章管理员离职" || !strings.Contains(strings.Join(v.Problems, " "), "revoked since "+revoked.RevokedAt.Format(time.RFC3339)) {
		t.Errorf("a revoked seal's document: %+v", v)
	}
	if _, err := f.svc.Sign(f.ctx, wengyuan, 1, doc.files()); code(err) != seals.CodeSealRevoked {
		t.Errorf("sealing with the unit's revoked seal: %v", err)
	}
	if _, err := f.svc.Revoke(f.ctx, wengyuan, created.ID, seals.RevokeRequest{Reason: "again"}); code(err) != seals.CodeSealRevoked {
		t.Errorf("revoking twice: %v", err)
	}
	if _, err := f.svc.Rotate(f.ctx, wengyuan, created.ID); code(err) != seals.CodeSealRevoked {
		t.Errorf("rotating a revoked seal: %v", err)
	}
	// The unit gets a new seal, which signs.
	if _, err := f.svc.Create(f.ctx, wengyuan, seals.CreateRequest{UnitID: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Sign(f.ctx, wengyuan, 1, doc.files()); err != nil {
		t.Errorf("sealing with the unit's new seal: %v", err)
	}
}

// TestARevocationOnAnotherReplicaShowsWithinStatusTTL: a replica that
// verified a document lately sees its seal revoked by another replica
// once StatusTTL has passed.
func TestARevocationOnAnotherReplicaShowsWithinStatusTTL(t *testing.T) {
	t.Parallel()
	f := setup(t)
	keys, err := seals.NewKeyRing(sealKey)
	if err != nil {
		t.Fatal(err)
	}
	other := seals.NewService(provisiontest.Router(f.db, registry.LocatorInterval), f.db.Control, keys, time.Now)
	created, err := f.svc.Create(f.ctx, wengyuan, seals.CreateRequest{UnitID: 1})
	if err != nil {
		t.Fatal(err)
	}
	doc := newDocument()
	seal, err := f.svc.Sign(f.ctx, wengyuan, 1, doc.files())
	if err != nil {
		t.Fatal(err)
	}
	if v, err := other.Verify(context.Background(), seal, doc.files()); err != nil || !v.Valid {
		t.Fatalf("on the other replica, before the revocation: %+v %v", v, err)
	}
	revokedAt := time.Now()
	if _, err := f.svc.Revoke(f.ctx, wengyuan, created.ID, seals.RevokeRequest{Reason: "印章遗失"}); err != nil {
		t.Fatal(err)
	}
	// Seen late by at most StatusTTL; the bound here is generous, for a
	// loaded machine's slow reads.
	for {
		v, err := other.Verify(context.Background(), seal, doc.files())
		if err != nil {
			t.Fatal(err)
		}
		if v.Status == seals.StatusRevoked && !v.Valid {
			break
		}
		if time.Since(revokedAt) > seals.StatusTTL+10*time.Second {
			t.Fatalf("the other replica still verifies the revoked seal as %s", v.Status)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestARotatedSealStillVerifiesWhatItSealedAndNewSealsUseTheNewKey.
func TestARotatedSealStillVerifiesWhatItSealedAndNewSealsUseTheNewKey(t *testing.T) {
	t.Parallel()
	f := setup(t)
	old, err := f.svc.Create(f.ctx, wengyuan, seals.CreateRequest{UnitID: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Create(f.ctx, wengyuan, seals.CreateRequest{UnitID: 1}); code(err) != seals.CodeSealExists {
		t.Errorf("a second seal in use for a unit: %v", err)
	}
	doc := newDocument()
	before, err := f.svc.Sign(f.ctx, wengyuan, 1, doc.files())
	if err != nil {
		t.Fatal(err)
	}
	rotated, err := f.svc.Rotate(f.ctx, wengyuan, old.ID)
	if err != nil {
		t.Fatal(err)
	}
	if rotated.ID == old.ID || rotated.PublicKey == old.PublicKey || rotated.Status != seals.StatusInUse {
		t.Fatalf("rotated: %+v from %+v", rotated, old)
	}
	if _, err := f.svc.Rotate(f.ctx, wengyuan, old.ID); code(err) != seals.CodeSealSuperseded {
		t.Errorf("rotating a superseded seal: %v", err)
	}
	after, err := f.svc.Sign(f.ctx, wengyuan, 1, doc.files())
	if err != nil {
		t.Fatal(err)
	}
	if before.SealID != old.ID || after.SealID != rotated.ID {
		t.Errorf("sealed with %d then %d, want %d then %d", before.SealID, after.SealID, old.ID, rotated.ID)
	}
	for _, s := range []seals.Seal{before, after} {
		v, err := f.svc.Verify(context.Background(), roundTrip(t, s), doc.files())
		if err != nil || !v.Valid {
			t.Errorf("seal %d after the rotation: %+v %v", s.SealID, v, err)
		}
	}
	v, _ := f.svc.Verify(context.Background(), before, doc.files())
	if v.Status != seals.StatusSuperseded || v.SupersededAt == nil {
		t.Errorf("the old seal's verdict does not say it was superseded: %+v", v)
	}
	// A signature of the old key does not pass as the new seal's.
	swapped := before
	swapped.SealID = rotated.ID
	if v, _ := f.svc.Verify(context.Background(), swapped, doc.files()); v.SignatureValid {
		t.Errorf("the old key's signature verifies as the new seal's: %+v", v)
	}
	list, err := f.svc.List(f.ctx, wengyuan, 1)
	if err != nil || len(list) != 2 || list[0].ID != rotated.ID || list[1].Status != seals.StatusSuperseded || *list[1].ReplacedBy != rotated.ID || *list[1].SupersededBy != "wyadmin" {
		t.Errorf("list: %+v %v", list, err)
	}
	var trail []string
	if err := f.db.Server.Select(&trail, "SELECT action FROM `"+schema(f.db, wengyuan)+"`.audit_log WHERE object_type = 'seal' ORDER BY id"); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(trail, " "); got != "seals.create seals.sign seals.rotate seals.create seals.sign" {
		t.Errorf("the trail: %s", got)
	}
}

// TestAnotherCountysSealsAndUnitsAreOutOfReach: Lechang's seal is not
// Wengyuan's, a seal claimed for another county does not verify there,
// and units and seals of one county are not found from another.
func TestAnotherCountysSealsAndUnitsAreOutOfReach(t *testing.T) {
	t.Parallel()
	f := setup(t)
	wy, err := f.svc.Create(f.ctx, wengyuan, seals.CreateRequest{UnitID: 2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Create(f.ctx, lechang, seals.CreateRequest{UnitID: 2}); code(err) != seals.CodeUnitNotFound {
		t.Errorf("a seal for a unit Lechang does not have: %v", err)
	}
	if _, err := f.svc.Revoke(f.ctx, lechang, wy.ID, seals.RevokeRequest{Reason: "越权"}); code(err) != seals.CodeSealNotFound {
		t.Errorf("Lechang revoking Wengyuan's seal: %v", err)
	}
	if _, err := f.svc.Sign(f.ctx, lechang, 2, newDocument().files()); code(err) != seals.CodeUnitNotFound {
		t.Errorf("sealing for a unit of another county: %v", err)
	}
	if _, err := f.svc.Sign(f.ctx, lechang, 1, newDocument().files()); code(err) != seals.CodeNoSeal {
		t.Errorf("sealing for a unit without a seal: %v", err)
	}
	doc := newDocument()
	seal, err := f.svc.Sign(f.ctx, wengyuan, 2, doc.files())
	if err != nil {
		t.Fatal(err)
	}
	// The same seal presented as Lechang's: Lechang's seal of that id (if
	// any) is another key; here there is none.
	moved := seal
	moved.County = lechang
	if _, err := f.svc.Verify(context.Background(), moved, doc.files()); code(err) != seals.CodeSealNotFound {
		t.Errorf("Wengyuan's seal verified in Lechang: %v", err)
	}
	lc, err := f.svc.Create(f.ctx, lechang, seals.CreateRequest{UnitID: 1})
	if err != nil {
		t.Fatal(err)
	}
	moved.SealID, moved.UnitID = lc.ID, 1
	if v, err := f.svc.Verify(context.Background(), moved, doc.files()); err != nil || v.SignatureValid || v.Valid {
		t.Errorf("Wengyuan's seal passed as Lechang's: %+v %v", v, err)
	}
}

// TestThePrivateKeyAtRestIsNotTheKey reads the row: the public key is the
// one shown, the stored private key is sealed (neither the key nor
// containing it), and it opens only under the seal key and for its own
// county and row: copied to another row, it cannot sign.
func TestThePrivateKeyAtRestIsNotTheKey(t *testing.T) {
	t.Parallel()
	f := setup(t)
	a, err := f.svc.Create(f.ctx, wengyuan, seals.CreateRequest{UnitID: 1})
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.svc.Create(f.ctx, wengyuan, seals.CreateRequest{UnitID: 2})
	if err != nil {
		t.Fatal(err)
	}
	var stored struct {
		Public []byte `db:"public_key"`
		Sealed []byte `db:"private_key_sealed"`
	}
	if err := f.db.Server.Get(&stored, "SELECT public_key, private_key_sealed FROM `"+schema(f.db, wengyuan)+"`.seals WHERE id = ?", a.ID); err != nil {
		t.Fatal(err)
	}
	pub, err := sm2.NewPublicKey(stored.Public)
	if err != nil {
		t.Fatal(err)
	}
	// The sealed bytes are nonce, 32 bytes of ciphertext and a tag: no
	// 32-byte window of them is the private key of the public one.
	if len(stored.Sealed) != 12+32+16 {
		t.Fatalf("sealed private key of %d bytes", len(stored.Sealed))
	}
	for i := 0; i+32 <= len(stored.Sealed); i++ {
		if priv, err := sm2.NewPrivateKey(stored.Sealed[i : i+32]); err == nil && priv.PublicKey.Equal(pub) {
			t.Fatalf("the private key is stored in the clear at byte %d", i)
		}
	}
	// Seal b's sealed key copied into a's row opens nowhere.
	if _, err := f.db.Server.Exec("UPDATE `"+schema(f.db, wengyuan)+"`.seals s, `"+schema(f.db, wengyuan)+"`.seals o SET s.private_key_sealed = o.private_key_sealed WHERE s.id = ? AND o.id = ?", a.ID, b.ID); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.Sign(f.ctx, wengyuan, 1, newDocument().files())
	if code(err) != seals.CodeSealKey || strings.Contains(err.Error(), string(stored.Sealed)) {
		t.Errorf("sealing with a key copied from another row: %v", err)
	}
	// No answer carries the private key: a seal's view marshals to the
	// fields shown, and the listing holds no sealed bytes.
	list, err := f.svc.List(f.ctx, wengyuan, 0)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(list)
	if strings.Contains(string(out), "private") || bytes.Contains(out, stored.Sealed) {
		t.Errorf("the list shows a private key: %s", out)
	}
}

// TestAWrongSealKeyIsRefusedAtTheStart: a service under another key
// fails its check with ErrWrongKey and opens no seal: it makes no
// signature at all rather than a wrong one.
func TestAWrongSealKeyIsRefusedAtTheStart(t *testing.T) {
	t.Parallel()
	f := setup(t)
	if _, err := f.svc.Create(f.ctx, wengyuan, seals.CreateRequest{UnitID: 1}); err != nil {
		t.Fatal(err)
	}
	wrongKeys, err := seals.NewKeyRing(sealKey + "-rotated-by-mistake")
	if err != nil {
		t.Fatal(err)
	}
	wrong := seals.NewService(provisiontest.Router(f.db, registry.LocatorInterval), f.db.Control, wrongKeys, time.Now)
	if err := wrong.CheckKey(f.ctx); !errors.Is(err, seals.ErrWrongKey) || !strings.Contains(err.Error(), "--seal-key") {
		t.Errorf("the check under a wrong key: %v", err)
	}
	if _, err := wrong.Sign(f.ctx, wengyuan, 1, newDocument().files()); code(err) != seals.CodeSealKey {
		t.Errorf("sealing under a wrong key: %v", err)
	}
	if err := f.svc.CheckKey(f.ctx); err != nil {
		t.Errorf("the right key after a wrong one: %v", err)
	}
	if _, err := seals.NewKeyRing("short"); err == nil {
		t.Error("a seal key of 5 characters was taken")
	}
}

// TestBadDocumentsAreRefused: no files, a file named twice, a digest
// that is not SM3's hex.
func TestBadDocumentsAreRefused(t *testing.T) {
	t.Parallel()
	f := setup(t)
	if _, err := f.svc.Create(f.ctx, wengyuan, seals.CreateRequest{UnitID: 1}); err != nil {
		t.Fatal(err)
	}
	good := seals.DigestBytes([]byte("x"))
	for name, files := range map[string][]seals.File{
		"no files":     nil,
		"named twice":  {{Name: "正文.pdf", SM3: good}, {Name: "正文.pdf", SM3: good}},
		"no name":      {{Name: "", SM3: good}},
		"not a digest": {{Name: "正文.pdf", SM3: strings.ToUpper(good)}},
	} {
		if _, err := f.svc.Sign(f.ctx, wengyuan, 1, files); code(err) != seals.CodeInvalidDocument {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := f.svc.Create(f.ctx, wengyuan, seals.CreateRequest{UnitID: 99}); code(err) != seals.CodeUnitNotFound {
		t.Errorf("a unit that does not exist: %v", err)
	}
}
