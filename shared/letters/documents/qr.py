"""The verification QR code, drawn as vector rectangles so it stays sharp at any print resolution."""

from __future__ import annotations

import qrcode
import qrcode.constants
from reportlab.platypus import Flowable

QUIET_ZONE_MODULES = 4  # the QR specification's minimum; scanners need it to find the code


def qr_matrix(data: str) -> list[list[bool]]:
    """The QR modules for `data`, quiet zone included, as rows of booleans (True = dark)."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=QUIET_ZONE_MODULES)
    code.add_data(data)
    code.make(fit=True)
    return code.get_matrix()


def dark_runs(row: list[bool]) -> list[tuple[int, int]]:
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


class QrCode(Flowable):
    """A square QR code `size` points wide (quiet zone included), drawn with filled rectangles."""

    def __init__(self, data: str, size: float) -> None:
        super().__init__()
        self.matrix = qr_matrix(data)
        self.size = size

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        return self.size, self.size

    def draw(self) -> None:
        module = self.size / len(self.matrix)
        canvas = self.canv
        canvas.setFillColorRGB(0, 0, 0)
        for row_index, row in enumerate(self.matrix):
            # PDF's y axis points up, the matrix's rows go down
            y = self.size - (row_index + 1) * module
            for start, length in dark_runs(row):
                canvas.rect(start * module, y, length * module, module, stroke=0, fill=1)
