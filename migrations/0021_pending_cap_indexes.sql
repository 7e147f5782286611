-- The hoarding caps count a client's (and an email's) unpaid orders inside the creating
-- transaction. With (client_net, status) and (email, status) the planner preferred
-- orders_status_expiry (status, expires_at) for "status = 'pending' AND expires_at > now", so
-- every order creation scanned every pending order of the shop: with 5,000 unpaid orders,
-- creation fell to ~1,000 orders/s, all of it spent in that count. With expires_at in the
-- index, the count reads only the client's own rows, from the index alone.
DROP INDEX IF EXISTS orders_pending_net;
DROP INDEX IF EXISTS orders_pending_email;
CREATE INDEX orders_pending_net ON orders(client_net, status, expires_at);
CREATE INDEX orders_pending_email ON orders(email COLLATE NOCASE, status, expires_at);
