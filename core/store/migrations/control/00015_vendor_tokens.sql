-- Vendors' API tokens: an operator issues one for a vendor (a plugin's
-- vendor as the plugin namespace names it), which answers the feedback on
-- that vendor's modules in the counties that enabled them and reaches
-- nothing else. SHA-256 hashed, as they are 256 random bits; shown once.
CREATE TABLE IF NOT EXISTS vendor_tokens (
  id BIGINT NOT NULL AUTO_INCREMENT,
  token_hash CHAR(64) NOT NULL,
  vendor VARCHAR(64) NOT NULL,
  name VARCHAR(64) NOT NULL,
  expires_at DATETIME(6) NOT NULL,
  revoked_at DATETIME(6) NULL,
  created_at DATETIME(6) NOT NULL,
  created_by VARCHAR(128) NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY vendor_tokens_hash (token_hash),
  KEY vendor_tokens_vendor (vendor)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
