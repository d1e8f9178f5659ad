"""The annual report's charts: matplotlib (Agg) figures returned as PNG data URIs, so the HTML report
is a single self-contained file and WeasyPrint embeds the same images in the PDF."""
from __future__ import annotations

import base64
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

INK = "#1f2a44"
ACCENT = "#1b7f5b"
MUTED = "#9aa5b1"
WARN = "#c0392b"
LATE = "#e0a030"
DPI = 130

plt.rcParams.update({"font.size": 8.5, "axes.titlesize": 9.5, "axes.titleweight": "bold",
                     "axes.spines.top": False, "axes.spines.right": False, "axes.edgecolor": "#555",
                     "legend.frameon": False, "figure.dpi": DPI})


def _shorten(label: str, width: int = 38) -> str:
    return label if len(label) <= width else label[: width - 1] + "…"


def _wrap(label: str, width: int) -> str:
    """A long label on two lines (the second shortened if need be), never cut off at the edge."""
    import textwrap

    lines = textwrap.wrap(label, width)
    return "\n".join([lines[0], _shorten(" ".join(lines[1:]), width)]) if len(lines) > 1 else label


def to_data_uri(figure: plt.Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")




def year_over_year(monthly: pd.DataFrame, title: str, ylabel: str, year: int, percent: bool = False) -> str:
    """A monthly national series, this year against the previous one. monthly: period (month), value."""
    figure, axis = plt.subplots(figsize=(5.2, 1.95))
    for shown_year, colour, style, marker in ((year - 1, MUTED, "--", "s"), (year, ACCENT, "-", "o")):
        rows = monthly[monthly["period"].dt.year == shown_year].sort_values("period")
        if rows.empty:
            continue
        values = rows["value"] * (100 if percent else 1)
        axis.plot(rows["period"].dt.month - 1, values, style, color=colour, marker=marker, markersize=3,
                  label=str(shown_year), linewidth=1.8)
    axis.set_xticks(range(12))
    axis.set_xticklabels(["J", "F", "M", "A", "M", "J", "J", "A", "S", "O", "N", "D"])
    axis.set_title(_shorten(title, 60), loc="left")
    axis.set_ylabel(ylabel)
    axis.set_ylim(bottom=0)
    axis.legend(loc="lower right", ncols=2)
    axis.grid(axis="y", color="#eee")
    return to_data_uri(figure)


def reporting_by_province(completeness: pd.DataFrame, names: dict[str, str]) -> str:
    """Small multiples: each province's monthly reporting rate, on time and late."""
    provinces = list(names)
    columns = 4
    rows_needed = int(np.ceil(len(provinces) / columns))
    figure, axes = plt.subplots(rows_needed, columns, figsize=(7.2, 1.35 * rows_needed), sharey=True)
    for axis, province in zip(axes.flat, provinces):
        _reporting_bars(axis, completeness[completeness["province_code"] == province], names[province],
                        small=True)
    for axis in list(axes.flat)[len(provinces):]:
        axis.axis("off")
    handles = _reporting_handles()
    figure.legend(handles, ["on time", "late"], loc="lower right", ncols=2, bbox_to_anchor=(0.98, 0.02))
    figure.supylabel("share of units expected", fontsize=8)
    figure.tight_layout()
    return to_data_uri(figure)


def _reporting_handles() -> list:
    return [plt.Rectangle((0, 0), 1, 1, color=ACCENT),
            plt.Rectangle((0, 0), 1, 1, facecolor=LATE, hatch="....", edgecolor="white")]


def _reporting_bars(axis, rows: pd.DataFrame, title: str, small: bool = False) -> None:
    rows = rows.sort_values("month").reset_index(drop=True)
    expected = rows["units_expected"].replace(0, np.nan)
    on_time = (rows["units_on_time"] / expected * 100).fillna(0)
    late = (rows["units_late"] / expected * 100).fillna(0)
    x = np.arange(len(rows))
    axis.bar(x, on_time, color=ACCENT, width=0.8)
    axis.bar(x, late, bottom=on_time, color=LATE, width=0.8, hatch="....", edgecolor="white", linewidth=0)
    missing = rows.index[rows["units_reported"] == 0]
    for position in missing:
        axis.text(position, 4, "none", rotation=90, ha="center", va="bottom", fontsize=6.5, color=WARN)
    axis.set_ylim(0, 105)
    axis.set_title(title, loc="left", fontsize=8.5)
    axis.set_xticks(x)
    axis.set_xticklabels([m.strftime("%b")[0] for m in rows["month"]], fontsize=6.5 if small else 7.5)


def province_reporting(completeness: pd.DataFrame, title: str) -> str:
    figure, axis = plt.subplots(figsize=(3.6, 2.2))
    _reporting_bars(axis, completeness, title)
    axis.set_ylabel("% of units expected")
    handles = _reporting_handles()
    axis.legend(handles, ["on time", "late"], loc="upper center", bbox_to_anchor=(0.5, -0.12), ncols=2,
                fontsize=7)
    return to_data_uri(figure)


def rank_intervals(rankings: pd.DataFrame, title: str) -> str:
    """Caterpillar plot: the published rank (dot) and the 90% interval of the ranks over the draws, best
    first; award winners drawn with a diamond and a thicker line (not by colour alone)."""
    rows = rankings.sort_values(["national_rank", "point_rank"]).reset_index(drop=True)
    figure, axis = plt.subplots(figsize=(7.2, 0.16 * len(rows) + 0.9))
    y = np.arange(len(rows))[::-1]
    award = rows["national_award"].astype(bool).to_numpy()
    for mask, colour, marker, width, label in ((~award, INK, "o", 1.6, "no national award"),
                                               (award, ACCENT, "D", 3.0, "national award")):
        if not mask.any():
            continue
        axis.hlines(y[mask], rows.loc[mask, "rank_low"], rows.loc[mask, "rank_high"], color=colour,
                    linewidth=width, alpha=0.7)
        axis.scatter(rows.loc[mask, "national_rank"], y[mask], color=colour, marker=marker, s=16, zorder=3,
                     label=label)
    axis.set_yticks(y)
    axis.set_yticklabels([f"{r.rank_label:>4}  {r.unit_code}" for r in rows.itertuples()], fontsize=6.5)
    axis.set_xlabel("national rank (dot: published rank, by score; line: 90% interval over the Monte Carlo draws)")
    axis.set_xlim(left=0)
    axis.set_title(title, loc="left")
    axis.grid(axis="x", color="#eee")
    axis.legend(loc="lower right")
    return to_data_uri(figure)


def overdispersion(rows: pd.DataFrame, target: float, winsor: float = 0.1) -> tuple[float, float]:
    """Spiegelhalter (2005): the overdispersion factor phi (mean squared z-score, the z-scores winsorised
    at the 10th and 90th percentiles) and the additive between-unit variance tau^2 (DerSimonian-Laird
    from phi; 0 when phi <= 1). rows: count, person_years."""
    se = np.sqrt(target / rows["person_years"].to_numpy())
    z = (rows["rate"].to_numpy() - target) / se
    low, high = np.quantile(z, [winsor, 1 - winsor])
    z = np.clip(z, low, high)
    units = len(z)
    phi = float(np.mean(z ** 2))
    w = 1 / se ** 2
    tau2 = max(0.0, (units * phi - (units - 1)) / (w.sum() - (w ** 2).sum() / w.sum()))
    return phi, tau2


def funnel_plot(units: pd.DataFrame, title: str, ylabel: str) -> str:
    """Funnel plots (Spiegelhalter 2005) of a station rate against the population served, one panel per
    peer group (urban/rural x size band), around the group's pooled rate, with 95% and 99.8% limits
    widened by the group's additive overdispersion (winsorised z-scores). Stations outside the 99.8%
    limits are drawn as triangles (up: above, down: below), so the plot reads without colour.
    units: peer_group, count, person_years (per 100,000), rate."""
    groups = sorted(units["peer_group"].unique(), key=lambda g: (not g.startswith("urban"), g))
    columns = 3
    rows_needed = int(np.ceil(len(groups) / columns))
    figure, axes = plt.subplots(rows_needed, columns, figsize=(7.2, 2.6 * rows_needed + 0.8), squeeze=False)
    for axis, group in zip(axes.flat, groups):
        rows = units[units["peer_group"] == group]
        target = rows["count"].sum() / rows["person_years"].sum()
        phi, tau2 = overdispersion(rows, target)
        exposure = np.linspace(rows["person_years"].min() * 0.9, rows["person_years"].max() * 1.05, 200)
        for z, style, label in ((1.96, ":", "95% limits"), (3.09, "--", "99.8% limits")):
            spread = z * np.sqrt(target / exposure + tau2)
            axis.plot(exposure * 100_000, target + spread, style, color=INK, linewidth=0.9, label=label)
            axis.plot(exposure * 100_000, np.maximum(target - spread, 0), style, color=INK, linewidth=0.9)
        limit = 3.09 * np.sqrt(target / rows["person_years"] + tau2)
        above, below = rows["rate"] > target + limit, rows["rate"] < target - limit
        inside = ~(above | below)
        x = rows["person_years"] * 100_000
        axis.scatter(x[inside], rows.loc[inside, "rate"], s=6, color=MUTED, linewidths=0, label="station")
        axis.scatter(x[above], rows.loc[above, "rate"], s=16, marker="^", color=WARN, linewidths=0,
                     label="above the 99.8% limits")
        axis.scatter(x[below], rows.loc[below, "rate"], s=16, marker="v", color="#1f77b4", linewidths=0,
                     label="below the 99.8% limits")
        axis.axhline(target, color=ACCENT, linewidth=1.2, label="peer group's rate")
        axis.set_title(f"{group}: {len(rows)} stations\n{int(above.sum())} above, {int(below.sum())} below; "
                       f"\u03c6 = {phi:.1f}", loc="left", fontsize=7)
        axis.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v / 1000:.0f}k"))
        axis.tick_params(labelsize=6.5)
        axis.set_ylim(bottom=0)
    for axis in list(axes.flat)[len(groups):]:
        axis.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="lower center", ncols=3, fontsize=7, bbox_to_anchor=(0.5, 0.0))
    figure.supxlabel("population served", fontsize=8, y=0.09)
    figure.supylabel(ylabel, fontsize=8)
    figure.suptitle(title, x=0.01, ha="left", fontsize=9.5, fontweight="bold")
    figure.tight_layout(rect=(0, 0.1, 1, 1))
    return to_data_uri(figure)


