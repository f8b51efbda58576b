-- The registry of provinces, cities and counties. Only counties own a
-- schema; schema_version mirrors the version recorded inside that schema so
-- that "is any county behind?" is one query here.
CREATE TABLE IF NOT EXISTS tenants (
  id BIGINT NOT NULL AUTO_INCREMENT,
  code VARCHAR(64) NOT NULL,
  name VARCHAR(64) NOT NULL,
  level VARCHAR(16) NOT NULL,
  parent_code VARCHAR(64) NULL,
  status VARCHAR(16) NOT NULL,
  schema_name VARCHAR(64) NULL,
  cluster VARCHAR(32) NULL,
  schema_version BIGINT NOT NULL DEFAULT 0,
  failure VARCHAR(1024) NULL,
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY tenants_code (code),
  UNIQUE KEY tenants_schema (schema_name),
  KEY tenants_parent (parent_code, code),
  KEY tenants_status (status, code)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Operator tokens, stored as SHA-256 hashes: the tokens are 256 random
-- bits, so a fast hash is enough and verification stays one indexed read.
CREATE TABLE IF NOT EXISTS operator_tokens (
  id BIGINT NOT NULL AUTO_INCREMENT,
  name VARCHAR(64) NOT NULL,
  token_hash CHAR(64) NOT NULL,
  created_at DATETIME(6) NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY operator_tokens_name (name),
  UNIQUE KEY operator_tokens_hash (token_hash)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
