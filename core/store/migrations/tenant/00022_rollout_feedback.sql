-- Trial feedback (试运行问题反馈): a unit's contact reports a problem with
-- a module, the IT office assigns it to the module's vendor, the vendor
-- answers, the unit confirms or reopens. Each step waits on someone with a
-- time limit in the county's working days: due_at is when the current
-- step runs out (NULL once confirmed), warn_at when it turns yellow, and
-- red_noticed the step whose lateness was told, so that it is told once.
CREATE TABLE IF NOT EXISTS rollout_feedback (
  id BIGINT NOT NULL AUTO_INCREMENT,
  module VARCHAR(32) NOT NULL,
  unit_id BIGINT NOT NULL,
  reporter_id BIGINT NOT NULL,
  title VARCHAR(100) NOT NULL,
  description TEXT NOT NULL,
  status ENUM('reported', 'assigned', 'answered', 'confirmed', 'reopened') NOT NULL,
  vendor VARCHAR(64) NULL,
  answer TEXT NULL,
  step INT NOT NULL,
  step_at DATETIME(6) NOT NULL,
  warn_at DATETIME(6) NULL,
  due_at DATETIME(6) NULL,
  red_noticed INT NOT NULL DEFAULT 0,
  created_at DATETIME(6) NOT NULL,
  PRIMARY KEY (id),
  KEY rollout_feedback_unit (unit_id, status),
  KEY rollout_feedback_module (module, status),
  KEY rollout_feedback_due (due_at),
  CONSTRAINT rollout_feedback_unit_fk FOREIGN KEY (unit_id) REFERENCES units (id),
  CONSTRAINT rollout_feedback_reporter_fk FOREIGN KEY (reporter_id) REFERENCES accounts (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Every step of an item, in order: who took it (an account's login, an
-- operator's, or the vendor's name) and when, and whether it was taken
-- after its time limit.
CREATE TABLE IF NOT EXISTS rollout_feedback_steps (
  feedback_id BIGINT NOT NULL,
  step INT NOT NULL,
  status VARCHAR(16) NOT NULL,
  actor_kind VARCHAR(16) NOT NULL,
  actor VARCHAR(128) NOT NULL,
  note TEXT NOT NULL,
  late BOOLEAN NOT NULL,
  at DATETIME(6) NOT NULL,
  PRIMARY KEY (feedback_id, step),
  CONSTRAINT rollout_feedback_steps_fk FOREIGN KEY (feedback_id) REFERENCES rollout_feedback (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
