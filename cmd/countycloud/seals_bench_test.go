package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"

	"github.com/countycloud/countycloud/core/audit"
	"github.com/countycloud/countycloud/core/config"
	"github.com/countycloud/countycloud/tenants/seals"
)

// BenchmarkVerifyASealedDocument verifies a sealed 1 MiB document as
// anyone does, through the API (the client's SM3 of the bytes, as
// `countycloud seals verify` computes it, then POST /v1/seals/verify:
// the seal parsed, its status and public key as the replica read them
// within StatusTTL, the SM2 signature checked) against the library called
// in process (SM3 of the bytes and the SM2 check with the public key at
// hand), one after the other in each round. The ratio is in-process time
// over API time.
func BenchmarkVerifyASealedDocument(b *testing.B) {
	_, p, url, env := startedPlatformWith(b, quiet, func(c *config.Server) { c.RateLimitAccount, c.RateLimitCounty = 0, 0 })
	for _, args := range [][]string{
		{"tenant", "create", "--code", "gd", "--name", "广东省"},
		{"tenant", "create", "--code", "gd.shaoguan", "--name", "韶关市"},
		{"tenant", "create", "--code", "gd.shaoguan.wengyuan", "--name", "翁源县"},
	} {
		mustCLI(b, env, args...)
	}
	county := map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": env["COUNTYCLOUD_TOKEN"], "COUNTYCLOUD_TENANT": "gd.shaoguan.wengyuan"}
	mustCLI(b, county, "org", "units", "create", "--name", "县政府办")
	var view seals.View
	if err := json.Unmarshal([]byte(mustCLI(b, county, "seals", "create", "--unit", "1", "-o", "json")), &view); err != nil {
		b.Fatal(err)
	}
	doc := make([]byte, 1<<20)
	if _, err := rand.Read(doc); err != nil {
		b.Fatal(err)
	}
	ctx := audit.WithActor(context.Background(), audit.Actor{Kind: "account", Login: "bench"})
	seal, err := p.seals.Sign(ctx, "gd.shaoguan.wengyuan", 1, []seals.File{{Name: "正文.pdf", SM3: seals.DigestBytes(doc)}})
	if err != nil {
		b.Fatal(err)
	}
	raw, _ := json.Marshal(seal)
	public, err := hex.DecodeString(view.PublicKey)
	if err != nil {
		b.Fatal(err)
	}
	pub, err := sm2.NewPublicKey(public)
	if err != nil {
		b.Fatal(err)
	}
	manifest, _ := json.Marshal(seal.Manifest)
	if !sm2.VerifyASN1WithSM2(pub, nil, manifest, seal.Signature) {
		b.Fatal("the manifest's bytes are not what the seal signs")
	}
	digest, err := hex.DecodeString(seal.Files[0].SM3)
	if err != nil {
		b.Fatal(err)
	}
	client := &http.Client{}
	verifyInProcess := func() {
		sum := sm3.Sum(doc)
		if !bytes.Equal(sum[:], digest) || !sm2.VerifyASN1WithSM2(pub, nil, manifest, seal.Signature) {
			b.Fatal("does not verify")
		}
	}
	verifyThroughAPI := func() {
		body, _ := json.Marshal(seals.VerifyRequest{Seal: raw, Files: []seals.File{{Name: "正文.pdf", SM3: seals.DigestBytes(doc)}}})
		resp, err := client.Post(url+seals.VerifyPath, "application/json", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		var v seals.Verdict
		err = json.NewDecoder(resp.Body).Decode(&v)
		resp.Body.Close()
		if err != nil || !v.Valid {
			b.Fatalf("%d %+v %v", resp.StatusCode, v, err)
		}
	}
	// The two sides take turns, one verification each, so that whatever
	// else the machine runs weighs on both alike.
	var inProcess, throughAPI time.Duration
	b.SetBytes(2 * int64(len(doc)))
	for b.Loop() {
		start := time.Now()
		verifyInProcess()
		mid := time.Now()
		verifyThroughAPI()
		inProcess, throughAPI = inProcess+mid.Sub(start), throughAPI+time.Since(mid)
	}
	n := float64(b.N)
	b.ReportMetric(float64(inProcess.Microseconds())/n, "in-process-µs/op")
	b.ReportMetric(float64(throughAPI.Microseconds())/n, "api-µs/op")
	b.ReportMetric(float64(inProcess)/float64(throughAPI), "in-process/api")
}
