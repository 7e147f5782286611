/* QR codes as SVG images (libqrencode): order pay pages, TOTP enrolment. */
#ifndef CARDSHOP_QR_H
#define CARDSHOP_QR_H

/* A standalone SVG document showing text as a QR code (byte mode, error correction level M,
 * a 4-module quiet zone, the dark modules as one <path>); malloc'd, the caller frees it.
 * NULL when the text does not fit in a QR code (over 2331 bytes at level M). */
char *qr_svg_new(const char *text);

#endif
