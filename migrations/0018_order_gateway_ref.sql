-- The gateway's own id for an order's payment (Stripe's Checkout Session id), kept so a lost
-- webhook can be recovered by asking the gateway about exactly that payment.
ALTER TABLE orders ADD COLUMN gateway_ref TEXT;
