-- The county's organisation as the staffing office (编办) hands it over:
-- units in a tree, accounts in units, roles on accounts, and the requests
-- that raise a unit's account quota.
CREATE TABLE IF NOT EXISTS units (
  id BIGINT NOT NULL AUTO_INCREMENT,
  name VARCHAR(64) NOT NULL,
  code VARCHAR(32) NULL,
  parent_id BIGINT NULL,
  sort_order INT NOT NULL DEFAULT 0,
  account_quota INT NULL,
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY units_name (name),
  UNIQUE KEY units_code (code),
  KEY units_parent (parent_id, sort_order),
  CONSTRAINT units_parent_fk FOREIGN KEY (parent_id) REFERENCES units (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS accounts (
  id BIGINT NOT NULL AUTO_INCREMENT,
  login VARCHAR(64) NOT NULL,
  name VARCHAR(64) NOT NULL,
  unit_id BIGINT NOT NULL,
  mobile VARCHAR(16) NULL,
  email VARCHAR(254) NULL,
  status VARCHAR(16) NOT NULL,
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY accounts_login (login),
  KEY accounts_unit (unit_id, status),
  CONSTRAINT accounts_unit_fk FOREIGN KEY (unit_id) REFERENCES units (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS account_roles (
  account_id BIGINT NOT NULL,
  role_id BIGINT NOT NULL,
  PRIMARY KEY (account_id, role_id),
  KEY account_roles_role (role_id),
  CONSTRAINT account_roles_account_fk FOREIGN KEY (account_id) REFERENCES accounts (id) ON DELETE CASCADE,
  CONSTRAINT account_roles_role_fk FOREIGN KEY (role_id) REFERENCES roles (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS quota_requests (
  id BIGINT NOT NULL AUTO_INCREMENT,
  unit_id BIGINT NOT NULL,
  quota INT NOT NULL,
  reason VARCHAR(1024) NOT NULL,
  status VARCHAR(16) NOT NULL,
  requested_by VARCHAR(64) NOT NULL,
  requested_at DATETIME(6) NOT NULL,
  decided_by VARCHAR(64) NULL,
  decided_at DATETIME(6) NULL,
  decision_note VARCHAR(1024) NULL,
  PRIMARY KEY (id),
  KEY quota_requests_unit (unit_id, status),
  CONSTRAINT quota_requests_unit_fk FOREIGN KEY (unit_id) REFERENCES units (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
