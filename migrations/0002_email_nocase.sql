-- Buyers type their address in any case: lookups match without regard to it, through an
-- index that can serve them. Admin listings order by id, so the created_at index is dropped.
DROP INDEX orders_email;
CREATE INDEX orders_email_nocase ON orders(email COLLATE NOCASE);
DROP INDEX orders_created;
