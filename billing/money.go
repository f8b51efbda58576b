package billing

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/countycloud/countycloud/core/errs"
)

// Fen is an amount of CNY in fen (分, a hundredth of a yuan), the unit
// Stripe counts CNY in. It is written and read as yuan ("1200.50").
type Fen int64

// MaxFen bounds an amount: ten million yuan a month is beyond any
// county's price and far inside Stripe's limits.
const MaxFen Fen = 10_000_000_00

// CodeInvalidAmount is the code of an amount that is not a yuan amount.
const CodeInvalidAmount = "invalid_amount"

// ParseYuan reads a yuan amount: digits with at most two decimals, no sign,
// no exponent, at most MaxFen.
func ParseYuan(s string) (Fen, error) {
	whole, frac, hasFrac := strings.Cut(s, ".")
	if whole == "" || len(whole) > 8 || !digits(whole) || (hasFrac && (len(frac) == 0 || len(frac) > 2 || !digits(frac))) {
		return 0, errs.Invalid(CodeInvalidAmount, "金额 %q 不是以元计的金额（如 1200 或 1200.50）/ %q is not an amount in yuan (1200 or 1200.50)", s, s)
	}
	for len(frac) < 2 {
		frac += "0"
	}
	n, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil || Fen(n) > MaxFen {
		return 0, errs.Invalid(CodeInvalidAmount, "金额 %q 超过上限 %s 元 / %q is over the limit of %s yuan", s, MaxFen, s, MaxFen)
	}
	return Fen(n), nil
}

func digits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// String writes f in yuan with two decimals.
func (f Fen) String() string {
	sign := ""
	if f < 0 {
		sign, f = "-", -f
	}
	return fmt.Sprintf("%s%d.%02d", sign, f/100, f%100)
}

// MarshalJSON writes f as a yuan string, never a float.
func (f Fen) MarshalJSON() ([]byte, error) { return json.Marshal(f.String()) }

// UnmarshalJSON reads a yuan string.
func (f *Fen) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errs.Invalid(CodeInvalidAmount, "金额须写成字符串，如 \"1200.50\" / an amount is a string such as \"1200.50\"")
	}
	v, err := ParseYuan(s)
	if err != nil {
		return err
	}
	*f = v
	return nil
}
