package host_test

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/countycloud/countycloud/plugins/host"
)

func TestLocalBlobsKeepEveryKeyInsideTheirDirectory(t *testing.T) {
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
	dir := t.TempDir()
	blobs, err := host.NewLocalBlobs(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer blobs.Close()
	ctx := context.Background()
	key, err := host.NewBlobKey(wengyuan, "media", strings.Repeat("a", 32))
	if err != nil {
		t.Fatal(err)
	}
	failing := io.MultiReader(strings.NewReader("half"), iotest.ErrReader(errors.New("the client went away")))
	if err := blobs.Put(ctx, key, failing); err == nil {
		t.Fatal("a failing reader was stored")
	}
	if _, err := blobs.Open(ctx, key); !errors.Is(err, host.ErrBlobNotFound) {
		t.Errorf("open after a failed put = %v, want ErrBlobNotFound", err)
	}
	if err := blobs.Put(ctx, key, strings.NewReader("one")); err != nil {
		t.Fatal(err)
	}
	if err := blobs.Put(ctx, key, strings.NewReader("two")); !errors.Is(err, host.ErrBlobExists) {
		t.Errorf("a second put = %v, want ErrBlobExists", err)
	}
	f, err := blobs.Open(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(f)
	f.Close()
	if string(got) != "one" {
		t.Errorf("blob = %q, want the first put's", got)
	}
	entries, _ := filepath.Glob(filepath.Join(dir, wengyuan, "media", "*"))
	if len(entries) != 1 {
		t.Errorf("files beside the blob: %v", entries)
	}
	if err := blobs.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	if err := blobs.Delete(ctx, key); err != nil {
		t.Errorf("deleting a blob twice = %v", err)
	}
}
