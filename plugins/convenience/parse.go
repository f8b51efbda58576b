package convenience

import (
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The categories of a message (留言类别).
var categories = []string{"咨询", "投诉", "求助", "建议"}

// The ratings a citizen gives a reply, and the measure each counts in.
var ratings = map[string]string{"满意": measureRatedSatisfied, "基本满意": measureRatedBasically, "不满意": measureRatedUnsatisfied}

// Bounds of what a citizen and a unit write.
const (
	minContentRunes = 5
	maxContentRunes = 2000
	maxNameRunes    = 20
	maxAddressRunes = 100
	minReplyRunes   = 5
	maxReplyRunes   = 4000
	maxReasonRunes  = 500
)

// contact is how the citizen is reached: a name and a phone or an email,
// an address if they give one. None of it is ever published.
type contact struct {
	Name    string `json:"name"`
	Phone   string `json:"phone,omitempty"`
	Email   string `json:"email,omitempty"`
	Address string `json:"address,omitempty"`
}

// messageInput is the body of POST /public/messages.
type messageInput struct {
	Category    string  `json:"category"`
	Content     string  `json:"content"`
	Contact     contact `json:"contact"`
	Publishable bool    `json:"publishable"`
}

// parseMessage reads and checks a citizen's message, every problem at
// once, each naming its field.
func parseMessage(body []byte) (messageInput, error) {
	var in messageInput
	if err := decodeBody(body, &in); err != nil {
		return messageInput{}, err
	}
	in.Content = strings.TrimSpace(in.Content)
	in.Contact = contact{Name: strings.TrimSpace(in.Contact.Name), Phone: strings.TrimSpace(in.Contact.Phone),
		Email: strings.TrimSpace(in.Contact.Email), Address: strings.TrimSpace(in.Contact.Address)}
	var problems []string
	if !slices.Contains(categories, in.Category) {
		problems = append(problems, "category is one of "+strings.Join(categories, ", "))
	}
	if p := checkText("content", in.Content, minContentRunes, maxContentRunes); p != "" {
		problems = append(problems, p)
	}
	if !validName(in.Contact.Name) {
		problems = append(problems, "contact.name is 1 to 20 letters (a person's name: 张三, Li Lei, 阿依·买买提)")
	}
	if in.Contact.Phone == "" && in.Contact.Email == "" {
		problems = append(problems, "give contact.phone or contact.email, so the unit can reach you")
	}
	if in.Contact.Phone != "" && !validPhone(in.Contact.Phone) {
		problems = append(problems, "contact.phone is 7 to 20 digits, with an optional leading + and dashes or spaces between")
	}
	if in.Contact.Email != "" && !validEmail(in.Contact.Email) {
		problems = append(problems, "contact.email is not an email address")
	}
	if in.Contact.Address != "" {
		if p := checkText("contact.address", in.Contact.Address, 1, maxAddressRunes); p != "" {
			problems = append(problems, p)
		}
	}
	if len(problems) > 0 {
		return messageInput{}, badRequest(codeInvalidMessage, "%s", strings.Join(problems, "; "))
	}
	return in, nil
}

// replyInput is the body of POST /messages/{id}/reply.
type replyInput struct {
	Reply string `json:"reply"`
}

// parseReply reads a unit's written reply.
func parseReply(body []byte) (replyInput, error) {
	var in replyInput
	if err := decodeBody(body, &in); err != nil {
		return replyInput{}, err
	}
	in.Reply = strings.TrimSpace(in.Reply)
	if p := checkText("reply", in.Reply, minReplyRunes, maxReplyRunes); p != "" {
		return replyInput{}, badRequest(codeInvalidReply, "%s", p)
	}
	return in, nil
}

// reviewInput is the body of POST /messages/{id}/review.
type reviewInput struct {
	// Decision is accept (办结) or return (退回重办).
	Decision string `json:"decision"`
	// Reason says what to redo; required to return.
	Reason string `json:"reason"`
	// Publish lists the reply on the public pages; only where the
	// citizen allowed it.
	Publish bool `json:"publish"`
}

func parseReview(body []byte) (reviewInput, error) {
	var in reviewInput
	if err := decodeBody(body, &in); err != nil {
		return reviewInput{}, err
	}
	in.Reason = strings.TrimSpace(in.Reason)
	switch {
	case in.Decision != actAccept && in.Decision != actReturn:
		return reviewInput{}, badRequest(codeInvalidReply, "decision is accept or return, not %q", in.Decision)
	case in.Decision == actReturn && in.Publish:
		return reviewInput{}, badRequest(codeInvalidReply, "a reply returned for rework is not published")
	case in.Decision == actReturn:
		if p := checkText("reason", in.Reason, 1, maxReasonRunes); p != "" {
			return reviewInput{}, badRequest(codeInvalidReply, "%s (say what to redo)", p)
		}
	case in.Reason != "":
		if p := checkText("reason", in.Reason, 1, maxReasonRunes); p != "" {
			return reviewInput{}, badRequest(codeInvalidReply, "%s", p)
		}
	}
	return in, nil
}

// checkText says what is wrong with a text of field, or "": its length
// in characters, and no control characters but line breaks and tabs.
func checkText(field, s string, least, most int) string {
	if !utf8.ValidString(s) {
		return field + " is not valid UTF-8"
	}
	if n := utf8.RuneCountInString(s); n < least || n > most {
		return field + " has " + strconv.Itoa(n) + " characters; give " + strconv.Itoa(least) + " to " + strconv.Itoa(most)
	}
	if strings.ContainsFunc(s, func(r rune) bool {
		return unicode.IsControl(r) && r != '\n' && r != '\t' && r != '\r' || bidiControl(r)
	}) {
		return field + " holds control characters"
	}
	return ""
}

// validName accepts a person's name: letters (any script), spaces and the
// middle dots of transcribed names, no digits.
func validName(s string) bool {
	n := utf8.RuneCountInString(s)
	if n < 1 || n > maxNameRunes {
		return false
	}
	for _, r := range s {
		if !unicode.IsLetter(r) && r != ' ' && r != '·' && r != '•' && r != '.' {
			return false
		}
	}
	return strings.ContainsFunc(s, unicode.IsLetter)
}

func validPhone(s string) bool {
	digits := 0
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '+' && i == 0:
		case r == '-' || r == ' ':
		default:
			return false
		}
	}
	return digits >= 7 && digits <= 20 && len(s) <= 24
}

func validEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && a.Name == "" && len(s) <= 254
}

// bidiControl is a character that reorders the text around it: published
// text must read as it was written.
func bidiControl(r rune) bool {
	return r >= '\u202a' && r <= '\u202e' || r >= '\u2066' && r <= '\u2069' || r == '\u200e' || r == '\u200f' || r == '\u061c'
}
