/* QR codes (libqrencode) drawn as SVG: the 2FA enrolment code, and any payload a page shows. */
#ifndef CARDSHOP_QR_H
#define CARDSHOP_QR_H

/* An SVG document of text as a QR code (error correction M, 4-module quiet zone). The SVG
 * holds only the drawing, never the text itself, so nothing in it needs escaping. malloc'd;
 * NULL when text does not fit a QR code. */
char *qr_svg(const char *text);

#endif
