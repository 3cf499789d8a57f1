"""The nine letter types composed for the demo village and read back from the PDF; broken template files."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from shared.config import Settings
from shared.errors import TemplateError
from shared.letters.documents.compose import build_document, signer_for
from shared.letters.documents.rendering import render_letter_pdf
from shared.letters.intake.catalog import load_catalog, load_letter_type
from shared.letters.intake.validation import example_request, validate_request
from shared.villages import demo_village, village_emblem
from tests.pdftools import image_count, pdf_text

TEMPLATES = Settings().templates_dir
LETTER_DATE = date(2026, 11, 27)
NUMBER = "401/012/Ds.Cjk/XI/2026"


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(TEMPLATES)


def letter_pdf(catalog, code: str, *, number: str | None = NUMBER, **fields: object) -> bytes:
    """The type's example for Desa Cijengkol, as the worker would render it."""
    letter_type, village = catalog.get(code), demo_village()
    body = example_request(letter_type)
    body["fields"].update(fields)
    request = validate_request(body, catalog, today=LETTER_DATE)
    document = build_document(letter_type=letter_type, village=village, emblem=village_emblem(village),
                              applicant=request.applicant, fields=request.fields, signer=signer_for(village, code),
                              letter_date=LETTER_DATE,
                              number=number, verification_url="http://127.0.0.1:8000/v/abc" if number else None)
    return render_letter_pdf(document)


def lines_of(pdf: bytes) -> list[str]:
    return [" ".join(line.split()) for line in pdf_text(pdf).splitlines() if line.strip()]


def test_amounts_are_written_in_figures_and_in_words(catalog) -> None:
    text = " ".join(lines_of(letter_pdf(catalog, "usaha")))
    assert "Penghasilan per Bulan : Rp 5.000.000 (lima juta rupiah)" in text
    text = " ".join(lines_of(letter_pdf(catalog, "usaha", monthly_income=1_250_500)))
    assert "Rp 1.250.500 (satu juta dua ratus lima puluh ribu lima ratus rupiah)" in text


def test_delegated_signers_print_a_n_and_u_b_lines_in_order(catalog) -> None:
    lines = lines_of(letter_pdf(catalog, "belum_menikah"))  # the demo village has the Kasi Pelayanan sign it
    wanted = ["a.n. Kepala Desa Cijengkol", "u.b. Sekretaris Desa", "Kasi Pelayanan", "Asep Contohnudin",
              "NIPD. 3202.09.2019.005"]
    positions = [next(i for i, line in enumerate(lines) if line.endswith(w)) for w in wanted]
    assert positions == sorted(positions)
    sekdes = lines_of(letter_pdf(catalog, "pengantar"))
    assert any(line.endswith("a.n. Kepala Desa Cijengkol") for line in sekdes)
    assert not any("u.b." in line for line in sekdes) and any(line.endswith("Siti Contohwati") for line in sekdes)
    kades = lines_of(letter_pdf(catalog, "sktm"))
    assert not any("a.n." in line for line in kades) and any(line.endswith("Budi Contoh") for line in kades)
    # whoever signs, the letter speaks in the Kepala Desa's name
    assert any("Yang bertanda tangan di bawah ini, Kepala Desa Cijengkol," in line for line in lines)


def test_letterhead_carries_the_village_emblem_and_address(catalog) -> None:
    pdf = letter_pdf(catalog, "sktm")
    assert image_count(pdf) == 1  # the emblem; the QR code is drawn as vectors
    lines = lines_of(pdf)
    assert lines[:4] == ["PEMERINTAH KABUPATEN SUKABUMI", "KECAMATAN CARINGIN", "DESA CIJENGKOL",
                         "Jl. Raya Cijengkol No. 1, Caringin, Sukabumi, Kode Pos 43154"]


def test_a_birth_reads_child_then_mother_father_and_reporter(catalog) -> None:
    lines = lines_of(letter_pdf(catalog, "kelahiran"))
    order = ["menerangkan dengan sebenarnya bahwa telah lahir seorang", "Nama Anak : Rizki Contoh",
             "Hari/Tanggal Lahir : Rabu, 14 Oktober 2026", "Pukul : 08.30 WIB", "Dari seorang ibu:",
             "Nama : Euis Contohwati", "Dengan ayah:", "Nama : Ujang Contoh",
             "Surat keterangan ini dibuat berdasarkan laporan dari:", "Hubungan dengan Bayi : Ayah kandung"]
    positions = [next(i for i, line in enumerate(lines) if wanted in line) for wanted in order]
    assert positions == sorted(positions)
    assert "berlaku sampai dengan" not in " ".join(lines)  # a birth does not expire


