"""The form spec and the provincial amendments load, and a broken file says clearly what is wrong."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from cop.paths import SPEC_DIR
from cop.spec import IDENTITY_FIELDS, SpecError, load_amendment, load_form, normalize_header, parse_amendment, \
    parse_form, amendment_provinces
from cop.registry import load_registry

V2_FIELDS_IN_THE_FORM_DOCUMENT = 14
V2_NARRATIVES = {"achievement": 500, "challenge": 500, "success_story": 1500}


def test_form_has_every_national_field_with_its_metadata():
    form = load_form()
    names = [f.name for f in form.fields]
    assert len(names) == len(set(names)) and all(re.fullmatch(r"[a-z][a-z0-9_]*", name) for name in names)
    assert {f.group for f in form.fields} <= set(form.groups) - {"identity"}
    optional = {f.name for f in form.fields if not f.required}
    assert {"survey_respondents", "survey_satisfied", "median_days_to_resolve"} <= optional
    assert form.field("median_days_to_resolve").type == "decimal"
    assert all(f.max > 0 and f.help and f.label and f.unit for f in form.fields)


def test_form_v2_adds_its_fields_and_narratives_and_starts_in_the_configured_month():
    form = load_form()
    assert [(v.version, f"{v.start:%Y-%m}") for v in form.versions] == [(1, "2015-01"), (2, "2025-01")]
    added = [f for f in form.fields if f.since == 2]
    assert len(added) == V2_FIELDS_IN_THE_FORM_DOCUMENT
    assert {f.group for f in added} == {"partnership", "prevention", "crime", "harm", "resources"}
    assert {n.name: n.max_length for n in form.narratives} == V2_NARRATIVES
    assert form.in_version(1).narratives == () and not form.in_version(1).cross_field_rules == ()
    assert "W205" not in {r.code for r in form.in_version(1).cross_field_rules}


def test_urdu_amendments_give_urdu_headers_to_the_new_required_fields():
    form = load_form()
    new_required = [f.name for f in form.fields if f.since == 2 and f.required]
    for province in ("SD", "AJ"):
        amendment = load_amendment(province)
        urdu = [name for name in new_required if not amendment.header_for(name).isascii()]
        assert urdu, province
    assert all(not load_amendment("SD").header_for(name).isascii() for name in new_required)


def test_every_rule_code_used_by_cross_field_rules_is_in_the_catalogue():
    form = load_form()
    assert {r.code for r in form.cross_field_rules} <= set(form.rules)
    blocking = {(r.left, r.right) for r in form.cross_field_rules if r.severity == "error"}
    assert ("female_officers_posted", "officers_posted") in blocking
    assert ("mobile_snatching", "street_crime_reported") in blocking


def test_each_province_has_an_amendment_and_they_differ():
    assert amendment_provinces() == sorted(load_registry().province_codes), "one amendment per province"
    amendments = {code: load_amendment(code) for code in amendment_provinces()}
    assert len(amendments["PB"].local_indicators) == 2
    assert amendments["GB"].omit and all(not load_form().field(f).required for f in amendments["GB"].omit)
    assert {a.file.format for a in amendments.values()} == {"csv", "xlsx"}
    assert len({(a.file.delimiter, a.file.encoding) for a in amendments.values()}) >= 4


def test_an_urdu_alias_maps_to_the_national_field():
    lookup = load_amendment("SD").header_lookup(load_form())
    assert lookup[normalize_header("کھلی کچہری")] == "open_courts_held"
    assert lookup[normalize_header("  تھانہ کوڈ ")] == "unit_code"
    # the national names always work too
    assert lookup[normalize_header("Open_Courts_Held")] == "open_courts_held"


def test_headers_match_after_trimming_case_folding_and_bom():
    assert normalize_header("\ufeff  Community   Meetings ") == normalize_header("community meetings")


def test_template_columns_apply_the_amendment():
    form = load_form()
    columns = load_amendment("KP").columns(form)
    assert [c.field for c in columns[:4]] == list(IDENTITY_FIELDS)
    assert "social_media_posts" not in {c.field for c in columns}
    assert "DRC Referrals" in {c.header for c in columns}
    pb = load_amendment("PB").columns(form)
    assert [c.field for c in pb if c.local] == ["pb_khidmat_markaz_services", "pb_dolphin_patrol_hours"]


# ---------------------------------------------------------------- broken spec files


@pytest.fixture
def spec_copy(tmp_path) -> Path:
    target = tmp_path / "spec"
    shutil.copytree(SPEC_DIR, target)
    return target


def _edit(path: Path, change) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


@pytest.mark.parametrize("change, message", [
    (lambda d: d["fields"][2].pop("max"), r"fields\[2\] \('open_courts_held'\): missing key 'max'"),
    (lambda d: d["fields"][0].update(type="integer"), r"type 'integer' must be one of"),
    (lambda d: d["fields"][0].update(max="lots"), r"max: must be float, found 'lots'"),
    (lambda d: d["fields"][0].update(group="nonsense"), r"group 'nonsense' is not one of"),
    (lambda d: d["fields"].append(dict(d["fields"][0])), r"'community_meetings_held' is defined twice"),
    (lambda d: d["cross_field_rules"][0].update(right="officers"), r"refers to unknown field 'officers'"),
    (lambda d: d.update(programme_start="2015-13"), r"programme_start: '2015-13' is not a month"),
    (lambda d: d["rules"].pop("X101"), r"code 'X101' needs an entry"),
    (lambda d: d["versions"][1].update({"from": "2014-06"}), r"version 2 must follow version 1 and start after 2015-01"),
    (lambda d: d["versions"][0].update({"from": "2016-01"}), r"the first version must start at programme_start"),
    (lambda d: d["fields"][-1].update(since=3), r"since 3 is not a version listed under versions"),
    (lambda d: d["narratives"][0].update(max_length=0), r"narratives\[0\] \('achievement'\): max_length must be positive"),
    (lambda d: d.update(version=1), r"version: must be the latest of versions \(2\)"),
])
def test_a_broken_form_gives_a_clear_error(spec_copy, change, message):
    _edit(spec_copy / "form.yaml", change)
    with pytest.raises(SpecError, match=message):
        parse_form(spec_copy / "form.yaml")


def test_a_form_that_is_not_yaml_gives_a_clear_error(spec_copy):
    (spec_copy / "form.yaml").write_text("fields: [unclosed", encoding="utf-8")
    with pytest.raises(SpecError, match=r"form.yaml: not valid YAML"):
        parse_form(spec_copy / "form.yaml")


@pytest.mark.parametrize("change, message", [
    (lambda d: d.update(omit=["homicide"]), r"'homicide' is required nationally"),
    (lambda d: d["aliases"].update(not_a_field=["X"]), r"aliases.not_a_field: is not a field"),
    (lambda d: d["aliases"].update(burglary=["Comm Mtgs"]), r"header 'Comm Mtgs' is already used"),
    (lambda d: d.update(local_indicators=[{"name": "homicide", "type": "count", "unit": "x", "required": False,
                                           "max": 5, "label": "x", "help": "x"}]), r"'homicide' is a national field"),
    (lambda d: d.update(province="SD"), r"'SD' does not match the file name BA.yaml"),
    (lambda d: d["file"].update(format="ods"), r"'ods' must be one of"),
])
def test_a_broken_amendment_gives_a_clear_error(spec_copy, change, message):
    _edit(spec_copy / "amendments" / "BA.yaml", change)
    with pytest.raises(SpecError, match=message):
        parse_amendment(spec_copy / "amendments" / "BA.yaml", parse_form(spec_copy / "form.yaml"))
