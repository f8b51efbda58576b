//go:build race

package host_test

// memoryMiB is no limit under the race detector, whose shadow memory is
// data the kernel counts against RLIMIT_DATA.
const memoryMiB = 0
