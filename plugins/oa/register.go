package oa

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/countycloud/countycloud/plugins/sdk"
)

// register gives the document its number (文号) at 登记, once: the host
// takes the next number of the issuing unit's counter of the year and
// writes it into the document in one transaction, so a number is never
// given twice nor skipped, and a document registered already keeps its
// own.
func (c *call) register(r sdk.Record, d document) (sdk.Record, document, error) {
	if d.Sequence > 0 {
		return r, d, nil
	}
	t, err := c.loadTemplate(d.UnitID)
	if err != nil {
		var ae *apiError
		if errors.As(err, &ae) && ae.code == codeTemplateNotFound {
			ae.status = http.StatusConflict
		}
		return r, d, err
	}
	year := c.now.In(china).Year()
	d.Year, d.Template, d.RegisteredAt = year, &t.template, timePtr(c.now)
	nr, seq, err := c.host.PutNumbered(c.ctx, collDocuments, r.ID, r.Version, d, sdk.Numbering{Counter: fmt.Sprintf("docno/%d/%d", d.UnitID, year), Field: "sequence"})
	if err != nil {
		return r, d, fromHost(err, "the document's number")
	}
	d.Sequence = seq
	c.audit("document.register", "document", r.ID, nil, map[string]any{"number": d.number(), "year": year, "sequence": seq})
	return nr, d, nil
}
