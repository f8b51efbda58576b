-- The county's workflows: the definitions it runs (the owner's, and the
-- county's localised version), their instances, the tasks people act on,
-- and every step taken. Electronic supervision (电子监察) reads the tasks'
-- deadlines and records each warning, escalation and reassignment.
CREATE TABLE IF NOT EXISTS workflow_definitions (
  code VARCHAR(64) NOT NULL,
  version INT NOT NULL,
  name VARCHAR(128) NOT NULL,
  base MEDIUMTEXT NOT NULL,
  localization MEDIUMTEXT NULL,
  effective MEDIUMTEXT NOT NULL,
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  updated_by VARCHAR(64) NOT NULL,
  PRIMARY KEY (code, version)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Changes to an instance lock its row, so they never start from the
-- same state.
CREATE TABLE IF NOT EXISTS workflow_instances (
  id BIGINT NOT NULL AUTO_INCREMENT,
  definition_code VARCHAR(64) NOT NULL,
  definition_version INT NOT NULL,
  title VARCHAR(200) NOT NULL,
  reference VARCHAR(128) NULL,
  initiator_id BIGINT NOT NULL,
  initiator_unit_id BIGINT NOT NULL,
  status VARCHAR(16) NOT NULL,
  started_at DATETIME(6) NOT NULL,
  due_at DATETIME(6) NULL,
  finished_at DATETIME(6) NULL,
  PRIMARY KEY (id),
  KEY workflow_instances_initiator (initiator_id, status),
  KEY workflow_instances_status (status, started_at),
  CONSTRAINT workflow_instances_definition_fk FOREIGN KEY (definition_code, definition_version) REFERENCES workflow_definitions (code, version)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- A task is open for a named account, or for the holders of a role in a
-- unit; unit_id is the unit answerable for it either way. level is the
-- supervision colour (0 green, 1 yellow, 2 red); next_check_at is when it
-- next changes colour, NULL once it cannot, so a sweep reads only the
-- tasks whose colour is due to change.
CREATE TABLE IF NOT EXISTS workflow_tasks (
  id BIGINT NOT NULL AUTO_INCREMENT,
  instance_id BIGINT NOT NULL,
  step VARCHAR(32) NOT NULL,
  step_name VARCHAR(64) NOT NULL,
  join_step VARCHAR(32) NULL,
  assignee_account_id BIGINT NULL,
  assignee_role VARCHAR(64) NULL,
  unit_id BIGINT NOT NULL,
  status VARCHAR(16) NOT NULL,
  level TINYINT NOT NULL DEFAULT 0,
  sms_reminder BOOLEAN NOT NULL DEFAULT FALSE,
  created_at DATETIME(6) NOT NULL,
  warn_at DATETIME(6) NULL,
  due_at DATETIME(6) NULL,
  next_check_at DATETIME(6) NULL,
  acted_by BIGINT NULL,
  acted_at DATETIME(6) NULL,
  action VARCHAR(32) NULL,
  comment VARCHAR(1000) NULL,
  version INT NOT NULL DEFAULT 0,
  PRIMARY KEY (id),
  KEY workflow_tasks_instance (instance_id, status),
  KEY workflow_tasks_account (assignee_account_id, status),
  KEY workflow_tasks_unit (unit_id, status),
  KEY workflow_tasks_check (next_check_at),
  KEY workflow_tasks_acted (acted_at),
  KEY workflow_tasks_level (status, level, due_at),
  CONSTRAINT workflow_tasks_instance_fk FOREIGN KEY (instance_id) REFERENCES workflow_instances (id),
  CONSTRAINT workflow_tasks_unit_fk FOREIGN KEY (unit_id) REFERENCES units (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS workflow_history (
  id BIGINT NOT NULL AUTO_INCREMENT,
  instance_id BIGINT NOT NULL,
  task_id BIGINT NULL,
  step VARCHAR(32) NOT NULL,
  action VARCHAR(32) NOT NULL,
  actor_id BIGINT NULL,
  actor_login VARCHAR(64) NOT NULL,
  at DATETIME(6) NOT NULL,
  comment VARCHAR(1000) NULL,
  PRIMARY KEY (id),
  KEY workflow_history_instance (instance_id, id),
  CONSTRAINT workflow_history_instance_fk FOREIGN KEY (instance_id) REFERENCES workflow_instances (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- What electronic supervision did to a task: a yellow warning, a red
-- one, an escalation to the supervising unit, a reassignment.
CREATE TABLE IF NOT EXISTS supervision_events (
  id BIGINT NOT NULL AUTO_INCREMENT,
  task_id BIGINT NOT NULL,
  instance_id BIGINT NOT NULL,
  unit_id BIGINT NOT NULL,
  kind VARCHAR(16) NOT NULL,
  level TINYINT NOT NULL,
  at DATETIME(6) NOT NULL,
  actor_login VARCHAR(64) NOT NULL,
  note VARCHAR(1000) NULL,
  PRIMARY KEY (id),
  KEY supervision_events_task (task_id, id),
  KEY supervision_events_unit (unit_id, at),
  CONSTRAINT supervision_events_task_fk FOREIGN KEY (task_id) REFERENCES workflow_tasks (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The supervising unit's staff (监察员), whom escalations reach. New
-- counties are seeded with it; this gives it to the counties before them.
INSERT IGNORE INTO roles (code, name, builtin, created_at) VALUES ('supervisor', '监察员', TRUE, UTC_TIMESTAMP(6));
