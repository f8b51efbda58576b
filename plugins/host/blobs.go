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
// them for clients holding a URL it signed; plugins never touch them. A
// directory of the host's is the default; an S3-compatible store fits
// the same interface (a conditional put for the "exists" refusal, ranged
// GETs behind the ReadSeeker).
type Blobs interface {
	// Put stores all of r under key, or nothing: if r fails, as it does
	// when a client sends more or fewer bytes than it declared, no trace
	// of it stays. It refuses a key that holds a blob already with
	// ErrBlobExists, so that of two uploads of one file only one lands.
	Put(ctx context.Context, key BlobKey, r io.Reader) error
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
func (l *LocalBlobs) Put(ctx context.Context, key BlobKey, r io.Reader) error {
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
	_, err = io.Copy(f, readerWithContext{ctx, r})
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
func (l *LocalBlobs) Open(_ context.Context, key BlobKey) (io.ReadSeekCloser, error) {
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
func (l *LocalBlobs) Delete(_ context.Context, key BlobKey) error {
	err := l.root.Remove(key.String())
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete blob %s: %w", key, err)
	}
	return nil
}

// readerWithContext stops a copy when ctx ends: a client that stalls an
// upload must not hold a file open after its request is given up.
type readerWithContext struct {
	ctx context.Context
	r   io.Reader
}

func (r readerWithContext) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}