def indicator_changes(changes: list, title: str) -> str:
    """Horizontal bars: each indicator's change on the previous year (shares in percentage points, rates
    in %), improvements solid with a '+' marker, declines hatched with a '-' marker: readable without
    colour. changes: publishing.annual_model.Change."""
    rows = [c for c in changes if c.improved is not None]
    rows.sort(key=lambda c: c.change_points if c.is_share else c.change_relative * 100)
    figure, axis = plt.subplots(figsize=(3.6, 0.26 * max(len(rows), 1) + 0.9))
    values = [c.change_points if c.is_share else c.change_relative * 100 for c in rows]
    for position, (change, value) in enumerate(zip(rows, values)):
        axis.barh(position, value, color=ACCENT if change.improved else WARN,
                  hatch=None if change.improved else "////", edgecolor="white", linewidth=0)
        unit = " pp" if change.is_share else "%"
        axis.annotate(f"{'better' if change.improved else 'worse'} {value:+.1f}{unit}", (value, position),
                      xytext=(3 if value >= 0 else -3, 0), textcoords="offset points", va="center",
                      ha="left" if value >= 0 else "right", fontsize=5.5)
    axis.set_yticks(range(len(rows)))
    axis.set_yticklabels([_wrap(c.label, 34) for c in rows], fontsize=5.8)
    axis.axvline(0, color="#555", linewidth=0.8)
    if values:
        span = max(abs(v) for v in values) or 1
        axis.set_xlim(-span * 1.9, span * 1.9)
    axis.set_xlabel("change on the previous year\n(shares: percentage points; rates: %)", fontsize=6.5)
    axis.set_title(title, loc="left", fontsize=8)
    return to_data_uri(figure)


