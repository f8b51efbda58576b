-- The hourly sweep of abandoned uploads asks for pending files by age:
-- along this index it reads only those, not every file of the county.
ALTER TABLE plugin_files ADD KEY plugin_files_pending (status, created_at);
