-- Seats on one subscription per billing account, and subscriptions that
-- move with their county. Stripe sums a meter's events per customer and
-- bills that sum on every subscription item priced on the meter: the seat
-- price sits on exactly one subscription of each account's customer
-- (billing_seat_subscriptions), made when the first county it pays for is
-- in paid service, started at the time of the first usage it bills;
-- counties' subscriptions carry their modules only. generation counts a
-- county's subscriptions: it rises when one ends (the county moved to
-- another account, or no priced module is left) and keys the calls that
-- end it and make the next. move_anchor is the end of the period an
-- account had already been invoiced for when its county moved away (Unix
-- seconds): the next subscription starts its billing there.
CREATE TABLE IF NOT EXISTS billing_seat_subscriptions (
  account_code VARCHAR(128) NOT NULL,
  started BIGINT NOT NULL,
  stripe_subscription_id VARCHAR(255) NULL,
  stripe_item_id VARCHAR(255) NULL,
  created_at DATETIME(6) NOT NULL,
  PRIMARY KEY (account_code)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

ALTER TABLE billing_subscriptions
  ADD COLUMN generation INT NOT NULL DEFAULT 1,
  ADD COLUMN move_anchor BIGINT NULL;
