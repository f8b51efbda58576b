package config

import (
	"strings"
	"testing"
)

func TestS3Settings(t *testing.T) {
	dsn := []string{"--mysql-dsn", "cc:pw@tcp(db:3306)/countycloud", "--seal-key", "0123456789abcdef0123456789abcdef"}
	keys := map[string]string{EnvS3AccessKey: "AKIDEXAMPLE", EnvS3SecretKey: "wJalrXUtnFEMI"}
	for _, c := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"endpoint without bucket", []string{"--s3-endpoint", "minio:9000"}, nil, "--s3-endpoint (COUNTYCLOUD_S3_ENDPOINT): only applies with --s3-bucket"},
		{"keys without bucket", nil, keys, "COUNTYCLOUD_S3_ACCESS_KEY, COUNTYCLOUD_S3_SECRET_KEY: only apply with --s3-bucket"},
		{"bucket without endpoint", []string{"--s3-bucket", "county-files"}, keys, "--s3-endpoint (COUNTYCLOUD_S3_ENDPOINT): is required"},
		{"bucket without keys", []string{"--s3-bucket", "county-files", "--s3-endpoint", "minio:9000"}, nil, "COUNTYCLOUD_S3_ACCESS_KEY and COUNTYCLOUD_S3_SECRET_KEY: both are required"},
		{"bucket without secret", []string{"--s3-bucket", "county-files", "--s3-endpoint", "minio:9000"}, map[string]string{EnvS3AccessKey: "AKIDEXAMPLE"}, "both are required"},
		{"endpoint with a scheme", []string{"--s3-bucket", "county-files", "--s3-endpoint", "https://minio:9000"}, keys, "without a scheme"},
		{"endpoint with a path", []string{"--s3-bucket", "county-files", "--s3-endpoint", "minio:9000/files"}, keys, "is not host[:port]"},
		{"bad bucket", []string{"--s3-bucket", "County_Files", "--s3-endpoint", "minio:9000"}, keys, "--s3-bucket (COUNTYCLOUD_S3_BUCKET): \"County_Files\" is not a bucket name"},
		{"prefix with an empty segment", []string{"--s3-bucket", "county-files", "--s3-endpoint", "minio:9000", "--s3-prefix", "countycloud//prod"}, keys, "--s3-prefix"},
		{"prefix going up", []string{"--s3-bucket", "county-files", "--s3-endpoint", "minio:9000", "--s3-prefix", "../prod"}, keys, "--s3-prefix"},
	} {
		_, err := parse(t, append(c.args, dsn...), c.env)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v; want %q", c.name, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "wJalrXUtnFEMI") {
			t.Errorf("%s: the error shows the secret key: %v", c.name, err)
		}
	}
	if _, err := parse(t, []string{"--dev", "--s3-bucket", "county-files", "--s3-endpoint", "minio:9000"}, keys); err == nil || !strings.Contains(err.Error(), "cannot be combined with -dev") {
		t.Errorf("S3 with -dev: %v", err)
	}
	cfg, err := parse(t, dsn, map[string]string{
		"COUNTYCLOUD_S3_BUCKET": "county-files", "COUNTYCLOUD_S3_ENDPOINT": "minio.storage:9000", "COUNTYCLOUD_S3_PREFIX": "countycloud/prod",
		"COUNTYCLOUD_S3_INSECURE": "true", EnvS3AccessKey: "AKIDEXAMPLE", EnvS3SecretKey: "wJalrXUtnFEMI",
	})
	want := S3{Bucket: "county-files", Endpoint: "minio.storage:9000", Prefix: "countycloud/prod", Insecure: true, AccessKey: "AKIDEXAMPLE", SecretKey: "wJalrXUtnFEMI"}
	if err != nil || cfg.S3 != want {
		t.Errorf("a bucket from the environment: %+v %v", cfg.S3, err)
	}
	if _, err := parse(t, append([]string{"--s3-bucket", "county-files", "--s3-endpoint", "s3.cn-north-1.amazonaws.com.cn", "--s3-region", "cn-north-1"}, dsn...), keys); err != nil {
		t.Errorf("a bucket on AWS: %v", err)
	}
}
