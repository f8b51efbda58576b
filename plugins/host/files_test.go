package host_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	figures "github.com/countycloud/countycloud/core/measure"
	"github.com/countycloud/countycloud/plugins/host"
	"github.com/countycloud/countycloud/plugins/sdk"
)

// send makes a request to a file URL. With chunked, the body's length is
// not declared, so that the handler sees only what comes.
func send(t *testing.T, method, url string, body []byte, chunked bool, header ...string) (*http.Response, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
		if chunked {
			r = io.MultiReader(r)
		}
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, data
}

// wantError checks that a file URL answered status with the platform's
// error body and code.
func wantError(t *testing.T, what string, resp *http.Response, body []byte, status int, code string) {
	t.Helper()
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if resp.StatusCode != status || json.Unmarshal(body, &e) != nil || e.Error.Code != code || e.Error.Message == "" {
		t.Errorf("%s = %d %s, want %d with code %s", what, resp.StatusCode, body, status, code)
	}
}

// storedFiles lists everything w's blob store holds: the files under its
// directory, temporary ones included, or the objects and pending
// multipart uploads of its bucket.
func (w *world) storedFiles(t *testing.T) []string {
	t.Helper()
	if s, ok := w.deps.Blobs.(blobStore); ok {
		return s.held(t)
	}
	return filesUnder(t, w.blobDir)
}

// onS3 has w keep its files in a fresh S3 bucket instead of its
// directory: a file server of their own, and the plugin relaunched with
// them.
func (w *world) onS3(t *testing.T) {
	t.Helper()
	w.serveFiles(t, newFakeS3(t, false).blobs(t, 0))
	w.p = launch(t, w.fixture)
}

// onEachStore runs test on a world that keeps its files in a directory,
// and beside it on one that keeps them in S3.
func onEachStore(t *testing.T, test func(t *testing.T, w *world)) {
	t.Run("dir", func(t *testing.T) {
		t.Parallel()
		test(t, newWorld(t))
	})
	t.Run("s3", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t)
		w.onS3(t)
		test(t, w)
	})
}

func video(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i * 7)
	}
	return b
}

func TestAFileGoesUpAndDownThroughSignedURLs(t *testing.T) {
	t.Parallel()
	onEachStore(t, func(t *testing.T, w *world) {
		content := video(1000)
		up := w.upload(t, wengyuan, "常委会.mp4", "video/mp4", len(content))
		if !strings.HasPrefix(up.URL, w.files.URL+"/v1/files/") || up.ExpiresAt.Before(time.Now().Add(50*time.Minute)) {
			t.Fatalf("upload = %+v", up)
		}
		if status, f, body := w.file(t, wengyuan, up.FileID); status != 200 || f.Status != sdk.FilePending || f.SHA256 != "" || f.Size != 1000 || f.Name != "常委会.mp4" {
			t.Fatalf("a file not uploaded yet = %d %s", status, body)
		}
		if status, body := w.call(t, wengyuan, zhang, "GET", "/files/"+up.FileID+"/url", "60", nil); status != 400 || !strings.HasPrefix(body, "not ready") {
			t.Errorf("a download URL before the upload = %d %s, want not ready", status, body)
		}

		resp, body := send(t, "PUT", up.URL, content, false)
		sum := sha256.Sum256(content)
		if resp.StatusCode != 200 || !strings.Contains(string(body), hex.EncodeToString(sum[:])) {
			t.Fatalf("upload = %d %s", resp.StatusCode, body)
		}
		status, f, fb := w.file(t, wengyuan, up.FileID)
		if status != 200 || f.Status != sdk.FileReady || f.SHA256 != hex.EncodeToString(sum[:]) || f.ReadyAt.IsZero() || f.ContentType != "video/mp4" {
			t.Fatalf("the uploaded file = %d %s", status, fb)
		}
		resp, body = send(t, "PUT", up.URL, content, false)
		wantError(t, "a second upload", resp, body, 409, host.CodeFileUploaded)

		url := w.downloadURL(t, wengyuan, up.FileID)
		resp, body = send(t, "GET", url, nil, false)
		if resp.StatusCode != 200 || !bytes.Equal(body, content) || resp.Header.Get("Content-Type") != "video/mp4" || resp.Header.Get("Accept-Ranges") != "bytes" {
			t.Fatalf("download = %d %v, %d bytes", resp.StatusCode, resp.Header, len(body))
		}
		if d := resp.Header.Get("Content-Disposition"); !strings.HasPrefix(d, "inline;") || !strings.Contains(d, "filename*=utf-8''%E5%B8%B8") {
			t.Errorf("Content-Disposition = %q", d)
		}
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "sandbox") {
			t.Errorf("a download may run as the platform: %v", resp.Header)
		}
		// A player seeking.
		resp, body = send(t, "GET", url, nil, false, "Range", "bytes=100-199")
		if resp.StatusCode != 206 || !bytes.Equal(body, content[100:200]) || resp.Header.Get("Content-Range") != "bytes 100-199/1000" {
			t.Errorf("range 100-199 = %d %s, %d bytes", resp.StatusCode, resp.Header.Get("Content-Range"), len(body))
		}
		resp, body = send(t, "GET", url, nil, false, "Range", "bytes=-10")
		if resp.StatusCode != 206 || !bytes.Equal(body, content[990:]) {
			t.Errorf("the last 10 bytes = %d, %d bytes", resp.StatusCode, len(body))
		}
		resp, _ = send(t, "GET", url, nil, false, "Range", "bytes=5000-")
		if resp.StatusCode != 416 {
			t.Errorf("a range past the end = %d, want 416", resp.StatusCode)
		}
		resp, body = send(t, "HEAD", url, nil, false)
		if resp.StatusCode != 200 || resp.ContentLength != 1000 || len(body) != 0 || resp.Header.Get("ETag") != `"`+f.SHA256+`"` {
			t.Errorf("HEAD = %d, length %d, ETag %s", resp.StatusCode, resp.ContentLength, resp.Header.Get("ETag"))
		}

		// A page among the files is never shown in place.
		page := []byte("<script>alert(1)</script>")
		up = w.upload(t, wengyuan, "x.html", "text/html; charset=utf-8", len(page))
		if resp, body := send(t, "PUT", up.URL, page, false); resp.StatusCode != 200 {
			t.Fatalf("upload = %d %s", resp.StatusCode, body)
		}
		resp, _ = send(t, "GET", w.downloadURL(t, wengyuan, up.FileID), nil, false)
		if d := resp.Header.Get("Content-Disposition"); !strings.HasPrefix(d, "attachment;") {
			t.Errorf("an HTML file's Content-Disposition = %q, want attachment", d)
		}
	})
}

