/* QR codes rendered as SVG: one path of unit squares on a white background, scaled by the
 * viewBox, so the image is small and sharp at any size (its width and height, 6 px a module,
 * are what an <img> shows when no style sizes it). */
#include "cardshop/qr.h"

#include <qrencode.h>
#include <stdio.h>
#include <string.h>

#include "cardshop/util.h"

#define QUIET 4 /* modules of white around the code, as ISO/IEC 18004 asks */

char *qr_svg_new(const char *text)
{
	if (!text)
		return NULL;
	QRcode *qr =
	    QRcode_encodeData((int)strlen(text), (const unsigned char *)text, 0, QR_ECLEVEL_M);
	if (!qr)
		return NULL;
	int w = qr->width, full = w + 2 * QUIET;
	struct buf b;
	buf_init(&b);
	buf_printf(&b,
	           "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
	           "width=\"%d\" height=\"%d\" "
	           "shape-rendering=\"crispEdges\" role=\"img\" aria-label=\"QR code\">"
	           "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/><path fill=\"#000\" d=\"",
	           full, full, 6 * full, 6 * full, full, full);
	for (int y = 0; y < w; y++) {
		for (int x = 0; x < w; x++) {
			if (!(qr->data[y * w + x] & 1))
				continue;
			int run = 1; /* one rectangle per horizontal run keeps the path short */
			while (x + run < w && (qr->data[y * w + x + run] & 1))
				run++;
			buf_printf(&b, "M%d %dh%dv1h-%dz", x + QUIET, y + QUIET, run, run);
			x += run - 1;
		}
	}
	buf_puts(&b, "\"/></svg>");
	QRcode_free(qr);
	return buf_release(&b);
}
