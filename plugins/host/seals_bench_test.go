package host_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"

	"github.com/countycloud/countycloud/plugins/host"
	"github.com/countycloud/countycloud/plugins/sdk/proto/pluginv1"
)

// BenchmarkSealADocument seals a 1 MiB document through the host (a
// module's request; the host reads the module's file from its store,
// digests it with SM3 and signs with the unit's SM2 key, opened from its
// row, in a transaction with the audit entry) against the library called
// in process (SM3 of the bytes in memory and an SM2 signature with a key
// at hand). The ratio is in-process time over host time.
func BenchmarkSealADocument(b *testing.B) {
	f := setup(b)
	blobs, err := host.NewLocalBlobs(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = blobs.Close() })
	svc := unitSeals(b, f)
	doc := make([]byte, 1<<20)
	if _, err := rand.Read(doc); err != nil {
		b.Fatal(err)
	}
	// The module's file, as an upload leaves it: its bytes in the store,
	// its row ready.
	const id = "0123456789abcdef0123456789abcdef"
	key, err := host.NewBlobKey(wengyuan, docsManifest.ID, id)
	if err != nil {
		b.Fatal(err)
	}
	if err := blobs.Put(context.Background(), key, bytes.NewReader(doc), int64(len(doc))); err != nil {
		b.Fatal(err)
	}
	if _, err := f.db.Server.Exec("INSERT INTO `"+f.db.SchemaPrefix+"gd_shaoguan_wengyuan`.plugin_files (plugin, file_id, name, content_type, size, status, created_at, ready_at) VALUES (?, ?, '正文.pdf', 'application/pdf', ?, 'ready', NOW(6), NOW(6))",
		docsManifest.ID, id, len(doc)); err != nil {
		b.Fatal(err)
	}
	f.deps.Blobs, f.deps.Sealer = blobs, hostSealer{svc}
	f.bin.Manifest, f.bin.Env = docsManifest, []string{pluginEnv + "=docs"}
	p, err := host.Launch(context.Background(), f.bin, f.deps)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(p.Close)
	priv, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	var inProcess, throughHost time.Duration
	b.Run("in-process", func(b *testing.B) {
		b.SetBytes(int64(len(doc)))
		start := time.Now()
		for b.Loop() {
			sum := sm3.Sum(doc)
			manifest, _ := json.Marshal(map[string]any{"unit_id": 1, "files": []map[string]string{{"name": "正文.pdf", "sm3": hex.EncodeToString(sum[:])}}})
			if _, err := priv.Sign(rand.Reader, manifest, sm2.DefaultSM2SignerOpts); err != nil {
				b.Fatal(err)
			}
		}
		inProcess = time.Since(start) / time.Duration(b.N)
	})
	b.Run("through-the-host", func(b *testing.B) {
		b.SetBytes(int64(len(doc)))
		body, _ := json.Marshal(map[string]any{"unit_id": 1, "file_ids": []string{id}})
		start := time.Now()
		for b.Loop() {
			resp, err := p.Handle(context.Background(), wengyuan, &pluginv1.HandleRequest{Method: "POST", Path: "/seal", Body: body, RequestId: "bench", Caller: wyClerk})
			if err != nil || resp.GetStatus() != 200 || !strings.Contains(string(resp.GetBody()), "signature") {
				b.Fatalf("%v %d %s", err, resp.GetStatus(), resp.GetBody())
			}
		}
		throughHost = time.Since(start) / time.Duration(b.N)
	})
	if throughHost > 0 {
		b.Logf("sealing 1 MiB: in process %s, through the host %s: in-process/host = %.2f", inProcess, throughHost, float64(inProcess)/float64(throughHost))
	}
}
