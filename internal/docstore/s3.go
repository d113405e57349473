package docstore

import (
	"bytes"
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
)

// S3Options name an S3-compatible object store (SeaweedFS, MinIO, a government cloud's object
// storage) and the bucket the documents go to.
type S3Options struct {
	Endpoint  string // host:port
	Bucket    string
	Prefix    string // keys start with it (default "documents/")
	AccessKey string
	SecretKey string
	Region    string
	Secure    bool // HTTPS
	// Transport replaces the HTTP transport (custom CAs, for one); nil: minio's default.
	Transport http.RoundTripper
}

// S3 is a Store over an S3 bucket: the document with digest d is the object <prefix>d[:2]/d. Put
// returns when the store has answered 200 to a PUT whose Content-MD5 it checked, which is S3's
// durability promise; Get reads the object and checks it against its digest.
type S3 struct {
	c      *minio.Client
	bucket string
	prefix string
}

// OpenS3 connects to the object store and creates the bucket when it does not exist.
func OpenS3(ctx context.Context, o S3Options) (*S3, error) {
	if o.Endpoint == "" || o.Bucket == "" {
		return nil, errors.New("object store: endpoint and bucket are required")
	}
	if o.Prefix == "" {
		o.Prefix = DirName + "/"
	}
	c, err := minio.New(o.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(o.AccessKey, o.SecretKey, ""),
		Secure: o.Secure, Region: o.Region, Transport: o.Transport})
	if err != nil {
		return nil, fmt.Errorf("object store %s: %w", o.Endpoint, err)
	}
	s := &S3{c: c, bucket: o.Bucket, prefix: o.Prefix}
	ok, err := c.BucketExists(ctx, o.Bucket)
	if err != nil {
		return nil, fmt.Errorf("object store %s: %w", o.Endpoint, err)
	}
	if !ok {
		if err := c.MakeBucket(ctx, o.Bucket, minio.MakeBucketOptions{Region: o.Region}); err != nil {
			if ok, err2 := c.BucketExists(ctx, o.Bucket); err2 != nil || !ok { // another node made it
				return nil, fmt.Errorf("object store %s: create bucket %s: %w", o.Endpoint, o.Bucket, err)
			}
		}
	}
	return s, nil
}

func (s *S3) key(digest string) string { return s.prefix + digest[:2] + "/" + digest }

// Put uploads the document (again, when it is there already: that repairs a damaged copy) and
// returns when the store has confirmed it.
func (s *S3) Put(ctx context.Context, data []byte) (string, error) {
	if len(data) > MaxSize {
		return "", fmt.Errorf("document of %d bytes, larger than %d", len(data), MaxSize)
	}
	digest := Digest(data)
	info, err := s.c.PutObject(ctx, s.bucket, s.key(digest), bytes.NewReader(data), int64(len(data)),
		minio.PutObjectOptions{ContentType: "application/octet-stream", SendContentMd5: true, DisableMultipart: true})
	if err != nil {
		return "", fmt.Errorf("document %s: object store: %w", digest, err)
	}
	if info.Size != int64(len(data)) {
		return "", fmt.Errorf("document %s: object store stored %d bytes of %d", digest, info.Size, len(data))
	}
	return digest, nil
}

// Get downloads the document and checks it against its digest.
func (s *S3) Get(ctx context.Context, digest string) ([]byte, error) {
	if !ValidDigest(digest) {
		return nil, fmt.Errorf("document %q: %w", digest, ErrNotFound)
	}
	obj, err := s.c.GetObject(ctx, s.bucket, s.key(digest), minio.GetObjectOptions{})
	if err != nil {
		return nil, s.readErr(digest, err)
	}
	defer obj.Close()
	data, err := io.ReadAll(io.LimitReader(obj, MaxSize+1))
	if err != nil {
		return nil, s.readErr(digest, err)
	}
	if len(data) > MaxSize {
		return nil, fmt.Errorf("document %s: larger than %d bytes", digest, MaxSize)
	}
	return Verify(digest, data)
}

func (s *S3) readErr(digest string, err error) error {
	if minio.ToErrorResponse(err).Code == minio.NoSuchKey {
		return fmt.Errorf("document %s: %w", digest, ErrNotFound)
	}
	return fmt.Errorf("document %s: object store: %w", digest, err)
}

// Delete removes the object.
func (s *S3) Delete(ctx context.Context, digest string) error {
	if !ValidDigest(digest) {
		return nil
	}
	if err := s.c.RemoveObject(ctx, s.bucket, s.key(digest), minio.RemoveObjectOptions{}); err != nil &&
		minio.ToErrorResponse(err).Code != minio.NoSuchKey {
		return fmt.Errorf("document %s: object store: %w", digest, err)
	}
	return nil
}

// Walk lists the bucket's documents under the prefix; objects whose names are not digests in
// their right folder are skipped.
func (s *S3) Walk(ctx context.Context, fn func(digest string, size int64, written time.Time) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for obj := range s.c.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: s.prefix, Recursive: true}) {
		if obj.Err != nil {
			return fmt.Errorf("object store: list: %w", obj.Err)
		}
		rest := strings.TrimPrefix(obj.Key, s.prefix)
		d := path.Base(rest)
		if !ValidDigest(d) || rest != d[:2]+"/"+d {
			continue
		}
		if err := fn(d, obj.Size, obj.LastModified); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// Ready reports whether the bucket can be reached (the readiness check calls it).
func (s *S3) Ready(ctx context.Context) error {
	ok, err := s.c.BucketExists(ctx, s.bucket)
	if err == nil && !ok {
		err = fmt.Errorf("bucket %s does not exist", s.bucket)
	}
	if err != nil {
		return fmt.Errorf("object store: %w", err)
	}
	return nil
}
