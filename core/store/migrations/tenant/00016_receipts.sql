-- Receipts (回执): what a citizen gets for a submission through a module's
-- public route. The number is the county's, per year (2026-000123), taken
-- from receipt_counters in the transaction that stores the receipt, so that
-- a number is never given twice and a failed issue takes none. The secret
-- query code is kept only as its SHA-256: the code has 80 random bits, so
-- a plain hash cannot be searched back, and the database never holds what
-- would let someone read a citizen's case.
CREATE TABLE IF NOT EXISTS receipt_counters (
  year SMALLINT NOT NULL PRIMARY KEY,
  last_seq BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS receipts (
  number VARCHAR(16) NOT NULL PRIMARY KEY,
  plugin VARCHAR(32) NOT NULL,
  collection VARCHAR(64) NOT NULL,
  record_id VARCHAR(128) NOT NULL,
  code_sha256 BINARY(32) NOT NULL,
  issued_at DATETIME(6) NOT NULL,
  -- One receipt per record.
  UNIQUE KEY receipts_record (plugin, collection, record_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
