-- The payload a QR gateway (Alipay 当面付, WeChat Native) gave for the order: the pay page
-- shows it as a QR code while the order is pending.
ALTER TABLE orders ADD COLUMN pay_qr TEXT;
