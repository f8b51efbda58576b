-- The province's own audit trail: what operators do to the registry and to
-- their own accounts (logins, passwords, API tokens). Counties' trails are
-- in their own schemas; this one is laid out the same and is as append-only.
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
