package host_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/plugins/host"
	"github.com/countycloud/countycloud/plugins/sdk"
	"github.com/countycloud/countycloud/plugins/sdk/proto/pluginv1"
)

// The intake module is the test plugin of public uploads: PUT
// /applications/{id} keeps an application, POST /applications/{id}/files
// asks for a file of it (a PDF or a PNG of at most 4 KiB), GET
// /files/{id} and /files/{id}/url read one as Host.File and
// Host.DownloadURL do, GET /files/{id}/public?{ttl} as
// Host.PublicDownloadURL does.
var intakeManifest = sdk.Manifest{ID: "intake", Name: "受理台", Vendor: "CountyCloud tests", Version: "1.0.0", Protocol: sdk.ProtocolVersion,
	Public: []sdk.PublicRoute{{Method: "POST", Path: "/applications/{id}/files"}}}

func init() {
	if os.Getenv(pluginEnv) == "intake" {
		sdk.Serve(intakeManifest, intake{})
		os.Exit(0)
	}
}

type intake struct{}

func (intake) Handle(ctx context.Context, r *sdk.Request) (*sdk.Response, error) {
	parts := strings.Split(strings.Trim(r.Path, "/"), "/")
	var (
		out any
		err error
	)
	switch {
	case r.Method == "PUT" && len(parts) == 2:
		out, err = r.Host.Put(ctx, "applications", parts[1], 0, json.RawMessage(`{}`))
	case r.Method == "POST" && len(parts) == 3:
		var f struct {
			Name        string `json:"name"`
			ContentType string `json:"content_type"`
			Size        int64  `json:"size"`
		}
		if err := json.Unmarshal(r.Body, &f); err != nil {
			return nil, err
		}
		out, err = r.Host.CreatePublicUpload(ctx, sdk.PublicUpload{Collection: "applications", RecordID: parts[1], Name: f.Name, ContentType: f.ContentType,
			Size: f.Size, ContentTypes: []string{"application/pdf", "image/png"}, MaxSize: 4096})
	case r.Method == "GET" && len(parts) == 2:
		out, err = r.Host.File(ctx, parts[1])
	case r.Method == "GET" && len(parts) == 3 && parts[2] == "public":
		var ttl time.Duration
		if r.Query != "" {
			ttl, err = time.ParseDuration(r.Query)
		}
		if err == nil {
			out, err = r.Host.PublicDownloadURL(ctx, parts[1], ttl)
		}
	case r.Method == "GET" && len(parts) == 3:
		out, err = r.Host.DownloadURL(ctx, parts[1], time.Hour)
	}
	if err != nil {
		return &sdk.Response{Status: 400, Body: []byte(err.Error())}, nil
	}
	body, _ := json.Marshal(out)
	return &sdk.Response{Body: body}, nil
}

// intakeWorld is a world whose files the intake module also keeps, on
// the clock of its file URLs.
type intakeWorld struct {
	*world
	intake *host.Process
}

func newIntakeWorld(t *testing.T) intakeWorld {
	w := newWorld(t)
	f := w.fixture
	f.deps.Now = w.clock.Now
	f.bin.Manifest, f.bin.Env = intakeManifest, []string{pluginEnv + "=intake"}
	return intakeWorld{world: w, intake: launch(t, f)}
}

// as makes a request of caller (nil: an account's) to the intake module.
func (w intakeWorld) as(t *testing.T, caller *pluginv1.Caller, county, method, path string, body any) (int, string) {
	t.Helper()
	data, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := w.intake.Handle(context.Background(), county, &pluginv1.HandleRequest{Method: method, Path: path, Body: data, Caller: caller, RequestId: "r"})
	if err != nil {
		t.Fatal(err)
	}
	return int(resp.GetStatus()), string(resp.GetBody())
}

func citizen(address string) *pluginv1.Caller {
	return &pluginv1.Caller{Kind: host.CallerAnonymous, Login: host.CallerAnonymous, Address: address}
}

var staff = &pluginv1.Caller{Kind: "account", AccountId: 7, Login: "zhang", UnitId: 3}

// pdf is a file that sniffs as a PDF.
func pdf(n int) []byte {
	return append([]byte("%PDF-1.7\n"), bytes.Repeat([]byte{'x'}, n-9)...)
}

