/* QR codes as SVG: libqrencode gives the module matrix, one path draws the dark modules. */
#include "cardshop/qr.h"

#include <qrencode.h>

#include "cardshop/util.h"

#define QUIET 4

char *qr_svg(const char *text)
{
	QRcode *q = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	if (!q)
		return NULL;
	int size = q->width + 2 * QUIET;
	struct buf b;
	buf_init(&b);
	buf_printf(&b,
	           "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" width=\"%d\" "
	           "height=\"%d\" shape-rendering=\"crispEdges\"><rect width=\"%d\" height=\"%d\" "
	           "fill=\"#fff\"/><path fill=\"#000\" d=\"",
	           size, size, size * 6, size * 6, size, size);
	for (int y = 0; y < q->width; y++) {
		for (int x = 0; x < q->width; x++) {
			/* bit 0 of each byte: the module is dark */
			if (q->data[y * q->width + x] & 1)
				buf_printf(&b, "M%d %dh1v1h-1z", x + QUIET, y + QUIET);
		}
	}
	buf_puts(&b, "\"/></svg>");
	QRcode_free(q);
	return buf_release(&b);
}
