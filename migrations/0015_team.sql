-- Team and sign-in: owner/staff roles (every admin before this one was the owner), and TOTP
-- second factors. The secret is an AES-256-GCM box like the card keys; totp_last_step is the
-- 30-second step of the last code accepted, so a code works once (the enabling one too).
ALTER TABLE admins ADD COLUMN role TEXT NOT NULL DEFAULT 'owner' CHECK (role IN ('owner', 'staff'));
ALTER TABLE admins ADD COLUMN totp_secret BLOB;
ALTER TABLE admins ADD COLUMN totp_enabled INTEGER NOT NULL DEFAULT 0 CHECK (totp_enabled IN (0, 1));
ALTER TABLE admins ADD COLUMN totp_last_step INTEGER NOT NULL DEFAULT 0;
