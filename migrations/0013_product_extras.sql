-- Products: loop keys (one key for every buyer), custom input fields asked at checkout, an
-- image, and a low-stock threshold. Orders pin what they were placed with.
ALTER TABLE products ADD COLUMN loop_key INTEGER NOT NULL DEFAULT 0 CHECK (loop_key IN (0, 1));
ALTER TABLE products ADD COLUMN fields TEXT NOT NULL DEFAULT '[]';   -- validated JSON array
ALTER TABLE products ADD COLUMN image TEXT;                          -- file name under uploads/
ALTER TABLE products ADD COLUMN low_stock INTEGER NOT NULL DEFAULT 0 CHECK (low_stock >= 0);

-- A loop order reserves nothing; the key it got is linked here and stays available for the
-- next buyer, so card_keys keeps its one-order-per-key invariant and the stock counters stay
-- the rows' own.
ALTER TABLE orders ADD COLUMN loop_key INTEGER NOT NULL DEFAULT 0 CHECK (loop_key IN (0, 1));
ALTER TABLE orders ADD COLUMN fields TEXT NOT NULL DEFAULT '{}';     -- the buyer's answers

CREATE TABLE order_keys (
  order_id    INTEGER NOT NULL REFERENCES orders(id),
  key_id      INTEGER NOT NULL REFERENCES card_keys(id),
  created_at  INTEGER NOT NULL,
  PRIMARY KEY (order_id, key_id)
) WITHOUT ROWID;
CREATE INDEX order_keys_key ON order_keys(key_id);
