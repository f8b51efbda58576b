-- A county held for billing (its account past due, or an operator's
-- decision): its data is read-only until the hold is lifted. Reads,
-- public routes and the platform's jobs go on; nothing is deleted. Kept
-- beside the status, which says whether the county is served at all: a
-- held county is still served, to read.
ALTER TABLE tenants
  ADD COLUMN held_since DATETIME(6) NULL,
  ADD COLUMN hold_reason VARCHAR(512) NULL;
