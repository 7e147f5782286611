-- Pricing: wholesale tiers per product, a cap on what one coupon use takes off, and how many
-- coupon uses an order took (a use is one unit sold at the discount: a one-use coupon covers
-- one key, whatever the quantity), so expiry and cancel give back exactly what was taken.
CREATE TABLE product_tiers (
  product_id  INTEGER NOT NULL REFERENCES products(id) ON DELETE CASCADE,
  min_qty     INTEGER NOT NULL CHECK (min_qty >= 1),
  unit_price  INTEGER NOT NULL CHECK (unit_price >= 0 AND unit_price <= 100000000000),
  PRIMARY KEY (product_id, min_qty)
) WITHOUT ROWID;

ALTER TABLE coupons ADD COLUMN max_discount INTEGER CHECK (max_discount IS NULL OR max_discount >= 1);

ALTER TABLE orders ADD COLUMN coupon_uses INTEGER NOT NULL DEFAULT 0 CHECK (coupon_uses >= 0);
UPDATE orders SET coupon_uses = 1 WHERE coupon_id IS NOT NULL;
