package host_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/plugins/host"
	"github.com/countycloud/countycloud/plugins/sdk"
	"github.com/countycloud/countycloud/plugins/sdk/proto/pluginv1"
)

// publicURL has caller ask the intake module for a public download's URL
// of file, for ttl (the host's default if empty).
func (w intakeWorld) publicURL(t *testing.T, caller *pluginv1.Caller, county, file, ttl string) (sdk.SignedURL, int, string) {
	t.Helper()
	data, _ := json.Marshal(nil)
	resp, err := w.intake.Handle(context.Background(), county, &pluginv1.HandleRequest{Method: "GET", Path: "/files/" + file + "/public", Query: ttl,
		Body: data, Caller: caller, RequestId: "r-download"})
	if err != nil {
		t.Fatal(err)
	}
	var u sdk.SignedURL
	if resp.GetStatus() == 200 {
		if err := json.Unmarshal(resp.GetBody(), &u); err != nil {
			t.Fatal(err)
		}
	}
	return u, int(resp.GetStatus()), string(resp.GetBody())
}

// handedIn is a file a citizen handed in for a new application app of
// county, its bytes arrived.
func (w intakeWorld) handedIn(t *testing.T, me *pluginv1.Caller, county, app string) (string, []byte) {
	t.Helper()
	if status, body := w.as(t, me, county, "PUT", "/applications/"+app, nil); status != 200 {
		t.Fatalf("put the application: %d %s", status, body)
	}
	content := pdf(2000)
	up, status, body := w.ask(t, me, county, app, "application/pdf", len(content))
	if status != 200 {
		t.Fatalf("ask for a file: %d %s", status, body)
	}
	if resp, body := send(t, "PUT", up.URL, content, true); resp.StatusCode != 200 {
		t.Fatalf("upload = %d %s", resp.StatusCode, body)
	}
	return up.FileID, content
}

func (w intakeWorld) publicDownloads(t *testing.T, county string) []auditRow {
	t.Helper()
	var rows []auditRow
	w.inTenant(t, county, func(ctx context.Context, conn *sqlx.Conn) error {
		return conn.SelectContext(ctx, &rows, `SELECT actor_kind, actor_id, actor_login, unit_id, action, object_type, object_id,
before_digest, after_digest, request_id, source FROM audit_log WHERE action = ? ORDER BY id`, host.PublicDownloadAuditAction)
	})
	return rows
}

// TestPublicDownloads shares one world, and its processes, among its
// cases: the last moves the clock.
func TestPublicDownloads(t *testing.T) {
	t.Parallel()
	w := newIntakeWorld(t)
	t.Run("a public route's caller gets a short-lived URL to the module's file, audited", func(t *testing.T) { aCitizenDownloadsAFile(t, w) })
	t.Run("an account, another county, another module and a pending file get none", func(t *testing.T) { nobodyElseDownloads(t, w) })
	t.Run("an address is given a limited number of URLs an hour", func(t *testing.T) { anAddressDownloadsALimitedNumber(t, w) })
}

func aCitizenDownloadsAFile(t *testing.T, w intakeWorld) {
	me := citizen("198.51.100.20")
	file, content := w.handedIn(t, me, wengyuan, "d1")
	before := len(w.publicDownloads(t, wengyuan))
	u, status, body := w.publicURL(t, me, wengyuan, file, "")
	if status != 200 {
		t.Fatalf("the public URL = %d %s", status, body)
	}
	if left := time.Until(u.ExpiresAt); left > 5*time.Minute+time.Second || left < 4*time.Minute {
		t.Errorf("the URL lives %s, want 5 minutes", left)
	}
	if resp, got := send(t, "GET", u.URL, nil, false); resp.StatusCode != 200 || !bytes.Equal(got, content) {
		t.Errorf("download = %d, %d bytes", resp.StatusCode, len(got))
	}
	rows := w.publicDownloads(t, wengyuan)
	if len(rows) != before+1 {
		t.Fatalf("%d entries of public downloads, want %d", len(rows), before+1)
	}
	e := rows[len(rows)-1]
	if e.ActorKind != host.CallerAnonymous || e.ActorLogin != host.CallerAnonymous || e.ActorID != nil || e.ObjectType != "file" ||
		e.ObjectID != "intake:"+file || e.Source != "198.51.100.20" || e.RequestID != "r-download" {
		t.Errorf("the audit entry = %+v", e)
	}
	// Minutes, never the hour of an account's URL.
	if _, status, body := w.publicURL(t, me, wengyuan, file, "16m"); status != 400 || !strings.HasPrefix(body, "invalid") {
		t.Errorf("a URL for 16 minutes = %d %s, want invalid", status, body)
	}
	if u, status, body := w.publicURL(t, me, wengyuan, file, "1m"); status != 200 || time.Until(u.ExpiresAt) > time.Minute+time.Second {
		t.Errorf("a URL for a minute = %d %s", status, body)
	}
}

