"""Operator-edited TOML files checked by a pydantic model, with errors that name the file and the field."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

Model = TypeVar("Model", bound=BaseModel)


def load_toml_model(path: Path, model: type[Model], error: type[Exception],
                    context: dict[str, Any] | None = None) -> Model:
    """path read as TOML and validated by model; any problem raises error("<file>: field <where>: ...")."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))  # a leading BOM (Notepad) is no content
        return model.model_validate(data, context=context)
    except OSError as exc:
        raise error(f"{path.name}: cannot be read: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{path.name}: not valid TOML: {exc}") from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(file)"
        raise error(f"{path.name}: field {where}: {first['msg']}") from exc
