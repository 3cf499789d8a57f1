"""The OpenAPI 3.1 description, generated from the pydantic models the API validates and answers with."""

from __future__ import annotations

from typing import Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field, create_model
from pydantic.json_schema import models_json_schema

from services.api import shapes
from shared.letters.attachments.documents import AttachmentView
from shared.letters.intake.catalog import Catalog
from shared.letters.intake.schemas import ActionReason, Applicant, ApprovalConfirmation
from shared.letters.intake.validation import example_request
from shared.letters.records.charts import CHARTS
from shared.letters.records.register import Register, RegisterQuery
from shared.letters.records.reports import LetterReport, ReportQuery
from shared.letters.workflow.views import LetterView
from shared.webhooks.endpoints import DeliveryQuery, WebhookCreate
from shared.webhooks.views import (
    WebhookDeliveryPage,
    WebhookDeliveryView,
    WebhookEndpointCreated,
    WebhookEndpointList,
    WebhookEndpointView,
)

REF = "#/components/schemas/{model}"
PROBLEM = "application/problem+json"
RESPONSE_MODELS = (Register, LetterReport, AttachmentView, shapes.Problem, shapes.ValidationProblem, LetterView,
                   shapes.LetterPage, shapes.LetterTypeView, shapes.PublicLetter, shapes.Health, WebhookEndpointCreated,
                   WebhookEndpointList, WebhookEndpointView, WebhookDeliveryPage, WebhookDeliveryView)


def ref(name: str) -> dict[str, str]:
    return {"$ref": REF.format(model=name)}


def request_model(catalog: Catalog, code: str) -> type[BaseModel]:
    """The body of POST /api/v1/letters for one letter type: the Applicant and the type's fields model."""
    fields_model = catalog.models[code]
    needs_fields = any(field.is_required() for field in fields_model.model_fields.values())
    example = example_request(catalog.types[code])
    return create_model(
        f"LetterRequest_{code}",
        __config__=ConfigDict(extra="forbid", title=catalog.types[code].title,
                              json_schema_extra={"examples": [example]}),
        type=(cast(Any, Literal[code]), ...), applicant=(Applicant, ...),
        fields=(fields_model, ...) if needs_fields else (fields_model, Field(default_factory=fields_model)),
    )


def component_schemas(catalog: Catalog) -> dict[str, Any]:
    """Every schema the description refers to, from pydantic, under #/components/schemas."""
    requests = [request_model(catalog, code) for code in catalog.types]
    models = [(model, "validation") for model in (*requests, ActionReason, ApprovalConfirmation, shapes.LetterQuery,
                                                  RegisterQuery, ReportQuery, WebhookCreate, DeliveryQuery)]
    models += [(model, "serialization") for model in RESPONSE_MODELS]
    _keys, schema = models_json_schema(models, ref_template=REF)  # type: ignore[arg-type]
    return schema["$defs"]


def _json(schema: dict[str, Any], media: str = "application/json") -> dict[str, Any]:
    return {media: {"schema": schema}}


def _header(description: str) -> dict[str, Any]:
    return {"description": description, "required": True, "schema": {"type": "string"}}


def problem(description: str, model: str = "Problem", **headers: str) -> dict[str, Any]:
    """A problem+json response, with required headers named as keyword arguments."""
    response: dict[str, Any] = {"description": description, "content": _json(ref(model), PROBLEM)}
    if headers:
        response["headers"] = {name.replace("_", "-"): _header(text) for name, text in headers.items()}
    return response


