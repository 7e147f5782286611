-- Hoarding caps count unpaid orders per client network (an IPv4 address, an IPv6 /64) and per
-- email: the network is stored with the order, and both counts are served by an index.
ALTER TABLE orders ADD COLUMN client_net TEXT NOT NULL DEFAULT '';
CREATE INDEX orders_pending_net ON orders(client_net, status);
CREATE INDEX orders_pending_email ON orders(email COLLATE NOCASE, status);
