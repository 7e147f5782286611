-- The whole schema cardshop needs. The invariants live here as constraints, so no code path
-- (or hand-written SQL) can sell one key twice or record one gateway payment twice.

CREATE TABLE categories (
  id          INTEGER PRIMARY KEY,
  name        TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  sort        INTEGER NOT NULL DEFAULT 0,
  active      INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
  created_at  INTEGER NOT NULL
);

CREATE TABLE products (
  id          INTEGER PRIMARY KEY,
  category_id INTEGER REFERENCES categories(id) ON DELETE SET NULL,
  name        TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  description TEXT NOT NULL DEFAULT '',
  price       INTEGER NOT NULL CHECK (price >= 0 AND price <= 100000000000),
  currency    TEXT NOT NULL CHECK (length(currency) = 3),
  min_qty     INTEGER NOT NULL DEFAULT 1 CHECK (min_qty >= 1),
  max_qty     INTEGER NOT NULL DEFAULT 0 CHECK (max_qty = 0 OR max_qty >= min_qty),
  delivery    TEXT NOT NULL DEFAULT 'auto' CHECK (delivery IN ('auto', 'manual')),
  active      INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
  sort        INTEGER NOT NULL DEFAULT 0,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
);
CREATE INDEX products_category ON products(category_id);

CREATE TABLE coupons (
  id          INTEGER PRIMARY KEY,
  code        TEXT NOT NULL UNIQUE COLLATE NOCASE CHECK (length(code) BETWEEN 1 AND 64),
  kind        TEXT NOT NULL CHECK (kind IN ('percent', 'fixed')),
  value       INTEGER NOT NULL CHECK (value >= 1 AND (kind = 'fixed' OR value <= 100)),
  uses_left   INTEGER CHECK (uses_left IS NULL OR uses_left >= 0),  -- NULL: unlimited
  used        INTEGER NOT NULL DEFAULT 0 CHECK (used >= 0),
  expires_at  INTEGER,
  product_id  INTEGER REFERENCES products(id),
  active      INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
  created_at  INTEGER NOT NULL
);

CREATE TABLE orders (
  id            INTEGER PRIMARY KEY,
  order_no      TEXT NOT NULL UNIQUE,
  product_id    INTEGER NOT NULL REFERENCES products(id),
  quantity      INTEGER NOT NULL CHECK (quantity >= 1),
  unit_price    INTEGER NOT NULL CHECK (unit_price >= 0),
  discount      INTEGER NOT NULL DEFAULT 0 CHECK (discount >= 0),
  amount        INTEGER NOT NULL CHECK (amount >= 0),
  currency      TEXT NOT NULL CHECK (length(currency) = 3),
  email         TEXT NOT NULL,
  query_pw_hash TEXT,
  gateway       TEXT NOT NULL,
  coupon_id     INTEGER REFERENCES coupons(id),
  status        TEXT NOT NULL DEFAULT 'pending' CHECK (status IN
                  ('pending', 'paid', 'delivered', 'expired', 'paid_undelivered', 'refunded',
                   'cancelled')),
  client_ip     TEXT NOT NULL DEFAULT '',
  created_at    INTEGER NOT NULL,
  expires_at    INTEGER NOT NULL,
  paid_at       INTEGER,
  delivered_at  INTEGER,
  CHECK (status IN ('pending', 'expired', 'cancelled') OR paid_at IS NOT NULL)
);
CREATE INDEX orders_status_expiry ON orders(status, expires_at);
CREATE INDEX orders_email ON orders(email);
CREATE INDEX orders_created ON orders(created_at);

-- One row per successful payment. UNIQUE(gateway, trade_no) makes a repeated notify a no-op;
-- UNIQUE(order_id) makes a second, different payment for one order a visible conflict.
CREATE TABLE payments (
  id          INTEGER PRIMARY KEY,
  order_id    INTEGER NOT NULL UNIQUE REFERENCES orders(id),
  gateway     TEXT NOT NULL,
  trade_no    TEXT NOT NULL CHECK (length(trade_no) BETWEEN 1 AND 128),
  amount      INTEGER NOT NULL CHECK (amount >= 0),
  created_at  INTEGER NOT NULL,
  UNIQUE (gateway, trade_no)
);

-- A key belongs to at most one order: one order_id column, set exactly when not available.
CREATE TABLE card_keys (
  id          INTEGER PRIMARY KEY,
  product_id  INTEGER NOT NULL REFERENCES products(id),
  secret      BLOB NOT NULL,          -- AES-256-GCM: nonce | ciphertext | tag
  hash        BLOB NOT NULL,          -- HMAC-SHA256 of the key, for duplicate detection
  status      TEXT NOT NULL DEFAULT 'available' CHECK (status IN ('available', 'reserved', 'sold')),
  order_id    INTEGER REFERENCES orders(id),
  created_at  INTEGER NOT NULL,
  sold_at     INTEGER,
  UNIQUE (product_id, hash),
  CHECK ((status = 'available') = (order_id IS NULL))
);
CREATE INDEX card_keys_stock ON card_keys(product_id, status, id);
CREATE INDEX card_keys_order ON card_keys(order_id);

-- Every notify, good or bad, verbatim, for audit.
CREATE TABLE payment_events (
  id          INTEGER PRIMARY KEY,
  gateway     TEXT NOT NULL,
  order_no    TEXT,
  trade_no    TEXT,
  amount      INTEGER,
  verified    INTEGER NOT NULL CHECK (verified IN (0, 1)),
  outcome     TEXT NOT NULL,
  raw         TEXT NOT NULL,
  client_ip   TEXT NOT NULL DEFAULT '',
  created_at  INTEGER NOT NULL
);
CREATE INDEX payment_events_order ON payment_events(order_no);

CREATE TABLE admins (
  id            INTEGER PRIMARY KEY,
  username      TEXT NOT NULL UNIQUE CHECK (length(username) BETWEEN 1 AND 64),
  password_hash TEXT NOT NULL,
  disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
  created_at    INTEGER NOT NULL
);

CREATE TABLE sessions (
  id_hash     BLOB PRIMARY KEY,       -- SHA-256 of the cookie value: a leaked table opens nothing
  admin_id    INTEGER NOT NULL REFERENCES admins(id) ON DELETE CASCADE,
  csrf_token  TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  last_seen   INTEGER NOT NULL,
  expires_at  INTEGER NOT NULL,
  ip          TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
CREATE INDEX sessions_admin ON sessions(admin_id);

CREATE TABLE settings (
  key         TEXT PRIMARY KEY,
  value       TEXT NOT NULL
) WITHOUT ROWID;

-- Durable background work: mail, expiry, reconciliation, backups.
CREATE TABLE jobs (
  id          INTEGER PRIMARY KEY,
  kind        TEXT NOT NULL,
  payload     TEXT NOT NULL DEFAULT '{}',
  status      TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done', 'failed')),
  attempts    INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  max_attempts INTEGER NOT NULL DEFAULT 10 CHECK (max_attempts >= 1),
  run_at      INTEGER NOT NULL,
  last_error  TEXT,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
);
CREATE INDEX jobs_due ON jobs(status, run_at);

CREATE TABLE audit_log (
  id          INTEGER PRIMARY KEY,
  admin_id    INTEGER,
  username    TEXT NOT NULL DEFAULT '',
  action      TEXT NOT NULL,
  target      TEXT NOT NULL DEFAULT '',
  detail      TEXT NOT NULL DEFAULT '{}',
  ip          TEXT NOT NULL DEFAULT '',
  created_at  INTEGER NOT NULL
);
CREATE INDEX audit_log_created ON audit_log(created_at);
