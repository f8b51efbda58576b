// Package notifytest has real servers for testing notification delivery:
// an SMTP server on a TCP port and an SMS gateway speaking the platform's
// JSON protocol, each of which can be taken down and brought back.
package notifytest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"io"
	"math/big"
	"mime"
	"net"
	"net/mail"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"
)

// Mail is a message the SMTP server accepted.
type Mail struct {
	From string
	To   []string
	Data []byte
	// TLS says whether the conversation was upgraded with STARTTLS.
	TLS bool
	// User is who logged in with AUTH PLAIN, if anyone did.
	User string
}

// Header returns the message's parsed header.
func (m Mail) Header() (mail.Header, error) {
	msg, err := mail.ReadMessage(strings.NewReader(string(m.Data)))
	if err != nil {
		return nil, err
	}
	return msg.Header, nil
}

// Subject is the message's Subject, decoded.
func (m Mail) Subject() (string, error) {
	h, err := m.Header()
	if err != nil {
		return "", err
	}
	return new(mime.WordDecoder).DecodeHeader(h.Get("Subject"))
}

// Body is the message's body, decoded from base64 if it is.
func (m Mail) Body() (string, error) {
	msg, err := mail.ReadMessage(strings.NewReader(string(m.Data)))
	if err != nil {
		return "", err
	}
	b, err := io.ReadAll(msg.Body)
	if err != nil {
		return "", err
	}
	if msg.Header.Get("Content-Transfer-Encoding") == "base64" {
		b, err = base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(b)), ""))
	}
	return string(b), err
}

// SMTPServer is a small SMTP server (RFC 5321) on a loopback TCP port: it
// speaks EHLO, STARTTLS (if TLS), AUTH PLAIN (if Users), MAIL, RCPT,
// DATA, RSET, NOOP and QUIT, and keeps what it accepts.
type SMTPServer struct {
	Addr string
	// CertPool trusts the server's certificate, for a client's RootCAs.
	CertPool *x509.CertPool

	ln    net.Listener
	tls   *tls.Config
	users map[string]string

	mu       sync.Mutex
	mails    []Mail
	rejected map[string]string
	down     bool
	conns    map[net.Conn]bool
	wg       sync.WaitGroup
}

// SMTPOptions choose what the server offers.
type SMTPOptions struct {
	// STARTTLS offers TLS with a certificate of its own for 127.0.0.1.
	STARTTLS bool
	// Users, if any, must log in with AUTH PLAIN (login → password).
	Users map[string]string
}

// NewSMTPServer starts a server that stops when t ends.
func NewSMTPServer(t testing.TB, opts SMTPOptions) *SMTPServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &SMTPServer{Addr: ln.Addr().String(), ln: ln, users: opts.Users, rejected: map[string]string{}, conns: map[net.Conn]bool{}}
	if opts.STARTTLS {
		cert, pool, err := selfSigned()
		if err != nil {
			t.Fatal(err)
		}
		s.tls = &tls.Config{Certificates: []tls.Certificate{cert}}
		s.CertPool = pool
	}
	s.wg.Add(1)
	go s.serve()
	t.Cleanup(s.close)
	return s
}

func (s *SMTPServer) close() {
	s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// SetDown makes the server drop every connection at once (down) or
// serve again.
func (s *SMTPServer) SetDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

// Reject makes the server answer RCPT TO:<rcpt> with reply, such as
// "550 5.1.1 no such mailbox".
func (s *SMTPServer) Reject(rcpt, reply string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rejected[rcpt] = reply
}

// Mails returns what the server has accepted.
func (s *SMTPServer) Mails() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.mails...)
}

func (s *SMTPServer) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.down {
			s.mu.Unlock()
			c.Close()
			continue
		}
		s.conns[c] = true
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.session(c)
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
			c.Close()
		}()
	}
}

// session holds one client's conversation.
type session struct {
	conn      net.Conn
	text      *textproto.Conn
	tls, helo bool
	user      string
	from      string
	to        []string
}