def correlation_heatmap(correlation: pd.DataFrame, labels: dict[str, str], title: str) -> str:
    """The indicators' correlation matrix, each cell printed (so it reads without colour)."""
    size = len(correlation)
    figure, axis = plt.subplots(figsize=(7.2, 0.36 * size + 1.6))
    image = axis.imshow(correlation.to_numpy(), cmap="RdBu_r", vmin=-1, vmax=1)
    axis.set_xticks(range(size))
    axis.set_yticks(range(size))
    names = [_shorten(labels.get(c, c), 44) for c in correlation.columns]
    axis.set_xticklabels([str(n + 1) for n in range(size)], fontsize=6.5)
    axis.set_yticklabels([f"{n + 1}. {name}" for n, name in enumerate(names)], fontsize=6.5)
    for i in range(size):
        for j in range(size):
            value = correlation.iat[i, j]
            if not np.isnan(value):
                axis.text(j, i, f"{value:.2f}".replace("0.", ".").replace("1.00", "1"), ha="center", va="center",
                          fontsize=5.5, color="white" if abs(value) > 0.6 else INK)
    figure.colorbar(image, ax=axis, fraction=0.03, pad=0.02).ax.tick_params(labelsize=6.5)
    axis.set_title(title, loc="left")
    axis.spines[:].set_visible(False)
    return to_data_uri(figure)


