-- Public uploads: a file a module's public route asked for on behalf of
-- its anonymous caller (a citizen's materials) is nobody's account's; it
-- is bound to the module's record it was asked for (collection,
-- record_id), and keeps the address it was asked from, for
-- accountability and to bound how many one address asks for. The host
-- sniffs its bytes against its declared content type on upload. NULL in
-- all three for a file an account uploads, as before.
ALTER TABLE plugin_files ADD COLUMN collection VARCHAR(64) NULL AFTER ready_at;
ALTER TABLE plugin_files ADD COLUMN record_id VARCHAR(128) NULL AFTER collection;
ALTER TABLE plugin_files ADD COLUMN uploader_address VARCHAR(64) NULL AFTER record_id;
ALTER TABLE plugin_files ADD COLUMN uploader_network VARCHAR(64) NULL AFTER uploader_address;
ALTER TABLE plugin_files ADD KEY plugin_files_uploader (uploader_network, created_at);