// ask has caller ask for a file of application app and returns its upload.
func (w intakeWorld) ask(t *testing.T, caller *pluginv1.Caller, county, app, contentType string, size int) (sdk.Upload, int, string) {
	t.Helper()
	status, body := w.as(t, caller, county, "POST", "/applications/"+app+"/files", map[string]any{"name": "营业执照.pdf", "content_type": contentType, "size": size})
	var u sdk.Upload
	if status == 200 {
		if err := json.Unmarshal([]byte(body), &u); err != nil {
			t.Fatal(err)
		}
	}
	return u, status, body
}

// files is how many files the intake module keeps in county.
func (w intakeWorld) files(t *testing.T, county string) int {
	t.Helper()
	return w.count(t, county, "SELECT COUNT(*) FROM plugin_files WHERE plugin = 'intake'")
}

// count answers query, a COUNT, in county's schema.
func (w intakeWorld) count(t *testing.T, county, query string) int {
	t.Helper()
	var n int
	w.inTenant(t, county, func(ctx context.Context, conn *sqlx.Conn) error {
		return conn.GetContext(ctx, &n, query)
	})
	return n
}

// TestPublicUploads shares one world, and its processes, among its
// cases: the last moves the clock.
func TestPublicUploads(t *testing.T) {
	t.Parallel()
	w := newIntakeWorld(t)
	t.Run("a citizen hands in a file bound to their application", func(t *testing.T) { aCitizenHandsInAFile(t, w) })
	t.Run("an oversized or wrong-typed file is refused and leaves nothing", func(t *testing.T) { aBadPublicUploadLeavesNothing(t, w) })
	t.Run("an address hands in a limited number of files an hour", func(t *testing.T) { anAddressHandsInALimitedNumber(t, w) })
}

func aCitizenHandsInAFile(t *testing.T, w intakeWorld) {
	me := citizen("198.51.100.7")
	if status, body := w.as(t, me, wengyuan, "PUT", "/applications/a1", nil); status != 200 {
		t.Fatalf("put the application: %d %s", status, body)
	}
	content := pdf(3000)
	up, status, body := w.ask(t, me, wengyuan, "a1", "application/pdf", len(content))
	if status != 200 {
		t.Fatalf("ask for a file: %d %s", status, body)
	}
	if resp, body := send(t, "PUT", up.URL, content, true); resp.StatusCode != 200 {
		t.Fatalf("upload = %d %s", resp.StatusCode, body)
	}
	status, body = w.as(t, staff, wengyuan, "GET", "/files/"+up.FileID, nil)
	var f sdk.File
	if status != 200 || json.Unmarshal([]byte(body), &f) != nil || f.Status != sdk.FileReady || f.Collection != "applications" || f.RecordID != "a1" || f.UploaderAddress != "198.51.100.7" {
		t.Fatalf("the file as staff see it = %d %s", status, body)
	}
	// The module's staff read it through a signed URL; the citizen, or
	// any other anonymous caller, never gets one.
	status, body = w.as(t, staff, wengyuan, "GET", "/files/"+up.FileID+"/url", nil)
	var u sdk.SignedURL
	if status != 200 || json.Unmarshal([]byte(body), &u) != nil {
		t.Fatalf("staff's download URL = %d %s", status, body)
	}
	if resp, got := send(t, "GET", u.URL, nil, false); resp.StatusCode != 200 || !bytes.Equal(got, content) {
		t.Errorf("download = %d, %d bytes", resp.StatusCode, len(got))
	}
	for _, who := range []*pluginv1.Caller{me, citizen("203.0.113.5")} {
		if status, body := w.as(t, who, wengyuan, "GET", "/files/"+up.FileID+"/url", nil); status != 400 || !strings.HasPrefix(body, "denied") {
			t.Errorf("an anonymous caller's download URL = %d %s, want denied", status, body)
		}
	}
	// Another county finds no such file; nor does another module of the
	// same county.
	if status, body := w.as(t, staff, lechang, "GET", "/files/"+up.FileID, nil); status != 400 || !strings.HasPrefix(body, "not found") {
		t.Errorf("the file from another county = %d %s", status, body)
	}
	if status, _, body := w.file(t, wengyuan, up.FileID); status != 400 || !strings.HasPrefix(body, "not found") {
		t.Errorf("the file from another module = %d %s", status, body)
	}
	// An account's request has CreateUpload, not this; another county's
	// caller has no application a1 to hand a file in for.
	if _, status, body := w.ask(t, staff, wengyuan, "a1", "application/pdf", 100); status != 400 || !strings.HasPrefix(body, "denied") {
		t.Errorf("an account's public upload = %d %s", status, body)
	}
	if _, status, body := w.ask(t, me, lechang, "a1", "application/pdf", 100); status != 400 || !strings.HasPrefix(body, "not found") {
		t.Errorf("a file for another county's application = %d %s", status, body)
	}
}

