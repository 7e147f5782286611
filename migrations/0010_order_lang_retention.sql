-- The language an order was placed in: the buyer's mails are written in it.
ALTER TABLE orders ADD COLUMN lang TEXT NOT NULL DEFAULT 'en' CHECK (lang IN ('en', 'zh-CN'));
-- The retention prune finds old unverified notifies without a scan of every event.
CREATE INDEX payment_events_unverified ON payment_events(verified, created_at);
