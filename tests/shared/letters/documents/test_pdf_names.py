"""Names remembered once per process write and read exactly what ReportLab's and pyHanko's own functions do, and a
letter's render, finishing and signature use them."""

from __future__ import annotations

from io import BytesIO

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.misc import PdfReadError, PdfWriteError
from reportlab.pdfbase import pdfdoc

from shared.letters.documents import pdf_names
from shared.letters.documents.document import LetterDocument
from shared.letters.documents.finishing import finish_draft
from shared.letters.documents.rendering import render_letter_pdf

# plain names, ones with characters a name must escape (#, space, delimiters, beyond ASCII), and numbers as written
TEXTS = ["Type", "FormXob.slot.number.fa956", "AAAAAA+SourceSerifPro-Regular", "A#B", "Nama Desa", "(x)/[y]",
         "Kecamatan Cisolok é", "€", "0.5", "-12.75", "612", ""]


def written(name: generic.NameObject, write: object) -> bytes:
    out = BytesIO()
    write(name, out)  # type: ignore[operator]
    return out.getvalue()


@pytest.mark.parametrize("text", TEXTS)
def test_reportlab_names_and_strings_are_what_reportlab_makes(text: str) -> None:
    for _ in range(2):  # made, then remembered
        assert pdf_names.pdf_name(text) == pdf_names.ORIGINAL_PDF_NAME(text)
        assert pdf_names.pdfdoc_enc(text) == pdf_names.ORIGINAL_PDFDOC_ENC(text)
    assert pdf_names.pdfdoc_enc(b"bytes stay") == b"bytes stay"
    assert pdf_names.pdf_name("A B") == "/A#20B"  # an expected value of its own, beside the library's


@pytest.mark.parametrize("text", [text for text in TEXTS if text])
def test_pyhanko_names_are_written_and_read_as_pyhanko_does(text: str) -> None:
    name = generic.NameObject("/" + text)
    for _ in range(2):
        data = written(name, pdf_names.write_name)
        assert data == written(name, pdf_names.ORIGINAL_WRITE_NAME)
        read = pdf_names.decode_name(data[1:])
        assert read == pdf_names.ORIGINAL_DECODE_NAME(data[1:]) == name
        assert type(read) is generic.NameObject
    assert written(generic.NameObject("/A B"), pdf_names.write_name) == b"/A#20B"


def test_a_name_read_is_a_new_object_each_time() -> None:
    # the reader sets each object it reads its container: two files' names must not be one object
    assert pdf_names.decode_name(b"Type") is not pdf_names.decode_name(b"Type")


def test_bad_names_fail_as_the_libraries_make_them_fail_every_time() -> None:
    for _ in range(2):  # a failure is not remembered as an answer
        with pytest.raises(PdfWriteError):
            written(generic.NameObject("no-slash"), pdf_names.write_name)
        with pytest.raises(PdfReadError):
            pdf_names.decode_name(b"A#G1")


def test_long_inputs_are_not_remembered() -> None:
    # a PDF uploaded to be checked cannot fill the memory with names
    long = "N" * (pdf_names.LONGEST + 1)
    caches = (pdf_names._pdf_name, pdf_names._pdfdoc_enc, pdf_names._written_name, pdf_names._decoded_name)
    before = [cache.cache_info().currsize for cache in caches]
    assert pdf_names.pdf_name(long) == pdf_names.ORIGINAL_PDF_NAME(long)
    assert pdf_names.pdfdoc_enc(long) == long.encode("ascii")
    assert written(generic.NameObject("/" + long), pdf_names.write_name) == b"/" + long.encode()
    assert pdf_names.decode_name(long.encode()) == "/" + long
    assert [cache.cache_info().currsize for cache in caches] == before


def test_a_letter_is_rendered_finished_and_read_through_the_remembered_names(sktm: LetterDocument,
                                                                           final_sktm: LetterDocument) -> None:
    assert pdfdoc.PDFName is pdf_names.pdf_name and pdfdoc.pdfdocEnc is pdf_names.pdfdoc_enc
    assert generic.NameObject.write_to_stream is pdf_names.write_name
    assert generic._decode_name is pdf_names.decode_name
    hits = pdf_names._written_name.cache_info().hits
    writer = finish_draft(render_letter_pdf(sktm), final_sktm)
    assert writer is not None
    out = BytesIO()
    writer.write(out)
    assert pdf_names._written_name.cache_info().hits > hits
