-- A county's schema as migrations 1 to 4 leave it, written by
-- go test ./core/store -run TestTenantSnapshot -update-snapshot.
-- New counties are created from it in one step.

CREATE TABLE IF NOT EXISTS `units` (
  `id` bigint(20) NOT NULL AUTO_INCREMENT,
  `name` varchar(64) NOT NULL,
  `code` varchar(32) DEFAULT NULL,
  `parent_id` bigint(20) DEFAULT NULL,
  `sort_order` int(11) NOT NULL DEFAULT 0,
  `account_quota` int(11) DEFAULT NULL,
  `created_at` datetime(6) NOT NULL,
  `updated_at` datetime(6) NOT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `units_name` (`name`),
  UNIQUE KEY `units_code` (`code`),
  KEY `units_parent` (`parent_id`,`sort_order`),
  CONSTRAINT `units_parent_fk` FOREIGN KEY (`parent_id`) REFERENCES `units` (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS `accounts` (
  `id` bigint(20) NOT NULL AUTO_INCREMENT,
  `login` varchar(64) NOT NULL,
  `name` varchar(64) NOT NULL,
  `unit_id` bigint(20) NOT NULL,
  `mobile` varchar(16) DEFAULT NULL,
  `email` varchar(254) DEFAULT NULL,
  `status` varchar(16) NOT NULL,
  `created_at` datetime(6) NOT NULL,
  `updated_at` datetime(6) NOT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `accounts_login` (`login`),
  KEY `accounts_unit` (`unit_id`,`status`),
  CONSTRAINT `accounts_unit_fk` FOREIGN KEY (`unit_id`) REFERENCES `units` (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS `roles` (
  `id` bigint(20) NOT NULL AUTO_INCREMENT,
  `code` varchar(64) NOT NULL,
  `name` varchar(64) NOT NULL,
  `builtin` tinyint(1) NOT NULL DEFAULT 0,
  `created_at` datetime(6) NOT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `roles_code` (`code`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS `account_roles` (
  `account_id` bigint(20) NOT NULL,
  `role_id` bigint(20) NOT NULL,
  PRIMARY KEY (`account_id`,`role_id`),
  KEY `account_roles_role` (`role_id`),
  CONSTRAINT `account_roles_account_fk` FOREIGN KEY (`account_id`) REFERENCES `accounts` (`id`) ON DELETE CASCADE,
  CONSTRAINT `account_roles_role_fk` FOREIGN KEY (`role_id`) REFERENCES `roles` (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS `audit_log` (
  `id` bigint(20) NOT NULL AUTO_INCREMENT,
  `at` datetime(6) NOT NULL,
  `actor_kind` varchar(16) NOT NULL,
  `actor_id` bigint(20) DEFAULT NULL,
  `actor_login` varchar(64) NOT NULL,
  `unit_id` bigint(20) DEFAULT NULL,
  `action` varchar(64) NOT NULL,
  `object_type` varchar(32) NOT NULL,
  `object_id` varchar(64) NOT NULL,
  `before_digest` char(64) DEFAULT NULL,
  `after_digest` char(64) DEFAULT NULL,
  `outcome` varchar(16) NOT NULL,
  `code` varchar(64) DEFAULT NULL,
  `request_id` varchar(64) NOT NULL,
  `source` varchar(64) NOT NULL,
  PRIMARY KEY (`id`),
  KEY `audit_at` (`at`),
  KEY `audit_actor` (`actor_kind`,`actor_id`,`at`),
  KEY `audit_unit` (`unit_id`,`at`),
  KEY `audit_object` (`object_type`,`object_id`,`at`),
  KEY `audit_action` (`action`,`at`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS `calendar_overrides` (
  `day` date NOT NULL,
  `working` tinyint(1) NOT NULL,
  `note` varchar(200) NOT NULL,
  `updated_at` datetime(6) NOT NULL,
  PRIMARY KEY (`day`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS `credentials` (
  `account_id` bigint(20) NOT NULL,
  `password_hash` varchar(255) NOT NULL,
  `must_change` tinyint(1) NOT NULL,
  `failed_logins` int(11) NOT NULL DEFAULT 0,
  `locked_until` datetime(6) DEFAULT NULL,
  `changed_at` datetime(6) NOT NULL,
  PRIMARY KEY (`account_id`),
  CONSTRAINT `credentials_account_fk` FOREIGN KEY (`account_id`) REFERENCES `accounts` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS `quota_requests` (
  `id` bigint(20) NOT NULL AUTO_INCREMENT,
  `unit_id` bigint(20) NOT NULL,
  `quota` int(11) NOT NULL,
  `reason` varchar(1024) NOT NULL,
  `status` varchar(16) NOT NULL,
  `requested_by` varchar(64) NOT NULL,
  `requested_at` datetime(6) NOT NULL,
  `decided_by` varchar(64) DEFAULT NULL,
  `decided_at` datetime(6) DEFAULT NULL,
  `decision_note` varchar(1024) DEFAULT NULL,
  PRIMARY KEY (`id`),
  KEY `quota_requests_unit` (`unit_id`,`status`),
  CONSTRAINT `quota_requests_unit_fk` FOREIGN KEY (`unit_id`) REFERENCES `units` (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS `settings` (
  `name` varchar(64) NOT NULL,
  `value` varchar(1024) NOT NULL,
  `updated_at` datetime(6) NOT NULL,
  PRIMARY KEY (`name`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

DROP TRIGGER IF EXISTS `audit_log_no_delete`;

CREATE TRIGGER `audit_log_no_delete` BEFORE DELETE ON `audit_log` FOR EACH ROW
BEGIN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'audit_log is append-only'; END;

DROP TRIGGER IF EXISTS `audit_log_no_update`;

CREATE TRIGGER `audit_log_no_update` BEFORE UPDATE ON `audit_log` FOR EACH ROW
BEGIN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'audit_log is append-only'; END;
