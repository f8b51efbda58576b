-- Billing's lifecycle, driven by the rollout. A county's subscription is
-- made on its paying account's customer when the county enters trial
-- operation, trialing until the plan's formal start (trial_end, a day in
-- China); formal operation ends the trial (state active). Its items are
-- the county's enabled modules at their catalogue prices and the seat
-- price, metered; `revision` counts an item's additions, so that enabling
-- a module again is a new call with a key of its own. The Stripe ids are
-- recorded when the outbox's calls come back. billing_meters is the
-- Billing Meter the seat price is backed by, by its event name.
CREATE TABLE IF NOT EXISTS billing_subscriptions (
  county_code VARCHAR(128) NOT NULL,
  account_code VARCHAR(128) NULL,
  state VARCHAR(16) NOT NULL,
  trial_end DATE NOT NULL,
  trial_change_id BIGINT NOT NULL,
  created BOOLEAN NOT NULL DEFAULT FALSE,
  stripe_subscription_id VARCHAR(255) NULL,
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  PRIMARY KEY (county_code),
  KEY billing_subscriptions_state (state, county_code)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS billing_subscription_items (
  county_code VARCHAR(128) NOT NULL,
  lookup_key VARCHAR(128) NOT NULL,
  active BOOLEAN NOT NULL,
  revision INT NOT NULL,
  stripe_item_id VARCHAR(255) NULL,
  updated_at DATETIME(6) NOT NULL,
  PRIMARY KEY (county_code, lookup_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS billing_meters (
  event_name VARCHAR(100) NOT NULL,
  stripe_meter_id VARCHAR(255) NULL,
  created_at DATETIME(6) NOT NULL,
  PRIMARY KEY (event_name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
