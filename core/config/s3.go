package config

import (
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
)

// The environment variables of the S3 store's keys. They have no flags:
// a flag's value shows in ps.
const (
	EnvS3AccessKey = EnvPrefix + "S3_ACCESS_KEY"
	EnvS3SecretKey = EnvPrefix + "S3_SECRET_KEY"
)

// S3 is the bucket of an S3-compatible store that keeps the files modules
// keep, in place of --file-dir; every replica reaches the same one.
type S3 struct {
	Bucket   string
	Endpoint string
	Region   string
	Prefix   string
	Insecure bool
	// AccessKey and SecretKey come from the environment only (ReadKeys).
	AccessKey string
	SecretKey string
}

// RegisterFlags declares the S3 flags on fs.
func (c *S3) RegisterFlags(fs *pflag.FlagSet) {
	fs.StringVar(&c.Bucket, "s3-bucket", "", "bucket of an S3-compatible store to keep the files modules keep in, in place of --file-dir (its keys are read from "+EnvS3AccessKey+" and "+EnvS3SecretKey+", which have no flags)")
	fs.StringVar(&c.Endpoint, "s3-endpoint", "", "the store's host[:port], such as s3.cn-north-1.amazonaws.com.cn or minio.storage:9000 (required with --s3-bucket)")
	fs.StringVar(&c.Region, "s3-region", "", "the bucket's region (default: asked of the store)")
	fs.StringVar(&c.Prefix, "s3-prefix", "", "prefix of the keys in the bucket, for a bucket shared with others: countycloud/prod")
	fs.BoolVar(&c.Insecure, "s3-insecure", false, "reach the store over plain http, such as a MinIO inside the cluster's network")
}

// ReadKeys reads the store's keys from the environment.
func (c *S3) ReadKeys(lookup func(string) (string, bool)) {
	c.AccessKey, _ = lookup(EnvS3AccessKey)
	c.SecretKey, _ = lookup(EnvS3SecretKey)
}

var (
	// bucketPattern is S3's rule for bucket names, which stores that do
	// not enforce it still need for names that fit a host name.
	bucketPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	// s3PrefixPattern takes slash-separated segments that are neither
	// empty nor "." or "..", which would make keys that look like paths
	// they are not.
	s3PrefixPattern = regexp.MustCompile(`^[A-Za-z0-9_-][A-Za-z0-9._-]*(/[A-Za-z0-9_-][A-Za-z0-9._-]*)*$`)
)

func (c *S3) validate(p *problems, dev bool) {
	if c.Bucket == "" {
		for _, f := range [][2]string{{"s3-endpoint", c.Endpoint}, {"s3-region", c.Region}, {"s3-prefix", c.Prefix}} {
			if f[1] != "" {
				p.add(f[0], "only applies with --s3-bucket; give the bucket or remove it")
			}
		}
		if c.Insecure {
			p.add("s3-insecure", "only applies with --s3-bucket; give the bucket or remove it")
		}
		if c.AccessKey != "" || c.SecretKey != "" {
			*p = append(*p, fmt.Errorf("%s, %s: only apply with --s3-bucket; give the bucket or unset them", EnvS3AccessKey, EnvS3SecretKey))
		}
		return
	}
	if dev {
		p.add("s3-bucket", "cannot be combined with -dev, which keeps files in a temporary directory; drop one of them")
	}
	if !bucketPattern.MatchString(c.Bucket) {
		p.add("s3-bucket", "%q is not a bucket name: 3 to 63 lowercase letters, digits, dots and dashes, starting and ending with a letter or digit", c.Bucket)
	}
	switch {
	case c.Endpoint == "":
		p.add("s3-endpoint", "is required with --s3-bucket: the store's host[:port], such as minio.storage:9000")
	case strings.Contains(c.Endpoint, "://"):
		p.add("s3-endpoint", "%q: give host[:port] without a scheme; https is used, or plain http with --s3-insecure", c.Endpoint)
	case !validHostPort(c.Endpoint):
		p.add("s3-endpoint", "%q is not host[:port]", c.Endpoint)
	}
	if c.Prefix != "" && !s3PrefixPattern.MatchString(c.Prefix) {
		p.add("s3-prefix", "%q: use segments of letters, digits, dots, dashes and underscores separated by single slashes, such as countycloud/prod", c.Prefix)
	}
	if c.AccessKey == "" || c.SecretKey == "" {
		*p = append(*p, fmt.Errorf("%s and %s: both are required with --s3-bucket: the store's access key and its secret", EnvS3AccessKey, EnvS3SecretKey))
	}
}

// validHostPort says whether s is a host name or address, with a port or
// without.
func validHostPort(s string) bool {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		host, port = s, "443"
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return false
	}
	return host != "" && !strings.ContainsAny(host, ":/?#@ ")
}
