-- A counter bumped by every change to a tenant's row, in the same
-- transaction: replicas that remember where counties live check this one
-- row, once a second, instead of re-reading every county.
CREATE TABLE IF NOT EXISTS registry_epoch (
  id TINYINT NOT NULL,
  version BIGINT NOT NULL,
  PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

INSERT IGNORE INTO registry_epoch (id, version) VALUES (1, 0);
