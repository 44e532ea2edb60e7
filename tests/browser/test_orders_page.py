"""The Orders page in headless Chromium against the real app and a real engine process: a
paper market order and a limit order through the ticket and its confirmation, the market one
fills and the limit one stays open, cancel it, engage the kill switch (the red banner shows
on every page) and release it; no console errors or warnings.

With ``TRADESIM_SCREENSHOTS=<folder>`` the test saves the ticket, the confirmation, the
history and the banner there (how ``docs/screenshots/orders-*.png`` were made)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.support.ui import Select

from tests.browser.test_runners import (  # noqa: F401  (fixtures)
    engine_process,
    live_app,
    live_settings,
    texts,
    wait_until,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore:HTTPResponse.getheader:DeprecationWarning"),
]


def shot(dash_duo: Any, name: str) -> None:
    folder = os.environ.get("TRADESIM_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        dash_duo.driver.save_screenshot(str(Path(folder) / f"orders-{name}.png"))


def contains(dash_duo: Any, selector: str, text: str, timeout: float = 20.0) -> None:
    """Wait until ``selector``'s text contains ``text`` (read in one script: the panels
    re-render every second, so element references go stale)."""
    wait_until(lambda: text in "".join(texts(dash_duo, selector)), timeout, f"{text!r}")


def click(dash_duo: Any, selector: str) -> None:
    """Scroll the element into view (the page is taller than the window) and click it."""
    dash_duo.wait_for_element(selector)
    script = "const e = document.querySelector(arguments[0]); e.scrollIntoView(); e.click()"
    dash_duo.driver.execute_script(script, selector)


def send_order(dash_duo: Any, expect: str) -> None:
    click(dash_duo, "#orders-review")
    contains(dash_duo, "#orders-confirm-body", expect)


def confirm(dash_duo: Any) -> None:
    click(dash_duo, "#orders-send")
    contains(dash_duo, "#orders-ticket-message", "sent")


def history_statuses(dash_duo: Any) -> list[str]:
    return texts(dash_duo, '#orders-history .ag-center-cols-container [col-id="status"]')


def test_orders_page_ticket_fills_cancel_and_kill_switch(
    dash_duo: Any,
    live_app: Any,  # noqa: F811
) -> None:
    dash_duo.start_server(live_app)
    contains(dash_duo, "#shell-engine-status", "engine online")
    dash_duo.wait_for_page(f"{dash_duo.server_url}/orders?symbol=ETHUSDT&side=buy&quantity=0.5")
    contains(dash_duo, "#orders-estimate", "notional")
    assert dash_duo.find_element("#orders-quantity").get_attribute("value") == "0.5"
    assert "ETHUSDT" in dash_duo.find_element("#orders-symbol").text
    shot(dash_duo, "ticket")

    # a market order: the dialog shows the exact request, then it fills
    send_order(dash_duo, '"type": "market"')
    contains(dash_duo, "#orders-confirm-body", '"symbol": "ETHUSDT"')
    shot(dash_duo, "confirmation")
    confirm(dash_duo)
    contains(dash_duo, "#orders-account", "ETHUSDT")
    wait_until(lambda: history_statuses(dash_duo) == ["filled"], what="the market fill")

    # a limit order far below the market stays open; cancel it
    Select(dash_duo.find_element("#orders-type")).select_by_value("limit")
    price = dash_duo.wait_for_element("#orders-limit-price")
    price.clear()
    price.send_keys("1")
    send_order(dash_duo, '"limit_price": 1')
    confirm(dash_duo)
    contains(dash_duo, "#orders-open", "limit GTC")
    wait_until(lambda: sorted(history_statuses(dash_duo)) == ["filled", "open"], what="history")
    shot(dash_duo, "history")
    click(dash_duo, "#orders-open button")
    contains(dash_duo, "#orders-open", "No open orders")
    wait_until(
        lambda: sorted(history_statuses(dash_duo)) == ["cancelled", "filled"], what="cancelled"
    )

    # the kill switch flattens the position and shows the banner until released
    click(dash_duo, "#orders-kill-engage")
    contains(dash_duo, "#orders-kill-message", "positions flattened")
    contains(dash_duo, "#shell-kill-banner", "Kill switch engaged")
    contains(dash_duo, "#orders-account", "No open positions")
    dash_duo.driver.execute_script("window.scrollTo({top: 0, behavior: 'instant'})")
    wait_until(lambda: dash_duo.driver.execute_script("return window.scrollY") == 0, what="top")
    shot(dash_duo, "kill-switch-banner")
    dash_duo.wait_for_page(f"{dash_duo.server_url}/data")  # every page shows it
    contains(dash_duo, "#shell-kill-banner", "Kill switch engaged")
    dash_duo.wait_for_page(f"{dash_duo.server_url}/orders")
    click(dash_duo, "#orders-kill-release")
    contains(dash_duo, "#orders-kill-message", "Released")
    wait_until(lambda: dash_duo.find_element("#shell-kill-banner").text == "", what="banner gone")
    assert dash_duo.get_logs() == []
