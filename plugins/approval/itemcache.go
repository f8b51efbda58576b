package approval

import (
	"sync"
)

// An online application is checked against its item, and the item is
// the same from one application to the next but for the rare edit: the
// module keeps the items it read, by county and code, with their
// versions, and names the item's version among the submission's
// unchanged records (sdk.Submission.Unchanged), which the host checks in
// the submission's own transaction. No application is written against
// an item that changed; none needs a call to the host to read its item.

// maxCachedItems bounds the items kept, across every county the process
// serves: a county's catalogue is a few hundred items.
const maxCachedItems = 4096

// itemKey is an item of a county: the request's county key
// (sdk.Request.County) and the item's code.
type itemKey struct {
	county, code string
}

// itemCache is the items kept. Safe for concurrent use.
type itemCache struct {
	mu    sync.Mutex
	items map[itemKey]itemView
}

func newItemCache() *itemCache {
	return &itemCache{items: map[itemKey]itemView{}}
}

// get is the item kept for k, if one is.
func (c *itemCache) get(k itemKey) (itemView, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	it, ok := c.items[k]
	return it, ok
}

// keep keeps it for k; when full, it first drops another item, any.
func (c *itemCache) keep(k itemKey, it itemView) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.items[k]; !ok && len(c.items) >= maxCachedItems {
		for other := range c.items {
			delete(c.items, other)
			break
		}
	}
	c.items[k] = it
}

// drop forgets the item of k.
func (c *itemCache) drop(k itemKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.items, k)
}
