-- Billing's foundations. A billing account is the office that pays: a
-- province for its counties, or a county for itself; it is one Stripe
-- customer, invoiced as governments pay (send_invoice, net terms).
-- billing_payers says which account pays for each county; it moves.
-- billing_prices is the catalogue as last synced: one row per Stripe
-- lookup key, a new revision (a new, immutable Stripe price) whenever the
-- amount changes. Every call to Stripe is a row of billing_outbox, written
-- in the transaction of the change that causes it, with a deterministic
-- idempotency key, and sent by a durable job; a row waits for the earlier
-- rows of its stream (a price for its product, an update for its
-- customer).
CREATE TABLE IF NOT EXISTS billing_accounts (
  code VARCHAR(128) NOT NULL,
  kind VARCHAR(16) NOT NULL,
  name VARCHAR(128) NOT NULL,
  email VARCHAR(254) NOT NULL DEFAULT '',
  net_terms_days INT NOT NULL,
  tax_exempt VARCHAR(16) NOT NULL,
  revision INT NOT NULL,
  stripe_customer_id VARCHAR(255) NULL,
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  PRIMARY KEY (code)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS billing_payers (
  county_code VARCHAR(128) NOT NULL,
  account_code VARCHAR(128) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  PRIMARY KEY (county_code),
  KEY billing_payers_account (account_code)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS billing_prices (
  lookup_key VARCHAR(128) NOT NULL,
  product_id VARCHAR(128) NOT NULL,
  product_name VARCHAR(128) NOT NULL,
  amount_fen BIGINT NOT NULL,
  revision INT NOT NULL,
  name_revision INT NOT NULL,
  stripe_price_id VARCHAR(255) NULL,
  updated_at DATETIME(6) NOT NULL,
  PRIMARY KEY (lookup_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS billing_outbox (
  id BIGINT NOT NULL AUTO_INCREMENT,
  stream VARCHAR(160) NOT NULL,
  operation VARCHAR(32) NOT NULL,
  subject VARCHAR(128) NOT NULL,
  idempotency_key VARCHAR(191) NOT NULL,
  body TEXT NOT NULL,
  stripe_id VARCHAR(255) NULL,
  attempts INT NOT NULL DEFAULT 0,
  last_error TEXT NULL,
  created_at DATETIME(6) NOT NULL,
  sent_at DATETIME(6) NULL,
  PRIMARY KEY (id),
  UNIQUE KEY billing_outbox_idempotency (idempotency_key),
  KEY billing_outbox_stream (stream, sent_at, id),
  KEY billing_outbox_pending (sent_at, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
