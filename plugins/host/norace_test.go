//go:build !race

package host_test

// memoryMiB is the plugins' memory limit in tests.
const memoryMiB = 512
