-- Stripe's events about a county's subscription, applied to it as
-- billing keeps it. stripe_status is the status Stripe last reported
-- (trialing, active, past_due, canceled, unpaid…), beside `state`, which
-- stays what the rollout made it (trialing, active) until Stripe deletes
-- the subscription (ended, ended_at). current_period_end and
-- stripe_trial_end are Stripe's. stripe_event_created is the Stripe time
-- of the event last applied, stripe_event_id its id: an older event
-- changes nothing. Events find their subscription by its Stripe id.
ALTER TABLE billing_subscriptions
  ADD COLUMN stripe_status VARCHAR(32) NULL,
  ADD COLUMN current_period_end DATETIME(6) NULL,
  ADD COLUMN stripe_trial_end DATETIME(6) NULL,
  ADD COLUMN ended_at DATETIME(6) NULL,
  ADD COLUMN stripe_event_created BIGINT NULL,
  ADD COLUMN stripe_event_id VARCHAR(255) NULL,
  ADD KEY billing_subscriptions_stripe (stripe_subscription_id);
