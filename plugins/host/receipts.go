package host

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base32"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/countycloud/countycloud/core/store"
	"github.com/countycloud/countycloud/plugins/sdk/proto/pluginv1"
)

// receiptCodeBytes is the randomness of a receipt's query code: 80 bits,
// 16 characters of base32, which nobody guesses at any rate the public
// routes allow.
const receiptCodeBytes = 10

var (
	receiptEncoding      = base32.StdEncoding.WithPadding(base32.NoPadding)
	receiptNumberPattern = regexp.MustCompile(`^[0-9]{4}-[0-9]{6,12}$`)
	// china is the zone whose year a receipt's number counts in.
	china = time.FixedZone("CST", 8*60*60)
)

// receipts is the Receipts service: receipts of the plugin's records, in
// the county of each call's capability. Anonymous requests use it too:
// it is what a public route gives a citizen.
type receipts struct {
	guard
	router Router
	now    func() time.Time
}

func (s *receipts) IssueReceipt(ctx context.Context, req *pluginv1.IssueReceiptRequest) (*pluginv1.IssuedReceipt, error) {
	county, err := s.county(req.GetCapability())
	if err != nil {
		return nil, err
	}
	if err := checkKey(req.GetCollection(), req.GetRecordId()); err != nil {
		return nil, err
	}
	r := newReceipt(s.now())
	err = store.AgainIfDeadlocked(func() error {
		return s.router.InTenantTx(ctx, county, func(ctx context.Context, tx *sqlx.Tx) error {
			var exists int
			err := tx.GetContext(ctx, &exists, "SELECT 1 FROM plugin_records WHERE plugin = ? AND collection = ? AND record_id = ?", s.plugin, req.GetCollection(), req.GetRecordId())
			if errors.Is(err, sql.ErrNoRows) {
				return status.Errorf(codes.NotFound, "no record %s/%s to give a receipt", req.GetCollection(), req.GetRecordId())
			}
			if err != nil {
				return err
			}
			if err := r.takeNumber(ctx, tx); err != nil {
				return err
			}
			return r.keep(ctx, tx, s.plugin, req.GetCollection(), req.GetRecordId())
		})
	})
	if err != nil {
		return nil, s.grpcError(ctx, err)
	}
	return r.proto(), nil
}

// receipt is a receipt being issued: its code, shown once, and the hash
// the county keeps of it; the number once taken.
type receipt struct {
	code   string
	hash   [sha256.Size]byte
	at     time.Time
	number string
}

// newReceipt is a receipt issued at now, with a fresh code.
func newReceipt(now time.Time) *receipt {
	var secret [receiptCodeBytes]byte
	// crypto/rand never fails on Linux (and panics where it cannot read).
	_, _ = rand.Read(secret[:])
	code := formatReceiptCode(receiptEncoding.EncodeToString(secret[:]))
	return &receipt{code: code, hash: receiptHash(code), at: now.UTC().Truncate(time.Microsecond)}
}

// takeNumber takes the year's next number in tx: a receipt whose
// transaction fails takes none. One statement raises the counter (the
// year's first inserts its row) and hands the value back as the
// statement's insert id, so the row is locked for no longer than the
// rest of the transaction. The year's first insert may make deadlock
// victims (store.AgainIfDeadlocked).
func (r *receipt) takeNumber(ctx context.Context, tx *sqlx.Tx) error {
	year := r.at.In(china).Year()
	res, err := tx.ExecContext(ctx, "INSERT INTO receipt_counters (year, last_seq) VALUES (?, LAST_INSERT_ID(1)) "+
		"ON DUPLICATE KEY UPDATE last_seq = LAST_INSERT_ID(last_seq + 1)", year)
	if err != nil {
		return err
	}
	seq, err := res.LastInsertId()
	if err != nil {
		return err
	}
	r.number = fmt.Sprintf("%04d-%06d", year, seq)
	return nil
}