PROBLEMS = {
    "400": problem("Isi bukan JSON yang valid, atau Content-Type bukan application/json"),
    "401": problem("Token tidak ada atau tidak berlaku", WWW_Authenticate="Bearer realm=\"suratdesa\""),
    "403": problem("Hanya petugas desa yang boleh"),
    "404": problem("Tidak ada, atau bukan milik pemanggil"),
    "409": problem("Status surat tidak sesuai untuk tindakan ini"),
    "413": problem("Isi permintaan lebih dari 1 MB"),
    "422": problem("Data tidak valid; `errors` menyebut setiap kolom", "ValidationProblem"),
    "429": problem("Terlalu banyak kegagalan dari alamat ini", Retry_After="detik sampai boleh mencoba lagi"),
    "503": problem("Basis data atau broker tidak tersedia", Retry_After="detik sampai boleh mencoba lagi"),
}


def presigned(path: dict[str, Any]) -> dict[str, Any]:
    """A PDF download that may answer 302 to a short-lived presigned URL (STORAGE_PRESIGNED_DOWNLOADS=true)."""
    path["get"]["responses"]["302"] = {
        "description": "Dengan STORAGE_PRESIGNED_DOWNLOADS: PDF diunduh dari penyimpanan objek, URL berlaku singkat",
        "headers": {"Location": _header("URL bertanda tangan ke PDF di penyimpanan objek")}}
    return path


def ok(description: str, content: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"description": description, "content": content, **extra}


# Operations are grouped by who uses them; a generated client gets one module per tag.
TAGS = [
    {"name": "letters", "description": "Pengajuan surat oleh pos pelayanan dusun, daftar, dan unduhan PDF"},
    {"name": "officials", "description": "Tindakan petugas desa: setujui, tolak, cabut, kirim ulang"},
    {"name": "catalog", "description": "Jenis surat dan kolomnya"},
    {"name": "attachments", "description": "Dokumen syarat (KTP, KK, pengantar RT/RW) yang dilampirkan pada surat"},
    {"name": "verification", "description": "Verifikasi kode QR untuk siapa saja, tanpa token"},
    {"name": "records", "description": "Catatan kantor desa: buku agenda surat keluar dan laporan"},
    {"name": "webhooks", "description": "Webhook bertanda tangan (Standard Webhooks) untuk perubahan status surat"},
    {"name": "service", "description": "Kesehatan layanan dan deskripsi API ini"},
]


def operation(operation_id: str, tag: str, summary: str, responses: dict[str, Any], problems: str, *,
              public: bool = False, **extra: Any) -> dict[str, Any]:
    """An operation answering responses, plus the problem responses whose codes are listed in problems.

    operation_id is what a generated client calls the operation (`approve_letter`), tag its group.
    """
    all_responses = {**responses, **{code: PROBLEMS[code] for code in problems.split()}}
    return {"operationId": operation_id, "tags": [tag], "summary": summary, "responses": all_responses,
            **({"security": []} if public else {}), **extra}


def _path_param(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema}


LETTER_ID = [_path_param("letter_id", {"type": "string", "format": "uuid"})]
TOKEN = [_path_param("token", {"type": "string", "minLength": 1, "maxLength": 200})]
PDF = _json({"type": "string", "format": "binary"}, "application/pdf")
HTML = _json({"type": "string"}, "text/html")
LETTER = _json(ref("LetterView"))
REASON_BODY = {"required": True, "content": _json(ref("ActionReason"))}
# Optional: an empty body approves when every required document is attached.
APPROVAL_BODY = {"required": False, "content": _json(ref("ApprovalConfirmation"))}
ATTACHMENT_ID = [*LETTER_ID, _path_param("attachment_id", {"type": "string", "format": "uuid"})]
ATTACHMENT_FILE = {media: {"schema": {"type": "string", "format": "binary"}}
                   for media in ("image/jpeg", "image/png", "application/pdf")}
ATTACHMENT_UPLOAD = {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["kind", "file"],
    "properties": {"kind": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$", "maxLength": 40},
                   "file": {"type": "string", "format": "binary",
                            "description": "JPEG, PNG atau PDF, paling besar 2 MB"}}}}}}
