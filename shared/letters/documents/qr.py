"""The verification QR code, drawn as vector rectangles so it stays sharp at any print resolution."""

from __future__ import annotations

from collections.abc import Sequence

import zxingcpp
from reportlab.lib.rl_accel import fp_str

QUIET_ZONE_MODULES = 4  # the QR specification's minimum; scanners need it to find the code


def qr_matrix(data: str) -> list[list[bool]]:
    """The QR modules for `data` (error correction M), quiet zone included, as rows of booleans (True = dark)."""
    # zxing-cpp's encoder is compiled: about 0.3 ms where segno's pure-Python mask choice took 3.5 to 4 ms
    code = zxingcpp.create_barcode(data, zxingcpp.BarcodeFormat.QRCode, ec_level="M")
    image = code.to_image(scale=1, add_quiet_zones=False)  # one byte per module, 0 where it is dark
    rows, columns = image.shape
    pixels = memoryview(image).tobytes()  # type: ignore[arg-type]  # it has the buffer protocol; its stub omits it
    blank = [False] * (columns + 2 * QUIET_ZONE_MODULES)
    edge = [False] * QUIET_ZONE_MODULES
    matrix = [[*edge, *(pixel == 0 for pixel in pixels[y * columns:(y + 1) * columns]), *edge] for y in range(rows)]
    return [*[blank] * QUIET_ZONE_MODULES, *matrix, *[blank] * QUIET_ZONE_MODULES]


def dark_runs(row: Sequence[bool]) -> list[tuple[int, int]]:
    """(start, length) of each run of dark modules in a row."""
    runs: list[tuple[int, int]] = []
    start = None
    for index, dark in enumerate([*row, False]):  # the sentinel closes a run that reaches the edge
        if dark and start is None:
            start = index
        elif not dark and start is not None:
            runs.append((start, index - start))
            start = None
    return runs


def qr_operators(data: str, size: float) -> str:
    """PDF operators drawing the QR code for data `size` points wide (quiet zone included), its bottom left corner
    at the origin: one path of rectangles, filled once, in black."""
    matrix = qr_matrix(data)
    module = size / len(matrix)
    # in module units with y pointing down, as the matrix's rows go: every corner is a whole number
    rects = [f"{start} {y} {length} 1 re" for y, row in enumerate(matrix) for start, length in dark_runs(row)]
    return "\n".join([f"q 0 0 0 rg {fp_str(module, 0, 0, -module, 0, size)} cm", *rects, "f Q"])
