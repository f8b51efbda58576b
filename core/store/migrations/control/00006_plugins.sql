-- The plugin catalog: every registered plugin version, with the SHA-256 of
-- its binary (checked at registration and at every launch) and the
-- manifest it reported. A version is never changed once registered;
-- a new build is a new version.
CREATE TABLE IF NOT EXISTS plugins (
  id VARCHAR(32) NOT NULL,
  version VARCHAR(64) NOT NULL,
  sha256 CHAR(64) NOT NULL,
  file VARCHAR(255) NOT NULL,
  builtin BOOLEAN NOT NULL DEFAULT FALSE,
  manifest TEXT NOT NULL,
  registered_at DATETIME(6) NOT NULL,
  registered_by VARCHAR(128) NOT NULL,
  PRIMARY KEY (id, version)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The modules each county enabled: which version it runs and its
-- settings, validated against the manifest's settings schema.
CREATE TABLE IF NOT EXISTS tenant_modules (
  tenant_code VARCHAR(128) NOT NULL,
  plugin_id VARCHAR(32) NOT NULL,
  version VARCHAR(64) NOT NULL,
  enabled BOOLEAN NOT NULL,
  settings TEXT NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  updated_by VARCHAR(128) NOT NULL,
  PRIMARY KEY (tenant_code, plugin_id),
  KEY tenant_modules_plugin (plugin_id, version)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