# The same key with the same body answers as the first time; another body 422; still in progress 409.
IDEMPOTENCY_KEY = {"name": "Idempotency-Key", "in": "header", "required": False, "schema": {
    "type": "string", "minLength": 1, "maxLength": 255, "pattern": r"^[\x20-\x7E]+$"}}


def _query_schema(schema: dict[str, Any]) -> dict[str, Any]:
    # A query string has no null: an optional parameter is simply left out.
    options = [option for option in schema.get("anyOf", []) if option != {"type": "null"}]
    if len(options) != 1:
        return schema
    return {**{k: v for k, v in schema.items() if k not in ("anyOf", "default")}, **options[0]}


def _query_parameters(components: dict[str, Any], model: str = "LetterQuery") -> list[dict[str, Any]]:
    required = set(components[model].get("required", []))
    properties = components[model]["properties"]
    return [{"name": name, "in": "query", "required": name in required, "schema": _query_schema(schema)}
            for name, schema in properties.items()]


def _submit_body(catalog: Catalog) -> dict[str, Any]:
    mapping = {code: REF.format(model=f"LetterRequest_{code}") for code in catalog.types}
    schema = {"oneOf": [{"$ref": target} for target in mapping.values()],
              "discriminator": {"propertyName": "type", "mapping": mapping}}
    return {"required": True, "content": _json(schema)}


def letter_paths(catalog: Catalog, components: dict[str, Any]) -> dict[str, Any]:
    """The /api/v1/letters operations."""
    action = "401 403 404 409 429"
    created = ok("Diterima; konsep dibuat oleh worker", LETTER,
                 headers={"Location": _header("alamat surat ini")})
    submit = operation("submit_letter", "letters", "Ajukan surat", {"202": created}, "400 401 409 413 422 429 503",
                       requestBody=_submit_body(catalog), parameters=[IDEMPOTENCY_KEY])
    listing = operation("list_letters", "letters", "Daftar surat, terbaru dahulu",
                        {"200": ok("Satu halaman", _json(ref("LetterPage")))}, "401 422 429",
                        parameters=_query_parameters(components))

    def one(method: str, operation_id: str, tag: str, summary: str, answer: dict[str, Any], problems: str,
            **extra: Any) -> dict[str, Any]:
        return {method: operation(operation_id, tag, summary, {"200": answer}, problems, **extra),
                "parameters": LETTER_ID}

    return {
        "/api/v1/letters": {"post": submit, "get": listing},
        "/api/v1/letters/{letter_id}": one("get", "get_letter", "letters", "Satu surat dengan riwayatnya",
                                           ok("Surat", LETTER), "401 404 429"),
        "/api/v1/letters/{letter_id}/draft.pdf": presigned(one("get", "get_draft_pdf", "letters", "Konsep PDF",
                                                               ok("PDF konsep", PDF), "401 404 409 429")),
        "/api/v1/letters/{letter_id}/pdf": presigned(one("get", "get_letter_pdf", "letters", "PDF bertanda tangan",
                                                         ok("PDF surat", PDF), "401 404 409 429")),
        "/api/v1/letters/{letter_id}/approve": one("post", "approve_letter", "officials", "Setujui konsep (petugas)",
                                                   ok("Disetujui", LETTER), action + " 400 413 422",
                                                   requestBody=APPROVAL_BODY),
        "/api/v1/letters/{letter_id}/reject": one("post", "reject_letter", "officials",
                                                  "Tolak konsep dengan alasan (petugas)", ok("Ditolak", LETTER),
                                                  action + " 400 413 422", requestBody=REASON_BODY),
        "/api/v1/letters/{letter_id}/retry": one("post", "retry_letter", "officials",
                                                 "Kirim ulang surat yang gagal (petugas)", ok("Dicoba lagi", LETTER),
                                                 action),
        "/api/v1/letters/{letter_id}/revoke": one("post", "revoke_letter", "officials",
                                                  "Cabut surat terbit dengan alasan (petugas)", ok("Dicabut", LETTER),
                                                  action + " 400 413 422", requestBody=REASON_BODY),
    }


