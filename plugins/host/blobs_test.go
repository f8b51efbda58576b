package host_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/countycloud/countycloud/plugins/host"
)

// blobStore is a Blobs under test and what it holds: the blobs, and
// whatever a put may leave beside them (temporary files, the parts of
// multipart uploads).
type blobStore struct {
	host.Blobs
	held func(t *testing.T) []string
	// unrefused, if set, says why the store cannot show that a key
	// holding a blob is refused.
	unrefused string
}

func localStore(t *testing.T) blobStore {
	dir := t.TempDir()
	blobs, err := host.NewLocalBlobs(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = blobs.Close() })
	return blobStore{Blobs: blobs, held: func(t *testing.T) []string { return filesUnder(t, dir) }}
}

// filesUnder lists the files under dir, relative to it.
func filesUnder(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, path)
			out = append(out, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestLocalBlobsKeepEveryKeyInsideTheirDirectory(t *testing.T) {
	t.Parallel()
	for _, k := range [][3]string{
		{"..", "media", strings.Repeat("a", 32)},
		{"gd/..", "media", strings.Repeat("a", 32)},
		{"gd.shaoguan", "..", strings.Repeat("a", 32)},
		{"gd.shaoguan", "media/x", strings.Repeat("a", 32)},
		{"gd.shaoguan", "media", "../" + strings.Repeat("a", 29)},
		{"gd.shaoguan", "media", strings.Repeat("A", 32)},
		{"", "media", strings.Repeat("a", 32)},
	} {
		if _, err := host.NewBlobKey(k[0], k[1], k[2]); err == nil {
			t.Errorf("key %q was accepted", k)
		}
	}
}

func TestLocalBlobs(t *testing.T) {
	t.Parallel()
	testBlobs(t, localStore)
}

// testBlobs checks that the stores newStore makes, a fresh one for each
// case, keep the promises of Blobs.
func testBlobs(t *testing.T, newStore func(t *testing.T) blobStore) {
	ctx := context.Background()
	key := blobKey(t, 'a')
	content := video(100_000)
	// read reads the blob under key whole.
	read := func(t *testing.T, blobs host.Blobs, key host.BlobKey) []byte {
		t.Helper()
		f, err := blobs.Open(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		got, err := io.ReadAll(f)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	wantOnly := func(t *testing.T, s blobStore, what string, n int) {
		t.Helper()
		if held := s.held(t); len(held) != n {
			t.Errorf("%s: the store holds %q, want %d", what, held, n)
		}
	}

	t.Run("a blob goes in and comes out, by ranges too", func(t *testing.T) {
		s := newStore(t)
		if err := s.Put(ctx, key, bytes.NewReader(content), int64(len(content))); err != nil {
			t.Fatal(err)
		}
		if got := read(t, s, key); !bytes.Equal(got, content) {
			t.Fatalf("read %d bytes, not the %d put", len(got), len(content))
		}
		f, err := s.Open(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		// What http.ServeContent does for a range: the size, then the
		// range's start.
		if end, err := f.Seek(0, io.SeekEnd); err != nil || end != int64(len(content)) {
			t.Fatalf("seek to the end = %d, %v", end, err)
		}
		for _, at := range []int64{70_000, 10, int64(len(content)) - 10} {
			if _, err := f.Seek(at, io.SeekStart); err != nil {
				t.Fatal(err)
			}
			got := make([]byte, 10)
			if _, err := io.ReadFull(f, got); err != nil || !bytes.Equal(got, content[at:at+10]) {
				t.Errorf("10 bytes at %d = %v, %v", at, got, err)
			}
		}
		// And what a range to the end is.
		if _, err := f.Seek(50_000, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		if rest, err := io.ReadAll(f); err != nil || !bytes.Equal(rest, content[50_000:]) {
			t.Errorf("the bytes from 50000 = %d bytes, %v", len(rest), err)
		}
		wantOnly(t, s, "after a put", 1)
	})

	t.Run("an empty blob", func(t *testing.T) {
		s := newStore(t)
		if err := s.Put(ctx, key, strings.NewReader(""), 0); err != nil {
			t.Fatal(err)
		}
		if got := read(t, s, key); len(got) != 0 {
			t.Errorf("an empty blob reads %q", got)
		}
		if err := s.Put(ctx, blobKey(t, 'b'), strings.NewReader("x"), 0); err == nil {
			t.Error("a byte was taken for an empty blob")
		}
		wantOnly(t, s, "after an empty blob and a refused one", 1)
	})

	t.Run("a key holding a blob is refused", func(t *testing.T) {
		s := newStore(t)
		if s.unrefused != "" {
			t.Skip(s.unrefused)
		}
		if err := s.Put(ctx, key, bytes.NewReader(content), int64(len(content))); err != nil {
			t.Fatal(err)
		}
		other := video(len(content))
		other[0]++
		if err := s.Put(ctx, key, bytes.NewReader(other), int64(len(other))); !errors.Is(err, host.ErrBlobExists) {
			t.Errorf("a second put = %v, want ErrBlobExists", err)
		}
		if got := read(t, s, key); !bytes.Equal(got, content) {
			t.Error("the blob is not the first put's")
		}
		wantOnly(t, s, "after a refused put", 1)
	})

	t.Run("of two puts at once of one key one lands", func(t *testing.T) {
		s := newStore(t)
		if s.unrefused != "" {
			t.Skip(s.unrefused)
		}
		one, two := video(len(content)), video(len(content))
		two[0]++
		r1, r2 := meeting(one, two)
		errs := make(chan error, 2)
		go func() { errs <- s.Put(ctx, key, r1, int64(len(one))) }()
		go func() { errs <- s.Put(ctx, key, r2, int64(len(two))) }()
		err1, err2 := <-errs, <-errs
		if (err1 == nil) == (err2 == nil) {
			t.Fatalf("two puts at once = %v and %v, want one landed", err1, err2)
		}
		if lost := errors.Join(err1, err2); !errors.Is(lost, host.ErrBlobExists) {
			t.Errorf("the losing put = %v, want ErrBlobExists", lost)
		}
		if got := read(t, s, key); !bytes.Equal(got, one) && !bytes.Equal(got, two) {
			t.Error("the blob is neither put's")
		}
		wantOnly(t, s, "after two puts at once", 1)
	})

	t.Run("a failed put leaves nothing", func(t *testing.T) {
		s := newStore(t)
		half := int64(len(content) / 2)
		for what, put := range map[string]func() error{
			"a reader that fails midway": func() error {
				// What a client's body gives that hangs up.
				r := io.MultiReader(bytes.NewReader(content[:half]), iotest.ErrReader(io.ErrUnexpectedEOF))
				err := s.Put(ctx, key, r, int64(len(content)))
				if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Errorf("a reader that fails midway: %v does not say why", err)
				}
				return err
			},
			"a reader shorter than the size": func() error {
				return s.Put(ctx, key, bytes.NewReader(content[:len(content)-1]), int64(len(content)))
			},
			"a reader longer than the size": func() error {
				return s.Put(ctx, key, bytes.NewReader(content), int64(len(content))-1)
			},
			"a context that ends midway": func() error {
				ctx, cancel := context.WithCancel(ctx)
				defer cancel()
				r := io.MultiReader(bytes.NewReader(content[:half]), cancelling{cancel}, bytes.NewReader(content[half:]))
				err := s.Put(ctx, key, r, int64(len(content)))
				if err != nil && !errors.Is(err, context.Canceled) {
					t.Errorf("a context that ends midway: %v does not say so", err)
				}
				return err
			},
		} {
			if err := put(); err == nil {
				t.Errorf("%s: stored", what)
			}
			if _, err := s.Open(ctx, key); !errors.Is(err, host.ErrBlobNotFound) {
				t.Errorf("%s: open = %v, want ErrBlobNotFound", what, err)
			}
			wantOnly(t, s, what, 0)
		}
		// Nor does it take the key.
		if err := s.Put(ctx, key, bytes.NewReader(content), int64(len(content))); err != nil {
			t.Errorf("a put after the failed ones = %v", err)
		}
	})

	t.Run("a deleted blob is gone, and deleting it again is no error", func(t *testing.T) {
		s := newStore(t)
		if err := s.Put(ctx, key, bytes.NewReader(content), int64(len(content))); err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(ctx, key); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Open(ctx, key); !errors.Is(err, host.ErrBlobNotFound) {
			t.Errorf("open of a deleted blob = %v, want ErrBlobNotFound", err)
		}
		if err := s.Delete(ctx, key); err != nil {
			t.Errorf("deleting a blob twice = %v", err)
		}
		wantOnly(t, s, "after a delete", 0)
		// The key takes a blob again.
		if err := s.Put(ctx, key, strings.NewReader("again"), 5); err != nil {
			t.Errorf("a put after a delete = %v", err)
		}
	})

	t.Run("an ended context stops every call", func(t *testing.T) {
		s := newStore(t)
		if err := s.Put(ctx, key, bytes.NewReader(content), int64(len(content))); err != nil {
			t.Fatal(err)
		}
		ended, cancel := context.WithCancel(ctx)
		cancel()
		if err := s.Put(ended, blobKey(t, 'b'), bytes.NewReader(content), int64(len(content))); !errors.Is(err, context.Canceled) {
			t.Errorf("put = %v, want context.Canceled", err)
		}
		if f, err := s.Open(ended, key); !errors.Is(err, context.Canceled) {
			t.Errorf("open = %v, want context.Canceled", err)
			if f != nil {
				f.Close()
			}
		}
		if err := s.Delete(ended, key); !errors.Is(err, context.Canceled) {
			t.Errorf("delete = %v, want context.Canceled", err)
		}
		wantOnly(t, s, "after calls with an ended context", 1)
	})
}

func blobKey(t *testing.T, c byte) host.BlobKey {
	t.Helper()
	key, err := host.NewBlobKey(wengyuan, "media", strings.Repeat(string(c), 32))
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// cancelling is a reader that ends a context, as a client does that goes
// away, and reads nothing.
type cancelling struct{ cancel context.CancelFunc }

func (c cancelling) Read([]byte) (int, error) {
	c.cancel()
	return 0, nil
}

// meeting returns readers of a and b that hand on the second half of
// theirs only once both have handed on their first: two puts under way
// at once, neither done before the other started.
func meeting(a, b []byte) (io.Reader, io.Reader) {
	arrived := make(chan struct{}, 2)
	both := make(chan struct{})
	go func() {
		<-arrived
		<-arrived
		close(both)
	}()
	half := func(p []byte) io.Reader {
		return io.MultiReader(bytes.NewReader(p[:len(p)/2]), &waiting{arrived: arrived, both: both}, bytes.NewReader(p[len(p)/2:]))
	}
	return half(a), half(b)
}

// waiting reads nothing, once both readers of meeting reach it.
type waiting struct {
	arrived chan<- struct{}
	both    <-chan struct{}
	done    bool
}

func (w *waiting) Read([]byte) (int, error) {
	if w.done {
		return 0, io.EOF
	}
	w.done = true
	w.arrived <- struct{}{}
	select {
	case <-w.both:
		return 0, nil
	case <-time.After(10 * time.Second):
		return 0, fmt.Errorf("the other put did not start")
	}
}
