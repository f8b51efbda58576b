-- Provincial operators: the IT office's people, who run the control plane
-- and see every county's overview. Passwords are argon2id hashes; a
-- password handed out by someone else must be changed at first login.
CREATE TABLE IF NOT EXISTS operators (
  id BIGINT NOT NULL AUTO_INCREMENT,
  login VARCHAR(64) NOT NULL,
  name VARCHAR(64) NOT NULL,
  password_hash VARCHAR(255) NULL,
  must_change BOOLEAN NOT NULL DEFAULT TRUE,
  failed_logins INT NOT NULL DEFAULT 0,
  locked_until DATETIME(6) NULL,
  password_changed_at DATETIME(6) NULL,
  created_at DATETIME(6) NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY operators_login (login)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Keys that sign access tokens, named by the kid in each token's header.
-- The newest live key signs; a retired key still verifies until the
-- tokens it signed have expired, then it is deleted.
CREATE TABLE IF NOT EXISTS signing_keys (
  kid VARCHAR(32) NOT NULL,
  secret VARBINARY(64) NOT NULL,
  created_at DATETIME(6) NOT NULL,
  retired_at DATETIME(6) NULL,
  PRIMARY KEY (kid)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- A session is one login. Its refresh tokens rotate: each is good for one
-- use, and presenting a used one again revokes the whole session (a thief
-- and the owner cannot both go on). tenant_code is '' for operators.
CREATE TABLE IF NOT EXISTS sessions (
  id CHAR(22) NOT NULL,
  tenant_code VARCHAR(64) NOT NULL,
  account_id BIGINT NOT NULL,
  created_at DATETIME(6) NOT NULL,
  expires_at DATETIME(6) NOT NULL,
  revoked_at DATETIME(6) NULL,
  revoke_reason VARCHAR(32) NULL,
  PRIMARY KEY (id),
  KEY sessions_account (tenant_code, account_id),
  KEY sessions_revoked (revoked_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS refresh_tokens (
  token_hash CHAR(64) NOT NULL,
  session_id CHAR(22) NOT NULL,
  issued_at DATETIME(6) NOT NULL,
  used_at DATETIME(6) NULL,
  PRIMARY KEY (token_hash),
  KEY refresh_tokens_session (session_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- API tokens for automation, held by an operator (tenant_code '') or a
-- county account; SHA-256 hashed, as they are 256 random bits.
CREATE TABLE IF NOT EXISTS api_tokens (
  id BIGINT NOT NULL AUTO_INCREMENT,
  token_hash CHAR(64) NOT NULL,
  tenant_code VARCHAR(64) NOT NULL,
  account_id BIGINT NOT NULL,
  name VARCHAR(64) NOT NULL,
  scopes VARCHAR(255) NOT NULL,
  expires_at DATETIME(6) NULL,
  revoked_at DATETIME(6) NULL,
  created_at DATETIME(6) NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY api_tokens_hash (token_hash),
  KEY api_tokens_account (tenant_code, account_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The bootstrap operator token becomes an API token of the operator
-- account "admin". operator_tokens is dropped by a later release, once no
-- replica of this one's predecessor still reads it.
INSERT IGNORE INTO operators (login, name, must_change, created_at)
SELECT 'admin', '省级运维管理员', TRUE, created_at FROM operator_tokens WHERE name = 'bootstrap';

INSERT IGNORE INTO api_tokens (token_hash, tenant_code, account_id, name, scopes, created_at)
SELECT t.token_hash, '', o.id, t.name, '*', t.created_at FROM operator_tokens t JOIN operators o ON o.login = 'admin';
