"""Part 2: the same letter made the way a team would otherwise make it: HTML through WeasyPrint, a QR code
from qrcode as a PNG, signed with pyHanko's defaults (ECDSA P-256, the same key), on one core.

The HTML comes from the same LetterDocument the service lays out, so both pipelines print the same text.
"""

from __future__ import annotations

import base64
import io
from typing import Any

import qrcode
from jinja2 import Environment
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers

from benchmarks.letters import LETTER_DATE, NUMBER, VERIFICATION_URL, SampleLetter, cpu_ms, one_core
from shared.letters.documents.compose import build_document, signer_for
from shared.letters.documents.document import LetterDocument, PeopleTable
from shared.letters.documents.wording import format_indonesian_date
from shared.villages import village_emblem

PAGE = """<!doctype html>
<html lang="id"><head><meta charset="utf-8"><style>
@page { size: {{ paper }}; margin: 20mm 22mm; }
body { font-family: serif; font-size: 11.5pt; line-height: 1.35; }
.head { display: flex; align-items: center; border-bottom: 3px double black; padding-bottom: 2mm; }
.head img { width: 22mm; height: 22mm; } .head div { flex: 1; text-align: center; }
.head .main { font-size: 15pt; font-weight: bold; }
h1 { text-align: center; font-size: 13pt; text-decoration: underline; margin: 6mm 0 0; }
.number { text-align: center; margin: 0 0 5mm; }
table { border-collapse: collapse; margin: 2mm 0 2mm 8mm; } td, th { padding: 0 2mm; vertical-align: top; }
table.people td, table.people th { border: 1px solid black; }
.band { display: flex; justify-content: space-between; align-items: flex-end; margin-top: 6mm; }
.band img { width: 28mm; } .signer { text-align: center; width: 70mm; } .space { height: 20mm; }
.draft { position: fixed; top: 45%; left: 15%; font-size: 80pt; color: #ddd; transform: rotate(-30deg); }
</style></head><body>
{% if doc.is_draft %}<div class="draft">KONSEP</div>{% endif %}
<div class="head">{% if logo %}<img src="{{ logo }}">{% endif %}<div>
{% for line in doc.letterhead.lines[:-1] %}<div>{{ line }}</div>{% endfor %}
<div class="main">{{ doc.letterhead.lines[-1] }}</div><div>{{ doc.letterhead.address }}</div></div></div>
<h1>{{ doc.title | upper }}</h1><p class="number">Nomor: {{ doc.number or "" }}</p>
<p>{{ doc.opening }}</p>
{% for block in blocks %}{% if block.heading %}<p>{{ block.heading }}</p>{% endif %}
{% if block.people %}<table class="people"><tr><th>No.</th>{% for c in block.columns %}<th>{{ c }}</th>{% endfor %}</tr>
{% for row in block.rows %}<tr><td>{{ loop.index }}</td>{% for v in row %}<td>{{ v }}</td>{% endfor %}</tr>{% endfor %}
</table>{% else %}<table>{% for label, value in block.rows %}<tr><td>{{ label }}</td><td>:</td><td>{{ value }}</td></tr>
{% endfor %}</table>{% endif %}{% endfor %}
{% for paragraph in doc.statement %}<p>{{ paragraph }}</p>{% endfor %}
{% if validity %}<p>Surat keterangan ini berlaku sampai dengan {{ validity }}.</p>{% endif %}
<p>{{ doc.closing }}</p>
<div class="band"><div>{% if qr %}<img src="{{ qr }}"><br><small>Pindai untuk memeriksa keaslian</small>
{% endif %}</div>
<div class="signer">{{ doc.place }}, {{ date }}<br>{% for line in doc.signer.on_behalf %}{{ line }}<br>{% endfor %}
{{ doc.signer.position }}<div class="space"></div><b><u>{{ doc.signer.name }}</u></b></div></div>
</body></html>"""

TEMPLATE = Environment(autoescape=True).from_string(PAGE)


def _data_uri(mime: str, data: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def qr_png(url: str) -> bytes:
    """The verification link as a PNG QR code, the way the qrcode package makes one."""
    buffer = io.BytesIO()
    qrcode.make(url, error_correction=qrcode.constants.ERROR_CORRECT_M).save(buffer, format="PNG")
    return buffer.getvalue()


def letter_html(doc: LetterDocument) -> str:
    """The letter as an HTML page (the QR code made now, as a team would, for every letter)."""
    blocks: list[dict[str, Any]] = [
        {"people": True, "heading": b.heading, "columns": b.columns, "rows": b.rows} if isinstance(b, PeopleTable)
        else {"people": False, "heading": b.heading, "rows": b.rows} for b in doc.sections]
    logo = _data_uri("image/png", doc.letterhead.logo) if doc.letterhead.logo else None
    qr = _data_uri("image/png", qr_png(doc.verification_url)) if doc.verification_url else None
    return TEMPLATE.render(doc=doc, blocks=blocks, logo=logo, qr=qr, paper=doc.paper.replace("F4", "215mm 330mm"),
                           date=format_indonesian_date(doc.letter_date),
                           validity=format_indonesian_date(doc.validity_until) if doc.validity_until else None)


def peer_pipeline(letter: SampleLetter, repeat: int) -> dict[str, float]:
    """CPU ms per letter of the peer pipeline: draft and final through WeasyPrint, the signature with pyHanko."""
    from weasyprint import HTML  # the bench extra; imported here so parts 3-5 run without it

    def document(final: bool) -> LetterDocument:
        return build_document(letter_type=letter.letter_type, village=letter.village,
                              emblem=village_emblem(letter.village), applicant=letter.applicant,
                              fields=letter.fields, signer=signer_for(letter.village, letter.letter_type.code),
                              letter_date=LETTER_DATE, number=NUMBER if final else None,
                              verification_url=VERIFICATION_URL if final else None)

    def render(final: bool) -> bytes:
        return HTML(string=letter_html(document(final))).write_pdf()

    def sign(pdf: bytes) -> bytes:
        meta = signers.PdfSignatureMetadata(field_name="Signature", subfilter=fields.SigSeedSubFilter.PADES,
                                            md_algorithm="sha256")
        return signers.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(pdf)), meta, signer=letter.signer.signer).read()

    final_pdf = render(True)
    with one_core():
        draft = cpu_ms(lambda: render(False), repeat)
        final = cpu_ms(lambda: render(True), repeat)
        qr = cpu_ms(lambda: qr_png(VERIFICATION_URL), repeat)
        signature = cpu_ms(lambda: sign(final_pdf), repeat)
    total = draft + final + signature
    return {"draft_ms": draft, "final_layout_ms": final - qr, "final_qr_ms": qr, "signature_ms": signature,
            "total_ms": total, "letters_per_s": 1000 / total}
