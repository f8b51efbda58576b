package host

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/s3utils"
)

// S3Config says where S3Blobs keep the blobs: a bucket of an
// S3-compatible store, under a prefix.
type S3Config struct {
	// Endpoint is the store's host[:port]; Insecure reaches it over plain
	// http rather than https.
	Endpoint string
	Insecure bool
	// Region is the bucket's; without it the store is asked.
	Region string
	Bucket string
	// Prefix, if any, starts every key: prefix/county/plugin/file.
	Prefix    string
	AccessKey string
	SecretKey string
	// Transport, if set, carries the requests, such as a test's that
	// trusts its server's certificate.
	Transport http.RoundTripper
	// PartSize is the most one PUT carries, and the size of the parts in
	// which a larger blob goes up; 0 is 5 GiB, the most S3 takes in one
	// PUT, so that only files larger than that go up in parts.
	PartSize int64
}

// maxS3Put is the most S3 takes in one PUT (and in one part).
const maxS3Put = 5 << 30

// abortTimeout bounds the abort of a failed multipart upload, which goes
// out after the caller's context may have ended.
const abortTimeout = time.Minute

// S3Blobs keeps blobs in a bucket of an S3-compatible store, as
// prefix/county/plugin/file. The store itself refuses a key that holds a
// blob, through the If-None-Match: * of the request that commits one,
// so that replicas need no lock of their own.
type S3Blobs struct {
	core     *minio.Core
	bucket   string
	prefix   string
	partSize int64
}

// NewS3Blobs keeps blobs in the bucket of cfg. It sends nothing to the
// store: a store that cannot be reached fails the calls, not the start.
func NewS3Blobs(cfg S3Config) (*S3Blobs, error) {
	if err := s3utils.CheckValidBucketName(cfg.Bucket); err != nil {
		return nil, fmt.Errorf("S3 bucket %q: %w", cfg.Bucket, err)
	}
	partSize := cfg.PartSize
	if partSize == 0 {
		partSize = maxS3Put
	}
	if partSize < 0 || partSize > maxS3Put {
		return nil, fmt.Errorf("S3 part size %d is not between 1 byte and 5 GiB", partSize)
	}
	core, err := minio.NewCore(cfg.Endpoint, &minio.Options{
		Creds:     credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure:    !cfg.Insecure,
		Region:    cfg.Region,
		Transport: cfg.Transport,
	})
	if err != nil {
		return nil, fmt.Errorf("S3 endpoint %q: %w", cfg.Endpoint, err)
	}
	return &S3Blobs{core: core, bucket: cfg.Bucket, prefix: strings.Trim(cfg.Prefix, "/"), partSize: partSize}, nil
}

// name is the object name of the blob under key.
func (s *S3Blobs) name(key BlobKey) string { return path.Join(s.prefix, key.String()) }

// Put sends a blob of up to the part size in one PUT, and a larger one as
// a multipart upload. Either way the store commits the object only once
// all of it has come, and only if the key holds none.
func (s *S3Blobs) Put(ctx context.Context, key BlobKey, r io.Reader, size int64) error {
	if size < 0 {
		return fmt.Errorf("store blob %s: size %d is negative", key, size)
	}
	body := &sizedReader{ctx: ctx, r: r, left: size}
	var err error
	switch {
	case size == 0:
		err = s.putEmpty(ctx, key, body)
	case size <= s.partSize:
		err = s.putOne(ctx, key, body, size)
	default:
		err = s.putParts(ctx, key, body, size)
	}
	switch {
	case err == nil:
		return nil
	case body.err != nil:
		// The reader's failure is the cause, by which the caller tells a
		// short or long upload, whatever minio-go made of it on its way
		// (it swaps one whose text says EOF for "connection closed").
		return fmt.Errorf("store blob %s: %w", key, body.err)
	case refused(err):
		return fmt.Errorf("store blob %s: %w", key, ErrBlobExists)
	}
	return fmt.Errorf("store blob %s: %w", key, err)
}

// putOne sends a blob in one PUT of its length, which the store keeps
// nothing of unless all of it comes.
func (s *S3Blobs) putOne(ctx context.Context, key BlobKey, body io.Reader, size int64) error {
	_, err := s.core.PutObject(ctx, s.bucket, s.name(key), body, size, "", "", createOnly())
	return err
}