func nobodyElseDownloads(t *testing.T, w intakeWorld) {
	me := citizen("198.51.100.21")
	file, _ := w.handedIn(t, me, wengyuan, "d2")
	before := len(w.publicDownloads(t, wengyuan))
	// An account has DownloadURL; another county finds no such file.
	if _, status, body := w.publicURL(t, staff, wengyuan, file, ""); status != 400 || !strings.HasPrefix(body, "denied") {
		t.Errorf("an account's public URL = %d %s, want denied", status, body)
	}
	if _, status, body := w.publicURL(t, me, lechang, file, ""); status != 400 || !strings.HasPrefix(body, "not found") {
		t.Errorf("the file from another county = %d %s, want not found", status, body)
	}
	// Another module's file of the same county, its bytes arrived.
	media := w.upload(t, wengyuan, "会议.pdf", "application/pdf", 100)
	if resp, body := send(t, "PUT", media.URL, pdf(100), true); resp.StatusCode != 200 {
		t.Fatalf("the media module's upload = %d %s", resp.StatusCode, body)
	}
	if _, status, body := w.publicURL(t, me, wengyuan, media.FileID, ""); status != 400 || !strings.HasPrefix(body, "not found") {
		t.Errorf("another module's file = %d %s, want not found", status, body)
	}
	// A file whose bytes have not arrived, and no file at all.
	pending, status, body := w.ask(t, me, wengyuan, "d2", "application/pdf", 100)
	if status != 200 {
		t.Fatalf("ask: %d %s", status, body)
	}
	if _, status, body := w.publicURL(t, me, wengyuan, pending.FileID, ""); status != 400 || !strings.HasPrefix(body, "not ready") {
		t.Errorf("a pending file = %d %s, want not ready", status, body)
	}
	for _, id := range []string{strings.Repeat("0", 32), "not-a-file-id", strings.ToUpper(file)} {
		if _, status, body := w.publicURL(t, me, wengyuan, id, ""); status != 400 || strings.HasPrefix(body, "{") {
			t.Errorf("file %q = %d %s, want refused", id, status, body)
		}
	}
	if n := len(w.publicDownloads(t, wengyuan)); n != before {
		t.Errorf("refused public downloads left %d audit entries", n-before)
	}
}

func anAddressDownloadsALimitedNumber(t *testing.T, w intakeWorld) {
	file, _ := w.handedIn(t, citizen("198.51.100.22"), wengyuan, "d3")
	// One IPv6 subscriber's /64 is one address, however it writes it.
	for i := range host.MaxPublicDownloadsPerHour {
		me := citizen(fmt.Sprintf("2001:db8:7:8::%x", i+1))
		if i%2 == 1 {
			me = citizen(fmt.Sprintf("2001:0db8:0007:0008:0:0:0:%x", i+1))
		}
		if _, status, body := w.publicURL(t, me, wengyuan, file, ""); status != 200 {
			t.Fatalf("URL %d: %d %s", i, status, body)
		}
	}
	if _, status, body := w.publicURL(t, citizen("2001:db8:7:8:ffff::1"), wengyuan, file, ""); status != 400 || !strings.HasPrefix(body, "busy") {
		t.Errorf("one URL too many = %d %s, want busy", status, body)
	}
	for _, other := range []string{"198.51.100.22", "2001:db8:7:9::1"} {
		if _, status, body := w.publicURL(t, citizen(other), wengyuan, file, ""); status != 200 {
			t.Errorf("another address %s = %d %s", other, status, body)
		}
	}
	counted := w.downloadsCounted(t, wengyuan)
	w.clock.advance(time.Hour + time.Second)
	if _, status, body := w.publicURL(t, citizen("2001:db8:7:8::1"), wengyuan, file, ""); status != 200 {
		t.Errorf("an hour later = %d %s", status, body)
	}
	// The counts past the hour go as new ones come: the table keeps
	// about an hour of downloads, not every one ever given.
	if after := w.downloadsCounted(t, wengyuan); after >= counted {
		t.Errorf("downloads counted: %d an hour ago, %d after another, want the old ones pruned", counted, after)
	}
}

// downloadsCounted is how many downloads the county keeps counted.
func (w intakeWorld) downloadsCounted(t *testing.T, county string) int {
	t.Helper()
	return w.count(t, county, "SELECT COUNT(*) FROM public_downloads")
}
