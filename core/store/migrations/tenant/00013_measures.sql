-- Measures: the county's usage figures, the one source that rollout gates,
-- usage reports, targets and billing read. Each recording adds to its day,
-- its half-month (1-15, 16-end: the government's reporting period) and its
-- month at once, so that a report of any of the three reads stored values
-- in one range of the primary key instead of adding up a year of days.
-- unit_id 0 holds the figures counted for the whole county.
CREATE TABLE IF NOT EXISTS measure_values (
  measure VARCHAR(96) NOT NULL,
  unit_id BIGINT NOT NULL,
  grain CHAR(1) NOT NULL,
  period_start DATE NOT NULL,
  value BIGINT NOT NULL,
  PRIMARY KEY (measure, unit_id, grain, period_start),
  -- A report of every unit reads this one, covering, range per measure.
  KEY measure_values_period (measure, grain, period_start, unit_id, value)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Every recording, under its idempotency key (one namespace per measure),
-- written in the transaction that adds it to measure_values: a retried
-- recording finds its key and adds nothing.
CREATE TABLE IF NOT EXISTS measure_records (
  measure VARCHAR(96) NOT NULL,
  idempotency_key VARCHAR(128) NOT NULL,
  unit_id BIGINT NOT NULL,
  day DATE NOT NULL,
  delta BIGINT NOT NULL,
  recorded_at DATETIME(6) NOT NULL,
  PRIMARY KEY (measure, idempotency_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
