"""The official list of units in force from 1 July 2025, shipped with the app.

34 provinces and 3.321 commune-level units (xã, phường, đặc khu) with the statistics office's
codes, and for each unit the pre-reform communes it was formed from. The file
``data/official_units_2025.json`` is built by ``scripts/build-official-units``; this module
only reads it (once), with no Flask and no database.

Official codes are reused across the reform (the new Xã Quảng Bình has the old Xã Quảng
Lưu's code): a code names a unit of this list only from :data:`VALID_FROM`.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from campaign.text import fold

DATA_FILE = Path(__file__).parent / "data" / "official_units_2025.json"

#: The first day the list is in force.
VALID_FROM = date(2025, 7, 1)

#: Words a province's name may start with, left out of a lookup by name ("Thanh Hóa").
_PROVINCE_PREFIXES = ("tinh ", "thanh pho ")


@dataclass(frozen=True)
class Province:
    #: Two digits, e.g. "38".
    code: str
    #: The full name, e.g. "Tỉnh Thanh Hóa".
    name: str


@dataclass(frozen=True)
class Predecessor:
    """A pre-reform commune-level unit that became (part of) a new one."""

    #: Five digits; may be a new unit's code too (codes were reused).
    code: str
    name: str
    #: Three digits, and the name of the district it was in, e.g. "Huyện Quảng Xương".
    district_code: str
    district_name: str
    #: Only part of it went into this unit; the rest went to one or more others.
    partly: bool


@dataclass(frozen=True)
class Unit:
    #: Five digits, e.g. "16543".
    code: str
    #: The full name, e.g. "Xã Quảng Bình".
    name: str
    #: ``commune``, ``ward`` or ``special_zone``: kind codes of :class:`~campaign.models.UnitKind`.
    kind: str
    province_code: str
    #: Empty for the few special zones made of a whole island district that had no commune.
    predecessors: tuple[Predecessor, ...]


@dataclass(frozen=True)
class OfficialList:
    source: str
    source_licence: str
    provinces: tuple[Province, ...]
    units: tuple[Unit, ...]


@functools.cache
def load() -> OfficialList:
    raw = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    districts = raw["old_districts"]
    units = tuple(
        Unit(
            code,
            name,
            kind,
            province_code,
            tuple(
                Predecessor(old_code, old_name, district, districts[district][0], partly)
                for old_code, old_name, district, partly in old
            ),
        )
        for code, name, kind, province_code, old in raw["units"]
    )
    return OfficialList(
        source=raw["source"],
        source_licence=raw["source_licence"],
        provinces=tuple(Province(code, name) for code, name, _kind in raw["provinces"]),
        units=units,
    )


def provinces() -> tuple[Province, ...]:
    return load().provinces


@functools.cache
def _provinces_by_key() -> dict[str, Province]:
    keys: dict[str, Province] = {}
    for province in provinces():
        keys[province.code] = province
        name = fold(province.name)
        keys[name] = province
        for prefix in _PROVINCE_PREFIXES:
            if name.startswith(prefix):
                keys[name.removeprefix(prefix)] = province
    return keys


def find_province(query: str) -> Province | None:
    """The province with this code ("38", "1" for "01") or name, accents, case and the
    leading "Tỉnh" or "Thành phố" optional: "thanh hoa", "Tỉnh Thanh Hóa"."""
    key = fold(query)
    if key.isdigit() and len(key) <= 2:
        key = key.zfill(2)
    return _provinces_by_key().get(key)


@functools.cache
def _units_by_province() -> dict[str, tuple[Unit, ...]]:
    grouped: dict[str, list[Unit]] = {}
    for unit in load().units:
        grouped.setdefault(unit.province_code, []).append(unit)
    return {code: tuple(units) for code, units in grouped.items()}


def units_of(province: Province | str) -> tuple[Unit, ...]:
    """The commune-level units of a province (a :class:`Province` or its code), by code."""
    code = province.code if isinstance(province, Province) else province
    return _units_by_province().get(code, ())


@functools.cache
def _units_by_code() -> dict[str, Unit]:
    return {unit.code: unit for unit in load().units}


def find_unit(code: str) -> Unit | None:
    """The commune-level unit with this code in the list from :data:`VALID_FROM`."""
    code = code.strip()
    return _units_by_code().get(code.zfill(5) if code.isdigit() else code)


def predecessors(code: str) -> tuple[Predecessor, ...]:
    """The pre-reform units the unit with this code was formed from; empty when unknown."""
    unit = find_unit(code)
    return unit.predecessors if unit else ()
