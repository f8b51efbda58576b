package notifytest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"testing"
)

// SMS is a message the gateway accepted.
type SMS struct {
	ID   string `json:"id"`
	To   string `json:"to"`
	Text string `json:"text"`
	Sign string `json:"sign"`
	// Authorization is the header the request came with.
	Authorization string `json:"-"`
	// MessageID is the reference the gateway answered with.
	MessageID string `json:"-"`
}

// Gateway is an SMS gateway on a loopback port speaking the platform's
// JSON protocol (docs/notifications.md): it answers 200 with a
// message_id, 401 to a wrong token, 400 invalid_number for numbers
// marked invalid, and whatever Fail says while failing.
type Gateway struct {
	URL string

	token string

	mu       sync.Mutex
	accepted []SMS
	requests int
	status   int
	drop     bool
	invalid  map[string]bool
}

// Loopback is the network the test servers listen on, which a test
// allows explicitly (as an operator would with --outbound-allow): by
// default no county's gateway may be there.
func Loopback() []netip.Prefix {
	return []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
}

// NewGateway starts a gateway expecting token (none if "") that stops
// when t ends.
func NewGateway(t testing.TB, token string) *Gateway {
	t.Helper()
	g := &Gateway{token: token, invalid: map[string]bool{}}
	srv := httptest.NewServer(http.HandlerFunc(g.serve))
	t.Cleanup(srv.Close)
	g.URL = srv.URL + "/sms/send"
	return g
}

// Fail makes the gateway answer every request with status (0: serve
// normally again).
func (g *Gateway) Fail(status int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.status = status
}

// Drop makes the gateway close every connection without an answer, as a
// gateway that is down does (false: serve again).
func (g *Gateway) Drop(drop bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.drop = drop
}

// Invalid makes the gateway refuse number (as sent, +86…) as invalid.
func (g *Gateway) Invalid(number string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.invalid[number] = true
}

// Accepted returns the messages accepted so far.
func (g *Gateway) Accepted() []SMS {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]SMS(nil), g.accepted...)
}

// Requests is how many requests reached the gateway, answered or not.
func (g *Gateway) Requests() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.requests
}

func (g *Gateway) serve(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.requests++
	answer := func(status int, body any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(body)
	}
	switch {
	case g.drop:
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			conn.Close()
		}
		return
	case g.status != 0:
		answer(g.status, map[string]string{"error": "unavailable", "message": "the provider is down"})
		return
	case r.Method != http.MethodPost:
		answer(http.StatusMethodNotAllowed, map[string]string{"error": "method"})
		return
	case g.token != "" && r.Header.Get("Authorization") != "Bearer "+g.token:
		answer(http.StatusUnauthorized, map[string]string{"error": "unauthorized", "message": "wrong token"})
		return
	}
	var sms SMS
	if err := json.NewDecoder(r.Body).Decode(&sms); err != nil || sms.To == "" || sms.Text == "" {
		answer(http.StatusBadRequest, map[string]string{"error": "bad_request", "message": fmt.Sprint("to and text are required: ", err)})
		return
	}
	if g.invalid[sms.To] {
		answer(http.StatusBadRequest, map[string]any{"error": map[string]string{"code": "invalid_number", "message": "no such subscriber"}})
		return
	}
	sms.Authorization = r.Header.Get("Authorization")
	sms.MessageID = fmt.Sprintf("gw-%d", len(g.accepted)+1)
	g.accepted = append(g.accepted, sms)
	answer(http.StatusOK, map[string]string{"message_id": sms.MessageID})
}
