-- The version of the county's directory as notifications see it: every
-- change to an account, its roles or its notification preferences gives
-- it a new random value in its own transaction, so that whom a notice
-- reaches can be remembered per version and read again only after a
-- change. One row, from the first change on.
CREATE TABLE IF NOT EXISTS directory_version (
  id TINYINT NOT NULL,
  version BIGINT NOT NULL,
  PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Counties that have accounts already start with a version.
INSERT IGNORE INTO directory_version (id, version) VALUES (1, FLOOR(RAND() * 9007199254740991));