func (s *SMTPServer) session(c net.Conn) {
	_ = c.SetDeadline(time.Now().Add(time.Minute))
	ss := &session{conn: c, text: textproto.NewConn(c)}
	reply := func(format string, args ...any) bool { return ss.text.PrintfLine(format, args...) == nil }
	if !reply("220 notifytest ESMTP") {
		return
	}
	for {
		line, err := ss.text.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO", "HELO":
			ss.helo, ss.from, ss.to = true, "", nil
			lines := []string{"notifytest", "8BITMIME"}
			if s.tls != nil && !ss.tls {
				lines = append(lines, "STARTTLS")
			}
			if len(s.users) > 0 {
				lines = append(lines, "AUTH PLAIN")
			}
			for i, l := range lines {
				sep := "-"
				if i == len(lines)-1 {
					sep = " "
				}
				if !reply("250%s%s", sep, l) {
					return
				}
			}
		case "STARTTLS":
			if s.tls == nil || ss.tls {
				reply("502 5.5.1 not offered")
				continue
			}
			if !reply("220 2.0.0 ready") {
				return
			}
			tc := tls.Server(ss.conn, s.tls)
			if err := tc.Handshake(); err != nil {
				return
			}
			ss.conn, ss.text, ss.tls, ss.helo = tc, textproto.NewConn(tc), true, false
		case "AUTH":
			mech, initial, _ := strings.Cut(arg, " ")
			if !strings.EqualFold(mech, "PLAIN") || len(s.users) == 0 {
				reply("504 5.5.4 unrecognized mechanism")
				continue
			}
			creds, err := base64.StdEncoding.DecodeString(initial)
			parts := strings.Split(string(creds), "\x00")
			if err != nil || len(parts) != 3 || s.users[parts[1]] == "" || s.users[parts[1]] != parts[2] {
				reply("535 5.7.8 authentication failed")
				continue
			}
			ss.user = parts[1]
			reply("235 2.7.0 authenticated")
		case "MAIL":
			switch {
			case !ss.helo:
				reply("503 5.5.1 EHLO first")
			case len(s.users) > 0 && ss.user == "":
				reply("530 5.7.0 authentication required")
			default:
				ss.from, ss.to = address(arg), nil
				reply("250 2.1.0 ok")
			}
		case "RCPT":
			rcpt := address(arg)
			s.mu.Lock()
			refusal := s.rejected[rcpt]
			s.mu.Unlock()
			switch {
			case ss.from == "":
				reply("503 5.5.1 MAIL first")
			case refusal != "":
				reply("%s", refusal)
			default:
				ss.to = append(ss.to, rcpt)
				reply("250 2.1.5 ok")
			}
		case "DATA":
			if len(ss.to) == 0 {
				reply("503 5.5.1 RCPT first")
				continue
			}
			if !reply("354 end with .") {
				return
			}
			data, err := ss.text.ReadDotBytes()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.mails = append(s.mails, Mail{From: ss.from, To: ss.to, Data: data, TLS: ss.tls, User: ss.user})
			s.mu.Unlock()
			ss.from, ss.to = "", nil
			reply("250 2.0.0 queued")
		case "RSET":
			ss.from, ss.to = "", nil
			reply("250 2.0.0 ok")
		case "NOOP":
			reply("250 2.0.0 ok")
		case "QUIT":
			reply("221 2.0.0 bye")
			return
		default:
			reply("502 5.5.2 command not recognized")
		}
	}
}

// address is the address in "FROM:<a@b> SIZE=…" or "TO:<a@b>".
func address(arg string) string {
	_, rest, _ := strings.Cut(arg, ":")
	rest, _, _ = strings.Cut(strings.TrimSpace(rest), " ")
	return strings.Trim(rest, "<>")
}

// selfSigned makes a certificate for 127.0.0.1 and a pool trusting it.
func selfSigned() (tls.Certificate, *x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "notifytest"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool, nil
}
