package store_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/countycloud/countycloud/core/store"
)

// A deadlock's victim, rolled back whole, runs again, a few times at
// most; any other error, or none, ends the runs at once.
func TestADeadlocksVictimRunsAgain(t *testing.T) {
	deadlock := fmt.Errorf("record job 13 as done: %w", &mysql.MySQLError{Number: 1213, Message: "Deadlock found when trying to get lock"})
	other := &mysql.MySQLError{Number: 1062, Message: "Duplicate entry"}
	for _, c := range []struct {
		name  string
		errs  []error
		runs  int
		final error
	}{
		{"a victim once", []error{deadlock, nil}, 2, nil},
		{"another error", []error{other, nil}, 1, other},
		{"no error", []error{nil}, 1, nil},
		{"a victim every time", []error{deadlock, deadlock, deadlock, deadlock, deadlock, deadlock}, 5, deadlock},
	} {
		runs := 0
		err := store.AgainIfDeadlocked(func() error {
			runs++
			return c.errs[runs-1]
		})
		if runs != c.runs || !errors.Is(err, c.final) {
			t.Errorf("%s: %d runs ending in %v, want %d ending in %v", c.name, runs, err, c.runs, c.final)
		}
	}
}
