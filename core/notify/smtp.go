package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"os"
	"strings"
	"time"
)

// SMTPConfig is how the platform reaches its mail server.
type SMTPConfig struct {
	// Addr is the server's host:port (587 or 25; the conversation is
	// upgraded with STARTTLS whenever the server offers it).
	Addr string
	// From is the sender, an address with an optional name:
	// 翁源县政务云 <noreply@wengyuan.gov.cn>.
	From string
	// Username and Password, if set, log in with AUTH PLAIN, which
	// net/smtp only sends over TLS (or to localhost).
	Username, Password string
	// Timeout bounds one message's whole conversation; default 30 s.
	Timeout time.Duration
	// TLS configures STARTTLS; nil verifies the server's certificate
	// against the system's roots for Addr's host.
	TLS *tls.Config
}

// Mailer sends e-mail over SMTP, one connection per message: a drain
// sends few enough that keeping connections open is not worth the state.
type Mailer struct {
	addr, host string
	hello      string
	from       *mail.Address
	auth       smtp.Auth
	timeout    time.Duration
	tls        *tls.Config
}

// NewMailer checks c and returns a Mailer for it.
func NewMailer(c SMTPConfig) (*Mailer, error) {
	host, _, err := net.SplitHostPort(c.Addr)
	if err != nil || host == "" {
		return nil, fmt.Errorf("SMTP server %q is not host:port", c.Addr)
	}
	from, err := mail.ParseAddress(c.From)
	if err != nil {
		return nil, fmt.Errorf("SMTP sender %q is not an e-mail address: %w", c.From, err)
	}
	m := &Mailer{addr: c.Addr, host: host, hello: "localhost", from: from, timeout: c.Timeout, tls: c.TLS}
	// Some servers refuse a HELO of "localhost"; our own name is better.
	if name, err := os.Hostname(); err == nil && name != "" {
		m.hello = name
	}
	if m.timeout <= 0 {
		m.timeout = 30 * time.Second
	}
	if c.Username != "" {
		m.auth = smtp.PlainAuth("", c.Username, c.Password, host)
	}
	return m, nil
}

// Send delivers one e-mail; the reference is its Message-ID.
func (m *Mailer) Send(ctx context.Context, out Outgoing) (string, error) {
	to, err := mail.ParseAddress(out.To)
	if err != nil {
		return "", Permanent(fmt.Errorf("e-mail address %q: %w", out.To, err))
	}
	ctx, cancel := context.WithTimeout(ctx, m.timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", m.addr)
	if err != nil {
		return "", ChannelDown(fmt.Errorf("connect to SMTP server %s: %w", m.addr, err))
	}
	defer conn.Close()
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}
	// A cancelled drain (shutdown) must not wait out a slow server.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	c, err := smtp.NewClient(conn, m.host)
	if err != nil {
		return "", ChannelDown(fmt.Errorf("SMTP server %s: %w", m.addr, err))
	}
	defer c.Close()
	if err := c.Hello(m.hello); err != nil {
		return "", ChannelDown(fmt.Errorf("SMTP server %s refused EHLO: %w", m.addr, err))
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		cfg := &tls.Config{ServerName: m.host, MinVersion: tls.VersionTLS12}
		if m.tls != nil {
			cfg = m.tls.Clone()
			if cfg.ServerName == "" {
				cfg.ServerName = m.host
			}
		}
		if err := c.StartTLS(cfg); err != nil {
			return "", ChannelDown(fmt.Errorf("STARTTLS with SMTP server %s: %w", m.addr, err))
		}
	}
	if m.auth != nil {
		if err := c.Auth(m.auth); err != nil {
			return "", ChannelDown(fmt.Errorf("logging in to SMTP server %s: %w", m.addr, err))
		}
	}
	id := messageID(out, m.from.Address)
	if err := c.Mail(m.from.Address); err != nil {
		// A refused sender is the configuration's fault, not the message's.
		return "", ChannelDown(fmt.Errorf("SMTP server %s refused the sender %s: %w", m.addr, m.from.Address, err))
	}
	if err := c.Rcpt(to.Address); err != nil {
		return "", replyError(fmt.Errorf("SMTP server %s refused the recipient %s: %w", m.addr, to.Address, err))
	}
	w, err := c.Data()
	if err != nil {
		return "", replyError(fmt.Errorf("SMTP server %s refused DATA: %w", m.addr, err))
	}
	if _, err := w.Write(m.message(out, to, id, time.Now())); err != nil {
		return "", ChannelDown(fmt.Errorf("sending to SMTP server %s: %w", m.addr, err))
	}
	if err := w.Close(); err != nil {
		return "", replyError(fmt.Errorf("SMTP server %s refused the message: %w", m.addr, err))
	}
	// The message is accepted; a failed QUIT changes nothing.
	_ = c.Quit()
	return id, nil
}

// replyError classifies a failure after the server accepted the
// session: a 5xx reply refuses this message for good (no such mailbox),
// a 4xx asks to try it again later, and anything else (the connection
// broke) is the server's failure.
func replyError(err error) error {
	var reply *textproto.Error
	switch {
	case errors.As(err, &reply) && reply.Code >= 500:
		return Permanent(err)
	case errors.As(err, &reply) && reply.Code >= 400:
		return err
	default:
		return ChannelDown(err)
	}
}

// messageID names the notification, the same on every attempt, so that
// a mail system can drop the copy an at-least-once resend may make.
func messageID(out Outgoing, from string) string {
	domain := "countycloud"
	if at := strings.LastIndexByte(from, '@'); at >= 0 {
		domain = from[at+1:]
	}
	return fmt.Sprintf("<notify.%d.%s@%s>", out.ID, out.Tenant, domain)
}

// message is the e-mail as sent: headers, with the subject and names
// encoded per RFC 2047 (Chinese text in a header must be), and the body
// as UTF-8 text in base64.
func (m *Mailer) message(out Outgoing, to *mail.Address, id string, now time.Time) []byte {
	var b bytes.Buffer
	subject := strings.Join(strings.Fields(out.Subject), " ")
	if enc := mime.BEncoding.Encode("UTF-8", subject); enc != subject {
		// Fold between encoded words to keep header lines short.
		subject = strings.ReplaceAll(enc, " =?", "\r\n =?")
	}
	for _, h := range [][2]string{
		{"From", m.from.String()},
		{"To", to.String()},
		{"Subject", subject},
		{"Date", now.Format(time.RFC1123Z)},
		{"Message-ID", id},
		{"MIME-Version", "1.0"},
		{"Content-Type", "text/plain; charset=UTF-8"},
		{"Content-Transfer-Encoding", "base64"},
	} {
		b.WriteString(h[0] + ": " + h[1] + "\r\n")
	}
	b.WriteString("\r\n")
	body := strings.ReplaceAll(strings.ReplaceAll(out.Body, "\r\n", "\n"), "\n", "\r\n")
	enc := base64.StdEncoding.EncodeToString([]byte(body))
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n")
	return b.Bytes()
}
