package host_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/countycloud/countycloud/plugins/host"
)

// fakeS3 is an S3 store in memory (gofakes3), served over HTTP as a real
// one is, with one bucket.
type fakeS3 struct {
	endpoint, bucket string
	// transport reaches the store over https, trusting its certificate;
	// nil over plain http.
	transport http.RoundTripper
	client    *minio.Client
	mu        sync.Mutex
	// completions are the If-None-Match headers of the requests that
	// completed multipart uploads.
	completions []string
}

const testPrefix = "countycloud/test"

// newFakeS3 serves a fresh store over https, or plain http if insecure.
func newFakeS3(t *testing.T, insecure bool) *fakeS3 {
	t.Helper()
	f := &fakeS3{bucket: "county-files"}
	s3 := gofakes3.New(s3mem.New()).Server()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Noted only: gofakes3 v1.2.0 checks If-None-Match on a PUT but
		// not on the completion of a multipart upload, of which the tests
		// can only see that it asks.
		if r.Method == http.MethodPost && r.URL.Query().Has("uploadId") {
			f.mu.Lock()
			f.completions = append(f.completions, r.Header.Get("If-None-Match"))
			f.mu.Unlock()
		}
		s3.ServeHTTP(w, r)
	}))
	if insecure {
		srv.Start()
	} else {
		srv.StartTLS()
		f.transport = srv.Client().Transport
	}
	t.Cleanup(srv.Close)
	f.endpoint = srv.Listener.Addr().String()
	var err error
	f.client, err = minio.New(f.endpoint, &minio.Options{Creds: credentials.NewStaticV4("tests", "tests", ""), Region: "us-east-1", Secure: !insecure, Transport: f.transport})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.client.MakeBucket(context.Background(), f.bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	return f
}

// blobs are S3Blobs in f's bucket that send blobs larger than partSize
// in parts (0: the default).
func (f *fakeS3) blobs(t *testing.T, partSize int64) blobStore {
	t.Helper()
	blobs, err := host.NewS3Blobs(host.S3Config{Endpoint: f.endpoint, Insecure: f.transport == nil, Region: "us-east-1", Bucket: f.bucket, Prefix: testPrefix + "/",
		AccessKey: "tests", SecretKey: "tests", Transport: f.transport, PartSize: partSize})
	if err != nil {
		t.Fatal(err)
	}
	return blobStore{Blobs: blobs, held: f.held}
}

// held lists the bucket's objects, and its multipart uploads neither
// completed nor aborted.
func (f *fakeS3) held(t *testing.T) []string {
	t.Helper()
	ctx := context.Background()
	var out []string
	for o := range f.client.ListObjects(ctx, f.bucket, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		out = append(out, o.Key)
	}
	for u := range f.client.ListIncompleteUploads(ctx, f.bucket, "", true) {
		if minio.ToErrorResponse(u.Err).Code == minio.NoSuchUpload {
			// gofakes3's answer for a bucket that never had one.
			break
		}
		if u.Err != nil {
			t.Fatal(u.Err)
		}
		out = append(out, "an upload in parts of "+u.Key)
	}
	return out
}

func TestS3Blobs(t *testing.T) {
	t.Parallel()
	testBlobs(t, func(t *testing.T) blobStore { return newFakeS3(t, false).blobs(t, 0) })
}

// TestS3BlobsOverPlainHTTP is the store of --s3-insecure, to which
// minio-go signs a PUT's body in chunks as it sends it.
func TestS3BlobsOverPlainHTTP(t *testing.T) {
	t.Parallel()
	testBlobs(t, func(t *testing.T) blobStore { return newFakeS3(t, true).blobs(t, 0) })
}

// TestS3BlobsInParts goes over https only: gofakes3 v1.2.0 keeps the
// chunk signatures of a part sent over plain http as if they were bytes
// of it (S3 and MinIO take them off).
func TestS3BlobsInParts(t *testing.T) {
	t.Parallel()
	// Parts of 16 KiB, so that testBlobs's blobs go up in several. S3
	// takes no part but the last under 5 MiB; gofakes3 takes any.
	testBlobs(t, func(t *testing.T) blobStore {
		s := newFakeS3(t, false).blobs(t, 16<<10)
		s.unrefused = "gofakes3 v1.2.0 does not check If-None-Match when it completes a multipart upload; TestS3BlobsCompleteAnUploadInPartsOnlyIntoAFreeKey sees that it is asked"
		return s
	})
}

func TestS3BlobsKeepBlobsUnderTheirPrefix(t *testing.T) {
	t.Parallel()
	f := newFakeS3(t, false)
	s := f.blobs(t, 0)
	key := blobKey(t, 'a')
	if err := s.Put(context.Background(), key, strings.NewReader("翁源"), int64(len("翁源"))); err != nil {
		t.Fatal(err)
	}
	if held, want := f.held(t), []string{testPrefix + "/" + key.String()}; !slices.Equal(held, want) {
		t.Errorf("the bucket holds %q, want %q", held, want)
	}
}

func TestS3BlobsCompleteAnUploadInPartsOnlyIntoAFreeKey(t *testing.T) {
	t.Parallel()
	f := newFakeS3(t, false)
	s := f.blobs(t, 16<<10)
	content := video(40_000)
	if err := s.Put(context.Background(), blobKey(t, 'a'), bytes.NewReader(content), int64(len(content))); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(f.completions, []string{"*"}) {
		t.Errorf("the completions asked If-None-Match %q, want one asking *", f.completions)
	}
}
