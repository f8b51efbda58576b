//go:build !linux

package host

// lowerPriority leaves plugins at the host's priority where threads'
// nice values are not Linux's.
func lowerPriority(int) error { return nil }
