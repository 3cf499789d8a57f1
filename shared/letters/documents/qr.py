"""The verification QR code, drawn as vector rectangles so it stays sharp at any print resolution."""

from __future__ import annotations

import re

import zxingcpp
from reportlab.lib.rl_accel import fp_str

QUIET_ZONE_MODULES = 4  # the QR specification's minimum; scanners need it to find the code
DARK_RUN = re.compile(rb"\x00+")  # zxing-cpp's image has one byte per module, 0 where it is dark


def qr_operators(data: str, size: float) -> str:
    """PDF operators drawing the QR code for data (error correction M) `size` points wide, quiet zone included,
    its bottom left corner at the origin: one path of rectangles, one per run of dark modules, filled once."""
    # zxing-cpp's encoder is compiled: about 0.3 ms where segno's pure-Python mask choice took 3.5 to 4 ms
    code = zxingcpp.create_barcode(data, zxingcpp.BarcodeFormat.QRCode, ec_level="M")
    image = code.to_image(scale=1, add_quiet_zones=False)
    rows, columns = image.shape
    pixels = memoryview(image).tobytes()  # type: ignore[arg-type]  # it has the buffer protocol; its stub omits it
    module = size / (columns + 2 * QUIET_ZONE_MODULES)
    edge = QUIET_ZONE_MODULES
    # in module units with y pointing down, as the rows go: every corner is a whole number
    rects = [f"{run.start() - y * columns + edge} {y + edge} {run.end() - run.start()} 1 re"
             for y in range(rows) for run in DARK_RUN.finditer(pixels, y * columns, (y + 1) * columns)]
    return "\n".join([f"q 0 0 0 rg {fp_str(module, 0, 0, -module, 0, size)} cm", *rects, "f Q"])
