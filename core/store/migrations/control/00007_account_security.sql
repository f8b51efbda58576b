-- The security version of the account a session was opened for (see the
-- counties' account_security): once the account's moves on (its roles,
-- unit, status or password changed), the session's refresh tokens are
-- refused. A session without a row (an operator's, or one opened before
-- this migration) was opened at version 0.
CREATE TABLE IF NOT EXISTS session_security (
  session_id CHAR(22) NOT NULL,
  version BIGINT NOT NULL,
  PRIMARY KEY (session_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- A caller from a county is named in the province's trail by its login
-- at its county: up to 64 + 1 + 48 characters.
ALTER TABLE audit_log MODIFY actor_login VARCHAR(128) NOT NULL;