// keep records in tx the receipt, its number taken, as plugin's record
// (collection, id)'s: a record has one.
func (r *receipt) keep(ctx context.Context, tx *sqlx.Tx, plugin, collection, id string) error {
	_, err := tx.ExecContext(ctx, "INSERT INTO receipts (number, plugin, collection, record_id, code_sha256, issued_at) VALUES (?, ?, ?, ?, ?, ?)",
		r.number, plugin, collection, id, r.hash[:], r.at)
	var dup *mysql.MySQLError
	if errors.As(err, &dup) && dup.Number == 1062 {
		return status.Errorf(codes.AlreadyExists, "record %s/%s has its receipt already", collection, id)
	}
	return err
}

// keepAtCommit records the receipt as keep does, with the transaction's
// deferred writes (store.Later), for a record created in tx: no receipt
// can be its already unless it was another record's of the same key,
// deleted, whose receipt outlived it. Then the commit fails, and
// keptTwice says so as keep would.
func (r *receipt) keepAtCommit(ctx context.Context, tx *sqlx.Tx, plugin, collection, id string) error {
	return store.Later(ctx, tx, "INSERT INTO receipts (number, plugin, collection, record_id, code_sha256, issued_at) VALUES (?, ?, ?, ?, ?, ?)",
		r.number, plugin, collection, id, r.hash[:], r.at)
}

// keptTwice is err, unless err is the receipt of record (collection, id)
// kept twice (keepAtCommit): then keep's refusal. The key is named
// 'receipts_record' by MariaDB, 'receipts.receipts_record' by MySQL 8
// and TiDB.
func keptTwice(err error, collection, id string) error {
	var dup *mysql.MySQLError
	if errors.As(err, &dup) && dup.Number == 1062 && strings.Contains(dup.Message, "receipts_record'") {
		return status.Errorf(codes.AlreadyExists, "record %s/%s has its receipt already", collection, id)
	}
	return err
}

func (r *receipt) proto() *pluginv1.IssuedReceipt {
	return &pluginv1.IssuedReceipt{Number: r.number, Code: r.code, IssuedAt: r.at.Format(time.RFC3339Nano)}
}

func (s *receipts) LookupReceipt(ctx context.Context, req *pluginv1.LookupReceiptRequest) (*pluginv1.ReceiptRecord, error) {
	county, err := s.county(req.GetCapability())
	if err != nil {
		return nil, err
	}
	notFound := status.Error(codes.NotFound, "no receipt has this number and code")
	given := receiptHash(req.GetCode())
	var row struct {
		Number     string    `db:"number"`
		Collection string    `db:"collection"`
		RecordID   string    `db:"record_id"`
		Hash       []byte    `db:"code_sha256"`
		IssuedAt   time.Time `db:"issued_at"`
	}
	if receiptNumberPattern.MatchString(req.GetNumber()) {
		err = s.router.InTenant(ctx, county, func(ctx context.Context, conn *sqlx.Conn) error {
			return conn.GetContext(ctx, &row, "SELECT number, collection, record_id, code_sha256, issued_at FROM receipts WHERE number = ? AND plugin = ?", req.GetNumber(), s.plugin)
		})
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, s.grpcError(ctx, err)
		}
	}
	// An unknown number is compared too, against a hash nothing has, so
	// that it takes what a wrong code takes.
	stored := row.Hash
	if len(stored) != sha256.Size {
		stored = make([]byte, sha256.Size)
	}
	if subtle.ConstantTimeCompare(stored, given[:]) != 1 || row.Number == "" {
		return nil, notFound
	}
	return &pluginv1.ReceiptRecord{Number: row.Number, Collection: row.Collection, RecordId: row.RecordID, IssuedAt: row.IssuedAt.UTC().Format(time.RFC3339Nano)}, nil
}

// formatReceiptCode writes a code in groups of four, as people copy it.
func formatReceiptCode(code string) string {
	var b strings.Builder
	for i := 0; i < len(code); i += 4 {
		if i > 0 {
			b.WriteByte('-')
		}
		b.WriteString(code[i:min(i+4, len(code))])
	}
	return b.String()
}

// receiptHash is the hash a code is kept as: of the code as issued,
// whatever case and dashes or spaces it comes back with.
func receiptHash(code string) [sha256.Size]byte {
	normal := strings.Map(func(r rune) rune {
		switch {
		case r == '-' || r == ' ':
			return -1
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		}
		return r
	}, code)
	return sha256.Sum256([]byte(normal))
}
