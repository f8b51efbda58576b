package notify_test

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/countycloud/countycloud/core/egress"
	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/notify"
)

// TestACountyCannotPointItsGatewayIntoThePlatformsNetwork: with the
// default policy, a gateway URL naming a loopback, private, link-local
// or unspecified address is refused when it is set, and a name that
// resolves to loopback is refused when it is dialled, so the internal
// service behind it never sees a request.
func TestACountyCannotPointItsGatewayIntoThePlatformsNetwork(t *testing.T) {
	t.Parallel()
	w := setup(t, func(o *notify.Options) { o.Outbound = egress.NewPolicy() })
	ctx := context.Background()
	for _, url := range []string{
		w.gateway.URL, "http://10.0.0.7/send", "http://192.168.1.10:8080/send", "http://[::1]:8080/internal",
		"http://169.254.169.254/latest/meta-data/", "http://[::ffff:127.0.0.1]/internal", "http://0.0.0.0:8080/",
		"http://100.64.1.1/send", "http://[fd00::1]/send", "http://[fe80::1]/send",
	} {
		_, err := w.svc.SetGateway(ctx, wengyuan, notify.GatewayInput{URL: url})
		wantCode(t, url, err, notify.CodeInvalidGateway)
		if err != nil && !strings.Contains(errs.As(err).Message, egress.AllowFlag) {
			t.Errorf("%s: %q does not say how an operator allows it", url, errs.As(err).Message)
		}
	}
	if v, _ := w.svc.Gateway(ctx, wengyuan); v.Configured {
		t.Fatalf("a refused URL was kept: %+v", v)
	}

	_, port, _ := net.SplitHostPort(strings.TrimPrefix(strings.TrimSuffix(w.gateway.URL, "/sms/send"), "http://"))
	byName := "http://localhost:" + port + "/sms/send"
	if _, err := w.svc.SetGateway(ctx, wengyuan, notify.GatewayInput{URL: byName, Token: ptr(gatewayToken)}); err != nil {
		t.Fatalf("a URL with a name is checked when dialled, not when set: %v", err)
	}
	zhang := w.account(t, wengyuan, 1, "zhangsan", "13800138000", "", "active")
	w.write(t, wengyuan, notify.Message{Account: zhang, Kind: notify.KindTest, Subject: "测试", SMS: true})
	if r := w.drain(t, wengyuan); r.Sent != 0 {
		t.Errorf("drain: %+v; nothing may be sent", r)
	}
	if n := w.gateway.Requests(); n != 0 {
		t.Errorf("the service on loopback got %d requests", n)
	}
	for _, r := range w.rows(t, wengyuan) {
		if r.Channel == notify.ChannelSMS && (r.Status != notify.StatusPending || r.LastError == nil || !strings.Contains(*r.LastError, "loopback")) {
			t.Errorf("SMS row: %+v (last_error %v)", r, deref(r.LastError))
		}
	}
}

// TestAnOperatorAllowsTheNetworkOfAnInternalGateway: the same name is
// reached once the operator allows loopback.
func TestAnOperatorAllowsTheNetworkOfAnInternalGateway(t *testing.T) {
	t.Parallel()
	w := setup(t) // setup allows loopback, as --outbound-allow 127.0.0.0/8 does
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(strings.TrimSuffix(w.gateway.URL, "/sms/send"), "http://"))
	if _, err := w.svc.SetGateway(context.Background(), wengyuan, notify.GatewayInput{URL: "http://localhost:" + port + "/sms/send", Token: ptr(gatewayToken)}); err != nil {
		t.Fatal(err)
	}
	zhang := w.account(t, wengyuan, 1, "zhangsan", "13800138000", "", "active")
	w.write(t, wengyuan, notify.Message{Account: zhang, Kind: notify.KindTest, Subject: "测试", SMS: true})
	if r := w.drain(t, wengyuan); r.Sent != 1 || len(w.gateway.Accepted()) != 1 {
		t.Errorf("drain: %+v, %d accepted", r, len(w.gateway.Accepted()))
	}
}

// TestLastErrorKeepsOnlyAShortCleanExcerptOfAReply points a gateway at
// a server that is not one and answers a long line: the outbox shows
// at most 200 characters of it, none of them control characters.
func TestLastErrorKeepsOnlyAShortCleanExcerptOfAReply(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	secret := "SSH-2.0-internal" + strings.Repeat("-secret\x1b[31m", 300)
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			_, _ = http.ReadRequest(bufio.NewReader(conn))
			_, _ = conn.Write([]byte(secret + "\r\n\r\n"))
			conn.Close()
		}
	}()
	w := setup(t)
	if _, err := w.svc.SetGateway(context.Background(), wengyuan, notify.GatewayInput{URL: "http://" + ln.Addr().String() + "/send"}); err != nil {
		t.Fatal(err)
	}
	zhang := w.account(t, wengyuan, 1, "zhangsan", "13800138000", "", "active")
	w.write(t, wengyuan, notify.Message{Account: zhang, Kind: notify.KindTest, Subject: "测试", SMS: true})
	w.drain(t, wengyuan)
	for _, r := range w.rows(t, wengyuan) {
		if r.Channel != notify.ChannelSMS {
			continue
		}
		if r.LastError == nil {
			t.Fatalf("SMS row without last_error: %+v", r)
		}
		last := *r.LastError
		if n := utf8.RuneCountInString(last); n > 200 || strings.IndexFunc(last, unicode.IsControl) >= 0 {
			t.Errorf("last_error holds %d characters: %q", n, last)
		}
	}
}
