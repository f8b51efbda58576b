-- A check of the platform's --seal-key: a known text sealed under it when
-- the first replica started with one. A replica started with another key
-- cannot open it and refuses to start, instead of failing to open every
-- unit's seal (or creating keys no other replica can open).
CREATE TABLE IF NOT EXISTS seal_key_check (
  id TINYINT NOT NULL,
  sealed VARBINARY(128) NOT NULL,
  created_at DATETIME(6) NOT NULL,
  PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
