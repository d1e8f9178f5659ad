"""The national return form and the provincial amendments, loaded from spec/.

The YAML files are the single home of the form. This module turns them into
typed objects and refuses a broken file with a message that names the file,
the entry and what is wrong with it.
"""
from __future__ import annotations

import datetime as dt
import functools
import unicodedata
from dataclasses import dataclass, field as dataclass_field, replace
from pathlib import Path
from typing import Any, Sequence

import yaml

from cop.paths import SPEC_DIR
from cop.period import PeriodError, parse_period

IDENTITY_FIELDS = ("province_code", "district_code", "unit_code", "period")
FIELD_TYPES = ("count", "decimal")
# How an indicator adds up over months (over units, every kind but median adds up):
#   flow    counted in the month: sum the months (meetings held, FIRs registered)
#   stock   standing at the month's end: take the month's value, never sum months (watch groups, officers posted)
#   survey  people asked in the month's survey: sum them, and read them as a share (satisfied / respondents)
#   median  a unit's median: neither sums nor averages into a national figure
AGGREGATIONS = ("flow", "stock", "survey", "median")
DIRECTIONS = ("higher", "lower", "neutral")  # higher or lower is better; neutral: context (recorded crime)
COMPARISONS = ("<=",)
RULE_SPANS = ("month", "fiscal_year")
SEVERITIES = ("error", "warning")
FILE_FORMATS = ("csv", "xlsx")


class SpecError(ValueError):
    """A spec file is missing or malformed. The message says where and why."""


@dataclass(frozen=True)
class Field:
    name: str
    group: str
    type: str
    unit: str
    required: bool
    max: float
    label: str
    help: str
    province: str | None = None  # set for a province's local indicator
    since: int = 1               # the form version that introduced it
    until: int | None = None     # the last form version that had it (None: still collected)
    aggregation: str = "flow"    # one of AGGREGATIONS
    direction: str = "neutral"   # one of DIRECTIONS
    part_of: str | None = None   # the field this one is a subset of ("of those"): never add the two

    @property
    def is_local(self) -> bool:
        return self.province is not None

    def in_version(self, version: int) -> bool:
        return self.since <= version and (self.until is None or version <= self.until)


@dataclass(frozen=True)
class Narrative:
    """A free-text field of the form: one short text per unit and month, stored exactly as sent."""
    name: str
    required: bool
    max_length: int
    label: str
    help: str
    since: int = 1
    until: int | None = None

    def in_version(self, version: int) -> bool:
        return self.since <= version and (self.until is None or version <= self.until)


@dataclass(frozen=True)
class FormVersion:
    version: int
    start: dt.date   # the first month it is in force for


@dataclass(frozen=True)
class IdentityField:
    name: str
    label: str
    help: str


@dataclass(frozen=True)
class CrossFieldRule:
    code: str
    severity: str
    left: str
    op: str
    right: str
    paired: bool = False
    note: str = ""
    over: str = "month"    # or "fiscal_year": the sums from July to this month (Pakistan's fiscal year)


@dataclass(frozen=True)
class Rule:
    code: str
    severity: str
    title: str
    fix: str


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int
    max_rows: int
    max_columns: int
    max_xlsx_uncompressed_bytes: int
    max_xlsx_compression_ratio: int
    max_cell_characters: int


@dataclass(frozen=True)
class Outputs:
    max_stored_problems_per_rule: int
    check_retention_days: int


