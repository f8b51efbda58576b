package notify

import (
	"context"
	"errors"
)

// Outgoing is one e-mail or SMS handed to a channel.
type Outgoing struct {
	// Tenant and ID name the notification; together they are the
	// message's identity downstream (the e-mail's Message-ID, the SMS
	// gateway's "id"), so that a receiver can drop the duplicate an
	// at-least-once resend may cause.
	Tenant string
	ID     int64
	// Key, when set, is the identity instead of Tenant and ID: a message
	// sent straight to the channel, never kept in the outbox.
	Key     string
	To      string
	Subject string
	Body    string
}

// Sender delivers messages over one channel: the SMTP Mailer, a county's
// SMS gateway. Send returns the provider's reference for the message, if
// it gives one. An error is retried later unless it is Permanent; a
// ChannelDown error also tells the drain to stop using the channel for
// now.
type Sender interface {
	Send(ctx context.Context, m Outgoing) (ref string, err error)
}

// permanentError is a failure no retry can fix (a number the gateway
// calls invalid, a mailbox that does not exist, no channel configured):
// the notification fails at once.
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// Permanent marks err as one that retrying the message cannot fix.
func Permanent(err error) error { return permanentError{err} }

// downError is a failure of the channel rather than of one message (the
// server does not answer, the gateway answers 5xx, the credentials are
// refused): the message is retried later, and the drain defers the
// channel's other messages instead of trying each against a dead server.
type downError struct{ err error }

func (e downError) Error() string { return e.err.Error() }
func (e downError) Unwrap() error { return e.err }

// ChannelDown marks err as a failure of the whole channel.
func ChannelDown(err error) error { return downError{err} }

func isPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}

func isDown(err error) bool {
	var d downError
	return errors.As(err, &d)
}
