"""GET /api/v1/reports/charts/<name>.svg: the year's charts of the official's village, as images without script."""

from __future__ import annotations

from datetime import datetime
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

from shared.db import session_scope
from shared.letters.signing.provisioning import ensure_village_keys
from tests.api.conftest import Api
from tests.api.test_letters_api import assert_problem
from tests.api.world import World

YEAR = datetime.now(ZoneInfo("Asia/Jakarta")).year  # the demo village's year: letters are counted by it


def test_an_official_gets_each_chart_as_svg_with_the_letters_of_the_year(api: Api) -> None:
    with session_scope(api.settings) as session:
        ensure_village_keys(session, api.settings)
    world = World(api)
    world.issue(world.submit())
    world.submit(code="domisili")
    for name in ("by-type-and-month", "by-post", "durations"):
        response = api.call("GET", f"/api/v1/reports/charts/{name}.svg?year={YEAR}", "official")
        assert response.status_code == 200 and response.mimetype == "image/svg+xml", name
        assert "script-src" not in response.headers["Content-Security-Policy"]
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]
        root = ElementTree.fromstring(response.data)
        assert not [e for e in root.iter() if str(e.tag).endswith("script")], name
    svg = api.call("GET", f"/api/v1/reports/charts/by-type-and-month.svg?year={YEAR}", "official").get_data(True)
    assert "Surat Keterangan Tidak Mampu" in svg and "Surat Keterangan Domisili" in svg
    assert "post_a" in api.call("GET", f"/api/v1/reports/charts/by-post.svg?year={YEAR}", "official").get_data(True)


def test_unknown_charts_bad_years_and_posts_are_refused(api: Api) -> None:
    assert_problem(api.call("GET", f"/api/v1/reports/charts/pie.svg?year={YEAR}", "official"), 404)
    assert_problem(api.call("GET", "/api/v1/reports/charts/by-post.svg?year=tahun", "official"), 422)
    assert_problem(api.call("GET", "/api/v1/reports/charts/by-post.svg", "official"), 422)
    assert_problem(api.call("GET", f"/api/v1/reports/charts/by-post.svg?year={YEAR}", "post_a"), 403)
    assert_problem(api.call("GET", f"/api/v1/reports/charts/by-post.svg?year={YEAR}"), 401)
