-- Plugin records: the JSON documents a module keeps in the county, each in
-- its plugin's own namespace. Plugins never reach these tables: the host
-- reads and writes them for a plugin, in the county of the capability the
-- call carries.
CREATE TABLE IF NOT EXISTS plugin_records (
  plugin VARCHAR(32) NOT NULL,
  collection VARCHAR(64) NOT NULL,
  record_id VARCHAR(128) NOT NULL,
  version BIGINT NOT NULL,
  document LONGTEXT NOT NULL,
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  PRIMARY KEY (plugin, collection, record_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The values of the fields a plugin's manifest declares indexed, one row
-- each, so that a query filtered on them reads the index, not documents.
CREATE TABLE IF NOT EXISTS plugin_record_fields (
  plugin VARCHAR(32) NOT NULL,
  collection VARCHAR(64) NOT NULL,
  record_id VARCHAR(128) NOT NULL,
  field VARCHAR(64) NOT NULL,
  value VARCHAR(255) NOT NULL,
  PRIMARY KEY (plugin, collection, record_id, field),
  KEY plugin_record_fields_value (plugin, collection, field, value, record_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