// emptySHA256 is the SHA-256 of no bytes.
const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// putEmpty sends an empty blob, once r is seen to be empty: the PUT
// carries no body, and so would not read it. Its payload is signed as
// the empty one it is, not in the chunks minio-go otherwise signs over
// plain http, whose empty body net/http sends without a length, which S3
// refuses.
func (s *S3Blobs) putEmpty(ctx context.Context, key BlobKey, body io.Reader) error {
	if _, err := io.Copy(io.Discard, body); err != nil {
		return err
	}
	opts := createOnly()
	opts.DisableContentSha256 = true
	_, err := s.core.PutObject(ctx, s.bucket, s.name(key), http.NoBody, 0, "", emptySHA256, opts)
	return err
}

// putParts sends a blob as a multipart upload, part by part as it comes,
// and completes it under the condition of one PUT. The store keeps the
// parts of an upload neither completed nor aborted, unseen but stored
// (and billed), so a failed upload is aborted.
func (s *S3Blobs) putParts(ctx context.Context, key BlobKey, body io.Reader, size int64) (err error) {
	name := s.name(key)
	id, err := s.core.NewMultipartUpload(ctx, s.bucket, name, minio.PutObjectOptions{})
	if err != nil {
		return err
	}
	defer func() {
		if err == nil {
			return
		}
		// The abort goes out even when the end of ctx was the failure.
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortTimeout)
		defer cancel()
		if aerr := s.core.AbortMultipartUpload(actx, s.bucket, name, id); aerr != nil {
			err = errors.Join(err, fmt.Errorf("abort upload %s: %w", id, aerr))
		}
	}()
	var parts []minio.CompletePart
	for n, sent := 1, int64(0); sent < size; n++ {
		length := min(s.partSize, size-sent)
		part, perr := s.core.PutObjectPart(ctx, s.bucket, name, id, n, io.LimitReader(body, length), length, minio.PutObjectPartOptions{})
		if perr != nil {
			return perr
		}
		parts = append(parts, minio.CompletePart{PartNumber: n, ETag: part.ETag})
		sent += length
	}
	_, err = s.core.CompleteMultipartUpload(ctx, s.bucket, name, id, parts, createOnly())
	return err
}

// createOnly are the options of the request that commits an object: with
// If-None-Match: *, the store refuses it if the key holds an object.
func createOnly() minio.PutObjectOptions {
	var opts minio.PutObjectOptions
	opts.SetMatchETagExcept("*")
	return opts
}

// refused says whether the store turned down a commit for the key holding
// an object: 412 Precondition Failed, or, from S3, 409
// ConditionalRequestConflict when another conditional write of the key
// was under way meanwhile, which is then the one that lands.
func refused(err error) bool {
	var e minio.ErrorResponse
	if !errors.As(err, &e) {
		return false
	}
	return e.StatusCode == http.StatusPreconditionFailed || e.Code == minio.PreconditionFailed || e.Code == "ConditionalRequestConflict"
}

// Open returns the object, which reads through ranged GETs, so that a
// Seek costs no download of what it skips.
func (s *S3Blobs) Open(ctx context.Context, key BlobKey) (io.ReadSeekCloser, error) {
	// Core.GetObject is the bare GET; the Client's serves an io.ReadSeeker.
	obj, err := s.core.Client.GetObject(ctx, s.bucket, s.name(key), minio.GetObjectOptions{})
	if err != nil {
		return nil, fmt.Errorf("open blob %s: %w", key, err)
	}
	// The object sends its first request when first used: a HEAD now
	// says whether the blob is there while the caller can still answer
	// so, rather than in the middle of serving it.
	if _, err := obj.Stat(); err != nil {
		_ = obj.Close()
		var e minio.ErrorResponse
		if errors.As(err, &e) && e.Code == minio.NoSuchKey {
			return nil, fmt.Errorf("open blob %s: %w", key, ErrBlobNotFound)
		}
		return nil, fmt.Errorf("open blob %s: %w", key, err)
	}
	return obj, nil
}

// Delete removes the object; S3 answers the removal of none as of one.
func (s *S3Blobs) Delete(ctx context.Context, key BlobKey) error {
	if err := s.core.RemoveObject(ctx, s.bucket, s.name(key), minio.RemoveObjectOptions{}); err != nil {
		return fmt.Errorf("delete blob %s: %w", key, err)
	}
	return nil
}