@dataclass(frozen=True)
class HistoryRules:
    outlier_rule_version: int
    outlier_history_months: int
    outlier_min_history: int
    outlier_tail_probability: float
    outlier_slip_tail_probability: float
    outlier_swap_tail_probability: float
    outlier_overdispersion: float
    outlier_peer_overdispersion: float
    outlier_level_floor: float
    outlier_min_abs_change: float
    outlier_per_event_overdispersion: float
    # (people, events): a count of people over the month's events, judged against the events (attendance
    # over meetings held)
    outlier_per_event: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Form:
    version: int
    programme_start: str
    default_due_day: int
    default_lock_after_days: int
    limits: Limits
    groups: dict[str, str]
    identity: tuple[IdentityField, ...]
    fields: tuple[Field, ...]
    cross_field_rules: tuple[CrossFieldRule, ...]
    history_rules: HistoryRules
    outputs: Outputs
    rules: dict[str, Rule]
    versions: tuple[FormVersion, ...] = ()
    narratives: tuple[Narrative, ...] = ()

    def version_for(self, month: dt.date) -> FormVersion:
        """The version in force for `month` (the latest whose start is not after it)."""
        in_force = [v for v in self.versions if v.start <= month]
        return in_force[-1] if in_force else self.versions[0]

    def for_month(self, month: dt.date) -> Form:
        """The form as it is for `month`: only the fields, narratives and rules of the version in force."""
        return self.in_version(self.version_for(month).version)

    def in_version(self, version: int) -> Form:
        fields = tuple(f for f in self.fields if f.in_version(version))
        names = {f.name for f in fields}
        return replace(self, version=version, fields=fields,
                       narratives=tuple(n for n in self.narratives if n.in_version(version)),
                       cross_field_rules=tuple(r for r in self.cross_field_rules
                                               if r.left in names and r.right in names))

    @property
    def fiscal_year_rules(self) -> tuple[CrossFieldRule, ...]:
        """The cross-field rules judged on the sums of the fiscal year to date, not on one month."""
        return tuple(r for r in self.cross_field_rules if r.over == "fiscal_year")

    def field_version(self, name: str) -> FormVersion | None:
        """The first version that has field or narrative `name` (None when the form has no such name)."""
        entry = next((f for f in (*self.fields, *self.narratives) if f.name == name), None)
        return None if entry is None else next(v for v in self.versions if v.version == entry.since)

    def narrative(self, name: str) -> Narrative:
        for candidate in self.narratives:
            if candidate.name == name:
                return candidate
        raise KeyError(name)

    @property
    def narrative_names(self) -> tuple[str, ...]:
        return tuple(n.name for n in self.narratives)

    def field(self, name: str) -> Field:
        for candidate in self.fields:
            if candidate.name == name:
                return candidate
        raise KeyError(name)

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)


@dataclass(frozen=True)
class FileFormat:
    format: str
    delimiter: str = ","
    encoding: str = "utf-8"
    sheet: str | None = None

    @property
    def extension(self) -> str:
        return self.format


@dataclass(frozen=True)
class Column:
    """One column of a province's return: the header the province uses and the field behind it."""
    header: str
    field: str
    required: bool
    local: bool = False


@dataclass(frozen=True)
class Amendment:
    province: str
    name: str
    file: FileFormat
    due_day: int
    lock_after_days: int
    aliases: dict[str, tuple[str, ...]] = dataclass_field(default_factory=dict)
    omit: tuple[str, ...] = ()
    local_indicators: tuple[Field, ...] = ()

    def header_for(self, field_name: str) -> str:
        """The header the province's template uses: its first alias, else the national name."""
        return (self.aliases.get(field_name) or (field_name,))[0]

    def columns(self, form: Form) -> list[Column]:
        """The province's template columns, in order: identity, national fields kept, local indicators."""
        columns = [Column(self.header_for(name), name, True) for name in IDENTITY_FIELDS]
        columns += [Column(self.header_for(f.name), f.name, f.required)
                    for f in form.fields if f.name not in self.omit]
        columns += [Column(self.header_for(n.name), n.name, n.required)
                    for n in form.narratives if n.name not in self.omit]
        columns += [Column(self.header_for(f.name), f.name, f.required, local=True)
                    for f in self.local_indicators]
        return columns

    def header_lookup(self, form: Form) -> dict[str, str]:
        """Normalised header -> field name, for every name the province may use."""
        lookup: dict[str, str] = {}
        for name in self.names(form):
            for header in (name, *self.aliases.get(name, ())):
                lookup[normalize_header(header)] = name
        return lookup

    def names(self, form: Form) -> list[str]:
        """Every field name a return of this province may carry under `form`."""
        return (list(IDENTITY_FIELDS) + list(form.field_names) + list(form.narrative_names)
                + [f.name for f in self.local_indicators])

    def local_field(self, name: str) -> Field:
        for candidate in self.local_indicators:
            if candidate.name == name:
                return candidate
        raise KeyError(name)


