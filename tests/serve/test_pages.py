"""Every page of the dashboard over a ledger of known releases, through real HTTP."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from bmad.serve.layout import CONTENT_SECURITY_POLICY
from tests.reports.reports_data import SPECS
from tests.serve.conftest import Dashboard
from tests.serve.http_client import call, get_ok
from tests.serve.serve_data import HOSTILE_SERVICE, PROD, fill_weeks

A, B, C, D, E = SPECS


def test_board_shows_each_service_and_environment(dashboard: Dashboard) -> None:
    page = get_ok(dashboard.url + "/")
    assert "<th>dev</th>" in page and "<th>prod</th>" in page
    e_id = dashboard.release_id("hello", "dev", E.version)
    # hello/dev: the last release is E (success), serving E, with its phase strip and link.
    cell = re.search(rf'<td>serving <code>{E.version[:12]}</code>.*?href="/release/{e_id}"', page, re.S)
    assert cell is not None, page
    assert 'title="DEPLOY: passed">D</span>' in page
    assert "3 d ago" in page  # E ended on day 3; the ledger's clock says day 6
    assert 'title="BUILD: failed">B</span>' in page  # the hostile service's failed BUILD
    assert f"/release/{dashboard.release_id('hello', 'prod', PROD.version)}" in page
    assert "Latest releases (7 shown)" in page


def test_board_filters_by_service_environment_and_outcome(dashboard: Dashboard) -> None:
    prod_only = get_ok(dashboard.url + "/?service=hello&environment=prod")
    assert "<th>prod</th>" in prod_only and "<th>dev</th>" not in prod_only
    assert "Latest releases (1 shown)" in prod_only
    blocked = get_ok(dashboard.url + "/?outcome=blocked")
    assert "evil&lt;script&gt;" in blocked and ">hello</th>" not in blocked
    none = get_ok(dashboard.url + "/?service=nobody")
    assert "No release matches." in none


def test_release_page_is_the_report_served_live(dashboard: Dashboard) -> None:
    c_id = dashboard.release_id("hello", "dev", C.version)
    page = get_ok(f"{dashboard.url}/release/{c_id}")
    assert "bmad release report: hello" in page
    for part in ("Timeline", "Load test capacity curve", "Baseline vs post-deploy", "Every check"):
        assert part in page
    assert "post-deploy verification: error_ratio 0.5 above bound" in page  # rollback root cause
    assert "Time to restore" in page and "1.5 min" in page  # MTTR of 90 s
    assert f'href="/release/{c_id}/runbook"' in page and f'href="/release/{c_id}/checklist"' in page
    assert 'id="live"' in page and "finished: rolled_back" in page
    assert 'http-equiv="Content-Security-Policy"' not in page  # the server's header rules instead
    assert '<script src="/static/live.js" defer></script>' in page
    assert "Served by bmad serve from the ledger" in page and "This file is self-contained" not in page


@pytest.mark.parametrize("document", ["runbook", "checklist", "rollback-plan"])
def test_release_documents(dashboard: Dashboard, document: str) -> None:
    a_id = dashboard.release_id("hello", "dev", A.version)
    page = get_ok(f"{dashboard.url}/release/{a_id}/{document}")
    assert '<nav class="top">' in page
    assert {"runbook": "Runbook", "checklist": "checklist", "rollback-plan": "Rollback plan"}[document] in page


def test_metrics_page_draws_weekly_charts_with_targets(dashboard: Dashboard) -> None:
    page = get_ok(dashboard.url + "/metrics?service=hello&environment=dev")
    assert "Framework metrics: hello / dev" in page
    assert page.count("<svg") == 7
    assert "target &gt; 95%" in page and "target &lt; 30 min" in page and "MTTR target &lt; 10 min" in page
    assert "2026-01-05" in page  # the week of T0 (a Monday)
    assert "75%" in page  # whole-period success rate: 3 of 4 deployments
    everything = get_ok(dashboard.url + "/metrics")
    assert "every service and environment" in everything


def test_metrics_page_has_a_point_per_week(dashboard: Dashboard) -> None:
    """Eight weeks of releases: one row and one point per week, the rollbacks' weeks visible."""
    fill_weeks(dashboard.ledger)
    dashboard.settle()
    page = get_ok(dashboard.url + "/metrics?service=api&environment=prod")
    weeks = re.findall(r"<tr><td>(\d)</td><td>(2025-\d\d-\d\d)</td>", page)
    assert [int(n) for n, _ in weeks] == list(range(1, 9))
    assert weeks[0][1] == "2025-11-10" and weeks[-1][1] == "2025-12-29"
    success = re.search(r'aria-label="Success rate per week".*?<polyline points="([^"]+)"', page, re.S)
    assert success is not None and len(success.group(1).split()) == 8
    chart = page[page.index('aria-label="Success rate per week"') :]
    chart = chart[: chart.index("</svg>")]
    assert ">100</text>" in chart and ">200</text>" not in chart  # a percentage axis ends at 100
    assert page.count("<td>50%</td>") >= 3  # weeks 1, 4 and 7: one of two deployments rolled back


