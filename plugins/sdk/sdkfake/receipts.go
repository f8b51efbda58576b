package sdkfake

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/countycloud/countycloud/plugins/sdk"
)

// china is the zone whose year a receipt's number counts in, and whose
// day a measure counts on.
var china = time.FixedZone("CST", 8*60*60)

// receipt is an issued receipt and its code, as issued.
type receipt struct {
	sdk.ReceiptRecord
	code string
}

// IssueReceipt gives record id of collection its receipt, as
// sdk.Host.IssueReceipt: the year's next number and a secret code.
func (h *Host) IssueReceipt(_ context.Context, collection, id string) (sdk.Receipt, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.failing(Call{Method: "IssueReceipt", Collection: collection, ID: id}); err != nil {
		return sdk.Receipt{}, err
	}
	if err := checkKey(collection, id); err != nil {
		return sdk.Receipt{}, err
	}
	if _, ok := h.records[collection][id]; !ok {
		return sdk.Receipt{}, fmt.Errorf("%w: no record %s/%s to give a receipt", sdk.ErrNotFound, collection, id)
	}
	if err := h.receiptless(collection, id); err != nil {
		return sdk.Receipt{}, err
	}
	return h.issue(collection, id, h.nextReceipt()), nil
}

// receiptless refuses a record that has its receipt, under h.mu.
func (h *Host) receiptless(collection, id string) error {
	for _, r := range h.receipts {
		if r.Collection == collection && r.RecordID == id {
			return fmt.Errorf("%w: record %s/%s has its receipt already", sdk.ErrConflict, collection, id)
		}
	}
	return nil
}

// nextReceipt is the receipt the next one issued now would be, its
// number not yet taken, under h.mu.
func (h *Host) nextReceipt() sdk.Receipt {
	now := h.now().UTC().Truncate(time.Microsecond)
	year := now.In(china).Year()
	var secret [10]byte
	// crypto/rand.Read never fails (it panics where it cannot read).
	_, _ = rand.Read(secret[:])
	code := groups(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(secret[:]))
	return sdk.Receipt{Number: fmt.Sprintf("%04d-%06d", year, h.years[year]+1), Code: code, IssuedAt: now}
}

// issue keeps r, from nextReceipt, as the receipt of record id of
// collection, taking its number, under h.mu.
func (h *Host) issue(collection, id string, r sdk.Receipt) sdk.Receipt {
	h.years[r.IssuedAt.In(china).Year()]++
	h.receipts[r.Number] = receipt{ReceiptRecord: sdk.ReceiptRecord{Number: r.Number, Collection: collection, RecordID: id, IssuedAt: r.IssuedAt}, code: normalCode(r.Code)}
	return r
}

// LookupReceipt finds the record of the receipt with number and code,
// as sdk.Host.LookupReceipt.
func (h *Host) LookupReceipt(_ context.Context, number, code string) (sdk.ReceiptRecord, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.failing(Call{Method: "LookupReceipt", ID: number}); err != nil {
		return sdk.ReceiptRecord{}, err
	}
	r, ok := h.receipts[number]
	if !ok || r.code != normalCode(code) {
		return sdk.ReceiptRecord{}, fmt.Errorf("%w: no receipt has this number and code", sdk.ErrNotFound)
	}
	return r.ReceiptRecord, nil
}

// Receipts are the receipts issued, by IssueReceipt or Submit, sorted
// by number, without their codes (the host keeps only a code's hash).
func (h *Host) Receipts() []sdk.ReceiptRecord {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]sdk.ReceiptRecord, 0, len(h.receipts))
	for _, number := range slices.Sorted(maps.Keys(h.receipts)) {
		out = append(out, h.receipts[number].ReceiptRecord)
	}
	return out
}

// groups writes a code in groups of four, as people copy it.
func groups(code string) string {
	var b strings.Builder
	for i := 0; i < len(code); i += 4 {
		if i > 0 {
			b.WriteByte('-')
		}
		b.WriteString(code[i:min(i+4, len(code))])
	}
	return b.String()
}

// normalCode is a code as the host compares it: without dashes or
// spaces, in capitals.
func normalCode(code string) string {
	return strings.ToUpper(strings.NewReplacer("-", "", " ", "").Replace(code))
}