def normalize_header(text: str) -> str:
    """Headers match after Unicode normalisation, trimming, case-folding and collapsing spaces."""
    text = unicodedata.normalize("NFKC", str(text)).replace("\ufeff", "")
    return " ".join(text.split()).casefold()


# ---------------------------------------------------------------- loading


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise SpecError(f"{path}: file not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SpecError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise SpecError(f"{path}: expected a mapping at the top level, found {type(data).__name__}")
    return data


class _Checker:
    """Reads typed values out of a YAML mapping, naming the place of any problem."""

    def __init__(self, path: Path):
        self.path = path

    def fail(self, where: str, message: str) -> SpecError:
        return SpecError(f"{self.path}: {where}: {message}")

    def get(self, mapping: Any, key: str, kind: type | tuple[type, ...], where: str, default: Any = ...) -> Any:
        if not isinstance(mapping, dict):
            raise self.fail(where, f"expected a mapping, found {mapping!r}")
        if key not in mapping:
            if default is ...:
                raise self.fail(where, f"missing key '{key}'")
            return default
        value = mapping[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (isinstance(value, bool) and kind in (int, float)):
            expected = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            raise self.fail(f"{where}.{key}", f"must be {expected}, found {value!r}")
        return value


def _parse_field(check: _Checker, raw: Any, where: str, groups: dict[str, str] | None,
                 province: str | None = None) -> Field:
    name = check.get(raw, "name", str, where)
    where = f"{where} ('{name}')"
    group = check.get(raw, "group", str, where, default="local" if province else ...)
    if groups is not None and group not in groups:
        raise check.fail(where, f"group '{group}' is not one of {sorted(groups)}")
    field_type = check.get(raw, "type", str, where)
    if field_type not in FIELD_TYPES:
        raise check.fail(where, f"type '{field_type}' must be one of {FIELD_TYPES}")
    cap = check.get(raw, "max", float, where)
    if cap <= 0:
        raise check.fail(where, f"max must be positive, found {cap}")
    since, until = _version_span(check, raw, where)
    aggregation = check.get(raw, "aggregation", str, where, "flow")
    if aggregation not in AGGREGATIONS:
        raise check.fail(where, f"aggregation '{aggregation}' must be one of {AGGREGATIONS}")
    direction = check.get(raw, "direction", str, where, "neutral")
    if direction not in DIRECTIONS:
        raise check.fail(where, f"direction '{direction}' must be one of {DIRECTIONS}")
    return Field(
        name=name, group=group, type=field_type, unit=check.get(raw, "unit", str, where),
        required=check.get(raw, "required", bool, where), max=cap,
        label=check.get(raw, "label", str, where), help=check.get(raw, "help", str, where),
        province=province, since=since, until=until, aggregation=aggregation, direction=direction,
        part_of=check.get(raw, "part_of", str, where, None),
    )


def _check_parts(check: _Checker, fields: Sequence[Field], known: dict[str, Field], where: str) -> None:
    """A field that is part of another names a field of the same unit and aggregation (its whole)."""
    for f in fields:
        whole = known.get(f.part_of) if f.part_of else f
        if whole is None:
            raise check.fail(where, f"'{f.name}' is part_of unknown field '{f.part_of}'")
        if (whole.unit, whole.aggregation) != (f.unit, f.aggregation):
            raise check.fail(where, f"'{f.name}' is part_of '{whole.name}', which is counted differently "
                                    f"({whole.unit}, {whole.aggregation} against {f.unit}, {f.aggregation})")


def _version_span(check: _Checker, raw: Any, where: str) -> tuple[int, int | None]:
    since = check.get(raw, "since", int, where, 1)
    until = check.get(raw, "until", int, where, None)
    if until is not None and until < since:
        raise check.fail(where, f"until ({until}) is before since ({since})")
    return since, until


def _parse_narrative(check: _Checker, raw: Any, where: str) -> Narrative:
    name = check.get(raw, "name", str, where)
    where = f"{where} ('{name}')"
    max_length = check.get(raw, "max_length", int, where)
    if max_length <= 0:
        raise check.fail(where, f"max_length must be positive, found {max_length}")
    since, until = _version_span(check, raw, where)
    return Narrative(name=name, required=check.get(raw, "required", bool, where), max_length=max_length,
                     label=check.get(raw, "label", str, where), help=check.get(raw, "help", str, where),
                     since=since, until=until)


def _parse_versions(check: _Checker, raw: Any, programme_start: str) -> tuple[FormVersion, ...]:
    versions = []
    for i, item in enumerate(check.get(raw, "versions", list, "top level")):
        where = f"versions[{i}]"
        try:
            start = parse_period(check.get(item, "from", str, where))
        except PeriodError as exc:
            raise check.fail(f"{where}.from", str(exc)) from exc
        versions.append(FormVersion(check.get(item, "version", int, where), start))
    if not versions or versions[0].start != parse_period(programme_start):
        raise check.fail("versions", f"the first version must start at programme_start ({programme_start})")
    for earlier, later in zip(versions, versions[1:]):
        if later.version != earlier.version + 1 or later.start <= earlier.start:
            raise check.fail("versions", f"version {later.version} must follow version {earlier.version} "
                                         f"and start after {earlier.start:%Y-%m}")
    return tuple(versions)


def _check_unique(check: _Checker, names: list[str], where: str) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise check.fail(where, f"'{name}' is defined twice")
        seen.add(name)


def parse_form(path: Path) -> Form:
    check = _Checker(path)
    raw = _read_yaml(path)
    groups = check.get(raw, "groups", dict, "top level")
    identity = tuple(
        IdentityField(check.get(item, "name", str, f"identity[{i}]"), check.get(item, "label", str, f"identity[{i}]"),
                      check.get(item, "help", str, f"identity[{i}]"))
        for i, item in enumerate(check.get(raw, "identity", list, "top level")))
    if tuple(f.name for f in identity) != IDENTITY_FIELDS:
        raise check.fail("identity", f"must list exactly {IDENTITY_FIELDS} in that order")
    fields = tuple(_parse_field(check, item, f"fields[{i}]", groups)
                   for i, item in enumerate(check.get(raw, "fields", list, "top level")))
    narratives = tuple(_parse_narrative(check, item, f"narratives[{i}]")
                       for i, item in enumerate(check.get(raw, "narratives", list, "top level", [])))
    _check_unique(check, [f.name for f in fields] + [n.name for n in narratives] + list(IDENTITY_FIELDS), "fields")
    _check_parts(check, fields, {f.name: f for f in fields}, "fields")

    rules = {}
    for code, item in check.get(raw, "rules", dict, "top level").items():
        severity = check.get(item, "severity", str, f"rules.{code}")
        if severity not in SEVERITIES:
            raise check.fail(f"rules.{code}", f"severity '{severity}' must be one of {SEVERITIES}")
        rules[code] = Rule(code, severity, check.get(item, "title", str, f"rules.{code}"),
                           check.get(item, "fix", str, f"rules.{code}"))

    cross = []
    for i, item in enumerate(check.get(raw, "cross_field_rules", list, "top level")):
        where = f"cross_field_rules[{i}]"
        rule = CrossFieldRule(
            code=check.get(item, "code", str, where), severity=check.get(item, "severity", str, where),
            left=check.get(item, "left", str, where), op=check.get(item, "op", str, where),
            right=check.get(item, "right", str, where), paired=check.get(item, "paired", bool, where, False),
            note=check.get(item, "note", str, where, ""), over=check.get(item, "over", str, where, "month"))
        for side in (rule.left, rule.right):
            if side not in {f.name for f in fields}:
                raise check.fail(where, f"refers to unknown field '{side}'")
        if rule.op not in COMPARISONS:
            raise check.fail(where, f"op '{rule.op}' must be one of {COMPARISONS}")
        if rule.over not in RULE_SPANS:
            raise check.fail(where, f"over '{rule.over}' must be one of {RULE_SPANS}")
        if rule.code not in rules or rules[rule.code].severity != rule.severity:
            raise check.fail(where, f"code '{rule.code}' needs an entry with severity {rule.severity} under rules")
        cross.append(rule)

    limits_raw = check.get(raw, "limits", dict, "top level")
    limits = Limits(**{name: check.get(limits_raw, name, int, "limits") for name in Limits.__dataclass_fields__})
    history_raw = check.get(raw, "history_rules", dict, "top level")
    per_event = check.get(history_raw, "outlier_per_event", dict, "history_rules")
    for people, events in per_event.items():
        for name in (people, events):
            if name not in {f.name for f in fields if f.type == "count"}:
                raise check.fail("history_rules.outlier_per_event", f"'{name}' is not a count field of the form")
    history = HistoryRules(**{name: check.get(history_raw, name, (int, float), "history_rules")
                              for name in HistoryRules.__dataclass_fields__ if name != "outlier_per_event"},
                           outlier_per_event=tuple(per_event.items()))
    outputs_raw = check.get(raw, "outputs", dict, "top level")
    outputs = Outputs(**{name: check.get(outputs_raw, name, int, "outputs") for name in Outputs.__dataclass_fields__})
    programme_start = check.get(raw, "programme_start", str, "top level")
    try:
        parse_period(programme_start)
    except PeriodError as exc:
        raise check.fail("programme_start", str(exc)) from exc
    versions = _parse_versions(check, raw, programme_start)
    version = check.get(raw, "version", int, "top level")
    if version != versions[-1].version:
        raise check.fail("version", f"must be the latest of versions ({versions[-1].version}), found {version}")
    for entry in (*fields, *narratives):
        if entry.since not in {v.version for v in versions}:
            raise check.fail(f"'{entry.name}'", f"since {entry.since} is not a version listed under versions")
    return Form(
        version=version, programme_start=programme_start, versions=versions, narratives=narratives,
        default_due_day=check.get(raw, "default_due_day", int, "top level"),
        default_lock_after_days=check.get(raw, "default_lock_after_days", int, "top level"), limits=limits,
        groups=groups, identity=identity, fields=fields, cross_field_rules=tuple(cross), history_rules=history,
        outputs=outputs, rules=rules,
    )


def parse_amendment(path: Path, form: Form) -> Amendment:
    check = _Checker(path)
    raw = _read_yaml(path)
    province = check.get(raw, "province", str, "top level")
    if path.stem != province:
        raise check.fail("province", f"'{province}' does not match the file name {path.name}")
    file_raw = check.get(raw, "file", dict, "top level")
    file_format = FileFormat(
        format=check.get(file_raw, "format", str, "file"), delimiter=check.get(file_raw, "delimiter", str, "file", ","),
        encoding=check.get(file_raw, "encoding", str, "file", "utf-8"), sheet=check.get(file_raw, "sheet", str, "file", None))
    if file_format.format not in FILE_FORMATS:
        raise check.fail("file.format", f"'{file_format.format}' must be one of {FILE_FORMATS}")

    locals_ = tuple(_parse_field(check, item, f"local_indicators[{i}]", None, province=province)
                    for i, item in enumerate(check.get(raw, "local_indicators", list, "top level", [])))
    national = set(form.field_names) | set(form.narrative_names) | set(IDENTITY_FIELDS)
    for local in locals_:
        if local.name in national:
            raise check.fail("local_indicators", f"'{local.name}' is a national field; a local indicator needs its own name")
    _check_unique(check, [f.name for f in locals_], "local_indicators")
    _check_parts(check, locals_, {f.name: f for f in (*form.fields, *locals_)}, "local_indicators")

    omit = tuple(check.get(raw, "omit", list, "top level", []))
    for name in omit:
        if name not in form.field_names + form.narrative_names:
            raise check.fail("omit", f"'{name}' is not a national field")
        entry = form.narrative(name) if name in form.narrative_names else form.field(name)
        if entry.required:
            raise check.fail("omit", f"'{name}' is required nationally; a province may leave out only optional fields")

    aliases: dict[str, tuple[str, ...]] = {}
    known = national | {f.name for f in locals_}
    for name, headers in (check.get(raw, "aliases", dict, "top level", {}) or {}).items():
        if name not in known:
            raise check.fail(f"aliases.{name}", "is not a field of the national form or a local indicator")
        if not isinstance(headers, list) or not all(isinstance(h, str) and h.strip() for h in headers):
            raise check.fail(f"aliases.{name}", "must be a list of non-empty header texts")
        aliases[name] = tuple(headers)
    amendment = Amendment(
        province=province, name=check.get(raw, "name", str, "top level"), file=file_format,
        due_day=check.get(raw, "due_day", int, "top level", form.default_due_day),
        lock_after_days=check.get(raw, "lock_after_days", int, "top level", form.default_lock_after_days),
        aliases=aliases, omit=omit, local_indicators=locals_)
    if not 1 <= amendment.due_day <= 28:
        raise check.fail("due_day", f"must be a day between 1 and 28, found {amendment.due_day}")
    if amendment.lock_after_days < 0:
        raise check.fail("lock_after_days", f"must be zero or more days, found {amendment.lock_after_days}")
    _check_alias_collisions(check, amendment, form)
    return amendment


def _check_alias_collisions(check: _Checker, amendment: Amendment, form: Form) -> None:
    owners: dict[str, str] = {}
    for name in amendment.names(form):
        for header in (name, *amendment.aliases.get(name, ())):
            key = normalize_header(header)
            if owners.setdefault(key, name) != name:
                raise check.fail(f"aliases.{name}", f"header '{header}' is already used for '{owners[key]}'")


@functools.lru_cache(maxsize=None)
def load_form(spec_dir: Path = SPEC_DIR) -> Form:
    return parse_form(spec_dir / "form.yaml")


@functools.lru_cache(maxsize=None)
def load_amendment(province: str, spec_dir: Path = SPEC_DIR) -> Amendment:
    path = spec_dir / "amendments" / f"{province}.yaml"
    if not path.exists():
        raise SpecError(f"{path}: no amendment file for province '{province}'")
    return parse_amendment(path, load_form(spec_dir))


def form_for(month: dt.date, spec_dir: Path = SPEC_DIR) -> Form:
    """The form in force for `month`: what a return for that month is judged, templated and loaded by."""
    return _form_in_version(load_form(spec_dir).version_for(month).version, spec_dir)


@functools.lru_cache(maxsize=None)
def _form_in_version(version: int, spec_dir: Path) -> Form:
    return load_form(spec_dir).in_version(version)


def amendment_provinces(spec_dir: Path = SPEC_DIR) -> list[str]:
    """The provinces that have an amendment file (the registry says which provinces exist; a test keeps
    the two equal)."""
    return sorted(p.stem for p in (spec_dir / "amendments").glob("*.yaml"))
