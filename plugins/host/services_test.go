package host_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/audit"
	"github.com/countycloud/countycloud/plugins/host"
	"github.com/countycloud/countycloud/plugins/sdk"
	"github.com/countycloud/countycloud/plugins/sdk/proto/pluginv1"
)

// The media module is the test plugin of the files, audit and
// notification services: it calls each as its routes say, from a real
// plugin process.
var mediaManifest = sdk.Manifest{ID: "media", Name: "媒体", Vendor: "CountyCloud tests", Version: "1.0.0", Protocol: sdk.ProtocolVersion}

func init() {
	// TestMain serves the notes module; this one is served before it
	// runs, so that host_test.go need not know of it.
	if os.Getenv(pluginEnv) == "media" {
		sdk.Serve(mediaManifest, media{})
		os.Exit(0)
	}
}

type media struct{}

func (media) Handle(ctx context.Context, r *sdk.Request) (*sdk.Response, error) {
	answer := func(v any, err error) (*sdk.Response, error) {
		if err != nil {
			return &sdk.Response{Status: 400, Body: []byte(err.Error())}, nil
		}
		body, _ := json.Marshal(v)
		return &sdk.Response{Body: body}, nil
	}
	id, rest, _ := strings.Cut(strings.TrimPrefix(r.Path, "/files/"), "/")
	switch {
	case r.Method == "POST" && r.Path == "/uploads":
		var in struct {
			Name        string `json:"name"`
			ContentType string `json:"content_type"`
			Size        int64  `json:"size"`
		}
		if err := json.Unmarshal(r.Body, &in); err != nil {
			return answer(nil, err)
		}
		return answer(r.Host.CreateUpload(ctx, in.Name, in.ContentType, in.Size))
	case r.Method == "GET" && strings.HasPrefix(r.Path, "/files/") && rest == "":
		return answer(r.Host.File(ctx, id))
	case r.Method == "GET" && strings.HasPrefix(r.Path, "/files/") && rest == "url":
		ttl, _ := strconv.Atoi(r.Query)
		return answer(r.Host.DownloadURL(ctx, id, time.Duration(ttl)*time.Second))
	case r.Method == "DELETE" && strings.HasPrefix(r.Path, "/files/"):
		return answer(nil, r.Host.DeleteFile(ctx, id))
	case r.Method == "POST" && r.Path == "/audit":
		var in struct {
			Action     string          `json:"action"`
			ObjectType string          `json:"object_type"`
			ObjectID   string          `json:"object_id"`
			Before     json.RawMessage `json:"before"`
			After      json.RawMessage `json:"after"`
		}
		if err := json.Unmarshal(r.Body, &in); err != nil {
			return answer(nil, err)
		}
		e := sdk.AuditEntry{Action: in.Action, ObjectType: in.ObjectType, ObjectID: in.ObjectID}
		if in.Before != nil {
			e.Before = in.Before
		}
		if in.After != nil {
			e.After = in.After
		}
		return answer(nil, r.Host.Audit(ctx, e))
	case r.Method == "POST" && r.Path == "/notify":
		var n sdk.Notice
		if err := json.Unmarshal(r.Body, &n); err != nil {
			return answer(nil, err)
		}
		return answer(nil, r.Host.Notify(ctx, n))
	case r.Method == "POST" && r.Path == "/units":
		var ids []int64
		if err := json.Unmarshal(r.Body, &ids); err != nil {
			return answer(nil, err)
		}
		return answer(r.Host.Units(ctx, ids...))
	case r.Method == "POST" && r.Path == "/accounts":
		var q sdk.AccountQuery
		if err := json.Unmarshal(r.Body, &q); err != nil {
			return answer(nil, err)
		}
		return answer(r.Host.Accounts(ctx, q))
	}
	return &sdk.Response{Status: 404}, nil
}