def province_trends(levels: pd.DataFrame, names: dict[str, str], months: list, ylabel: str,
                    percent: bool = False) -> str:
    """Small multiples over `months`: each province's monthly level (solid black line, dots) against the
    nation's (dashed grey), one panel per province and the nation first: reads without colour. The title
    is the page's (HTML), so it wraps instead of being cut.
    levels: area_kind, area_code, period, value (publishing.levels.monthly_levels, one indicator)."""
    scale = 100 if percent else 1
    nation = levels[levels["area_kind"] == "nation"].set_index("period")["value"].reindex(months) * scale
    areas = [("PK", "Pakistan")] + list(names.items())
    columns = 4
    rows_needed = int(np.ceil(len(areas) / columns))
    figure, axes = plt.subplots(rows_needed, columns, figsize=(7.2, 0.95 * rows_needed + 0.35), sharex=True,
                                sharey=True)
    x = np.arange(len(months))
    for axis, (code, name) in zip(axes.flat, areas):
        series = (nation if code == "PK" else levels[(levels["area_kind"] == "province") & (levels["area_code"] == code)]
                  .set_index("period")["value"].reindex(months) * scale)
        if code != "PK":
            axis.plot(x, nation.to_numpy(), "--", color=MUTED, linewidth=1.2)
        if series.notna().any():
            axis.plot(x, series.to_numpy(), "-", color=INK, marker="o", markersize=2.2, linewidth=1.4)
        else:
            axis.text(0.5, 0.5, "no figures", transform=axis.transAxes, ha="center", va="center", fontsize=7,
                      color="#555")
        axis.set_title(name if len(name) <= 24 else _wrap(name, 22), loc="left", fontsize=7.5,
                       fontweight="bold" if code == "PK" else "normal")
        axis.grid(axis="y", color="#eee")
        axis.set_xticks([0, len(months) // 2, len(months) - 1])
        axis.set_xticklabels([months[i].strftime("%b %y") for i in (0, len(months) // 2, len(months) - 1)],
                             fontsize=6.5)
        axis.tick_params(axis="y", labelsize=6.5)
    for axis in list(axes.flat)[len(areas):]:
        axis.axis("off")
    axes.flat[0].set_ylim(bottom=0)
    handles = [plt.Line2D([], [], color=INK, marker="o", markersize=2.5, linewidth=1.4),
               plt.Line2D([], [], color=MUTED, linestyle="--", linewidth=1.2)]
    figure.legend(handles, ["the province", "Pakistan"], loc="upper right", ncols=2, fontsize=7,
                  bbox_to_anchor=(1.0, 1.0), borderaxespad=0)
    figure.supylabel(ylabel, fontsize=7)
    figure.tight_layout(rect=(0, 0, 1, 0.96), h_pad=0.6)
    return to_data_uri(figure)
