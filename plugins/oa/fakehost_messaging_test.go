package oa

import (
	"context"

	"github.com/countycloud/countycloud/plugins/sdk"
)

// The documents' fake host finds no accounts and hears notices without
// keeping them: the tests of notices and mail use messagingHost
// (fakemessaging_test.go), which keeps them.

func (h *fakeHost) Accounts(context.Context, sdk.AccountQuery) ([]sdk.Account, error) {
	return nil, nil
}
func (h *fakeHost) Notify(context.Context, sdk.Notice) error { return nil }
