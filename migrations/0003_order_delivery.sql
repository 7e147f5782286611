-- How an order is fulfilled is fixed when it is placed (it decides whether keys are reserved);
-- a later change of the product's delivery mode must not change how a paid order is handled.
ALTER TABLE orders ADD COLUMN delivery TEXT NOT NULL DEFAULT 'auto'
  CHECK (delivery IN ('auto', 'manual'));
UPDATE orders SET delivery = (SELECT p.delivery FROM products p WHERE p.id = orders.product_id);
