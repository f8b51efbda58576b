-- Notifications: one row per recipient and channel. The in-app ones are
-- the account's inbox; the e-mail and SMS ones are an outbox that jobs
-- drain, with each attempt's outcome, so a gateway that is down delays a
-- message and never loses it.
CREATE TABLE IF NOT EXISTS notifications (
  id BIGINT NOT NULL AUTO_INCREMENT,
  account_id BIGINT NOT NULL,
  channel VARCHAR(8) NOT NULL,
  kind VARCHAR(32) NOT NULL,
  subject VARCHAR(200) NOT NULL,
  body VARCHAR(2000) NOT NULL,
  ref_type VARCHAR(32) NULL,
  ref_id BIGINT NULL,
  address VARCHAR(254) NULL,
  status VARCHAR(16) NOT NULL,
  attempts INT NOT NULL DEFAULT 0,
  next_attempt_at DATETIME(6) NULL,
  last_error VARCHAR(500) NULL,
  provider_ref VARCHAR(128) NULL,
  created_at DATETIME(6) NOT NULL,
  sent_at DATETIME(6) NULL,
  read_at DATETIME(6) NULL,
  PRIMARY KEY (id),
  KEY notifications_inbox (account_id, channel, id),
  KEY notifications_due (status, next_attempt_at),
  CONSTRAINT notifications_account_fk FOREIGN KEY (account_id) REFERENCES accounts (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- What an account wants sent to it besides the in-app inbox, per kind of
-- notification. Without a row, e-mail is on and SMS off.
CREATE TABLE IF NOT EXISTS notification_preferences (
  account_id BIGINT NOT NULL,
  kind VARCHAR(32) NOT NULL,
  email BOOLEAN NOT NULL,
  sms BOOLEAN NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  PRIMARY KEY (account_id, kind),
  CONSTRAINT notification_preferences_account_fk FOREIGN KEY (account_id) REFERENCES accounts (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The county's SMS gateway (providers differ; the platform speaks a
-- generic JSON protocol to it). One row at most.
CREATE TABLE IF NOT EXISTS sms_gateway (
  id TINYINT NOT NULL,
  url VARCHAR(500) NOT NULL,
  token VARCHAR(500) NOT NULL,
  sign VARCHAR(32) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
