package host

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"regexp"
)

// Blobs keeps the bytes of the plugins' files. The host reads and writes
// them for clients holding a URL it signed; plugins never touch them.
// LocalBlobs keep them in a directory of the host's, S3Blobs in a bucket
// of an S3-compatible store that every replica shares.
type Blobs interface {
	// Put stores the size bytes of r under key, or nothing: if r fails,
	// as it does when a client sends more or fewer bytes than it
	// declared, if r holds other than size bytes, or if ctx ends while r
	// is read, no trace of it stays. The size is known before the bytes come, so that
	// a store can send them as requests of declared lengths. Put refuses
	// a key that holds a blob already with ErrBlobExists, so that of two
	// uploads of one file only one lands.
	Put(ctx context.Context, key BlobKey, r io.Reader, size int64) error
	// Open returns the blob under key, or ErrBlobNotFound.
	Open(ctx context.Context, key BlobKey) (io.ReadSeekCloser, error)
	// Delete removes the blob under key; there being none is no error.
	Delete(ctx context.Context, key BlobKey) error
}

// Errors of Blobs.
var (
	ErrBlobExists   = errors.New("a blob is stored under that key already")
	ErrBlobNotFound = errors.New("no blob under that key")
)

// Errors of a Put's reader holding other than the size it was given.
var (
	errBlobLonger  = errors.New("the blob's bytes run past its size")
	errBlobShorter = errors.New("the blob's bytes end before its size")
)

var (
	// countyPattern is wider than the registry's codes, which it need not
	// follow; what matters is that a code is never "." or "..", nor holds
	// a separator.
	countyPattern = regexp.MustCompile(`^[a-z][a-z0-9]{0,31}(\.[a-z][a-z0-9]{0,31}){0,3}$`)
	pluginPattern = regexp.MustCompile(`^[a-z][a-z0-9-]{1,31}$`)
	filePattern   = regexp.MustCompile(`^[0-9a-f]{32}$`)
)

// BlobKey names a blob by county, plugin and file id, each checked to be
// one plain path segment, so that no key reaches outside its county's
// and plugin's place in the store.
type BlobKey struct {
	county, plugin, file string
}

// NewBlobKey returns the key of file of plugin in county.
func NewBlobKey(county, plugin, file string) (BlobKey, error) {
	switch {
	case !countyPattern.MatchString(county):
		return BlobKey{}, fmt.Errorf("blob key: %q is not a county code", county)
	case !pluginPattern.MatchString(plugin):
		return BlobKey{}, fmt.Errorf("blob key: %q is not a plugin id", plugin)
	case !filePattern.MatchString(file):
		return BlobKey{}, fmt.Errorf("blob key: %q is not a file id", file)
	}
	return BlobKey{county: county, plugin: plugin, file: file}, nil
}

// String is the key as a slash-separated path: county/plugin/file.
func (k BlobKey) String() string { return path.Join(k.county, k.plugin, k.file) }

// LocalBlobs keeps blobs in a directory, as county/plugin/file. Every
// access goes through an os.Root, which refuses paths that leave the
// directory, symbolic links included, whatever the key checks missed.
type LocalBlobs struct {
	root *os.Root
}

// NewLocalBlobs keeps blobs in dir, creating it if need be.
func NewLocalBlobs(dir string) (*LocalBlobs, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("blob directory: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("blob directory: %w", err)
	}
	return &LocalBlobs{root: root}, nil
}

// Close releases the directory.
func (l *LocalBlobs) Close() error { return l.root.Close() }

// Put writes r to a file of its own beside the blob's place and links it
// there only once all of r has been written and synced: a failed or
// partial upload leaves nothing, and the link, unlike a rename, refuses
// to replace a blob that is there.
func (l *LocalBlobs) Put(ctx context.Context, key BlobKey, r io.Reader, size int64) error {
	if size < 0 {
		return fmt.Errorf("store blob %s: size %d is negative", key, size)
	}
	dir := path.Join(key.county, key.plugin)
	if err := l.root.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("store blob %s: %w", key, err)
	}
	temp := path.Join(dir, ".upload-"+rand.Text())
	f, err := l.root.OpenFile(temp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return fmt.Errorf("store blob %s: %w", key, err)
	}
	defer func() {
		// The link (or the failure) is done with the temporary name.
		_ = l.root.Remove(temp)
	}()
	_, err = io.Copy(f, &sizedReader{ctx: ctx, r: r, left: size})
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("store blob %s: %w", key, err)
	}
	err = l.root.Link(temp, key.String())
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("store blob %s: %w", key, ErrBlobExists)
	}
	if err != nil {
		return fmt.Errorf("store blob %s: %w", key, err)
	}
	return nil
}

// Open opens the blob's file.
func (l *LocalBlobs) Open(ctx context.Context, key BlobKey) (io.ReadSeekCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("open blob %s: %w", key, err)
	}
	f, err := l.root.Open(key.String())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("open blob %s: %w", key, ErrBlobNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("open blob %s: %w", key, err)
	}
	return f, nil
}

// Delete removes the blob's file.
func (l *LocalBlobs) Delete(ctx context.Context, key BlobKey) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("delete blob %s: %w", key, err)
	}
	err := l.root.Remove(key.String())
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete blob %s: %w", key, err)
	}
	return nil
}

// sizedReader passes on the first left bytes of r and then io.EOF, but
// only once r has ended there: it fails in place of the last of them if r
// runs on, and fails if r ends early. A store that sends a declared length
// reads no further than that, and would otherwise take a longer r, cut
// short, for a whole one; the failure keeps the request from completing.
// It stops when ctx ends, too: a client that stalls an upload must not
// hold the store's request open after its own is given up. err is the
// first failure it gave, whatever the store made of it.
type sizedReader struct {
	ctx  context.Context
	r    io.Reader
	left int64
	// ended says that all left bytes went and r ended after them.
	ended bool
	err   error
}

func (s *sizedReader) Read(p []byte) (int, error) {
	if s.ended {
		return 0, io.EOF
	}
	n, err := s.read(p)
	if err != nil && !errors.Is(err, io.EOF) && s.err == nil {
		s.err = err
	}
	return n, err
}

func (s *sizedReader) read(p []byte) (int, error) {
	if err := s.ctx.Err(); err != nil {
		return 0, err
	}
	if int64(len(p)) > s.left {
		p = p[:s.left]
	}
	n, err := s.r.Read(p)
	s.left -= int64(n)
	if s.left > 0 {
		if errors.Is(err, io.EOF) {
			return n, errBlobShorter
		}
		return n, err
	}
	if err == nil {
		// The last byte is in p: r must end now, before it goes on.
		var one [1]byte
		var m int
		m, err = io.ReadFull(s.r, one[:])
		if m > 0 {
			err = errBlobLonger
		}
	}
	if !errors.Is(err, io.EOF) {
		return 0, err
	}
	s.ended = true
	return n, io.EOF
}
