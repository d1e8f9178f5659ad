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


def to_data_uri(figure: plt.Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")




def year_over_year(monthly: pd.DataFrame, value: str, title: str, ylabel: str, year: int,
                   percent: bool = False) -> str:
    """A monthly national series, this year against the previous one. monthly: year, month, value."""
    figure, axis = plt.subplots(figsize=(5.2, 2.3))
    for shown_year, colour, style in ((year - 1, MUTED, "--"), (year, ACCENT, "-")):
        rows = monthly[monthly["year"] == shown_year].sort_values("month")
        if rows.empty:
            continue
        values = rows[value] * (100 if percent else 1)
        axis.plot(rows["month"].dt.month - 1, values, style, color=colour, marker="o", markersize=3,
                  label=str(shown_year), linewidth=1.8)
    axis.set_xticks(range(12))
    axis.set_xticklabels(["J", "F", "M", "A", "M", "J", "J", "A", "S", "O", "N", "D"])
    axis.set_title(title, loc="left")
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
    figure, axes = plt.subplots(rows_needed, columns, figsize=(7.2, 1.6 * rows_needed), sharey=True)
    for axis, province in zip(axes.flat, provinces):
        _reporting_bars(axis, completeness[completeness["province_code"] == province], names[province],
                        small=True)
    for axis in list(axes.flat)[len(provinces):]:
        axis.axis("off")
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in (ACCENT, LATE)]
    figure.legend(handles, ["on time", "late"], loc="lower right", ncols=2, bbox_to_anchor=(0.98, 0.02))
    figure.supylabel("share of units expected", fontsize=8)
    figure.tight_layout()
    return to_data_uri(figure)


def _reporting_bars(axis, rows: pd.DataFrame, title: str, small: bool = False) -> None:
    rows = rows.sort_values("month").reset_index(drop=True)
    expected = rows["units_expected"].replace(0, np.nan)
    on_time = (rows["units_on_time"] / expected * 100).fillna(0)
    late = (rows["units_late"] / expected * 100).fillna(0)
    x = np.arange(len(rows))
    axis.bar(x, on_time, color=ACCENT, width=0.8)
    axis.bar(x, late, bottom=on_time, color=LATE, width=0.8)
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
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in (ACCENT, LATE)]
    axis.legend(handles, ["on time", "late"], loc="upper center", bbox_to_anchor=(0.5, -0.12), ncols=2,
                fontsize=7)
    return to_data_uri(figure)


def rank_intervals(rankings: pd.DataFrame, title: str) -> str:
    """Caterpillar plot: median rank and 90% interval of the best-placed units, awards marked."""
    rows = rankings.sort_values(["median_rank", "point_rank"]).reset_index(drop=True)
    figure, axis = plt.subplots(figsize=(7.2, 0.16 * len(rows) + 0.9))
    y = np.arange(len(rows))[::-1]
    colours = [ACCENT if award else INK for award in rows["national_award"]]
    axis.hlines(y, rows["rank_low"], rows["rank_high"], color=colours, linewidth=2, alpha=0.7)
    axis.scatter(rows["median_rank"], y, color=colours, s=14, zorder=3)
    axis.set_yticks(y)
    axis.set_yticklabels([f"{r.rank_label}  {r.unit_code}" for r in rows.itertuples()], fontsize=6.5)
    axis.set_xlabel("national rank (dot: median; line: 90% interval over the Monte Carlo draws)")
    axis.set_xlim(left=0)
    axis.set_title(title, loc="left")
    axis.grid(axis="x", color="#eee")
    if rows["national_award"].any():
        axis.plot([], [], color=ACCENT, linewidth=2, label="national award")
        axis.legend(loc="lower right")
    return to_data_uri(figure)


def funnel_plot(units: pd.DataFrame, title: str) -> str:
    """Funnel plots (Spiegelhalter 2005) of the annual street-crime rate per 100,000 against the
    population served, one panel per urban/rural group, around the group's rate. The limits allow for
    the real differences between stations (additive random-effects overdispersion, the gamma prior's
    variance): a station outside the 99.8% limits differs from its group by more than chance and the
    usual spread. units: urban_rural, count, person_years (per 100,000), rate."""
    from publishing.scoring import gamma_poisson_prior

    groups = [g for g in ("urban", "rural") if g in set(units["urban_rural"])]
    figure, axes = plt.subplots(1, len(groups), figsize=(7.2, 3.0), squeeze=False)
    for axis, group in zip(axes[0], groups):
        rows = units[units["urban_rural"] == group]
        target = rows["count"].sum() / rows["person_years"].sum()
        shape, rate = gamma_poisson_prior(rows["count"].to_numpy(float), rows["person_years"].to_numpy(float))
        between = shape / rate ** 2 if shape > 0 else 0.0
        exposure = np.linspace(rows["person_years"].min() * 0.9, rows["person_years"].max() * 1.05, 200)
        for z, style in ((1.96, ":"), (3.09, "--")):
            spread = z * np.sqrt(target / exposure + between)
            axis.plot(exposure * 100_000, target + spread, style, color=MUTED, linewidth=1)
            axis.plot(exposure * 100_000, np.maximum(target - spread, 0), style, color=MUTED, linewidth=1)
        outside = (rows["rate"] - target).abs() > 3.09 * np.sqrt(target / rows["person_years"] + between)
        axis.scatter(rows.loc[~outside, "person_years"] * 100_000, rows.loc[~outside, "rate"], s=5,
                     color=INK, alpha=0.5, linewidths=0)
        axis.scatter(rows.loc[outside, "person_years"] * 100_000, rows.loc[outside, "rate"], s=9,
                     color=WARN, alpha=0.8, linewidths=0)
        axis.axhline(target, color=ACCENT, linewidth=1.2)
        axis.set_title(f"{group.capitalize()} stations: {outside.sum()} of {len(rows)} outside 99.8%",
                       loc="left", fontsize=8.5)
        axis.set_xlabel("population served")
        axis.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v / 1000:.0f}k"))
        axis.set_ylim(bottom=0)
    axes[0][0].set_ylabel("street crime FIRs per 100,000 a year")
    figure.suptitle(title, x=0.01, ha="left", fontsize=9.5, fontweight="bold")
    figure.tight_layout()
    return to_data_uri(figure)


def indicator_changes(changes: pd.DataFrame, title: str) -> str:
    """Horizontal bars: relative change of the province's indicators on the previous year, coloured
    by whether the change is an improvement (direction-aware). changes: label, change, improved."""
    rows = changes.dropna(subset=["change"]).sort_values("change")
    figure, axis = plt.subplots(figsize=(3.6, 0.15 * max(len(rows), 1) + 0.8))
    colours = [ACCENT if improved else WARN for improved in rows["improved"]]
    axis.barh(range(len(rows)), rows["change"] * 100, color=colours)
    axis.set_yticks(range(len(rows)))
    axis.set_yticklabels([_shorten(label) for label in rows["label"]], fontsize=6.5)
    axis.axvline(0, color="#555", linewidth=0.8)
    axis.set_xlabel("% change on the previous year\n(green: better, red: worse)", fontsize=7)
    axis.set_title(title, loc="left")
    return to_data_uri(figure)