func TestAFileIsRefusedBadNamesTypesAndSizes(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	for what, in := range map[string]map[string]any{
		"no name":           {"name": " ", "content_type": "video/mp4", "size": 10},
		"a control char":    {"name": "a\x00b", "content_type": "video/mp4", "size": 10},
		"not a media type":  {"name": "a", "content_type": "video", "size": 10},
		"an empty file":     {"name": "a", "content_type": "video/mp4", "size": 0},
		"a negative size":   {"name": "a", "content_type": "video/mp4", "size": -1},
		"over the limit":    {"name": "a", "content_type": "video/mp4", "size": int64(host.MaxFileBytes) + 1},
		"a long media type": {"name": "a", "content_type": "video/" + strings.Repeat("x", 130), "size": 10},
	} {
		if status, body := w.call(t, wengyuan, zhang, "POST", "/uploads", "", in); status != 400 || !strings.HasPrefix(body, "invalid") {
			t.Errorf("%s: create upload = %d %s, want invalid", what, status, body)
		}
	}
	for _, id := range []string{"..", "ABC", strings.Repeat("0", 31)} {
		if status, _, body := w.file(t, wengyuan, id); status != 400 || !strings.HasPrefix(body, "invalid") {
			t.Errorf("file %q = %d %s, want invalid", id, status, body)
		}
	}
}

