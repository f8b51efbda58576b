package billing

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/countycloud/countycloud/core/errs"
)

// FuzzParseCatalogue: whatever the bytes, a catalogue is either refused
// with an invalid-input error or good for a sync, and reads back the same.
func FuzzParseCatalogue(f *testing.F) {
	f.Add(defaultCatalogue)
	f.Add([]byte(`{"seat_monthly_yuan": "5", "modules": [{"module": "oa", "name": "a", "monthly_yuan": "0.01"}]}`))
	f.Add([]byte(`{"seat_monthly_yuan": "99999999.99", "modules": []}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseCatalogue(bytes.NewReader(b))
		if err != nil {
			if e := errs.As(err); e == nil || e.Kind != errs.KindInvalid {
				t.Fatalf("not an invalid-input error: %v", err)
			}
			return
		}
		if c.check() != nil || c.Seat <= 0 || c.Seat > MaxFen {
			t.Fatalf("accepted a catalogue a sync refuses: %+v", c)
		}
		for _, e := range c.Entries() {
			if e.Monthly <= 0 || e.Monthly > MaxFen || !strings.HasSuffix(e.LookupKey, monthlyKeySuffix) {
				t.Fatalf("entry %+v", e)
			}
		}
	})
}

// FuzzParseYuan: an accepted amount writes back as the same number of fen.
func FuzzParseYuan(f *testing.F) {
	for _, s := range []string{"0", "1200", "1200.5", "1200.50", "0.01", "-1", "1e3", "１２", "99999999.99", "100000000", ".5", "5."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseYuan(s)
		if err != nil {
			if errs.CodeOf(err) != CodeInvalidAmount {
				t.Fatalf("%q: %v", s, err)
			}
			return
		}
		if v < 0 || v > MaxFen {
			t.Fatalf("%q read as %d fen", s, v)
		}
		back, err := ParseYuan(v.String())
		if err != nil || back != v {
			t.Fatalf("%q → %s → %d, %v", s, v, back, err)
		}
	})
}

// FuzzParseObject: whatever an event's object holds, billing reads an
// id and a customer from it or refuses it, and never panics.
func FuzzParseObject(f *testing.F) {
	f.Add([]byte(`{"id": "in_1", "object": "invoice", "customer": "cus_gd", "metadata": {"countycloud_county": "gd.shaoguan.wengyuan"}}`))
	f.Add([]byte(`{"id": "sub_1", "customer": {"id": "cus_gd", "object": "customer"}}`))
	f.Add([]byte(`{"id": "in_2", "customer": null}`))
	f.Add([]byte(`{"id": "in_3", "customer": 12, "metadata": {"countycloud_account": 1}}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := parseObject(b)
		if err == nil && (o.ID == "" || o.Customer == "" || len(o.ID) > maxStripeID || len(o.Customer) > maxStripeID) {
			t.Fatalf("read an object without an id or a customer: %+v", o)
		}
	})
}

// FuzzVerify: whatever body arrives correctly signed, it is refused with
// an invalid-input error or read as an event with an id short enough to
// name its job and a type.
func FuzzVerify(f *testing.F) {
	w := NewWebhooks(nil, WebhookConfig{Secret: "whsec_fuzz"}, nil)
	f.Add([]byte(`{"id": "evt_1", "object": "event", "type": "invoice.paid", "api_version": "` + stripe.APIVersion + `", "data": {"object": {"id": "in_1"}}}`))
	f.Add([]byte(`{"id": "evt_1", "type": "invoice.paid", "api_version": "2020-08-27"}`))
	f.Add([]byte(`{"id": "", "api_version": "` + stripe.APIVersion + `"}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: b, Secret: "whsec_fuzz"})
		if err := w.authenticate(b, signed.Header); err != nil {
			t.Fatalf("a correctly signed body was refused: %v", err)
		}
		e, err := read(b)
		if err != nil {
			if x := errs.As(err); x == nil || x.Kind != errs.KindInvalid {
				t.Fatalf("not an invalid-input error: %v", err)
			}
			return
		}
		if e.ID == "" || len(e.ID) > maxEventID || e.Type == "" || e.APIVersion != stripe.APIVersion {
			t.Fatalf("accepted %+v", e)
		}
	})
}

// FuzzReadSubscription: whatever a subscription event's object holds,
// billing reads an id, a status and times it can keep, or refuses it,
// and never panics.
func FuzzReadSubscription(f *testing.F) {
	f.Add([]byte(`{"id": "sub_1", "object": "subscription", "customer": "cus_gd", "status": "past_due", "current_period_end": 1797091200, "trial_end": 1797091200, "metadata": {"countycloud_county": "gd.shaoguan.wengyuan"}}`))
	f.Add([]byte(`{"id": "sub_2", "status": "canceled", "ended_at": -1}`))
	f.Add([]byte(`{"id": "sub_3", "trial_end": 253402300800}`))
	f.Add([]byte(`"sub_4"`))
	f.Add([]byte(`{"id": "sub_5", "status": "past_due", "latest_invoice": {"id": "in_5", "object": "invoice"}}`))
	f.Add([]byte(`{"status": 3}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := readSubscription(b)
		if err != nil {
			return
		}
		if s.ID == "" || len(s.ID) > maxStripeID || len(s.Status) > maxStripeStatus || s.LatestInvoice != nil && len(s.LatestInvoice.ID) > maxStripeID {
			t.Fatalf("read a subscription it cannot keep: %+v", s)
		}
		for _, at := range []int64{s.CurrentPeriodEnd, s.TrialEnd, s.EndedAt} {
			if at < 0 || at > lastStripeTime {
				t.Fatalf("read a time it cannot keep: %d", at)
			}
		}
	})
}
