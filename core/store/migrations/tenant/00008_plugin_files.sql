-- Plugin files: what the host knows of each file a module keeps in the
-- county. The bytes are in the host's blob store under the county, the
-- plugin and the file's id; clients send and fetch them through URLs the
-- host signs, never through the plugin. A file is pending from the moment
-- a module expects it until exactly its declared size has arrived, then
-- ready with the SHA-256 of those bytes.
CREATE TABLE IF NOT EXISTS plugin_files (
  plugin VARCHAR(32) NOT NULL,
  file_id CHAR(32) NOT NULL,
  name VARCHAR(255) NOT NULL,
  content_type VARCHAR(127) NOT NULL,
  size BIGINT NOT NULL,
  sha256 CHAR(64) NULL,
  status VARCHAR(8) NOT NULL,
  created_at DATETIME(6) NOT NULL,
  ready_at DATETIME(6) NULL,
  PRIMARY KEY (plugin, file_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
