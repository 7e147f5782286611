"""Fakes for the black-box suites: an EPay (易支付) gateway, an SMTP sink, and helpers that set a
shop up through the admin API. Standard library only (plus Debian's python3-aiosmtpd)."""