func TestAnotherCountyReachesNoneOfAFile(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	content := []byte("翁源县常委会会议录像")
	up := w.upload(t, wengyuan, "会议.mp4", "video/mp4", len(content))
	if resp, body := send(t, "PUT", up.URL, content, false); resp.StatusCode != 200 {
		t.Fatalf("upload = %d %s", resp.StatusCode, body)
	}
	// Lechang's requests to the same plugin process, by the file's id.
	if status, _, body := w.file(t, lechang, up.FileID); status != 400 || !strings.HasPrefix(body, "not found") {
		t.Errorf("Wengyuan's file from Lechang = %d %s, want not found", status, body)
	}
	if status, body := w.call(t, lechang, zhang, "GET", "/files/"+up.FileID+"/url", "60", nil); status != 400 || !strings.HasPrefix(body, "not found") {
		t.Errorf("a URL of Wengyuan's file from Lechang = %d %s, want not found", status, body)
	}
	if status, body := w.call(t, lechang, zhang, "DELETE", "/files/"+up.FileID, "", nil); status != 400 || !strings.HasPrefix(body, "not found") {
		t.Errorf("deleting Wengyuan's file from Lechang = %d %s, want not found", status, body)
	}
	// A URL properly signed, but for Lechang: it reaches Lechang's files
	// only, which hold no such one.
	for _, op := range []string{"get", "put"} {
		url := host.SignFileURL(w.files.URL+"/v1/files", w.key, lechang, "media", up.FileID, op, time.Now().Add(time.Hour))
		method := map[string]string{"get": "GET", "put": "PUT"}[op]
		resp, body := send(t, method, url, content, false)
		wantError(t, "Lechang's "+method+" of Wengyuan's file", resp, body, 404, host.CodeFileNotFound)
		if bytes.Contains(body, content) {
			t.Errorf("Lechang's %s got Wengyuan's bytes", method)
		}
	}
	// Nor does another plugin's URL of the same county reach it.
	url := host.SignFileURL(w.files.URL+"/v1/files", w.key, wengyuan, "notes", up.FileID, "get", time.Now().Add(time.Hour))
	resp, body := send(t, "GET", url, nil, false)
	wantError(t, "another plugin's URL of the file", resp, body, 404, host.CodeFileNotFound)
	// Wengyuan's file is untouched.
	if resp, body := send(t, "GET", w.downloadURL(t, wengyuan, up.FileID), nil, false); resp.StatusCode != 200 || !bytes.Equal(body, content) {
		t.Errorf("Wengyuan's download after all that = %d %s", resp.StatusCode, body)
	}
	if files := w.storedFiles(t); len(files) != 1 || !strings.Contains(files[0], wengyuan) {
		t.Errorf("stored files: %v, want Wengyuan's one", files)
	}
}

func TestFileURLsRefuseForgedExpiredAndWrongOperationTokens(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	content := video(100)
	up := w.upload(t, wengyuan, "v.mp4", "video/mp4", len(content))
	base := w.files.URL + "/v1/files/"
	token := strings.TrimPrefix(up.URL, base)
	body, sig, _ := strings.Cut(strings.TrimPrefix(token, "cf1."), ".")
	otherKey := bytes.Repeat([]byte{1}, 32)
	// Another expiry, so that the payload differs from the real one.
	forged := host.SignFileURL(w.files.URL+"/v1/files", otherKey, wengyuan, "media", up.FileID, "put", time.Now().Add(2*time.Hour))
	otherBody, _, _ := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(forged, base), "cf1."), ".")
	for what, url := range map[string]string{
		"signed with another key":   forged,
		"a payload of another":      base + "cf1." + otherBody + "." + sig,
		"no signature":              base + "cf1." + body,
		"a signature cut short":     base + "cf1." + body + "." + sig[:10],
		"another prefix":            base + "cc1." + body + "." + sig,
		"nothing":                   base,
		"a path instead of a token": base + "..%2f..%2fetc%2fpasswd",
	} {
		resp, rb := send(t, "PUT", url, content, false)
		wantError(t, what, resp, rb, 403, host.CodeFileURLInvalid)
	}
	resp, rb := send(t, "GET", up.URL, nil, false)
	wantError(t, "an upload URL used to download", resp, rb, 403, host.CodeFileURLOperation)
	resp, rb = send(t, "POST", up.URL, content, false)
	wantError(t, "a POST", resp, rb, 405, "method_not_allowed")

	if resp, rb := send(t, "PUT", up.URL, content, false); resp.StatusCode != 200 {
		t.Fatalf("upload = %d %s", resp.StatusCode, rb)
	}
	down := w.downloadURL(t, wengyuan, up.FileID)
	resp, rb = send(t, "PUT", down, content, false)
	wantError(t, "a download URL used to upload", resp, rb, 403, host.CodeFileURLOperation)

	w.clock.advance(time.Hour + time.Second)
	resp, rb = send(t, "GET", down, nil, false)
	wantError(t, "an expired download URL", resp, rb, 403, host.CodeFileURLExpired)
	expired := host.SignFileURL(w.files.URL+"/v1/files", w.key, wengyuan, "media", up.FileID, "get", time.Now().Add(-time.Second))
	w.clock.advance(-time.Hour - time.Second)
	resp, rb = send(t, "GET", expired, nil, false)
	wantError(t, "a URL signed expired", resp, rb, 403, host.CodeFileURLExpired)
}

