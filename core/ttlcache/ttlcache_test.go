package ttlcache

import (
	"testing"
	"time"
)

func TestValuesExpireAndTheCacheStaysBounded(t *testing.T) {
	c := New[string, int](50*time.Millisecond, 2)
	c.Put("a", 1)
	if v, ok := c.Get("a"); !ok || v != 1 {
		t.Fatalf("get a = %d, %v", v, ok)
	}
	if _, ok := c.Get("b"); ok {
		t.Fatal("b was never put")
	}
	c.Put("b", 2)
	c.Put("c", 3)
	if len(c.m) > 2 {
		t.Fatalf("%d entries in a cache of 2", len(c.m))
	}
	time.Sleep(60 * time.Millisecond)
	if _, ok := c.Get("c"); ok {
		t.Fatal("c outlived its ttl")
	}
}

// A value read before a change, put after the Delete that followed the
// change, is not kept; one read after it is.
func TestAValueReadBeforeADeleteIsNotKept(t *testing.T) {
	c := New[string, string](time.Minute, 10)
	mark := c.Mark()
	// Meanwhile, the writer commits "revoked" and deletes the key.
	c.Delete("seal")
	c.PutSince(mark, "seal", "active")
	if v, ok := c.Get("seal"); ok {
		t.Fatalf("the value read before the change was kept: %q", v)
	}
	mark = c.Mark()
	c.PutSince(mark, "seal", "revoked")
	if v, ok := c.Get("seal"); !ok || v != "revoked" {
		t.Fatalf("the value read after the change: %q, %v", v, ok)
	}
}
