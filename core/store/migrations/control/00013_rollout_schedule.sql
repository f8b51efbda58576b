-- What the rollout's sweep decides on its own: the phase it proposes when
-- a trial ends on its date (the county waits there for an operator), and
-- the day of the review four months into formal operation.
ALTER TABLE rollout_plans ADD COLUMN proposed VARCHAR(16) NULL;
ALTER TABLE rollout_plans ADD COLUMN review_on DATE NULL;
