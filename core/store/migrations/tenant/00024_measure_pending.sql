-- The platform's own counts (measure.Add), appended by the transaction
-- of the event they count: one narrow row per measure and unit, under an
-- ever-growing key and no other index, which costs an action less than
-- raising its day, half-month and month in measure_values under their
-- locks. Every read of measure_values first folds them into it (and a
-- job does every minute), adding and deleting them in one transaction,
-- so that what is pending is counted exactly once and read at once.
CREATE TABLE IF NOT EXISTS measure_pending (
  id BIGINT NOT NULL AUTO_INCREMENT,
  measure VARCHAR(96) NOT NULL,
  unit_id BIGINT NOT NULL,
  day DATE NOT NULL,
  delta BIGINT NOT NULL,
  PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
