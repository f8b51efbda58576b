-- Handling time kept: an instance's working time from start to finish in
-- working days of the county's calendar, to the hundredth, its suspended
-- time not counted, written when it finishes, so that every read of a
-- finished instance gives the figure its finishing action counted, even
-- after the county's calendar changes. NULL while it runs, and for an
-- instance withdrawn; an instance finished before this migration is given
-- it counted at the read (tenants/workflow).
ALTER TABLE workflow_instances ADD COLUMN working_days DECIMAL(10,2) NULL AFTER finished_at;
