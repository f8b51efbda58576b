package config

import (
	"net"
	"net/mail"

	"github.com/spf13/pflag"
)

// SMTP is the mail server notifications go out through; without Addr,
// e-mail notifications fail at once, saying so, and wait in each
// county's outbox for an admin to retry them.
type SMTP struct {
	Addr     string
	From     string
	Username string
	Password string
}

// RegisterFlags declares the SMTP flags on fs.
func (c *SMTP) RegisterFlags(fs *pflag.FlagSet) {
	fs.StringVar(&c.Addr, "smtp-addr", "", "mail server for e-mail notifications, host:port (587 or 25; STARTTLS is used whenever the server offers it); none: e-mail is not sent")
	fs.StringVar(&c.From, "smtp-from", "", "sender of e-mail notifications, an address with an optional name: '翁源县政务云 <noreply@wengyuan.gov.cn>'")
	fs.StringVar(&c.Username, "smtp-username", "", "login at the mail server (AUTH PLAIN, sent only over TLS); none: no login")
	fs.StringVar(&c.Password, "smtp-password", "", "password at the mail server; prefer the environment variable, which ps does not show")
}

func (c *SMTP) validate(p *problems) {
	if c.Addr == "" {
		for _, f := range [][2]string{{"smtp-from", c.From}, {"smtp-username", c.Username}, {"smtp-password", c.Password}} {
			if f[1] != "" {
				p.add(f[0], "only applies with --smtp-addr; give the mail server or remove it")
			}
		}
		return
	}
	if host, port, err := net.SplitHostPort(c.Addr); err != nil || host == "" || port == "" {
		p.add("smtp-addr", "%q is not host:port, such as smtp.example.gov.cn:587", c.Addr)
	}
	if c.From == "" {
		p.add("smtp-from", "is required with --smtp-addr: the address e-mail notifications come from")
	} else if _, err := mail.ParseAddress(c.From); err != nil {
		p.add("smtp-from", "%q is not an e-mail address (%v)", c.From, err)
	}
	if c.Password != "" && c.Username == "" {
		p.add("smtp-password", "needs --smtp-username")
	}
}
