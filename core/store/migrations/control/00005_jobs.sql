-- Durable background jobs, shared by every replica. A worker claims due
-- jobs with FOR UPDATE SKIP LOCKED and holds each under a lease it renews
-- while it works; a job whose lease ran out (its worker was killed) is
-- due again. A job that keeps failing ends as 'dead' until an operator
-- retries it. An idempotency key makes enqueuing the same work twice (two
-- replicas scheduling the same sweep) enqueue it once.
CREATE TABLE IF NOT EXISTS jobs (
  id BIGINT NOT NULL AUTO_INCREMENT,
  kind VARCHAR(64) NOT NULL,
  tenant_code VARCHAR(128) NOT NULL DEFAULT '',
  payload TEXT NOT NULL,
  idempotency_key VARCHAR(191) NULL,
  status VARCHAR(16) NOT NULL,
  run_at DATETIME(6) NOT NULL,
  attempts INT NOT NULL DEFAULT 0,
  max_attempts INT NOT NULL,
  lease_owner VARCHAR(64) NULL,
  lease_expires DATETIME(6) NULL,
  last_error TEXT NULL,
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  finished_at DATETIME(6) NULL,
  PRIMARY KEY (id),
  UNIQUE KEY jobs_idempotency (idempotency_key),
  KEY jobs_due (status, run_at),
  KEY jobs_lease (status, lease_expires)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