def test_a_death_names_the_deceased_first(catalog) -> None:
    text = "\n".join(lines_of(letter_pdf(catalog, "kematian")))
    assert re.search(r"Nama : Oman Contoh\nNIK : 3202090102480002\n.*\n.*\nAlamat Terakhir", text)
    assert "Telah meninggal dunia pada:\nHari/Tanggal : Senin, 2 November 2026\nPukul : 14.15 WIB" in text


def test_family_members_moving_along_are_one_table(catalog) -> None:
    lines = lines_of(letter_pdf(catalog, "pindah"))
    head = lines.index("Anggota keluarga yang ikut pindah:")
    assert lines[head + 1:head + 4] == ["No. Nama NIK Hubungan", "1. Euis Contohwati 3202094506900003 Istri",
                                        "2. Dewi Contohwati 3202095008150004 Anak"]
    assert "Akan pindah ke:" in lines and "RT/RW : 004/002" in lines


def test_each_type_has_its_own_title_validity_and_closing(catalog) -> None:
    text = " ".join(lines_of(letter_pdf(catalog, "kartu_sehat_desa")))
    assert "SURAT REKOMENDASI KARTU SEHAT DESA" in text
    assert "Surat rekomendasi ini berlaku sampai dengan 27 Februari 2027." in text
    assert "Demikian surat rekomendasi ini dibuat dengan sebenarnya" in text
    assert "Kelompok Sasaran : Keluarga miskin yang belum memiliki Kartu Indonesia Sehat (KIS)" in text
    assert "Demikian surat pengantar ini dibuat" in " ".join(lines_of(letter_pdf(catalog, "pengantar")))


@pytest.mark.parametrize("code", ["sktm", "domisili", "usaha", "pengantar", "kelahiran", "kematian", "pindah",
                                  "belum_menikah", "kartu_sehat_desa"])
def test_every_example_fits_one_f4_page(catalog, code) -> None:
    text = pdf_text(letter_pdf(catalog, code))
    assert "Halaman" not in text and "\f" not in text.rstrip("\f")
    assert "Cijengkol, 27 November 2026" in text


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_an_unknown_check_is_a_template_error(tmp_path: Path) -> None:
    text = (TEMPLATES / "kartu_sehat_desa.toml").read_text().replace('checks = ["kartu_sehat_desa"]',
                                                                      'checks = ["kartu_sakti"]')
    with pytest.raises(TemplateError, match=r"kartu_sehat_desa.toml: field checks: .*unknown check 'kartu_sakti'"):
        load_letter_type(write(tmp_path, "kartu_sehat_desa.toml", text))


def test_a_layout_must_show_every_printed_field(tmp_path: Path) -> None:
    text = (TEMPLATES / "kelahiran.toml").read_text().replace('show = ["father"]', 'show = ["fathr"]')
    with pytest.raises(TemplateError, match=r"kelahiran.toml: field layout: .*'fathr', which is not a field"):
        load_letter_type(write(tmp_path, "kelahiran.toml", text))
    text = (TEMPLATES / "kelahiran.toml").read_text().replace('"applicant", "reporter_relation"', '"applicant"')
    with pytest.raises(TemplateError, match=r"kelahiran.toml: field layout: .*does not show 'reporter_relation'"):
        load_letter_type(write(tmp_path, "kelahiran.toml", text))


def test_field_options_must_suit_the_field_type(tmp_path: Path) -> None:
    text = (TEMPLATES / "usaha.toml").read_text().replace('type = "amount"', 'type = "amount"\nweekday = true')
    with pytest.raises(TemplateError, match=r"usaha.toml: field fields.4: .*weekday and not_future are for"):
        load_letter_type(write(tmp_path, "usaha.toml", text))


def test_times_carry_the_villages_zone(catalog) -> None:
    village = demo_village()
    village.profile = {**village.profile, "time_zone": "WITA"}
    letter_type = catalog.get("kematian")
    request = validate_request(example_request(letter_type), catalog, today=LETTER_DATE)
    document = build_document(letter_type=letter_type, village=village, emblem=None, applicant=request.applicant,
                              fields=request.fields, signer=signer_for(village, "kematian"), letter_date=LETTER_DATE)
    assert ("Pukul", "14.15 WITA") in document.sections[1].rows
