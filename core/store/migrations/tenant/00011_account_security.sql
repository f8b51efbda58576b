-- An account's security version: every change that must reach the
-- tokens it holds (its roles, unit, status or password) adds one, in the
-- change's own transaction. An access token carries the version it was
-- issued at, and the guard refuses it once the account's has moved on.
-- An account without a row is at version 0.
CREATE TABLE IF NOT EXISTS account_security (
  account_id BIGINT NOT NULL,
  version BIGINT NOT NULL,
  PRIMARY KEY (account_id),
  CONSTRAINT account_security_account_fk FOREIGN KEY (account_id) REFERENCES accounts (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- A caller from elsewhere (an account of another county) is named in
-- this trail by its login at its county: up to 64 + 1 + 48 characters.
ALTER TABLE audit_log MODIFY actor_login VARCHAR(128) NOT NULL;

-- Role codes the platform reserves (auth.ReservedRoles) carry no right
-- in a county: a role created with one before they were refused is
-- renamed renamed_<code>_<id>, its accounts keep it under the new code,
-- the trail records each rename, and the tokens issued with the old code
-- are ended.
INSERT INTO audit_log (at, actor_kind, actor_id, actor_login, unit_id, action, object_type, object_id,
  before_digest, after_digest, outcome, code, request_id, source)
SELECT UTC_TIMESTAMP(6), 'system', NULL, 'migration 00011', NULL, 'org.roles.rename', 'role', CAST(id AS CHAR),
  NULL, NULL, 'ok', 'reserved_role', 'migration-00011', ''
FROM roles WHERE code IN ('operator', 'staff', 'account', 'anonymous');

INSERT INTO account_security (account_id, version)
SELECT DISTINCT ar.account_id, 1 FROM account_roles ar JOIN roles r ON r.id = ar.role_id
WHERE r.code IN ('operator', 'staff', 'account', 'anonymous')
ON DUPLICATE KEY UPDATE version = version + 1;

UPDATE roles SET code = CONCAT('renamed_', code, '_', id), builtin = FALSE
WHERE code IN ('operator', 'staff', 'account', 'anonymous');
