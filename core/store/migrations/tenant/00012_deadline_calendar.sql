-- How far the working-day calendar a deadline was counted in can be
-- trusted over the years it spans: 'official' (the State Council's
-- notice), 'provisional' (worked out before the notice) or 'missing' (no
-- data: Monday to Friday were counted, holidays unknown). NULL without a
-- deadline.
ALTER TABLE workflow_instances ADD COLUMN due_calendar VARCHAR(16) NULL AFTER due_at;
ALTER TABLE workflow_tasks ADD COLUMN due_calendar VARCHAR(16) NULL AFTER due_at;

-- Deadlines counted before this column existed are given the status of
-- the national data this release ships with (2026 official, 2027
-- provisional, no other year), from the day counting started to the
-- deadline, in China's time. A task's counting is taken to start with its
-- instance, the wider span, so that no deadline is marked better than it
-- may be.
UPDATE workflow_instances SET due_calendar = CASE
  WHEN YEAR(DATE_ADD(started_at, INTERVAL 8 HOUR)) < 2026 OR YEAR(DATE_ADD(due_at, INTERVAL 8 HOUR)) > 2027 THEN 'missing'
  WHEN YEAR(DATE_ADD(due_at, INTERVAL 8 HOUR)) = 2027 THEN 'provisional'
  ELSE 'official' END
WHERE due_at IS NOT NULL;
UPDATE workflow_tasks t JOIN workflow_instances i ON i.id = t.instance_id SET t.due_calendar = CASE
  WHEN YEAR(DATE_ADD(LEAST(i.started_at, t.created_at), INTERVAL 8 HOUR)) < 2026 OR YEAR(DATE_ADD(t.due_at, INTERVAL 8 HOUR)) > 2027 THEN 'missing'
  WHEN YEAR(DATE_ADD(t.due_at, INTERVAL 8 HOUR)) = 2027 THEN 'provisional'
  ELSE 'official' END
WHERE t.due_at IS NOT NULL;
