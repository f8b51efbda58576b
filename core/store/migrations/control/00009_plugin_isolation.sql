-- How the counties that enable a plugin version share its processes:
-- 'shared' (one process per version for all of them) or 'county' (one
-- process per county and version), chosen by the operator at
-- registration. Versions registered before were shared.
ALTER TABLE plugins ADD COLUMN isolation VARCHAR(16) NOT NULL DEFAULT 'shared' AFTER manifest;
