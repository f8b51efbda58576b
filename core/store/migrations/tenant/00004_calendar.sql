-- A county's own changes to the national working-day calendar: a local
-- festival given as a day off, or a day worked to make up for one. The
-- national holidays are data shipped with the platform (core/workday).
CREATE TABLE IF NOT EXISTS calendar_overrides (
  day DATE NOT NULL,
  working BOOLEAN NOT NULL,
  note VARCHAR(200) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  PRIMARY KEY (day)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
