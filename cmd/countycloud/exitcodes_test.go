package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
)

// hangUpAfterReading is a server that reads each request in full, as a
// server killed while handling it has, and closes the connection
// without an answer. It counts the requests it read.
func hangUpAfterReading(t *testing.T) (string, *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var read atomic.Int32
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			if req, err := http.ReadRequest(bufio.NewReader(conn)); err == nil {
				_, _ = io.Copy(io.Discard, req.Body)
				read.Add(1)
			}
			conn.Close()
		}
	}()
	return "http://" + ln.Addr().String(), &read
}

// TestAConnectionLostAfterTheRequestWasSentIsAnUnknownOutcome: a create
// the server read and never answered may have happened, so the CLI says
// so and exits 5 (look before repeating), not 3 (try again).
func TestAConnectionLostAfterTheRequestWasSentIsAnUnknownOutcome(t *testing.T) {
	t.Parallel()
	addr, read := hangUpAfterReading(t)
	env := map[string]string{"COUNTYCLOUD_ADDR": addr, "COUNTYCLOUD_TOKEN": "t0ken"}
	r := cli(t, env, "tenant", "create", "--code", "gd", "--name", "广东省")
	if r.code != exitUnknown || !strings.Contains(r.stderr, "after the request was sent") || !strings.Contains(r.stderr, "look before repeating") || strings.Contains(r.stderr, "cannot reach") {
		t.Errorf("a create the server read and dropped: exit %d, %q", r.code, r.stderr)
	}
	if read.Load() == 0 {
		t.Error("the server read no request")
	}
	r = cli(t, env, "tenant", "create", "--code", "gd", "--name", "广东省", "-o", "json")
	if r.code != exitUnknown || !strings.Contains(r.stderr, `"code": "unknown_outcome"`) {
		t.Errorf("-o json: exit %d, %q", r.code, r.stderr)
	}
}

// TestAServerThatCannotBeReachedIsUnavailable: when nothing was sent,
// trying again is safe: exit 3.
func TestAServerThatCannotBeReachedIsUnavailable(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := "http://" + ln.Addr().String()
	ln.Close()
	r := cli(t, map[string]string{"COUNTYCLOUD_ADDR": addr, "COUNTYCLOUD_TOKEN": "t0ken"}, "tenant", "create", "--code", "gd", "--name", "广东省")
	if r.code != exitUnavailable || !strings.Contains(r.stderr, "cannot reach") || !strings.Contains(r.stderr, "nothing was sent") {
		t.Errorf("a server that is not there: exit %d, %q", r.code, r.stderr)
	}
}

// TestAnUnknownSubcommandIsBadUsage: a typo below a group exits 2 and
// names what was typed and what was meant, instead of printing the
// group's help and exiting 0.
func TestAnUnknownSubcommandIsBadUsage(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		args    []string
		unknown string
		suggest string
	}{
		{[]string{"tenant", "lst"}, `unknown command "lst" for "countycloud tenant"`, "list"},
		{[]string{"org", "units", "lsit"}, `unknown command "lsit" for "countycloud org units"`, "list"},
		{[]string{"notify", "sms-gateway", "sett", "--url", "https://sms.example/send"}, `unknown command "sett" for "countycloud notify sms-gateway"`, "set"},
		{[]string{"lst"}, `unknown command "lst" for "countycloud"`, ""},
	} {
		r := cli(t, map[string]string{}, c.args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, c.unknown) || c.suggest != "" && (!strings.Contains(r.stderr, "Did you mean this?\n") || !strings.Contains(r.stderr, "\t"+c.suggest+"\n")) {
			t.Errorf("%v: exit %d, stderr %q, stdout %q", c.args, r.code, r.stderr, r.stdout)
		}
	}
	if r := cli(t, map[string]string{}, "tenant"); r.code != exitOK || !strings.Contains(r.stdout, "Available Commands") {
		t.Errorf("a group alone shows its help: exit %d, %q", r.code, r.stdout)
	}
}
