package host

import "time"

// SignFileURL signs a URL under base as the files service would, for
// tests to make what no plugin can get: a URL of one county's file
// signed for another county.
func SignFileURL(base string, key []byte, county, plugin, file, op string, expires time.Time) string {
	return base + "/" + signFileToken(fileKey(key), fileGrant{County: county, Plugin: plugin, File: file, Op: op, Expires: expires.Unix()})
}

// CallDeadline is the gRPC service config that gives each module call
// its deadline, for the benchmarks' bare baseline to have the same.
func CallDeadline(d time.Duration) string { return callDeadline(d) }
