-- Stripe's webhooks. billing_webhook_events keeps every event whose
-- signature held, stored before it is answered: its id is the primary
-- key, so a replay (or two replicas receiving one delivery) is one row,
-- and processed_at says a durable job has applied it (outcome applied,
-- ignored or stale, and why in note). billing_invoice_payments is the
-- latest known state of each invoice (paid or failed) and the Stripe
-- time of the event that said so: an older event never overrides a
-- newer one, and a paid invoice never becomes failed again.
-- billing_standings is each account's standing, derived from its
-- invoices: past due since the oldest failure still unpaid.
-- billing_holds are the counties billing held (registry hold) for an
-- account past due beyond its grace; they are lifted once it pays.
CREATE TABLE IF NOT EXISTS billing_webhook_events (
  id VARCHAR(255) NOT NULL,
  type VARCHAR(128) NOT NULL,
  stripe_created BIGINT NOT NULL,
  body MEDIUMTEXT NOT NULL,
  received_at DATETIME(6) NOT NULL,
  processed_at DATETIME(6) NULL,
  outcome VARCHAR(32) NULL,
  account_code VARCHAR(128) NULL,
  note VARCHAR(512) NULL,
  PRIMARY KEY (id),
  KEY billing_webhook_events_waiting (processed_at, received_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS billing_invoice_payments (
  invoice_id VARCHAR(255) NOT NULL,
  account_code VARCHAR(128) NOT NULL,
  state VARCHAR(16) NOT NULL,
  stripe_created BIGINT NOT NULL,
  event_id VARCHAR(255) NOT NULL,
  failed_since DATETIME(6) NULL,
  PRIMARY KEY (invoice_id),
  KEY billing_invoice_payments_account (account_code, state)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS billing_standings (
  account_code VARCHAR(128) NOT NULL,
  standing VARCHAR(16) NOT NULL,
  past_due_since DATETIME(6) NULL,
  invoice_id VARCHAR(255) NULL,
  updated_at DATETIME(6) NOT NULL,
  PRIMARY KEY (account_code)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS billing_holds (
  county_code VARCHAR(128) NOT NULL,
  account_code VARCHAR(128) NOT NULL,
  invoice_id VARCHAR(255) NOT NULL,
  held_at DATETIME(6) NOT NULL,
  PRIMARY KEY (county_code),
  KEY billing_holds_account (account_code)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
