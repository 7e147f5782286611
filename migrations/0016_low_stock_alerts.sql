-- product.low_stock is sent once per crossing: a row here says "sent, at this threshold"; the
-- trigger re-arms the product whenever its free stock rises above that threshold again
-- (an import, an expired or cancelled order), whichever path moved the keys.
CREATE TABLE low_stock_alerts (
  product_id  INTEGER PRIMARY KEY REFERENCES products(id) ON DELETE CASCADE,
  threshold   INTEGER NOT NULL CHECK (threshold >= 1),
  sent_at     INTEGER NOT NULL
);

CREATE TRIGGER low_stock_rearm AFTER UPDATE OF available ON product_stock
  WHEN NEW.available > OLD.available BEGIN
  DELETE FROM low_stock_alerts WHERE product_id = NEW.product_id AND NEW.available > threshold;
END;
