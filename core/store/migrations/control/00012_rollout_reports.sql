-- Rollout usage reports (使用情况报告): each generated document archived
-- unchanged, with the SHA-256 of its bytes, once per county, kind,
-- period and unit; and the province's targets the reports set each
-- figure against. Kept in the control plane: the provincial IT office
-- lists every county's reports without opening its schema.

-- A generated report: body is its canonical JSON, byte for byte as it was
-- generated (the CSV and XLSX exports are rendered from it). unit_id is 0
-- for a county's half-monthly report (a row per unit inside), a key
-- unit's id for its end-of-trial report. Generating the same county,
-- kind, period and unit again finds this row (the unique key), never a
-- second one.
CREATE TABLE IF NOT EXISTS rollout_reports (
  id BIGINT NOT NULL AUTO_INCREMENT,
  county VARCHAR(64) NOT NULL,
  kind VARCHAR(16) NOT NULL,
  period_from DATE NOT NULL,
  period_to DATE NOT NULL,
  unit_id BIGINT NOT NULL,
  unit_code VARCHAR(64) NOT NULL,
  body MEDIUMBLOB NOT NULL,
  sha256 CHAR(64) NOT NULL,
  generated_by VARCHAR(128) NOT NULL,
  generated_at DATETIME(6) NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY rollout_reports_once (county, kind, period_from, period_to, unit_id),
  KEY rollout_reports_period (period_from, kind, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The province's targets: a figure of the reports (by its column's id)
-- and the percentage it is to reach.
CREATE TABLE IF NOT EXISTS rollout_targets (
  figure VARCHAR(64) NOT NULL,
  percent DECIMAL(5,1) NOT NULL,
  set_by VARCHAR(128) NOT NULL,
  set_at DATETIME(6) NOT NULL,
  PRIMARY KEY (figure)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