def test_integrity_page_verifies_and_names_the_last_record(dashboard: Dashboard, tmp_path: Path) -> None:
    page = get_ok(dashboard.url + "/integrity")
    assert "Verified: the hash chain of" in page
    assert "Last verified phase record" in page and "Database: sqlite" in page
    with sqlite3.connect(tmp_path / "ledger.db") as db:
        db.execute("UPDATE phase_runs SET message = 'edited' WHERE id = 1")
    broken = get_ok(dashboard.url + "/integrity")
    assert "Not verified" in broken and "content does not match its hash (edited)" in broken


def test_a_ledger_that_cannot_be_read_answers_500_and_the_server_stays_up(dashboard: Dashboard, tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "ledger.db") as db:
        db.execute("DROP TABLE rollbacks")
    dashboard.settle()
    got = call(dashboard.url + "/")
    assert got.status == 500 and "the ledger could not be read (Unreachable)" in got.body
    assert "SELECT" not in got.body
    assert call(dashboard.url + "/static/serve.css").status == 200


def test_every_value_is_escaped_and_control_characters_replaced(dashboard: Dashboard) -> None:
    board = get_ok(dashboard.url + "/")
    assert HOSTILE_SERVICE not in board and "evil&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in board
    release_id = dashboard.release_id(HOSTILE_SERVICE, "dev", "9" * 40)
    page = get_ok(f"{dashboard.url}/release/{release_id}")
    assert "<img src=x" not in page and "<script>alert(2)" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "\x1b" not in page and "\x07" not in page
    assert "\\x1b[31mred\\x07" in page  # a control character is written as a visible escape


def test_security_headers_and_head(dashboard: Dashboard) -> None:
    got = call(dashboard.url + "/")
    assert got.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "default-src 'none'" in CONTENT_SECURITY_POLICY and "script-src 'self'" in CONTENT_SECURITY_POLICY
    assert got.headers["x-content-type-options"] == "nosniff"
    assert got.headers["x-frame-options"] == "DENY"
    assert got.headers["server"] == "bmad-serve"
    head = call(dashboard.url + "/", "HEAD")
    assert head.status == 200 and head.body == ""
    assert head.headers["content-length"] == got.headers["content-length"]
    script = call(dashboard.url + "/static/live.js")
    assert script.status == 200 and script.headers["content-type"].startswith("text/javascript")
    assert "EventSource" in script.body


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT", "BREW"])
def test_anything_but_get_and_head_is_405(dashboard: Dashboard, method: str) -> None:
    """Read-only: every other method, known or not, is refused with 405 and ``Allow: GET, HEAD``."""
    got = call(dashboard.url + "/", method)
    assert got.status == 405, got.body
    assert got.headers["allow"] == "GET, HEAD"
    assert got.headers["content-security-policy"] == CONTENT_SECURITY_POLICY


@pytest.mark.parametrize(
    "path",
    ["/nope", "/release/999999", "/release/1/secrets", "/static/../server.py", "/static/x.js", "/events/release/999"],
)
def test_unknown_paths_are_404(dashboard: Dashboard, path: str) -> None:
    assert call(dashboard.url + path).status == 404


def test_a_foreign_host_name_is_refused(dashboard: Dashboard) -> None:
    """Against DNS rebinding: a loopback dashboard answers only to loopback names."""
    assert call(dashboard.url + "/", headers={"Host": "attacker.example"}).status == 421
    assert call(dashboard.url + "/", headers={"Host": f"localhost:{dashboard.server.server_address[1]}"}).status == 200


def test_the_chain_is_verified_again_only_after_a_write(dashboard: Dashboard, tmp_path: Path) -> None:
    """Guards the kept verification: every request of /integrity used to verify the whole hash chain
    (seconds at 10,000 releases); now a request verifies only when something was written since."""
    first = get_ok(dashboard.url + "/integrity")
    assert "Verified at " in first and get_ok(dashboard.url + "/integrity") == first
    assert dashboard.server.chain.verifications == 1
    with sqlite3.connect(tmp_path / "ledger.db") as db:  # an edit by hand: the change stamp stays, the file moves
        db.execute("UPDATE phase_runs SET message = 'edited' WHERE id = 2")
    assert "Not verified" in get_ok(dashboard.url + "/integrity")
    assert dashboard.server.chain.verifications == 2