// world is the media plugin running against a host with its files served
// over HTTP, the callers of its requests known, and its kicks recorded.
type world struct {
	fixture
	p       *host.Process
	key     []byte
	blobDir string
	// files serves the signed URLs, on a clock the tests move.
	files   *httptest.Server
	clock   *clock
	callers *callers
	kicks   *kicks
	calls   atomic.Int64
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{fixture: setup(t), key: make([]byte, 32), blobDir: t.TempDir(), clock: &clock{}, callers: &callers{by: map[string]audit.Actor{}}, kicks: &kicks{}}
	if _, err := rand.Read(w.key); err != nil {
		t.Fatal(err)
	}
	blobs, err := host.NewLocalBlobs(w.blobDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = blobs.Close() })
	w.serveFiles(t, blobs)
	w.deps.FileKey, w.deps.Callers, w.deps.Outbox = w.key, w.callers, w.kicks
	w.bin.Manifest, w.bin.Env = mediaManifest, []string{pluginEnv + "=media"}
	w.p = launch(t, w.fixture)
	return w
}

// serveFiles has w keep its files in blobs, served at the signed URLs
// by a file server of their own.
func (w *world) serveFiles(t *testing.T, blobs host.Blobs) {
	t.Helper()
	handler, err := host.NewFileHandler(w.key, blobs, w.deps.Router, w.clock.Now, quiet)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/v1/files/", handler)
	w.files = httptest.NewServer(mux)
	t.Cleanup(w.files.Close)
	w.deps.Blobs, w.deps.FileURL = blobs, w.files.URL+"/v1/files"
}

// call makes a request of county's account to the media module and
// returns its status and body.
func (w *world) call(t *testing.T, county string, who audit.Actor, method, path, query string, body any) (int, string) {
	t.Helper()
	data, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	id := fmt.Sprintf("req-%d", w.calls.Add(1))
	w.callers.set(county, id, who)
	resp, err := w.p.Handle(context.Background(), county, &pluginv1.HandleRequest{Method: method, Path: path, Query: query, Body: data, RequestId: id})
	if err != nil {
		t.Fatalf("%s %s in %s: %v", method, path, county, err)
	}
	return int(resp.GetStatus()), string(resp.GetBody())
}

var zhang = audit.Actor{Kind: "account", ID: 7, Login: "zhang", Unit: 3}

// upload declares a file in county and returns its upload.
func (w *world) upload(t *testing.T, county, name, contentType string, size int) sdk.Upload {
	t.Helper()
	status, body := w.call(t, county, zhang, "POST", "/uploads", "", map[string]any{"name": name, "content_type": contentType, "size": size})
	if status != 200 {
		t.Fatalf("create upload in %s = %d %s", county, status, body)
	}
	var u sdk.Upload
	if err := json.Unmarshal([]byte(body), &u); err != nil {
		t.Fatal(err)
	}
	return u
}

func (w *world) file(t *testing.T, county, id string) (int, sdk.File, string) {
	t.Helper()
	status, body := w.call(t, county, zhang, "GET", "/files/"+id, "", nil)
	var f sdk.File
	if status == 200 {
		if err := json.Unmarshal([]byte(body), &f); err != nil {
			t.Fatal(err)
		}
	}
	return status, f, body
}

func (w *world) downloadURL(t *testing.T, county, id string) string {
	t.Helper()
	status, body := w.call(t, county, zhang, "GET", "/files/"+id+"/url", "3600", nil)
	var u sdk.SignedURL
	if status != 200 || json.Unmarshal([]byte(body), &u) != nil {
		t.Fatalf("download URL in %s = %d %s", county, status, body)
	}
	return u.URL
}

// inTenant runs fn on county's schema.
func (w *world) inTenant(t *testing.T, county string, fn func(ctx context.Context, conn *sqlx.Conn) error) {
	t.Helper()
	if err := w.deps.Router.InTenant(context.Background(), county, fn); err != nil {
		t.Fatal(err)
	}
}

type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// callers knows who made each request, as the host's router would.
type callers struct {
	mu sync.Mutex
	by map[string]audit.Actor
}

func (c *callers) set(county, request string, a audit.Actor) {
	c.mu.Lock()
	c.by[county+"/"+request] = a
	c.mu.Unlock()
}

func (c *callers) Caller(cap host.Capability) (audit.Actor, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	a, ok := c.by[cap.County+"/"+cap.Request]
	return a, ok
}

type kicks struct {
	mu      sync.Mutex
	tenants []string
}

func (k *kicks) Kick(_ context.Context, tenant string) error {
	k.mu.Lock()
	k.tenants = append(k.tenants, tenant)
	k.mu.Unlock()
	return nil
}

func (k *kicks) list() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]string(nil), k.tenants...)
}
