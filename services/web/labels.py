"""What the pages call statuses, events and times, in Indonesian."""

from __future__ import annotations

from datetime import datetime

from shared.letters.documents.wording import format_indonesian_date
from shared.models import Village, as_utc
from shared.villages import village_time_zone

STATUS = {
    "submitted": "Diajukan, konsep sedang dibuat",
    "awaiting_approval": "Menunggu persetujuan",
    "approved": "Disetujui, sedang diterbitkan",
    "issued": "Terbit",
    "rejected": "Ditolak",
    "revoked": "Dicabut",
    "failed": "Gagal diproses",
}
EVENT = {
    "submitted": "Diajukan",
    "draft_rendered": "Konsep dibuat",
    "approved": "Disetujui",
    "numbered": "Diberi nomor",
    "issued": "Diterbitkan",
    "rejected": "Ditolak",
    "revoked": "Dicabut",
    "retried": "Diproses ulang",
    "failed": "Gagal",
}
TRACKING = {
    "processing": ("SEDANG DIPROSES", "Permohonan surat Anda sedang diproses oleh pemerintah desa."),
    "ready": ("SIAP DIAMBIL", "Surat Anda sudah terbit. Silakan ambil di pos pelayanan dusun."),
    "rejected": ("DITOLAK", "Permohonan surat Anda ditolak oleh pemerintah desa."),
    "revoked": ("DICABUT", "Surat ini telah dicabut oleh pemerintah desa dan tidak berlaku lagi."),
}


def status_label(status: str) -> str:
    return STATUS.get(status, status)


def event_label(event_type: str) -> str:
    return EVENT.get(event_type, event_type)


def local_time(moment: datetime | None, village: Village) -> str:
    """A moment as the village's clock shows it: "1 Desember 2026 09.30 WIB"."""
    if moment is None:
        return ""
    zone = village_time_zone(village)
    local = as_utc(moment).astimezone(zone)
    abbreviation = {"Asia/Jakarta": "WIB", "Asia/Makassar": "WITA", "Asia/Jayapura": "WIT"}.get(str(zone), "")
    return f"{format_indonesian_date(local.date())} {local:%H.%M} {abbreviation}".strip()
