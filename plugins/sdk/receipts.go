package sdk

import (
	"context"
	"time"

	"github.com/countycloud/countycloud/plugins/sdk/proto/pluginv1"
)

// Receipt is what a citizen gets for a submission: a number to quote
// (2026-000123: the year and the county's sequence of it) and a secret
// code to follow the case with. Show the code once, in the answer to
// the submission: the host keeps only its hash and cannot show it again.
type Receipt struct {
	Number   string    `json:"number"`
	Code     string    `json:"code"`
	IssuedAt time.Time `json:"issued_at"`
}

// ReceiptRecord is the record a receipt was issued for.
type ReceiptRecord struct {
	Number     string    `json:"number"`
	Collection string    `json:"collection"`
	RecordID   string    `json:"record_id"`
	IssuedAt   time.Time `json:"issued_at"`
}

// IssueReceipt gives record id of collection, which the module keeps in
// this county, its receipt. A record has one: ErrConflict if it has one
// already, ErrNotFound if there is no such record.
func (h *Host) IssueReceipt(ctx context.Context, collection, id string) (Receipt, error) {
	r, err := h.receipts.IssueReceipt(ctx, &pluginv1.IssueReceiptRequest{Capability: h.capability, Collection: collection, RecordId: id})
	if err != nil {
		return Receipt{}, hostError(err)
	}
	return receipt(r), nil
}

func receipt(r *pluginv1.IssuedReceipt) Receipt {
	return Receipt{Number: r.GetNumber(), Code: r.GetCode(), IssuedAt: parseTime(r.GetIssuedAt())}
}

// LookupReceipt finds the record of the receipt with number and code, in
// this county and this module: ErrNotFound if the number is unknown or
// the code is not its code, which are not told apart.
func (h *Host) LookupReceipt(ctx context.Context, number, code string) (ReceiptRecord, error) {
	r, err := h.receipts.LookupReceipt(ctx, &pluginv1.LookupReceiptRequest{Capability: h.capability, Number: number, Code: code})
	if err != nil {
		return ReceiptRecord{}, hostError(err)
	}
	return ReceiptRecord{Number: r.GetNumber(), Collection: r.GetCollection(), RecordID: r.GetRecordId(), IssuedAt: parseTime(r.GetIssuedAt())}, nil
}
