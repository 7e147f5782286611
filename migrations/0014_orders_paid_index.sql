-- The dashboard counts orders by the day they were paid: a range over paid_at, not a scan.
CREATE INDEX orders_paid ON orders(paid_at) WHERE paid_at IS NOT NULL;
