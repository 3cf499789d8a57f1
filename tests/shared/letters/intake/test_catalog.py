"""Letter types are data: a broken template is refused when loaded, naming the file and the field."""

from __future__ import annotations

import codecs
import re
import shutil
from pathlib import Path

import pytest

from shared.config import Settings
from shared.errors import TemplateError
from shared.letters.intake.catalog import load_letter_type

SKTM = Settings().templates_dir / "sktm.toml"
KELAHIRAN = Settings().templates_dir / "kelahiran.toml"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_sktm_and_domisili_exist_as_files() -> None:
    names = {p.stem for p in Settings().templates_dir.glob("*.toml")}
    assert {"sktm", "domisili"} <= names


def test_statement_placeholder_must_name_a_field(tmp_path: Path) -> None:
    text = SKTM.read_text().replace("{fields.purpose}", "{fields.porpose}")
    with pytest.raises(TemplateError, match=r"sktm.toml: .*fields.porpose"):
        load_letter_type(write(tmp_path, "sktm.toml", text))


def test_bad_field_type_names_the_field(tmp_path: Path) -> None:
    text = SKTM.read_text().replace('type = "persons"', 'type = "people"')
    with pytest.raises(TemplateError, match=r"sktm.toml: field fields.2.type"):
        load_letter_type(write(tmp_path, "sktm.toml", text))


def test_broken_toml_and_wrong_file_name(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="sktm.toml: not valid TOML"):
        load_letter_type(write(tmp_path, "sktm.toml", SKTM.read_text() + "\n[[fields]\n"))
    shutil.copy(SKTM, tmp_path / "other.toml")
    with pytest.raises(TemplateError, match="other.toml: field code"):
        load_letter_type(tmp_path / "other.toml")


@pytest.mark.parametrize("template, old, new, field, code_point", [
    (SKTM, 'title = "Surat Keterangan', 'title = "Surat\u200b Keterangan', "title", "U+200B"),
    (SKTM, "Surat keterangan ini diberikan", "Surat keterangan \u202eini diberikan", "statement.1", "U+202E"),
    (SKTM, 'label = "Keperluan"', 'label = "Keper\u00adluan"', "fields.0.label", "U+00AD"),
    (KELAHIRAN, '"Laki-laki"', '"Laki-laki\u2066"', "fields.1.options.L", "U+2066"),
    (KELAHIRAN, 'L = "Laki-laki"', '"L\u200d" = "Laki-laki"', "fields.1.options.L\u200d.[key]", "U+200D"),
], ids=["title", "statement", "label", "option label", "option key"])
def test_a_template_with_an_invisible_character_is_refused_naming_the_field(
        tmp_path: Path, template: Path, old: str, new: str, field: str, code_point: str) -> None:
    text = template.read_text(encoding="utf-8")
    assert old in text
    message = rf"^{template.name}: field {re.escape(field)}: .*\({re.escape(code_point)}\)"
    with pytest.raises(TemplateError, match=message):
        load_letter_type(write(tmp_path, template.name, text.replace(old, new, 1)))


def test_template_text_is_kept_composed_and_a_leading_byte_order_mark_is_no_content(tmp_path: Path) -> None:
    text = SKTM.read_text(encoding="utf-8").replace('label = "Keperluan"', 'label = "Keperlua\u0301n"')
    path = tmp_path / "sktm.toml"
    path.write_bytes(codecs.BOM_UTF8 + text.encode())
    assert load_letter_type(path).field("purpose").label == "Keperlu\u00e1n"


def test_init_refuses_a_broken_template(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    templates = tmp_path / "templates"
    templates.mkdir()
    write(templates, "sktm.toml", SKTM.read_text().replace('classification = "401"', 'classification = "x"'))
    env = {**os.environ, "SURATDESA_HOME": str(tmp_path / "home"), "LETTER_TEMPLATES_DIR": str(templates)}
    result = subprocess.run([sys.executable, "-m", "services.cli", "init"], env=env, capture_output=True,
                            text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 1
    assert "sktm.toml: field classification" in result.stderr
    assert "Traceback" not in result.stderr
