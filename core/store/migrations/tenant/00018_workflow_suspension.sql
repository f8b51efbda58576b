-- Suspension (中止计时): an instance waiting on someone outside the county
-- (an applicant asked for missing materials, 补正) is 'suspended', with its
-- open tasks, from suspended_at until it resumes; its deadlines then move
-- on by the working time it waited, which suspended_seconds adds up, so
-- that neither supervision nor the figures of handling time count the
-- days spent waiting on the applicant.
ALTER TABLE workflow_instances ADD COLUMN suspended_at DATETIME(6) NULL AFTER due_calendar;
ALTER TABLE workflow_instances ADD COLUMN suspended_seconds BIGINT NOT NULL DEFAULT 0 AFTER suspended_at;
ALTER TABLE workflow_tasks ADD COLUMN suspended_seconds BIGINT NOT NULL DEFAULT 0 AFTER due_calendar;
