-- Stock as counters, kept by triggers in the same transaction as every change of a key row
-- (import, reserve, release, sell, delete, late payment, cancel), so reading the stock costs
-- the same whatever its depth. The rows stay the truth: shop_stock_check compares at start.
CREATE TABLE product_stock (
  product_id  INTEGER PRIMARY KEY REFERENCES products(id) ON DELETE CASCADE,
  available   INTEGER NOT NULL DEFAULT 0 CHECK (available >= 0),
  reserved    INTEGER NOT NULL DEFAULT 0 CHECK (reserved >= 0),
  sold        INTEGER NOT NULL DEFAULT 0 CHECK (sold >= 0)
);

INSERT INTO product_stock (product_id, available, reserved, sold)
  SELECT p.id,
         (SELECT count(*) FROM card_keys k WHERE k.product_id = p.id AND k.status = 'available'),
         (SELECT count(*) FROM card_keys k WHERE k.product_id = p.id AND k.status = 'reserved'),
         (SELECT count(*) FROM card_keys k WHERE k.product_id = p.id AND k.status = 'sold')
  FROM products p;

CREATE TRIGGER product_stock_new AFTER INSERT ON products BEGIN
  INSERT INTO product_stock (product_id) VALUES (NEW.id);
END;

CREATE TRIGGER product_stock_gone AFTER DELETE ON products BEGIN
  DELETE FROM product_stock WHERE product_id = OLD.id;
END;

CREATE TRIGGER card_keys_stock_insert AFTER INSERT ON card_keys BEGIN
  UPDATE product_stock SET available = available + (NEW.status = 'available'),
                           reserved = reserved + (NEW.status = 'reserved'),
                           sold = sold + (NEW.status = 'sold')
   WHERE product_id = NEW.product_id;
END;

CREATE TRIGGER card_keys_stock_delete AFTER DELETE ON card_keys BEGIN
  UPDATE product_stock SET available = available - (OLD.status = 'available'),
                           reserved = reserved - (OLD.status = 'reserved'),
                           sold = sold - (OLD.status = 'sold')
   WHERE product_id = OLD.product_id;
END;

CREATE TRIGGER card_keys_stock_update AFTER UPDATE OF status, product_id ON card_keys
  WHEN OLD.status IS NOT NEW.status OR OLD.product_id IS NOT NEW.product_id BEGIN
  UPDATE product_stock SET available = available - (OLD.status = 'available'),
                           reserved = reserved - (OLD.status = 'reserved'),
                           sold = sold - (OLD.status = 'sold')
   WHERE product_id = OLD.product_id;
  UPDATE product_stock SET available = available + (NEW.status = 'available'),
                           reserved = reserved + (NEW.status = 'reserved'),
                           sold = sold + (NEW.status = 'sold')
   WHERE product_id = NEW.product_id;
END;