func TestAnUploadOtherThanDeclaredIsRefusedAndLeavesNothing(t *testing.T) {
	t.Parallel()
	onEachStore(t, func(t *testing.T, w *world) {
		content := video(4096)
		up := w.upload(t, wengyuan, "v.mp4", "video/mp4", len(content))
		declaredTooLong := append(bytes.Clone(content), 'x')
		resp, body := send(t, "PUT", up.URL, declaredTooLong, false)
		wantError(t, "a body declared longer", resp, body, 413, host.CodeFileTooLarge)
		resp, body = send(t, "PUT", up.URL, append(bytes.Clone(content), video(100000)...), true)
		wantError(t, "a body longer than declared, its length unsaid", resp, body, 413, host.CodeFileTooLarge)
		resp, body = send(t, "PUT", up.URL, content[:4000], false)
		wantError(t, "a body declared shorter", resp, body, 400, host.CodeFileSizeMismatch)
		resp, body = send(t, "PUT", up.URL, content[:4000], true)
		wantError(t, "a body shorter than declared, its length unsaid", resp, body, 400, host.CodeFileSizeMismatch)
		if files := w.storedFiles(t); len(files) != 0 {
			t.Errorf("refused uploads left %v", files)
		}
		if status, f, body := w.file(t, wengyuan, up.FileID); status != 200 || f.Status != sdk.FilePending {
			t.Errorf("the file after refused uploads = %d %s, want pending", status, body)
		}
		// The right bytes still go up through the same URL.
		resp, body = send(t, "PUT", up.URL, content, true)
		if resp.StatusCode != 200 {
			t.Fatalf("the right upload = %d %s", resp.StatusCode, body)
		}
		if files := w.storedFiles(t); len(files) != 1 {
			t.Errorf("stored after the upload: %v", files)
		}
	})
}

func TestDeletingAFileRemovesItsBytesAndItsURLs(t *testing.T) {
	t.Parallel()
	onEachStore(t, func(t *testing.T, w *world) {
		content := video(10)
		up := w.upload(t, wengyuan, "v.mp4", "video/mp4", len(content))
		if resp, body := send(t, "PUT", up.URL, content, false); resp.StatusCode != 200 {
			t.Fatalf("upload = %d %s", resp.StatusCode, body)
		}
		url := w.downloadURL(t, wengyuan, up.FileID)
		if status, body := w.call(t, wengyuan, zhang, "DELETE", "/files/"+up.FileID, "", nil); status != 200 {
			t.Fatalf("delete = %d %s", status, body)
		}
		if files := w.storedFiles(t); len(files) != 0 {
			t.Errorf("a deleted file's bytes stay: %v", files)
		}
		resp, body := send(t, "GET", url, nil, false)
		wantError(t, "a deleted file's URL", resp, body, 404, host.CodeFileNotFound)
		if status, _, body := w.file(t, wengyuan, up.FileID); status != 400 || !strings.HasPrefix(body, "not found") {
			t.Errorf("a deleted file = %d %s", status, body)
		}
		// An upload to a file deleted before its bytes came keeps nothing.
		up = w.upload(t, wengyuan, "v.mp4", "video/mp4", len(content))
		w.call(t, wengyuan, zhang, "DELETE", "/files/"+up.FileID, "", nil)
		resp, body = send(t, "PUT", up.URL, content, false)
		wantError(t, "an upload to a deleted file", resp, body, 404, host.CodeFileNotFound)
		if files := w.storedFiles(t); len(files) != 0 {
			t.Errorf("an upload to a deleted file left %v", files)
		}
		var rows int
		w.inTenant(t, wengyuan, func(ctx context.Context, conn *sqlx.Conn) error {
			return conn.GetContext(ctx, &rows, "SELECT COUNT(*) FROM plugin_files")
		})
		if rows != 0 {
			t.Errorf("%d file rows stay", rows)
		}
	})
}

func TestAHostWithoutFilesRefusesTheirCalls(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.deps.Blobs = nil
	w.p = launch(t, w.fixture)
	status, body := w.call(t, wengyuan, zhang, "POST", "/uploads", "", map[string]any{"name": "v.mp4", "content_type": "video/mp4", "size": 10})
	if status != 400 || !strings.Contains(body, "keeps no files") {
		t.Errorf("an upload on a host without blobs = %d %s", status, body)
	}
}

