-- The provincial overview's aggregates: each planned county's phase, gate
-- progress, blockers and key figures as the overview job last evaluated
-- them, so that the overview of every county is one read of the control
-- plane, never a request to each county's schema.
CREATE TABLE IF NOT EXISTS rollout_overview (
  county VARCHAR(64) NOT NULL,
  phase VARCHAR(16) NOT NULL,
  phase_started DATE NOT NULL,
  passed INT NOT NULL,
  total INT NOT NULL,
  proposed VARCHAR(16) NULL,
  blockers MEDIUMTEXT NOT NULL,
  figures TEXT NOT NULL,
  computed_at DATETIME(6) NOT NULL,
  PRIMARY KEY (county),
  KEY rollout_overview_phase (phase, county)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
