"""The validation report of one submission: an HTML page (the equivalent of GX Data Docs for
this submission) next to its problem files, linked from it.

Everything the province wrote is escaped (Jinja2 autoescape): a header or a
cell is text, never markup.
"""
from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, select_autoescape

from expectations.runner import Outcome
from loaders.problems import Problem, RuleCount

_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Validation report: {{ r.province }} {{ r.period }}</title>
<style>
 body { font: 14px/1.4 system-ui, sans-serif; margin: 2rem; color: #222; }
 .verdict { padding: .8rem 1rem; border-radius: 6px; font-size: 1.2rem; }
 .accepted, .duplicate { background: #e6f4ea; } .rejected { background: #fce8e6; }
 table { border-collapse: collapse; margin: 1rem 0; } td, th { border: 1px solid #ccc; padding: .25rem .5rem;
 text-align: left; vertical-align: top; } th { background: #f3f3f3; } .error { color: #b00020; }
 .warning { color: #8a5a00; } .passed { color: #1e7e34; } .failed { color: #b00020; } code { font-size: 12px; }
</style></head><body>
<h1>Monthly COP return: {{ r.province_name }} ({{ r.province }}), {{ r.period }}</h1>
<p class="verdict {{ r.status }}">Verdict: <strong>{{ r.status }}</strong>
{% if r.version %} (version {{ r.version }}){% endif %}{% if r.dry_run %} (check only, nothing was saved){% endif %}
 &mdash; {{ r.rows }} rows, {{ r.error_count }} errors, {{ r.warning_count }} warnings</p>
<p>File <code>{{ r.file_name }}</code>, {{ r.file_size }} bytes, sha256 <code>{{ r.sha256 }}</code>,
 received {{ r.received_at }} from {{ r.submitted_by }} ({{ r.channel }}).</p>
<p>Download the problems: <a href="problems.csv">problems.csv</a> &middot; <a href="problems.xlsx">problems.xlsx</a></p>
{% if r.status == 'rejected' %}<p>Nothing from this file was loaded. Fix every error below and send the whole
 file again; warnings do not stop a file.</p>{% endif %}
<h2>Problems</h2>
{% if counts %}
<table><tr><th>Rule</th><th>Severity</th><th>Problems</th><th>Listed below</th></tr>
{% for c in counts %}<tr class="{{ c.severity }}"><td>{{ c.rule }} {{ c.title }}</td><td>{{ c.severity }}</td>
<td>{{ c.total }}</td><td>{{ c.stored }}{% if c.cut %} (the {{ c.stored }} worst; {{ c.cut }} more not listed){% endif %}</td></tr>
{% endfor %}</table>
{% endif %}
{% if problems %}
<table><tr><th>Severity</th><th>Rule</th><th>Row</th><th>Column</th><th>Value</th><th>Unit</th><th>What to do</th></tr>
{% for p in problems %}<tr class="{{ p.severity }}"><td>{{ p.severity }}</td><td>{{ p.rule }} {{ p.title }}</td>
<td>{{ p.row if p.row is not none else '' }}</td><td>{{ p.column or '' }}</td><td>{{ p.value if p.value is not none else '' }}</td>
<td>{{ p.unit_code or '' }}</td><td>{{ p.message }}</td></tr>
{% endfor %}</table>
{% else %}<p>No problems.</p>{% endif %}
<h2>Great Expectations results</h2>
{% if outcomes %}
<p>{{ outcomes|length }} expectations from <code>expectations/suites/</code>, {{ failed }} failed.</p>
<table><tr><th>Expectation</th><th>Columns</th><th>Rule</th><th>Severity</th><th>Result</th></tr>
{% for o in outcomes %}<tr><td><code>{{ o.kind }}</code></td><td>{{ o.columns|join(', ') }}</td>
<td>{{ o.rules|join(', ') }}</td><td>{{ o.severity }}</td>
<td class="{{ 'passed' if o.success else 'failed' }}">{{ 'passed' if o.success else 'failed: ' ~ o.failed_rows|length ~ ' rows' }}</td></tr>
{% endfor %}</table>
{% else %}<p>The suites did not run: the file could not be read as a table.</p>{% endif %}
</body></html>
"""

_environment = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
_template = _environment.from_string(_TEMPLATE)


def write_report(receipt: dict, problems: list[Problem], outcomes: list[Outcome], folder: Path,
                 counts: list[RuleCount] = ()) -> Path:
    path = folder / "report.html"
    path.write_text(_template.render(r=receipt, problems=problems, outcomes=outcomes, counts=counts,
                                     failed=sum(not o.success for o in outcomes)), encoding="utf-8")
    return path
