-- Accounts' passwords (argon2id) and the state that guards them against
-- guessing. An account without a row here cannot log in yet.
CREATE TABLE IF NOT EXISTS credentials (
  account_id BIGINT NOT NULL,
  password_hash VARCHAR(255) NOT NULL,
  must_change BOOLEAN NOT NULL,
  failed_logins INT NOT NULL DEFAULT 0,
  locked_until DATETIME(6) NULL,
  changed_at DATETIME(6) NOT NULL,
  PRIMARY KEY (account_id),
  CONSTRAINT credentials_account_fk FOREIGN KEY (account_id) REFERENCES accounts (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The audit trail (谁上网，谁负责): who did what to which object, when,
-- from where, and digests of the object before and after. Refused
-- requests are recorded too. Append-only: no code path updates or deletes
-- a row, and the triggers below refuse it to anyone who tries by hand.
CREATE TABLE IF NOT EXISTS audit_log (
  id BIGINT NOT NULL AUTO_INCREMENT,
  at DATETIME(6) NOT NULL,
  actor_kind VARCHAR(16) NOT NULL,
  actor_id BIGINT NULL,
  actor_login VARCHAR(64) NOT NULL,
  unit_id BIGINT NULL,
  action VARCHAR(64) NOT NULL,
  object_type VARCHAR(32) NOT NULL,
  object_id VARCHAR(64) NOT NULL,
  before_digest CHAR(64) NULL,
  after_digest CHAR(64) NULL,
  outcome VARCHAR(16) NOT NULL,
  code VARCHAR(64) NULL,
  request_id VARCHAR(64) NOT NULL,
  source VARCHAR(64) NOT NULL,
  PRIMARY KEY (id),
  KEY audit_at (at),
  KEY audit_actor (actor_kind, actor_id, at),
  KEY audit_unit (unit_id, at),
  KEY audit_object (object_type, object_id, at),
  KEY audit_action (action, at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

DROP TRIGGER IF EXISTS audit_log_no_update;

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log FOR EACH ROW
BEGIN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'audit_log is append-only'; END;

DROP TRIGGER IF EXISTS audit_log_no_delete;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log FOR EACH ROW
BEGIN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'audit_log is append-only'; END;

-- Unit administrators manage the accounts of their own unit.
INSERT IGNORE INTO roles (code, name, builtin, created_at) VALUES ('unit_admin', '单位管理员', TRUE, UTC_TIMESTAMP(6));