// TestAbandonedUploadsAreSweptAway: a day after its URL expired, a file
// whose bytes never came is removed, with what a failed upload left of
// them; a file that came, a recent upload and another county's files
// stay.
func TestAbandonedUploadsAreSweptAway(t *testing.T) {
	t.Parallel()
	onEachStore(t, func(t *testing.T, w *world) {
		ctx := context.Background()
		content := video(10)
		never := w.upload(t, wengyuan, "never.mp4", "video/mp4", len(content))
		halfway := w.upload(t, wengyuan, "halfway.mp4", "video/mp4", len(content))
		done := w.upload(t, wengyuan, "done.mp4", "video/mp4", len(content))
		if resp, body := send(t, "PUT", done.URL, content, false); resp.StatusCode != 200 {
			t.Fatalf("upload = %d %s", resp.StatusCode, body)
		}
		// The bytes of an upload whose file was never marked ready: the
		// host stopped between storing them and saying so.
		key, err := host.NewBlobKey(wengyuan, mediaManifest.ID, halfway.FileID)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.deps.Blobs.Put(ctx, key, bytes.NewReader(content), int64(len(content))); err != nil {
			t.Fatal(err)
		}
		other := w.upload(t, lechang, "other.mp4", "video/mp4", len(content))
		for _, county := range []string{wengyuan, lechang} {
			w.inTenant(t, county, func(ctx context.Context, conn *sqlx.Conn) error {
				_, err := conn.ExecContext(ctx, "UPDATE plugin_files SET created_at = created_at - INTERVAL 2 DAY")
				return err
			})
		}
		recent := w.upload(t, wengyuan, "recent.mp4", "video/mp4", len(content))

		n, err := host.SweepAbandonedFiles(ctx, w.deps, []string{wengyuan}, time.Now())
		if err != nil || n != 2 {
			t.Fatalf("sweep = %d, %v; want the 2 abandoned files", n, err)
		}
		for _, f := range []sdk.Upload{never, halfway} {
			if status, _, body := w.file(t, wengyuan, f.FileID); status != 400 || !strings.HasPrefix(body, "not found") {
				t.Errorf("abandoned file %s = %d %s", f.FileID, status, body)
			}
		}
		for county, f := range map[string]sdk.Upload{wengyuan: recent, lechang: other} {
			if status, _, body := w.file(t, county, f.FileID); status != 200 {
				t.Errorf("pending file %s of %s = %d %s", f.FileID, county, status, body)
			}
		}
		resp, body := send(t, "GET", w.downloadURL(t, wengyuan, done.FileID), nil, false)
		if resp.StatusCode != 200 || !bytes.Equal(body, content) {
			t.Errorf("the finished file = %d, %d bytes", resp.StatusCode, len(body))
		}
		if files := w.storedFiles(t); len(files) != 1 {
			t.Errorf("stored after the sweep: %v, want the finished file's bytes alone", files)
		}
		if n, err := host.SweepAbandonedFiles(ctx, w.deps, []string{wengyuan}, time.Now()); err != nil || n != 0 {
			t.Errorf("a second sweep = %d, %v", n, err)
		}
	})
}

// TestAStoredFileCountsOnceForItsCounty: a file counts as stored when its
// upload completes, for the whole county: not for a refused upload, not
// for a second one, and not in another county.
func TestAStoredFileCountsOnceForItsCounty(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	stored := func(county string) string {
		t.Helper()
		var list []string
		err := w.deps.Router.InTenant(context.Background(), county, func(ctx context.Context, conn *sqlx.Conn) error {
			if err := figures.Fold(ctx, conn); err != nil {
				return err
			}
			return conn.SelectContext(ctx, &list, "SELECT CONCAT(unit_id, '/', grain, '=', value) FROM measure_values WHERE measure = ? ORDER BY grain", figures.FilesStored)
		})
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(list, " ")
	}
	content := video(2000)
	up := w.upload(t, wengyuan, "会议纪要.pdf", "application/pdf", len(content))
	resp, body := send(t, "PUT", up.URL, content[:1000], false)
	wantError(t, "a short upload", resp, body, 400, host.CodeFileSizeMismatch)
	if got := stored(wengyuan); got != "" {
		t.Fatalf("a refused upload counted %s", got)
	}
	if resp, body := send(t, "PUT", up.URL, content, false); resp.StatusCode != 200 {
		t.Fatalf("upload = %d %s", resp.StatusCode, body)
	}
	resp, body = send(t, "PUT", up.URL, content, false)
	wantError(t, "a second upload", resp, body, 409, host.CodeFileUploaded)
	if got := stored(wengyuan); got != "0/d=1 0/h=1 0/m=1" {
		t.Errorf("Wengyuan's files stored: %s", got)
	}
	if got := stored(lechang); got != "" {
		t.Errorf("Lechang's files stored: %s", got)
	}
}