func aBadPublicUploadLeavesNothing(t *testing.T, w intakeWorld) {
	me := citizen("198.51.100.8")
	w.as(t, me, wengyuan, "PUT", "/applications/a2", nil)
	kept, stored := w.files(t, wengyuan), len(w.storedFiles(t))
	for what, c := range map[string]struct {
		contentType string
		size        int
		want        string
	}{
		"over the module's limit":      {"application/pdf", 4097, "too large"},
		"empty":                        {"application/pdf", 0, "invalid"},
		"of a type the module refuses": {"image/jpeg", 100, "invalid"},
		"of a type nobody can check":   {"text/html", 100, "invalid"},
		"of no type":                   {"", 100, "invalid"},
	} {
		if _, status, body := w.ask(t, me, wengyuan, "a2", c.contentType, c.size); status != 400 || !strings.HasPrefix(body, c.want) {
			t.Errorf("a file %s = %d %s, want %s", what, status, body, c.want)
		}
	}
	if _, status, body := w.ask(t, me, wengyuan, "none", "application/pdf", 100); status != 400 || !strings.HasPrefix(body, "not found") {
		t.Errorf("a file for no application = %d %s", status, body)
	}
	if n := w.files(t, wengyuan); n != kept {
		t.Fatalf("%d files kept of refused requests", n-kept)
	}
	// Declared a PDF, sent a PNG: refused before a byte is stored, and
	// the file stays pending for the right bytes.
	png := append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 92)...)
	up, status, body := w.ask(t, me, wengyuan, "a2", "application/pdf", len(png))
	if status != 200 {
		t.Fatalf("ask: %d %s", status, body)
	}
	resp, got := send(t, "PUT", up.URL, png, false)
	wantError(t, "a PNG as a PDF", resp, got, 415, host.CodeFileWrongType)
	if now := w.storedFiles(t); len(now) != stored {
		t.Errorf("stored of a wrong-typed upload: %q", now)
	}
	if status, body := w.as(t, staff, wengyuan, "GET", "/files/"+up.FileID, nil); status != 200 || !strings.Contains(body, `"status":"pending"`) {
		t.Errorf("the file after a wrong-typed upload = %d %s", status, body)
	}
	if resp, got := send(t, "PUT", up.URL, pdf(len(png)), false); resp.StatusCode != 200 {
		t.Errorf("the right bytes after the wrong ones = %d %s", resp.StatusCode, got)
	}
}

func anAddressHandsInALimitedNumber(t *testing.T, w intakeWorld) {
	w.as(t, citizen("198.51.100.9"), wengyuan, "PUT", "/applications/a3", nil)
	// One IPv6 subscriber's /64 is one address.
	for i := range host.MaxPublicUploadsPerHour {
		me := citizen(fmt.Sprintf("2001:db8:1:2::%x", i+1))
		if _, status, body := w.ask(t, me, wengyuan, "a3", "image/png", 100); status != 200 {
			t.Fatalf("file %d: %d %s", i, status, body)
		}
	}
	if _, status, body := w.ask(t, citizen("2001:db8:1:2::ffff"), wengyuan, "a3", "image/png", 100); status != 400 || !strings.HasPrefix(body, "busy") {
		t.Errorf("one file too many = %d %s, want busy", status, body)
	}
	if _, status, body := w.ask(t, citizen("198.51.100.9"), wengyuan, "a3", "image/png", 100); status != 200 {
		t.Errorf("another address = %d %s", status, body)
	}
	w.clock.advance(time.Hour + time.Second)
	if _, status, body := w.ask(t, citizen("2001:db8:1:2::ffff"), wengyuan, "a3", "image/png", 100); status != 200 {
		t.Errorf("an hour later = %d %s", status, body)
	}
}
