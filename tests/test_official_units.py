"""The official list of units from 1 July 2025, as shipped in campaign/data."""

from __future__ import annotations

from collections import Counter

import pytest

from campaign import official_units


def test_the_list_counts_34_provinces_and_3321_commune_level_units():
    assert len(official_units.provinces()) == 34
    units = official_units.load().units
    assert len(units) == 3321
    assert len({u.code for u in units}) == 3321
    assert {u.kind for u in units} == {"commune", "ward", "special_zone"}
    assert {u.province_code for u in units} == {p.code for p in official_units.provinces()}


def test_thanh_hoa_has_147_communes_and_19_wards():
    thanh_hoa = official_units.find_province("38")
    assert thanh_hoa is not None and thanh_hoa.name == "Tỉnh Thanh Hóa"
    units = official_units.units_of(thanh_hoa)
    assert len(units) == 166
    assert Counter(u.kind for u in units) == {"commune": 147, "ward": 19}


def test_known_rows():
    hac_thanh = official_units.find_unit("14797")
    assert hac_thanh is not None
    assert (hac_thanh.name, hac_thanh.kind, hac_thanh.province_code) == (
        "Phường Hạc Thành",
        "ward",
        "38",
    )
    quang_binh = official_units.find_unit("16543")
    assert quang_binh is not None and quang_binh.name == "Xã Quảng Bình"
    # The code was the old Xã Quảng Lưu's: codes are reused across the reform.
    assert [(p.code, p.name) for p in quang_binh.predecessors] == [
        ("16468", "Xã Quảng Bình"),
        ("16543", "Xã Quảng Lưu"),
        ("16546", "Xã Quảng Lộc"),
        ("16558", "Xã Quảng Thái"),
    ]
    assert {p.district_name for p in quang_binh.predecessors} == {"Huyện Quảng Xương"}
    assert official_units.predecessors("16543") == quang_binh.predecessors


def test_special_zones_are_listed_with_their_kind():
    zones = [u for u in official_units.load().units if u.kind == "special_zone"]
    assert len(zones) == 13
    assert "Đặc khu Côn Đảo" in {z.name for z in zones}


def test_an_old_commune_split_between_new_units_is_marked_partly_in_each():
    parts = [
        (u.code, p.partly)
        for u in official_units.load().units
        for p in u.predecessors
        if p.code == "14758"  # the old Phường Đông Thọ, Thanh Hóa
    ]
    assert len(parts) > 1 and all(partly for _code, partly in parts)


@pytest.mark.parametrize(
    "query",
    ["38", " 38 ", "Thanh Hóa", "thanh hoa", "THANH HOA", "Tỉnh Thanh Hóa", "tinh thanh hoa"],
)
def test_a_province_is_found_by_code_or_by_name_without_regard_to_accents(query):
    province = official_units.find_province(query)
    assert province is not None and province.code == "38"


@pytest.mark.parametrize(
    ("query", "code"),
    [("1", "01"), ("ha noi", "01"), ("Thành phố Hồ Chí Minh", "79"), ("ho chi minh", "79")],
)
def test_a_city_is_found_by_its_short_code_or_its_name(query, code):
    province = official_units.find_province(query)
    assert province is not None and province.code == code


@pytest.mark.parametrize("query", ["", "99", "Thanh", "Quảng Xương", "x" * 10_000, "380"])
def test_an_unknown_province_is_none(query):
    assert official_units.find_province(query) is None


def test_unit_lookups_accept_a_code_without_leading_zeros_and_refuse_others():
    ba_dinh = official_units.find_unit("4")
    assert ba_dinh is not None and ba_dinh.code == "00004"
    assert official_units.find_unit("16468") is None  # the old Xã Quảng Bình: gone
    assert official_units.predecessors("nonsense") == ()
    assert official_units.units_of("99") == ()