def attachment_paths() -> dict[str, Any]:
    """A letter's required documents: uploaded by its post, read by it and the village's officials."""
    view = _json(ref("AttachmentView"))
    listing = _json({"type": "array", "items": ref("AttachmentView")})
    added = ok("Dilampirkan; gambar disimpan tanpa metadata (EXIF/GPS)", view,
               headers={"Location": _header("alamat berkas lampiran ini")})
    return {
        "/api/v1/letters/{letter_id}/attachments": {
            "post": operation("add_attachment", "attachments", "Lampirkan dokumen syarat (pos pengaju)",
                              {"201": added}, "401 403 404 409 413 422 429", requestBody=ATTACHMENT_UPLOAD),
            "get": operation("list_attachments", "attachments", "Daftar lampiran surat",
                             {"200": ok("Lampiran, terlama dahulu", listing)}, "401 404 429"),
            "parameters": LETTER_ID},
        "/api/v1/letters/{letter_id}/attachments/{attachment_id}": {
            "get": operation("get_attachment", "attachments", "Berkas lampiran",
                             {"200": ok("Berkas yang disimpan", ATTACHMENT_FILE)}, "401 404 429"),
            "parameters": ATTACHMENT_ID},
    }


def record_paths(components: dict[str, Any]) -> dict[str, Any]:
    """The office's records: the outgoing-letter register and the reports."""
    files = {"text/csv": {"schema": {"type": "string"}},
             "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
                 "schema": {"type": "string", "format": "binary"}}, **PDF}
    register = ok("Buku agenda surat keluar (JSON, CSV, XLSX atau PDF sesuai `format`)",
                  {**_json(ref("Register")), **files})
    return {"/api/v1/register": {"get": operation(
        "get_register", "records", "Buku agenda surat keluar desa petugas (petugas)", {"200": register},
        "401 403 422 429", parameters=_query_parameters(components, "RegisterQuery"))},
        "/api/v1/reports": {"get": operation(
            "get_reports", "records", "Laporan surat setahun (petugas)",
            {"200": ok("Per jenis dan bulan, per pos, hasil, dan lama proses", _json(ref("LetterReport")))},
            "401 403 422 429", parameters=_query_parameters(components, "ReportQuery"))},
        "/api/v1/reports/charts/{name}.svg": {"get": operation(
            "get_report_chart", "records", "Grafik laporan setahun sebagai SVG untuk <img> (petugas)",
            {"200": ok("Grafik SVG tanpa skrip", {"image/svg+xml": {"schema": {"type": "string"}}})},
            "401 403 404 422 429", parameters=[
                _path_param("name", {"type": "string", "enum": list(CHARTS)}),
                *_query_parameters(components, "ReportQuery")])}}


