package billing

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/countycloud/countycloud/core/jobs"
	"github.com/countycloud/countycloud/core/kit"
	"github.com/countycloud/countycloud/core/store"
	"github.com/countycloud/countycloud/tenants/registry"
)

// The test binary doubles as a server of the webhook: run with
// envServer set to the control plane's DSN, it serves the real handler
// and says where. In mode "serve" it runs no worker, a replica killed
// after it stored an event and before any worker took it; in mode "hang"
// its worker processes events and hangs when it lifts a hold.
const (
	envServer       = "COUNTYCLOUD_BILLING_TEST_SERVER"
	envServerSchema = "COUNTYCLOUD_BILLING_TEST_SCHEMA"
	envServerMode   = "COUNTYCLOUD_BILLING_TEST_MODE"
)

func TestMain(m *testing.M) {
	if dsn := os.Getenv(envServer); dsn != "" {
		if err := webhookServer(dsn, os.Getenv(envServerSchema), os.Getenv(envServerMode)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// hangingHolder says what it is asked, then never answers.
type hangingHolder struct{}

func (hangingHolder) Hold(_ context.Context, code, _ string) (registry.Tenant, error) {
	fmt.Println("holding " + code)
	select {}
}

func (hangingHolder) Unhold(_ context.Context, code string) (registry.Tenant, error) {
	fmt.Println("unholding " + code)
	select {}
}

func webhookServer(dsn, schema, mode string) error {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return err
	}
	db := store.Open(cfg, 8, quiet)
	q := jobs.NewQueue(db)
	client, err := NewStripe(StripeConfig{Key: "sk_test_countycloud", URL: "http://127.0.0.1:9"})
	if err != nil {
		return err
	}
	oneTrip, _ := store.OpenOneTrip(cfg, 2, quiet)
	w := NewWebhooks(New(db, q, store.NewLocker(db, schema+":"), client, guangdong, time.Now, quiet), WebhookConfig{Secret: testSecret, OneTrip: oneTrip}, hangingHolder{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	if mode == "hang" {
		go jobs.NewWorker(q, w.Jobs(), jobs.Options{Lease: time.Second, Poll: 10 * time.Millisecond}, quiet).Run(context.Background())
	}
	fmt.Println("listening " + ln.Addr().String())
	return http.Serve(ln, kit.Handler(quiet, prometheus.NewRegistry(), w.Routes()...))
}

// startServer starts the test binary as a webhook server in mode and
// returns it with its output and a copy of h delivering to it.
func (h *hooks) startServer(t *testing.T, mode string) (*exec.Cmd, *bufio.Reader, *hooks) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), envServer+"="+h.db.Config.FormatDSN(), envServerSchema+"="+h.db.ControlSchema, envServerMode+"="+mode)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	out := bufio.NewReader(stdout)
	line, err := out.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "listening ") {
		t.Fatalf("the webhook server: %q %v", line, err)
	}
	at := *h
	at.url = "http://" + strings.TrimSpace(strings.TrimPrefix(line, "listening ")) + WebhookPath
	return cmd, out, &at
}

func kill(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
}

// TestAServerKilledBetweenStoringAndProcessingProcessesOnceAfterRestart
// kills a server (SIGKILL) once it stored and answered a failed payment
// and before any worker took it, then one that applied a payment and was
// lifting its county's holds: after the restart each event is applied
// once and the holds are lifted.
func TestAServerKilledBetweenStoringAndProcessingProcessesOnceAfterRestart(t *testing.T) {
	t.Parallel()
	h := newHooks(t)
	server, _, child := h.startServer(t, "serve")
	if r := child.ok(t, invoiceEvent(t, "evt_kill_failed", "invoice.payment_failed", "in_13", "cus_gd", h.clock.Now(), nil)); r.Duplicate {
		t.Fatalf("first delivery: %+v", r)
	}
	kill(t, server)
	if got := h.outcomes(t); !slices.Equal(got, []string{"evt_kill_failed waiting"}) {
		t.Fatalf("after the kill: %v", got)
	}
	// The restarted server processes it, and Stripe's retry of the
	// delivery it never saw answered changes nothing.
	h.process(t)
	if r := h.ok(t, invoiceEvent(t, "evt_kill_failed", "invoice.payment_failed", "in_13", "cus_gd", h.clock.Now(), nil)); !r.Duplicate {
		t.Errorf("Stripe's retry: %+v", r)
	}
	h.process(t)
	h.clock.Add(DefaultGrace)
	h.sweep(t)
	if held := h.holds.heldCounties(); !slices.Equal(held, []string{lechang, wengyuan}) {
		t.Fatalf("held after the grace: %v", held)
	}

	server, out, child := h.startServer(t, "hang")
	child.ok(t, invoiceEvent(t, "evt_kill_paid", "invoice.paid", "in_13", "cus_gd", h.clock.Now(), nil))
	if line, err := out.ReadString('\n'); err != nil || !strings.HasPrefix(line, "unholding ") {
		t.Fatalf("the hanging server: %q %v", line, err)
	}
	kill(t, server)
	h.process(t)
	if held := h.holds.heldCounties(); len(held) != 0 {
		t.Errorf("still held after the restart: %v", held)
	}
	if got := h.outcomes(t); !slices.Equal(got, []string{"evt_kill_failed applied", "evt_kill_paid applied"}) {
		t.Errorf("events: %v", got)
	}
	if n := h.count(t, "SELECT COUNT(*) FROM jobs WHERE kind = ?", JobProcessEvent); n != 2 {
		t.Errorf("%d jobs for two events", n)
	}
	if s := h.standing(t, "gd"); s.Standing != StandingGood || len(s.Held) != 0 {
		t.Errorf("standing: %+v", s)
	}
}
