-- A county's schema as migrations 1 to 12 leave it, written by
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

CREATE TABLE IF NOT EXISTS `account_security` (
  `account_id` bigint(20) NOT NULL,
  `version` bigint(20) NOT NULL,
  PRIMARY KEY (`account_id`),
  CONSTRAINT `account_security_account_fk` FOREIGN KEY (`account_id`) REFERENCES `accounts` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS `audit_log` (
  `id` bigint(20) NOT NULL AUTO_INCREMENT,
  `at` datetime(6) NOT NULL,
  `actor_kind` varchar(16) NOT NULL,
  `actor_id` bigint(20) DEFAULT NULL,
  `actor_login` varchar(128) NOT NULL,
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

CREATE TABLE IF NOT EXISTS `directory_version` (
  `id` tinyint(4) NOT NULL,
  `version` bigint(20) NOT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS `notification_preferences` (
  `account_id` bigint(20) NOT NULL,
  `kind` varchar(32) NOT NULL,
  `email` tinyint(1) NOT NULL,
  `sms` tinyint(1) NOT NULL,
  `updated_at` datetime(6) NOT NULL,
  PRIMARY KEY (`account_id`,`kind`),
  CONSTRAINT `notification_preferences_account_fk` FOREIGN KEY (`account_id`) REFERENCES `accounts` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS `notifications` (
  `id` bigint(20) NOT NULL AUTO_INCREMENT,
  `account_id` bigint(20) NOT NULL,
  `channel` varchar(8) NOT NULL,
  `kind` varchar(32) NOT NULL,
  `subject` varchar(200) NOT NULL,
  `body` varchar(2000) NOT NULL,
  `ref_type` varchar(32) DEFAULT NULL,
  `ref_id` bigint(20) DEFAULT NULL,
  `address` varchar(254) DEFAULT NULL,
  `status` varchar(16) NOT NULL,
  `attempts` int(11) NOT NULL DEFAULT 0,
  `next_attempt_at` datetime(6) DEFAULT NULL,
  `last_error` varchar(500) DEFAULT NULL,
  `provider_ref` varchar(128) DEFAULT NULL,
  `created_at` datetime(6) NOT NULL,
  `sent_at` datetime(6) DEFAULT NULL,
  `read_at` datetime(6) DEFAULT NULL,
  PRIMARY KEY (`id`),
  KEY `notifications_inbox` (`account_id`,`channel`,`id`),
  KEY `notifications_due` (`status`,`next_attempt_at`),
  CONSTRAINT `notifications_account_fk` FOREIGN KEY (`account_id`) REFERENCES `accounts` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS `plugin_files` (
  `plugin` varchar(32) NOT NULL,
  `file_id` char(32) NOT NULL,
  `name` varchar(255) NOT NULL,
  `content_type` varchar(127) NOT NULL,
  `size` bigint(20) NOT NULL,
  `sha256` char(64) DEFAULT NULL,
  `status` varchar(8) NOT NULL,
  `created_at` datetime(6) NOT NULL,
  `ready_at` datetime(6) DEFAULT NULL,
  PRIMARY KEY (`plugin`,`file_id`),
  KEY `plugin_files_pending` (`status`,`created_at`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS `plugin_record_fields` (
  `plugin` varchar(32) NOT NULL,
  `collection` varchar(64) NOT NULL,
  `record_id` varchar(128) NOT NULL,
  `field` varchar(64) NOT NULL,
  `value` varchar(255) NOT NULL,
  PRIMARY KEY (`plugin`,`collection`,`record_id`,`field`),
  KEY `plugin_record_fields_value` (`plugin`,`collection`,`field`,`value`,`record_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS `plugin_records` (
  `plugin` varchar(32) NOT NULL,
  `collection` varchar(64) NOT NULL,
  `record_id` varchar(128) NOT NULL,
  `version` bigint(20) NOT NULL,
  `document` longtext NOT NULL,
  `created_at` datetime(6) NOT NULL,
  `updated_at` datetime(6) NOT NULL,
  PRIMARY KEY (`plugin`,`collection`,`record_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

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

CREATE TABLE IF NOT EXISTS `sms_gateway` (
  `id` tinyint(4) NOT NULL,
  `url` varchar(500) NOT NULL,
  `token` varchar(500) NOT NULL,
  `sign` varchar(32) NOT NULL,
  `updated_at` datetime(6) NOT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS `workflow_definitions` (
  `code` varchar(64) NOT NULL,
  `version` int(11) NOT NULL,
  `name` varchar(128) NOT NULL,
  `base` mediumtext NOT NULL,
  `localization` mediumtext DEFAULT NULL,
  `effective` mediumtext NOT NULL,
  `created_at` datetime(6) NOT NULL,
  `updated_at` datetime(6) NOT NULL,
  `updated_by` varchar(64) NOT NULL,
  PRIMARY KEY (`code`,`version`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS `workflow_instances` (
  `id` bigint(20) NOT NULL AUTO_INCREMENT,
  `definition_code` varchar(64) NOT NULL,
  `definition_version` int(11) NOT NULL,
  `title` varchar(200) NOT NULL,
  `reference` varchar(128) DEFAULT NULL,
  `initiator_id` bigint(20) NOT NULL,
  `initiator_unit_id` bigint(20) NOT NULL,
  `status` varchar(16) NOT NULL,
  `started_at` datetime(6) NOT NULL,
  `due_at` datetime(6) DEFAULT NULL,
  `due_calendar` varchar(16) DEFAULT NULL,
  `finished_at` datetime(6) DEFAULT NULL,
  PRIMARY KEY (`id`),
  KEY `workflow_instances_initiator` (`initiator_id`,`status`),
  KEY `workflow_instances_status` (`status`,`started_at`),
  KEY `workflow_instances_definition_fk` (`definition_code`,`definition_version`),
  CONSTRAINT `workflow_instances_definition_fk` FOREIGN KEY (`definition_code`, `definition_version`) REFERENCES `workflow_definitions` (`code`, `version`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS `workflow_tasks` (
  `id` bigint(20) NOT NULL AUTO_INCREMENT,
  `instance_id` bigint(20) NOT NULL,
  `step` varchar(32) NOT NULL,
  `step_name` varchar(64) NOT NULL,
  `join_step` varchar(32) DEFAULT NULL,
  `assignee_account_id` bigint(20) DEFAULT NULL,
  `assignee_role` varchar(64) DEFAULT NULL,
  `unit_id` bigint(20) NOT NULL,
  `status` varchar(16) NOT NULL,
  `level` tinyint(4) NOT NULL DEFAULT 0,
  `sms_reminder` tinyint(1) NOT NULL DEFAULT 0,
  `created_at` datetime(6) NOT NULL,
  `warn_at` datetime(6) DEFAULT NULL,
  `due_at` datetime(6) DEFAULT NULL,
  `due_calendar` varchar(16) DEFAULT NULL,
  `next_check_at` datetime(6) DEFAULT NULL,
  `acted_by` bigint(20) DEFAULT NULL,
  `acted_at` datetime(6) DEFAULT NULL,
  `action` varchar(32) DEFAULT NULL,
  `comment` varchar(1000) DEFAULT NULL,
  `version` int(11) NOT NULL DEFAULT 0,
  PRIMARY KEY (`id`),
  KEY `workflow_tasks_instance` (`instance_id`,`status`),
  KEY `workflow_tasks_account` (`assignee_account_id`,`status`),
  KEY `workflow_tasks_unit` (`unit_id`,`status`),
  KEY `workflow_tasks_check` (`next_check_at`),
  KEY `workflow_tasks_acted` (`acted_at`),
  KEY `workflow_tasks_level` (`status`,`level`,`due_at`),
  CONSTRAINT `workflow_tasks_instance_fk` FOREIGN KEY (`instance_id`) REFERENCES `workflow_instances` (`id`),
  CONSTRAINT `workflow_tasks_unit_fk` FOREIGN KEY (`unit_id`) REFERENCES `units` (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS `supervision_events` (
  `id` bigint(20) NOT NULL AUTO_INCREMENT,
  `task_id` bigint(20) NOT NULL,
  `instance_id` bigint(20) NOT NULL,
  `unit_id` bigint(20) NOT NULL,
  `kind` varchar(16) NOT NULL,
  `level` tinyint(4) NOT NULL,
  `at` datetime(6) NOT NULL,
  `actor_login` varchar(64) NOT NULL,
  `note` varchar(1000) DEFAULT NULL,
  PRIMARY KEY (`id`),
  KEY `supervision_events_task` (`task_id`,`id`),
  KEY `supervision_events_unit` (`unit_id`,`at`),
  CONSTRAINT `supervision_events_task_fk` FOREIGN KEY (`task_id`) REFERENCES `workflow_tasks` (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS `workflow_history` (
  `id` bigint(20) NOT NULL AUTO_INCREMENT,
  `instance_id` bigint(20) NOT NULL,
  `task_id` bigint(20) DEFAULT NULL,
  `step` varchar(32) NOT NULL,
  `action` varchar(32) NOT NULL,
  `actor_id` bigint(20) DEFAULT NULL,
  `actor_login` varchar(64) NOT NULL,
  `at` datetime(6) NOT NULL,
  `comment` varchar(1000) DEFAULT NULL,
  PRIMARY KEY (`id`),
  KEY `workflow_history_instance` (`instance_id`,`id`),
  CONSTRAINT `workflow_history_instance_fk` FOREIGN KEY (`instance_id`) REFERENCES `workflow_instances` (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

DROP TRIGGER IF EXISTS `audit_log_no_delete`;

CREATE TRIGGER `audit_log_no_delete` BEFORE DELETE ON `audit_log` FOR EACH ROW
BEGIN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'audit_log is append-only'; END;

DROP TRIGGER IF EXISTS `audit_log_no_update`;

CREATE TRIGGER `audit_log_no_update` BEFORE UPDATE ON `audit_log` FOR EACH ROW
BEGIN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'audit_log is append-only'; END;