def webhook_paths(components: dict[str, Any]) -> dict[str, Any]:
    """A client's webhook endpoints and their deliveries."""
    endpoint_id = _path_param("endpoint_id", {"type": "string", "format": "uuid"})
    delivery_id = _path_param("delivery_id", {"type": "string", "format": "uuid"})
    created = ok("Terdaftar; `secret` hanya ditampilkan sekali ini", _json(ref("WebhookEndpointCreated")),
                 headers={"Location": _header("alamat daftar pengiriman webhook ini")})
    return {
        "/api/v1/webhooks": {
            "post": operation("create_webhook", "webhooks", "Daftarkan webhook", {"201": created},
                              "400 401 413 422 429", requestBody={"required": True,
                                                                  "content": _json(ref("WebhookCreate"))}),
            "get": operation("list_webhooks", "webhooks", "Webhook milik pemanggil",
                             {"200": ok("Daftar", _json(ref("WebhookEndpointList")))}, "401 429")},
        "/api/v1/webhooks/{endpoint_id}": {
            "delete": operation("delete_webhook", "webhooks", "Hapus webhook", {"204": {"description": "Dihapus"}},
                                "401 404 429"),
            "parameters": [endpoint_id]},
        "/api/v1/webhooks/{endpoint_id}/enable": {
            "post": operation("enable_webhook", "webhooks", "Aktifkan lagi webhook yang dinonaktifkan",
                              {"200": ok("Aktif", _json(ref("WebhookEndpointView")))}, "401 404 429"),
            "parameters": [endpoint_id]},
        "/api/v1/webhooks/{endpoint_id}/deliveries": {
            "get": operation("list_webhook_deliveries", "webhooks", "Pengiriman terbaru dan setiap percobaannya",
                             {"200": ok("Pengiriman", _json(ref("WebhookDeliveryPage")))}, "401 404 422 429",
                             parameters=_query_parameters(components, "DeliveryQuery")),
            "parameters": [endpoint_id]},
        "/api/v1/webhooks/{endpoint_id}/deliveries/{delivery_id}/retry": {
            "post": operation("retry_webhook_delivery", "webhooks", "Kirim ulang satu pengiriman",
                              {"202": ok("Dijadwalkan", _json(ref("WebhookDeliveryView")))}, "401 404 409 429"),
            "parameters": [endpoint_id, delivery_id]},
    }


def other_paths() -> dict[str, Any]:
    """Health, the catalog, this description, and the public verification page."""
    health = {"200": ok("Berjalan", _json(ref("Health")))}
    verdict = {"200": ok("Status surat (SAH / DICABUT)", {**HTML, **_json(ref("PublicLetter"))})}
    upload = {"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}}}}
    unknown = {"404": ok("Kode tidak terdaftar (TIDAK DITEMUKAN)", {**HTML, **_json(ref("Problem"), PROBLEM)})}
    description = {"200": ok("OpenAPI 3.1", _json({"type": "object"}))}
    catalog = {"200": ok("Katalog", _json({"type": "array", "items": ref("LetterTypeView")}))}
    return {
        "/healthz": {"get": operation("check_health", "service", "Proses hidup", health, "", public=True)},
        "/readyz": {"get": operation("check_readiness", "service", "Basis data dan broker siap", health, "503",
                                     public=True)},
        "/api/v1/openapi.json": {"get": operation("get_openapi", "service", "Deskripsi API ini", description,
                                                  "401 429")},
        "/api/v1/letter-types": {"get": operation("list_letter_types", "catalog", "Jenis surat, kolomnya, dan contoh",
                                                  catalog, "401 429")},
        "/v/{token}": {"get": operation("verify_letter", "verification", "Halaman verifikasi kode QR",
                                        {**verdict, **unknown}, "429", public=True),
                       "parameters": TOKEN},
        "/v/{token}/check": {"post": operation("check_letter_file", "verification",
                                               "Periksa berkas PDF terhadap surat terbit", {**verdict, **unknown},
                                               "413 422 429", public=True, requestBody=upload),
                             "parameters": TOKEN},
    }


def openapi_document(catalog: Catalog) -> dict[str, Any]:
    """The whole description: info, bearer security, paths, and the pydantic-generated components."""
    components = component_schemas(catalog)
    return {
        "openapi": "3.1.0",
        "info": {"title": "suratdesa", "version": "1",
                 "description": "Surat keterangan desa: pengajuan oleh pos pelayanan dusun, persetujuan petugas, "
                                "PDF bertanda tangan dan verifikasi kode QR. Galat: RFC 9457 problem+json."},
        "security": [{"bearerAuth": []}],
        "tags": TAGS,
        "paths": {**other_paths(), **letter_paths(catalog, components), **attachment_paths(),
                  **record_paths(components), **webhook_paths(components)},
        "components": {"schemas": components, "securitySchemes": {"bearerAuth": {
            "type": "http", "scheme": "bearer", "description": "Token klien dari `suratdesa clients create`"}}},
    }
