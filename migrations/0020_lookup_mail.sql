-- The order-links mail (lookup by email alone): when each address last took its 10-minute
-- window. Keyed by a keyed hash of the lower-cased address, so no one's address is stored for
-- asking; rows older than the window are deleted at every request, so it stays small.
CREATE TABLE lookup_mail_sent (
  email_hash TEXT PRIMARY KEY,
  sent_at    INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX lookup_mail_sent_at ON lookup_mail_sent(sent_at);
