package host

import (
	"net/http"
	"time"

	"github.com/countycloud/countycloud/plugins/sdk/proto/pluginv1"
)

// SignFileURL signs a URL under base as the files service would, for
// tests to make what no plugin can get: a URL of one county's file
// signed for another county.
func SignFileURL(base string, key []byte, county, plugin, file, op string, expires time.Time) string {
	return base + "/" + signFileToken(fileKey(key), fileGrant{County: county, Plugin: plugin, File: file, Op: op, Expires: expires.Unix()})
}

// MaxHostMessage bounds a plugin's message to a host service.
const MaxHostMessage = maxHostMessage

// CallDeadline is the gRPC service config that gives each module call
// its deadline, for the benchmarks' bare baseline to have the same.
func CallDeadline(d time.Duration) string { return callDeadline(d) }

// AnswerHeaders are the status and headers the platform serves for a
// module's answer to a request of tenant, or the error refusing it, for
// the fuzz test of the rules of answer.
func AnswerHeaders(tenant, plugin string, status int32, headers map[string]string) (int, http.Header, error) {
	a, err := answer(tenant, plugin, &pluginv1.HandleResponse{Status: status, Headers: headers})
	return a.status, a.header, err
}

// PublicAnswerHeaders is AnswerHeaders for a public route's answer to a
// request of method.
func PublicAnswerHeaders(tenant, plugin, method string, status int32, headers map[string]string) (int, http.Header, error) {
	a, err := publicAnswer(tenant, plugin, method, &pluginv1.HandleResponse{Status: status, Headers: headers})
	return a.status, a.header, err
}
