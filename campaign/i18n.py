"""Interface language: Vietnamese by default, English on request.

Message ids are the Vietnamese texts themselves, so the primary language never
depends on a catalogue. The English catalogue lives as a .po file in
``campaign/translations`` and is compiled into the instance folder when the app
starts, so no generated file is kept in the repository.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, has_request_context, session
from flask_babel import Babel, get_locale

from campaign.public import is_public_request

LANGUAGES = {"vi": "Tiếng Việt", "en": "English"}
DEFAULT_LANGUAGE = "vi"
SOURCE = Path(__file__).resolve().parent / "translations"

babel = Babel()


def select_locale() -> str:
    """The browser session's choice; the command line, services outside a request and
    published plans (which read no session) speak Vietnamese."""
    if not has_request_context() or is_public_request():
        return DEFAULT_LANGUAGE
    lang = session.get("lang")
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def compile_catalogs(source: Path, target: Path) -> None:
    """Writes a .mo beside each .po that is newer than it (atomically: workers may race)."""
    for po_path in source.glob("*/LC_MESSAGES/*.po"):
        mo_path = target / po_path.relative_to(source).with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        mo_path.parent.mkdir(parents=True, exist_ok=True)
        with open(po_path, "rb") as handle:
            catalog = read_po(handle)
        fd, tmp = tempfile.mkstemp(dir=mo_path.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as out:
            write_mo(out, catalog)
        os.replace(tmp, mo_path)


def init_app(app: Flask) -> None:
    target = Path(app.instance_path) / "translations"
    compile_catalogs(SOURCE, target)
    babel.init_app(
        app,
        default_locale=DEFAULT_LANGUAGE,
        default_translation_directories=str(target),
        locale_selector=select_locale,
    )
    app.jinja_env.globals.update(LANGUAGES=LANGUAGES, get_locale=get_locale)
