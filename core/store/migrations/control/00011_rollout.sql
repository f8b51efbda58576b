-- Rollout: the province's plan templates and each county's plan, its
-- phase, the manual tasks marked done, the gates' waivers and the phase
-- changes listeners hear. Kept in the control plane: the provincial
-- overview reads every county's rollout without opening its schema.

-- Templates a province defined (the platform's default is in the binary).
CREATE TABLE IF NOT EXISTS rollout_templates (
  id VARCHAR(64) NOT NULL,
  body MEDIUMTEXT NOT NULL,
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- A county's plan: its phases with their dates and tasks, its key units;
-- the phase it is in since phase_started (a day in China). version rises
-- with every change, so that an edit made on an older reading is refused.
CREATE TABLE IF NOT EXISTS rollout_plans (
  county VARCHAR(64) NOT NULL,
  template_id VARCHAR(64) NOT NULL,
  body MEDIUMTEXT NOT NULL,
  phase VARCHAR(16) NOT NULL,
  phase_started DATE NOT NULL,
  version BIGINT NOT NULL,
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  PRIMARY KEY (county),
  KEY rollout_plans_phase (phase, county)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Manual tasks someone said are done.
CREATE TABLE IF NOT EXISTS rollout_tasks_done (
  county VARCHAR(64) NOT NULL,
  task_id VARCHAR(64) NOT NULL,
  done_by VARCHAR(128) NOT NULL,
  note VARCHAR(500) NOT NULL,
  done_at DATETIME(6) NOT NULL,
  PRIMARY KEY (county, task_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- An operator's waiver of a gating task, with its reason.
CREATE TABLE IF NOT EXISTS rollout_waivers (
  county VARCHAR(64) NOT NULL,
  task_id VARCHAR(64) NOT NULL,
  phase VARCHAR(16) NOT NULL,
  reason VARCHAR(500) NOT NULL,
  waived_by VARCHAR(128) NOT NULL,
  waived_at DATETIME(6) NOT NULL,
  PRIMARY KEY (county, task_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Phase changes, written in the transaction that changes the phase and
-- delivered to listeners (billing) by a job, each once.
CREATE TABLE IF NOT EXISTS rollout_events (
  id BIGINT NOT NULL AUTO_INCREMENT,
  county VARCHAR(64) NOT NULL,
  from_phase VARCHAR(16) NOT NULL,
  to_phase VARCHAR(16) NOT NULL,
  changed_by VARCHAR(128) NOT NULL,
  waived TEXT NOT NULL,
  at DATETIME(6) NOT NULL,
  delivered_at DATETIME(6) NULL,
  PRIMARY KEY (id),
  KEY rollout_events_county (county, id),
  KEY rollout_events_undelivered (delivered_at, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
