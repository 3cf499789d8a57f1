"""The letter the rendering tests lay out: a Surat Keterangan Tidak Mampu from Desa Cijengkol."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from shared.letters.documents.document import LetterDocument, Letterhead, Section, SignerBlock

NUMBER = "401/012/Ds.Cjk/XI/2026"
TOKEN = "Qm9uZ2thciBLYXR1bGlzYW4tRGVzYV9DaWplbmdrb2w"  # 43 characters, like a 32-byte urlsafe token
VERIFICATION_URL = f"http://127.0.0.1:8000/v/{TOKEN}"


@pytest.fixture
def sktm() -> LetterDocument:
    """A draft Surat Keterangan Tidak Mampu from Desa Cijengkol, as an operator would prepare it."""
    return LetterDocument(
        letterhead=Letterhead(
            lines=("Pemerintah Kabupaten Sukabumi", "Kecamatan Caringin", "Desa Cijengkol"),
            address="Jl. Raya Cijengkol No. 12, Kecamatan Caringin, Kabupaten Sukabumi 43154",
        ),
        title="Surat Keterangan Tidak Mampu",
        opening=(
            "Yang bertanda tangan di bawah ini, Kepala Desa Cijengkol, Kecamatan Caringin, "
            "Kabupaten Sukabumi, menerangkan dengan sebenarnya bahwa:"
        ),
        sections=(
            Section(
                rows=(
                    ("Nama", "Siti Nur'aini"),
                    ("NIK", "3202154107900003"),
                    ("Tempat/Tanggal Lahir", "Sukabumi, 1 Juli 1990"),
                    ("Jenis Kelamin", "Perempuan"),
                    ("Agama", "Islam"),
                    ("Pekerjaan", "Buruh Harian Lepas"),
                    ("Status Perkawinan", "Kawin"),
                    ("Kewarganegaraan", "Indonesia"),
                    ("Alamat", "Kampung Cijengkol RT 002 RW 005, Desa Cijengkol, Kecamatan Caringin"),
                    ("Keperluan", "Persyaratan beasiswa pendidikan anak"),
                )
            ),
        ),
        statement=(
            "Orang tersebut di atas adalah benar warga Desa Cijengkol dan menurut keterangan Ketua RT/RW "
            "setempat tergolong keluarga tidak mampu.",
        ),
        closing=(
            "Demikian surat keterangan ini dibuat dengan sebenarnya untuk dapat dipergunakan "
            "sebagaimana mestinya."
        ),
        place="Cijengkol",
        letter_date=date(2026, 11, 27),
        signer=SignerBlock(name="Hendra Saputra", position="Kepala Desa Cijengkol"),
    )


@pytest.fixture
def final_sktm(sktm: LetterDocument) -> LetterDocument:
    return replace(sktm, number=NUMBER, verification_url=VERIFICATION_URL)
