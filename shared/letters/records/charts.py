"""The report as charts a village head reads at a glance: server-side SVG (pygal), Indonesian labels, no script.

pygal draws the charts; its output carries one inline script (the configuration of its optional tooltips), which
is dropped here: the charts are shown with <img>, where no script would run anyway, and they need none. The
numbers themselves stay in the report (GET /api/v1/reports), for the page to print beneath each chart.
"""

from __future__ import annotations

from collections.abc import Callable

import pygal
from pygal.etree import etree
from pygal.style import Style

from shared.letters.records.reports import Duration, LetterReport

MONTHS = ("Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des")
STYLE = Style(background="white", plot_background="white", font_family="'Source Serif Pro', serif",
              title_font_size=22, label_font_size=14, major_label_font_size=14, legend_font_size=14,
              value_font_size=13, colors=("#1f5f8b", "#d9822b", "#3a8f4b", "#b23a48", "#6b4c9a", "#8a6d1f",
                                          "#2b8a8a", "#5c5c5c", "#c45fa0"))


def _config(title: str, **extra: object) -> dict[str, object]:
    return {"title": title, "style": STYLE, "js": [], "disable_xml_declaration": True, "print_values": True,
            "print_zeroes": False, "legend_at_bottom": True, "truncate_legend": -1, "no_data_text": "Belum ada surat",
            "width": 900, "height": 500, **extra}


def _svg(chart: pygal.graph.graph.Graph) -> str:
    tree = chart.render_tree()  # lxml's tree or xml.etree's, whichever pygal.etree uses
    for parent in list(tree.iter()):
        for child in list(parent):
            if isinstance(child.tag, str) and child.tag.rsplit("}", 1)[-1] == "script":
                parent.remove(child)
    return str(etree.tostring(tree, encoding="unicode"))


def letters_by_month(report: LetterReport) -> str:
    """Letters submitted per month, stacked by letter type."""
    chart = pygal.StackedBar(**_config(f"Surat diajukan per bulan, {report.year}", x_title="Bulan",
                                       y_title="Jumlah surat"))
    chart.x_labels = MONTHS
    titles = {row.type: row.title for row in report.by_type_and_month}
    for code, title in titles.items():
        per_month = {row.month: row.submitted for row in report.by_type_and_month if row.type == code}
        chart.add(title, [per_month.get(month) for month in range(1, 13)])
    return _svg(chart)


def letters_by_post(report: LetterReport) -> str:
    """Per hamlet post: letters submitted, issued and rejected."""
    chart = pygal.Bar(**_config(f"Surat per pos pelayanan, {report.year}", y_title="Jumlah surat"))
    chart.x_labels = [row.post for row in report.by_post]
    chart.add("Diajukan", [row.submitted for row in report.by_post])
    chart.add("Terbit", [row.issued for row in report.by_post])
    chart.add("Ditolak", [row.rejected for row in report.by_post])
    return _svg(chart)


def _unit(durations: list[Duration]) -> tuple[str, float]:
    longest = max((d.p90_seconds or 0 for d in durations), default=0)
    for name, seconds in (("hari", 86400), ("jam", 3600), ("menit", 60)):
        if longest >= 2 * seconds:
            return name, seconds
    return "detik", 1


def durations(report: LetterReport) -> str:
    """How long letters took: median and 90th percentile, to issue and waiting for an official."""
    steps = {"Pengajuan sampai terbit": report.submission_to_issue,
             "Menunggu keputusan petugas": report.waiting_for_approval}
    unit, seconds = _unit(list(steps.values()))
    chart = pygal.HorizontalBar(**_config(f"Lama proses surat ({unit}), {report.year}", x_title=unit,
                                          value_formatter=lambda value: f"{value:.1f} {unit}".replace(".", ",")))
    chart.x_labels = list(steps)
    for label, attribute in (("Median", "median_seconds"), ("90% surat paling lama", "p90_seconds")):
        values = [getattr(d, attribute) for d in steps.values()]
        chart.add(label, [None if value is None else round(value / seconds, 1) for value in values])
    return _svg(chart)


CHARTS: dict[str, Callable[[LetterReport], str]] = {
    "by-type-and-month": letters_by_month,
    "by-post": letters_by_post,
    "durations": durations,
}
