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
