package notify

import (
	"context"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/countycloud/countycloud/core/notify/notifytest"
)

// class names how a failed send is handled.
func class(err error) string {
	switch {
	case err == nil:
		return "accepted"
	case isPermanent(err):
		return "permanent"
	case isDown(err):
		return "down"
	default:
		return "retry"
	}
}

func TestParseGatewayResponse(t *testing.T) {
	long := strings.Repeat("长", 100)
	cases := []struct {
		status   int
		body     string
		ref      string
		class    string
		contains string
	}{
		{200, `{"message_id":"abc-1"}`, "abc-1", "accepted", ""},
		{202, `{"message_id":12345678901234567890}`, "12345678901234567890", "accepted", ""},
		{200, ``, "", "accepted", ""},
		{200, `accepted, thanks`, "", "accepted", ""},
		{204, `{"message_id":null}`, "", "accepted", ""},
		{200, `{"message_id":"` + long + `"}`, strings.Repeat("长", 42), "accepted", ""},
		{200, `{"message_id":"a\u0000b\nc"}`, "abc", "accepted", ""},
		{200, `{"message_id":{"nested":1}}`, "", "accepted", ""},
		{400, `{"error":"invalid_number","message":"空号"}`, "", "permanent", "400 invalid_number: 空号"},
		{422, `{"error":{"code":"invalid_number","message":"no such subscriber"}}`, "", "permanent", "no such subscriber"},
		{400, `{"error":"bad_request","message":"text too long"}`, "", "retry", "text too long"},
		{404, ``, "", "retry", "answered 404"},
		{401, `{"error":"unauthorized"}`, "", "down", "401 unauthorized"},
		{403, ``, "", "down", "403"},
		{429, `{"error":"rate_limited"}`, "", "down", "rate_limited"},
		{503, `<html><body>Service Unavailable</body></html>`, "", "down", "answered 503"},
		{302, ``, "", "down", "302"},
		{500, `{"error":"invalid_number"}`, "", "down", "500"},
		{400, `{"error":"x","message":"` + long + long + long + `"}`, "", "retry", strings.Repeat("长", 66)},
	}
	for _, c := range cases {
		ref, err := ParseGatewayResponse(c.status, []byte(c.body))
		if ref != c.ref || class(err) != c.class || (c.contains != "" && !strings.Contains(err.Error(), c.contains)) {
			t.Errorf("%d %.40s: ref %q, %s (%v); want %q, %s, mentioning %q", c.status, c.body, ref, class(err), err, c.ref, c.class, c.contains)
		}
	}
}

func clean(s string) bool {
	return utf8.ValidString(s) && strings.IndexFunc(s, unicode.IsControl) < 0
}

func FuzzParseGatewayResponse(f *testing.F) {
	for _, seed := range []struct {
		status int
		body   string
	}{
		{200, `{"message_id":"abc"}`}, {201, `{"message_id":42}`}, {400, `{"error":"invalid_number"}`},
		{422, `{"error":{"code":"invalid_number","message":"x"}}`}, {503, "down"}, {0, ""}, {-1, "\xff"},
	} {
		f.Add(seed.status, []byte(seed.body))
	}
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		ref, err := ParseGatewayResponse(status, body)
		accepted := status >= 200 && status <= 299
		if accepted != (err == nil) {
			t.Fatalf("status %d: error %v", status, err)
		}
		if len(ref) > maxProviderRef || !clean(ref) || (ref != "" && !accepted) {
			t.Fatalf("status %d: reference %q", status, ref)
		}
		if err == nil {
			return
		}
		if msg := err.Error(); len(msg) > 400 || !clean(msg) {
			t.Fatalf("status %d: error message %q", status, msg)
		}
		if isPermanent(err) && (isDown(err) || status < 400 || status > 499) {
			t.Fatalf("status %d: permanent %v, down %v", status, isPermanent(err), isDown(err))
		}
	})
}

// TestTheMailerRefusesAnUntrustedCertificate: a server offering
// STARTTLS with a certificate the platform does not trust gets nothing,
// and the channel counts as down (the configuration needs fixing).
func TestTheMailerRefusesAnUntrustedCertificate(t *testing.T) {
	srv := notifytest.NewSMTPServer(t, notifytest.SMTPOptions{STARTTLS: true})
	m, err := NewMailer(SMTPConfig{Addr: srv.Addr, From: "noreply@wengyuan.gov.cn"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.Send(context.Background(), Outgoing{Tenant: "gd.shaoguan.wengyuan", ID: 1, To: "zhang@wengyuan.gov.cn", Subject: "测试"})
	if class(err) != "down" || !strings.Contains(err.Error(), "STARTTLS") || len(srv.Mails()) != 0 {
		t.Errorf("untrusted certificate: %s %v, %d mails", class(err), err, len(srv.Mails()))
	}
	_, err = m.Send(context.Background(), Outgoing{To: "not an address"})
	if class(err) != "permanent" {
		t.Errorf("a bad address: %s %v", class(err), err)
	}
	for _, c := range []SMTPConfig{{Addr: "mail.example", From: "a@b.c"}, {Addr: "mail.example:587", From: "nobody"}} {
		if _, err := NewMailer(c); err == nil {
			t.Errorf("NewMailer(%+v) accepted it", c)
		}
	}
}
