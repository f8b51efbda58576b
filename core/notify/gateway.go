package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/countycloud/countycloud/core/egress"
)

// GatewayConfig is a county's SMS gateway (the sms_gateway row).
type GatewayConfig struct {
	URL   string
	Token string
	Sign  string
}

// SMSGateway sends SMS through a county's gateway with the generic JSON
// protocol of docs/notifications.md: providers differ, so a county puts
// a small adapter for its provider behind that protocol.
type SMSGateway struct {
	Config GatewayConfig
	Client *http.Client
}

// gatewayRequest is the body POSTed to the gateway.
type gatewayRequest struct {
	// ID names the notification and is the same on every attempt, so
	// that a gateway can drop the copy an at-least-once resend may make.
	ID   string `json:"id"`
	To   string `json:"to"`
	Text string `json:"text"`
	Sign string `json:"sign,omitempty"`
}

// maxSMSText bounds the text sent: long enough for a subject and a
// short body over a few concatenated messages, short enough to stay an
// SMS.
const maxSMSText = 300

// Send posts one SMS; the reference is the gateway's message_id, if any.
func (g SMSGateway) Send(ctx context.Context, m Outgoing) (string, error) {
	text := m.Subject
	if m.Body != "" {
		text += "：" + m.Body
	}
	id := m.Key
	if id == "" {
		id = fmt.Sprintf("%s/%d", m.Tenant, m.ID)
	}
	body, err := json.Marshal(gatewayRequest{ID: id, To: e164(m.To), Text: clip(text, maxSMSText), Sign: g.Config.Sign})
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.Config.URL, bytes.NewReader(body))
	if err != nil {
		return "", Permanent(fmt.Errorf("SMS gateway URL %q: %w", g.Config.URL, err))
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("User-Agent", "countycloud-notify")
	if g.Config.Token != "" {
		req.Header.Set("Authorization", "Bearer "+g.Config.Token)
	}
	resp, err := g.Client.Do(req)
	if err != nil {
		// The county's admin knows the URL; what went wrong follows it.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "", ChannelDown(fmt.Errorf("SMS gateway: %w", err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return "", ChannelDown(fmt.Errorf("SMS gateway: reading its answer: %w", err))
	}
	return ParseGatewayResponse(resp.StatusCode, data)
}

// e164 writes a mainland mobile number (as the organisation keeps it, 11
// digits) with its country code; anything else goes as it is.
func e164(mobile string) string {
	if len(mobile) == 11 && mobile[0] == '1' && strings.Trim(mobile, "0123456789") == "" {
		return "+86" + mobile
	}
	return mobile
}

// CodeInvalidNumber is the error a gateway answers (with a 4xx) for a
// number no retry will reach: the SMS fails at once.
const CodeInvalidNumber = "invalid_number"

// maxProviderRef is the provider_ref column's size.
const maxProviderRef = 128

// ParseGatewayResponse reads a gateway's answer to one SMS. A 2xx means
// accepted, with the body's message_id (a string or a number), if any,
// as the reference; a body that is not the JSON expected does not undo
// an acceptance. Anything else is an error carrying the gateway's error
// code and message: a 4xx with the code invalid_number is Permanent;
// 401, 403, 429, 5xx (and redirects, which are not followed) are
// ChannelDown; any other 4xx is retried.
func ParseGatewayResponse(status int, body []byte) (ref string, err error) {
	var answer struct {
		MessageID json.RawMessage `json:"message_id"`
		Error     json.RawMessage `json:"error"`
		Message   string          `json:"message"`
	}
	parsed := json.Unmarshal(body, &answer) == nil
	if status >= 200 && status <= 299 {
		if !parsed {
			return "", nil
		}
		var id string
		if json.Unmarshal(answer.MessageID, &id) != nil {
			var n json.Number
			if json.Unmarshal(answer.MessageID, &n) != nil {
				return "", nil
			}
			id = n.String()
		}
		return printable(id, maxProviderRef), nil
	}
	code, message := "", ""
	if parsed {
		code, message = gatewayError(answer.Error, answer.Message)
	}
	what := fmt.Sprintf("SMS gateway answered %d", status)
	if code != "" {
		what += " " + code
	}
	if message != "" {
		what += ": " + message
	}
	err = errors.New(what)
	switch {
	case status >= 400 && status <= 499 && code == CodeInvalidNumber:
		return "", Permanent(err)
	case status == http.StatusUnauthorized, status == http.StatusForbidden, status == http.StatusTooManyRequests,
		status < 400, status > 499:
		return "", ChannelDown(err)
	default:
		return "", err
	}
}

// gatewayError reads an error's code and message, written either
// {"error": "code", "message": "…"} or {"error": {"code": …, "message": …}}
// (the platform's own shape), cleaned for the outbox's last_error.
func gatewayError(raw json.RawMessage, message string) (code, msg string) {
	var nested struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	if json.Unmarshal(raw, &code) != nil && json.Unmarshal(raw, &nested) == nil {
		code = nested.Code
		if message == "" {
			message = nested.Message
		}
	}
	return printable(code, 64), printable(message, 200)
}

// printable keeps what a gateway says fit to store and show: valid
// UTF-8, no control characters, at most max bytes.
func printable(s string, max int) string {
	s = strings.ToValidUTF8(s, "")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	for len(s) > max {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	return s
}

// gatewayClient is the HTTP client for counties' gateways. Their URLs
// are set by county admins, so it keeps to what a gateway needs: it
// connects only where the outbound policy allows (no loopback, private
// or link-local address unless the operator allowed its network), and
// does not follow redirects (the bearer token stays with the configured
// host).
func gatewayClient(outbound egress.Policy) *http.Client {
	transport := outbound.Transport(10 * time.Second)
	transport.ResponseHeaderTimeout = 15 * time.Second
	transport.MaxIdleConnsPerHost = 4
	return &http.Client{
		Transport:     transport,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// ErrNoGateway is Texting's error for a county without an SMS gateway.
var ErrNoGateway = errors.New("the county has no SMS gateway configured")

// Texting returns what sends SMS to mobiles through tenant's gateway at
// once, outside the outbox, for texts that must not be kept, first
// passwords: nothing of them is written, and a failure is the caller's to
// handle (no retry, no inbox). The gateway is read once, here; key names
// each message to the gateway, which may drop a second with the same key.
func (s *Service) Texting(ctx context.Context, tenant string) (func(ctx context.Context, key, mobile, text string) error, error) {
	gw, err := s.gatewayConfig(ctx, tenant)
	if err != nil {
		return nil, err
	}
	if gw == nil {
		return nil, ErrNoGateway
	}
	sender := SMSGateway{Config: *gw, Client: s.opts.Client}
	return func(ctx context.Context, key, mobile, text string) error {
		_, err := sender.Send(ctx, Outgoing{Tenant: tenant, Key: key, To: mobile, Subject: text})
		return err
	}, nil
}
