-- The merchant's order actions: when an order was cancelled or refunded (shown in its detail),
-- and the index an order's history (the audit entries naming it) is read by.
ALTER TABLE orders ADD COLUMN cancelled_at INTEGER;
ALTER TABLE orders ADD COLUMN refunded_at INTEGER;
CREATE INDEX audit_log_target ON audit_log(target);
