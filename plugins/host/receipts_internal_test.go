package host

import (
	"errors"
	"fmt"
	"testing"

	"github.com/go-sql-driver/mysql"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// TestAReceiptKeptTwiceAtTheCommitIsAnsweredAsKeepAnswersIt: the commit's
// duplicate of a submission's receipt, as MariaDB, MySQL 8 and TiDB name
// its key, is the record's receipt kept already; any other error stays
// what it was.
func TestAReceiptKeptTwiceAtTheCommitIsAnsweredAsKeepAnswersIt(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		err  error
		want codes.Code
	}{
		{&mysql.MySQLError{Number: 1062, Message: "Duplicate entry 'inbox-letters-gone' for key 'receipts_record'"}, codes.AlreadyExists},
		{fmt.Errorf("deferred writes: %w", &mysql.MySQLError{Number: 1062, Message: "Duplicate entry 'inbox-letters-gone' for key 'receipts.receipts_record'"}), codes.AlreadyExists},
		{&mysql.MySQLError{Number: 1062, Message: "Duplicate entry 'inbox-letters-x' for key 'PRIMARY'"}, codes.Unknown},
		{&mysql.MySQLError{Number: 1213, Message: "Deadlock found when trying to get lock"}, codes.Unknown},
		{errors.New("receipts_record'"), codes.Unknown},
	} {
		got := keptTwice(c.err, "letters", "gone")
		if status.Code(got) != c.want || (c.want == codes.Unknown && got != c.err) {
			t.Errorf("keptTwice(%v) = %v", c.err, got)
		}
	}
	if keptTwice(nil, "letters", "gone") != nil {
		t.Error("keptTwice(nil) is not nil")
	}
}
