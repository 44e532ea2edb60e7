"""The console check itself: a warning reaches ``dash_duo.get_logs()`` (so the other browser
tests' ``get_logs() == []`` fails on warnings too), and unknown routes get the in-app 404."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore:HTTPResponse.getheader:DeprecationWarning"),
]


def test_console_warnings_are_reported(dash_duo: Any, app: Any) -> None:
    dash_duo.start_server(app)
    dash_duo.wait_for_element("#shell-engine-status")
    assert dash_duo.get_logs() == []
    dash_duo.driver.execute_script("console.warn('tradesim-console-probe')")
    logs = dash_duo.get_logs()
    assert any("tradesim-console-probe" in entry["message"] for entry in logs), logs
    assert {entry["level"] for entry in logs} == {"WARNING"}


def test_unknown_route_shows_the_404_card_in_the_shell(dash_duo: Any, app: Any) -> None:
    dash_duo.start_server(app)
    dash_duo.wait_for_page(f"{dash_duo.server.url}/no/such/page")
    dash_duo.wait_for_contains_text(".coming-soon-card", "Page not found")
    assert dash_duo.find_element(".navbar").text.startswith("▲")
    links = [
        a.get_attribute("href")
        for a in dash_duo.driver.find_elements_by_css_selector(".coming-soon-card a")
    ]
    assert any(href.endswith("/strategies") for href in links)
    assert dash_duo.get_logs() == []
