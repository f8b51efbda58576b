-- Who owns each name of the plugins' namespace: a plugin id, owned by the
-- vendor of its first registration (no other vendor's binary is ever
-- registered under it), or a prefix of workflow codes that operators or
-- counties gave their own workflows ("approval" of approval.license),
-- which no plugin may then take. A plugin's workflows are "<id>.<code>",
-- so one table holding both makes whichever comes second lose, on its
-- primary key. A name, once owned, is never released.
CREATE TABLE IF NOT EXISTS plugin_namespaces (
  name VARCHAR(64) NOT NULL,
  owner ENUM('plugin', 'workflows') NOT NULL,
  vendor VARCHAR(64) NULL,
  claimed_at DATETIME(6) NOT NULL,
  claimed_by VARCHAR(128) NOT NULL,
  PRIMARY KEY (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The ids registered before: each owned by the vendor its first version
-- named.
INSERT IGNORE INTO plugin_namespaces (name, owner, vendor, claimed_at, claimed_by)
SELECT p.id, 'plugin', JSON_UNQUOTE(JSON_EXTRACT(p.manifest, '$.vendor')), p.registered_at, p.registered_by
FROM plugins p
WHERE p.registered_at = (SELECT MIN(q.registered_at) FROM plugins q WHERE q.id = p.id)
ORDER BY p.registered_at;

