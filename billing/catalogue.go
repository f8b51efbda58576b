package billing

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"

	"github.com/countycloud/countycloud/core/errs"
)

// Catalogue is what the platform charges, as data: each module's monthly
// price per county, and a monthly price per active account (a seat).
// Every price is in CNY.
type Catalogue struct {
	// Seat is the monthly price of one active account.
	Seat Fen `json:"seat_monthly_yuan"`
	// Modules are the modules' monthly prices per county.
	Modules []ModulePrice `json:"modules"`
}

// ModulePrice is one module's monthly price per county.
type ModulePrice struct {
	Module string `json:"module"`
	// Name is the product's name on invoices, zh-CN.
	Name    string `json:"name"`
	Monthly Fen    `json:"monthly_yuan"`
}

// CatalogueEntry is one price of the catalogue as Stripe keeps it.
type CatalogueEntry struct {
	LookupKey   string `json:"lookup_key"`
	Product     string `json:"product"`
	ProductName string `json:"product_name"`
	Monthly     Fen    `json:"monthly_yuan"`
	// Metered says the price is billed on the seat meter's usage (the
	// seat), not per month.
	Metered bool `json:"metered,omitempty"`
}

// Lookup keys and product ids name what they price; a county's module is
// "cc_module_<module>", the seat "cc_seat".
const (
	seatProduct      = "cc_seat"
	seatName         = "活跃账号（每账号每月）"
	modulePrefix     = "cc_module_"
	monthlyKeySuffix = "_monthly"
	seatLookupKey    = seatProduct + monthlyKeySuffix
)

// Entries lists c as the prices Stripe keeps, seat first, then modules in
// the catalogue's order.
func (c Catalogue) Entries() []CatalogueEntry {
	out := []CatalogueEntry{{LookupKey: seatLookupKey, Product: seatProduct, ProductName: seatName, Monthly: c.Seat, Metered: true}}
	for _, m := range c.Modules {
		out = append(out, CatalogueEntry{LookupKey: modulePrefix + m.Module + monthlyKeySuffix, Product: modulePrefix + m.Module, ProductName: m.Name, Monthly: m.Monthly})
	}
	return out
}

// CodeInvalidCatalogue is the code of a catalogue that cannot be used.
const CodeInvalidCatalogue = "invalid_catalogue"

// MaxCatalogueBytes bounds a catalogue file.
const MaxCatalogueBytes = 64 << 10

var modulePattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,47}$`)

//go:embed catalogue.json
var defaultCatalogue []byte

// DefaultCatalogue is the catalogue the platform ships with.
func DefaultCatalogue() Catalogue {
	c, err := ParseCatalogue(bytes.NewReader(defaultCatalogue))
	if err != nil {
		panic(fmt.Sprintf("billing/catalogue.json: %v", err))
	}
	return c
}

// ParseCatalogue reads a catalogue in JSON and checks it: known fields
// only, every module once with a name, every price positive.
func ParseCatalogue(r io.Reader) (Catalogue, error) {
	body, err := io.ReadAll(io.LimitReader(r, MaxCatalogueBytes+1))
	if err != nil {
		return Catalogue{}, fmt.Errorf("read catalogue: %w", err)
	}
	if len(body) > MaxCatalogueBytes {
		return Catalogue{}, errs.Invalid(CodeInvalidCatalogue, "价目表超过 %d 字节 / the catalogue is over %d bytes", MaxCatalogueBytes, MaxCatalogueBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var c Catalogue
	if err := dec.Decode(&c); err != nil {
		var e *errs.Error
		if errors.As(err, &e) {
			return Catalogue{}, e
		}
		return Catalogue{}, errs.Invalid(CodeInvalidCatalogue, "价目表不是有效的 JSON / the catalogue is not valid JSON: %v", err)
	}
	if dec.More() {
		return Catalogue{}, errs.Invalid(CodeInvalidCatalogue, "价目表之后还有内容 / something follows the catalogue")
	}
	return c, c.check()
}

func (c Catalogue) check() error {
	if c.Seat <= 0 {
		return errs.Invalid(CodeInvalidCatalogue, "缺少账号单价 seat_monthly_yuan / seat_monthly_yuan is missing or zero")
	}
	if len(c.Modules) == 0 || len(c.Modules) > 100 {
		return errs.Invalid(CodeInvalidCatalogue, "价目表须列出 1 至 100 个模块 / the catalogue lists 1 to 100 modules")
	}
	seen := []string{}
	for i, m := range c.Modules {
		switch {
		case !modulePattern.MatchString(m.Module):
			return errs.Invalid(CodeInvalidCatalogue, "第 %d 个模块的标识 %q 无效 / module %d: %q is not a module id (lowercase letters, digits, underscores)", i+1, m.Module, i+1, m.Module)
		case slices.Contains(seen, m.Module):
			return errs.Invalid(CodeInvalidCatalogue, "模块 %s 重复 / module %s is listed twice", m.Module, m.Module)
		case m.Name == "" || len([]rune(m.Name)) > 64:
			return errs.Invalid(CodeInvalidCatalogue, "模块 %s 须有 1 至 64 字的名称 / module %s needs a name of 1 to 64 characters", m.Module, m.Module)
		case m.Monthly <= 0:
			return errs.Invalid(CodeInvalidCatalogue, "模块 %s 缺少月价 monthly_yuan / module %s has no monthly_yuan", m.Module, m.Module)
		}
		seen = append(seen, m.Module)
	}
	return nil
}
