package sdktest

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// Client calls the host as one account, or as the operator. It is safe
// for concurrent use.
type Client struct {
	host *Host
	// login is empty for the operator, whose token does not expire.
	login string

	mu       sync.Mutex
	password string
	token    string
	expires  time.Time
}

// Response is the host's answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
	// Code is the code of an error answer, {"error": {"code": …}}, as the
	// platform and well-behaved modules send them; "" otherwise.
	Code string
}

// String is the status and body, for a test's failure message.
func (r Response) String() string {
	return fmt.Sprintf("%d %s", r.Status, bytes.TrimSpace(r.Body))
}

// Decode decodes the body as JSON into v, failing t if it cannot.
func (r Response) Decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("sdktest: decode %v: %v", r, err)
	}
}

// Call sends a request to the module's route path (such as
// "/suggestions?status=open"), which the host serves at
// /v1/tenants/{county}/modules/{module}/… . A []byte body is sent as
// it is, any other non-nil body encoded, both as application/json (the
// platform takes JSON bodies only). A failure to reach the host
// fails t; any answer, whatever its status, is returned.
func (c *Client) Call(t testing.TB, method, path string, body any) Response {
	t.Helper()
	return c.API(t, method, "/v1/tenants/"+c.host.County+"/modules/"+c.host.Module+path, body)
}

// API is Call for any route of the platform's API, path from /v1/….
func (c *Client) API(t testing.TB, method, path string, body any) Response {
	t.Helper()
	r, err := c.do(method, path, body)
	if err != nil {
		t.Fatalf("sdktest: %s %s: %v", method, path, err)
	}
	return r
}

// Public sends a request without a token to the module's public route
// path (such as "/public/suggestions"), which the host serves at
// /v1/public/{county}/modules/{module}/… to anyone, as a citizen would;
// the body is sent as Call sends it. Each address may make few of these
// a second: start the host with ServerFlags {"--public-rate", "100"} to
// call them in quick succession.
func (h *Host) Public(t testing.TB, method, path string, body any) Response {
	t.Helper()
	req, err := newRequest(method, h.URL+"/v1/public/"+h.County+"/modules/"+h.Module+path, body)
	if err == nil {
		var r Response
		if r, err = h.send(req); err == nil {
			return r
		}
	}
	t.Fatalf("sdktest: public %s %s: %v", method, path, err)
	return Response{}
}

// newRequest is a request of method to url with body, encoded as Call
// says.
func newRequest(method, url string, body any) (*http.Request, error) {
	var payload io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		payload = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			return nil, fmt.Errorf("encode the body: %w", err)
		}
		payload = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, url, payload)
	if err != nil {
		return nil, fmt.Errorf("request: %w", err)
	}
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

func (c *Client) do(method, path string, body any) (Response, error) {
	req, err := newRequest(method, c.host.URL+path, body)
	if err != nil {
		return Response{}, err
	}
	token, err := c.session()
	if err != nil {
		return Response{}, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	return c.host.send(req)
}

// expect sends the request as do does and decodes the answer into out
// (unless nil), if it has status want.
func (c *Client) expect(method, path string, body any, want int, out any) error {
	r, err := c.do(method, path, body)
	if err != nil {
		return err
	}
	if r.Status != want {
		return fmt.Errorf("%s %s: %v", method, path, r)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(r.Body, out); err != nil {
		return fmt.Errorf("%s %s: decode %v: %w", method, path, r, err)
	}
	return nil
}

// send sends req without a token and reads the whole answer.
func (h *Host) send(req *http.Request) (Response, error) {
	resp, err := h.http.Do(req)
	if err != nil {
		return Response{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return Response{}, fmt.Errorf("read the answer to %s %s: %w", req.Method, req.URL.Path, err)
	}
	r := Response{Status: resp.StatusCode, Header: resp.Header, Body: data}
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if resp.StatusCode >= 400 && json.Unmarshal(data, &e) == nil {
		r.Code = e.Error.Code
	}
	return r, nil
}

// renewBefore is how long before its access token expires a client logs
// in again, so that a token never expires under a request.
const renewBefore = 30 * time.Second

// session is the client's access token, logging the account in again
// when it is about to expire (account tokens last minutes).
func (c *Client) session() (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.login == "" || time.Until(c.expires) > renewBefore {
		return c.token, nil
	}
	tokens, err := c.host.login(c.login, c.password)
	if err != nil {
		return "", err
	}
	c.token, c.expires = tokens.AccessToken, tokens.expiry()
	return c.token, nil
}

// firstLogin logs the account in with the password the county issued and
// replaces it, as the platform asks before anything else.
func (c *Client) firstLogin(issued string) error {
	first, err := c.host.login(c.login, issued)
	if err != nil {
		return err
	}
	password := newPassword(c.login)
	change := map[string]string{"current_password": issued, "new_password": password}
	data, err := json.Marshal(change)
	if err != nil {
		return fmt.Errorf("encode the password change: %w", err)
	}
	req, err := http.NewRequest(http.MethodPost, c.host.URL+"/v1/auth/password", bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+first.AccessToken)
	r, err := c.host.send(req)
	if err != nil {
		return fmt.Errorf("change the password of %s: %w", c.login, err)
	}
	tokens, err := decodeTokens(r)
	if err != nil {
		return fmt.Errorf("change the password of %s: %w", c.login, err)
	}
	c.password, c.token, c.expires = password, tokens.AccessToken, tokens.expiry()
	return nil
}

// login logs an account of the county in.
func (h *Host) login(login, password string) (tokens, error) {
	data, err := json.Marshal(map[string]string{"login": login, "password": password})
	if err != nil {
		return tokens{}, fmt.Errorf("encode the login: %w", err)
	}
	req, err := http.NewRequest(http.MethodPost, h.URL+"/v1/tenants/"+h.County+"/auth/login", bytes.NewReader(data))
	if err != nil {
		return tokens{}, fmt.Errorf("request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	r, err := h.send(req)
	if err != nil {
		return tokens{}, fmt.Errorf("log %s in: %w", login, err)
	}
	tok, err := decodeTokens(r)
	if err != nil {
		return tokens{}, fmt.Errorf("log %s in: %w", login, err)
	}
	return tok, nil
}

// tokens are what a login answers.
type tokens struct {
	AccessToken string `json:"access_token"`
	ExpiresIn   int    `json:"expires_in"`
}

func (t tokens) expiry() time.Time {
	return time.Now().Add(time.Duration(t.ExpiresIn) * time.Second)
}

func decodeTokens(r Response) (tokens, error) {
	if r.Status != http.StatusOK {
		return tokens{}, fmt.Errorf("%v", r)
	}
	var t tokens
	if err := json.Unmarshal(r.Body, &t); err != nil || t.AccessToken == "" {
		return tokens{}, fmt.Errorf("no access token in %v", r)
	}
	return t, nil
}

// newPassword is a random password the platform's policy accepts: lower
// and upper case and another character, without the login in it.
func newPassword(login string) string {
	for {
		p := "pw#" + rand.Text()
		if !strings.Contains(strings.ToLower(p), strings.ToLower(login)) {
			return p
		}
	}
}
