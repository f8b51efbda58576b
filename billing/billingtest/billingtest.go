// Package billingtest finds the stripe-mock the billing tests talk to,
// or starts one of a test's own that it can stop and start again.
package billingtest

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// EnvStripe names where the tests find stripe-mock (Stripe's API mock,
// v0.185.0), which scripts/ensure-stripe-mock.sh starts.
const EnvStripe = "COUNTYCLOUD_TEST_STRIPE"

// DefaultStripe is where scripts/ensure-stripe-mock.sh starts it.
const DefaultStripe = "http://127.0.0.1:12111"

// StripeMock returns stripe-mock's address, failing the test when nothing
// answers there: billing is not tested against nothing.
func StripeMock(t testing.TB) string {
	t.Helper()
	addr := os.Getenv(EnvStripe)
	if addr == "" {
		addr = DefaultStripe
	}
	if !Answers(addr) {
		t.Fatalf("stripe-mock does not answer at %s: run scripts/ensure-stripe-mock.sh (make deps starts it) or set %s", addr, EnvStripe)
	}
	return addr
}

// Answers says whether an HTTP server answers at addr.
func Answers(addr string) bool {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(addr + "/v1/customers")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return true
}

// Mock is a stripe-mock of the test's own on a free port, which the test
// may stop (a Stripe outage) and start again.
type Mock struct {
	bin, addr string
	cmd       *exec.Cmd
}

// StartMock starts a stripe-mock of the test's own, stopped when the test
// ends; it fails the test when the binary is missing.
func StartMock(t testing.TB) *Mock {
	t.Helper()
	out, err := exec.Command("go", "env", "GOPATH").Output()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(strings.TrimSpace(string(out)), "bin", "stripe-mock")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("stripe-mock is not installed at %s: run scripts/ensure-stripe-mock.sh", bin)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	m := &Mock{bin: bin, addr: addr}
	m.Start(t)
	t.Cleanup(m.Stop)
	return m
}

// URL is where the mock answers while it runs.
func (m *Mock) URL() string { return "http://" + m.addr }

// Start starts the mock again on its address and waits until it answers.
func (m *Mock) Start(t testing.TB) {
	t.Helper()
	m.cmd = exec.Command(m.bin, "-http-addr", m.addr, "-https-addr", "127.0.0.1:")
	if err := m.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for range 100 {
		if Answers(m.URL()) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("stripe-mock did not start on %s", m.addr)
}

// Stop stops the mock: every call to it fails until Start.
func (m *Mock) Stop() {
	if m.cmd != nil && m.cmd.Process != nil {
		_ = m.cmd.Process.Kill()
		_ = m.cmd.Wait()
		m.cmd = nil
	}
}

// WaitFor waits up to 30 s for ok, failing the test after.
func WaitFor(t testing.TB, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 30 s for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
