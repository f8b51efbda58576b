package kit

import (
	"net/url"
	"strconv"

	"github.com/countycloud/countycloud/core/errs"
)

// QueryInt reads the whole-number query parameter name of q: 0 if it is
// not given, an invalid error with code if it is not a number of 0 or
// more.
func QueryInt(q url.Values, name, code string) (int64, error) {
	s := q.Get(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, errs.Invalid(code, "%s %q is not a number", name, s)
	}
	return n, nil
}

// QueryInts reads each of the named whole-number query parameters of q
// that is given into its destination, as QueryInt does.
func QueryInts(q url.Values, code string, dst map[string]*int64) error {
	for name, p := range dst {
		if q.Get(name) == "" {
			continue
		}
		n, err := QueryInt(q, name, code)
		if err != nil {
			return err
		}
		*p = n
	}
	return nil
}
