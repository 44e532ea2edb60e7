"""The strategy pages in headless Chromium: create from a template, type an error and see it
at the right line, fix it, save with Ctrl+S, reload and find it, delete it; no console errors.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.keys import Keys

pytestmark = [
    pytest.mark.browser,
    # selenium 3.141 (pinned by dash[testing]) calls a urllib3 2 API that is deprecated
    pytest.mark.filterwarnings("ignore:HTTPResponse.getheader:DeprecationWarning"),
]

ACE = "ace.edit(document.getElementById('strategy-editor-ace'))"
TYPO = 'log("fast period", params.fastt)'
FIX = 'log("fast period", params.fast)'


def js(dash_duo: Any, script: str) -> Any:
    return dash_duo.driver.execute_script(script)


def editor_code(dash_duo: Any) -> str:
    code: str = js(dash_duo, f"return {ACE}.getValue()")
    return code


def wait_until(condition: Any, timeout: float = 10.0, message: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out: {message}")


def start(dash_duo: Any, app: Any, path: str) -> None:
    """Serve ``app`` and open ``path`` directly (the home page is another team's page)."""
    dash_duo.start_server(app, navigate=False)
    dash_duo.wait_for_page(f"{dash_duo.server.url}{path}")


def open_editor(dash_duo: Any, name: str) -> None:
    """Wait until the editor for ``name`` runs in Lua mode."""
    dash_duo.wait_for_text_to_equal("#strategy-editor-filename", f"{name}.lua")
    wait_until(
        lambda: (
            js(dash_duo, f"try {{ return {ACE}.session.$modeId }} catch (e) {{ return '' }}")
            == "ace/mode/lua"
        ),
        message="ace in Lua mode",
    )


def type_at_line_end(dash_duo: Any, line: int, *keys: str) -> None:
    """Put the cursor at the end of ``line`` (1-based) and type like a user."""
    js(dash_duo, f"var e = {ACE}; e.focus(); e.gotoLine({line}, 0, false); e.navigateLineEnd();")
    textarea = dash_duo.find_element("#strategy-editor-ace textarea")
    textarea.send_keys(*keys)


def test_create_edit_save_reload_delete(dash_duo: Any, app: Any, strategy_dir: Path) -> None:
    start(dash_duo, app, "/strategies")
    dash_duo.wait_for_element("#strategies-row-ema_crossover")

    # New from the EMA Crossover template
    dash_duo.find_element("#strategies-new").click()
    dash_duo.wait_for_element("#strategies-new-modal .template-list")

    def ema_template() -> Any:  # labels read '' until the modal has faded in
        return next(
            (
                e
                for e in dash_duo.find_elements("#strategies-new-template label")
                if e.text.startswith("EMA Crossover")
            ),
            None,
        )

    wait_until(lambda: ema_template() is not None, 10, "no EMA Crossover template")
    ema_template().click()
    dash_duo.wait_for_contains_text("#strategies-new-preview", "indicators.ema(params.fast)")
    name_input = dash_duo.find_element("#strategies-new-name")
    name_input.send_keys(Keys.CONTROL, "a")
    name_input.send_keys("browser_ema")
    dash_duo.find_element("#strategies-new-create").click()
    open_editor(dash_duo, "browser_ema")
    saved_file = strategy_dir / "user" / "browser_ema.lua"
    assert saved_file.exists()
    assert "-- @name browser_ema" in editor_code(dash_duo)
    dash_duo.wait_for_contains_text("#strategy-editor-problems", "No problems found")

    # Type an error on a new line after `local fast, slow = ...`
    lines = editor_code(dash_duo).split("\n")
    anchor = next(i for i, text in enumerate(lines) if "local fast, slow" in text) + 1
    type_at_line_end(dash_duo, anchor, Keys.ENTER, TYPO)
    error_line = anchor + 1
    dash_duo.wait_for_contains_text("#strategy-editor-problems", "fastt", timeout=10)
    item = dash_duo.find_element("#strategy-editor-problems .diag-error")
    assert item.get_attribute("data-jump-line") == str(error_line)
    assert f"Ln {error_line}," in item.text
    assert "did you mean `fast`" in item.text
    annotations = js(dash_duo, f"return {ACE}.session.getAnnotations()")
    assert {"row": error_line - 1, "type": "error"}.items() <= annotations[0].items()
    assert dash_duo.find_element("#strategy-editor-dirty").text == "● Unsaved changes"
    dash_duo.wait_for_contains_text("#strategy-editor-validity", "1 error")

    # Clicking the problem moves the cursor to it
    js(dash_duo, f"{ACE}.gotoLine(1, 0, false)")
    item.click()
    assert js(dash_duo, f"return {ACE}.getCursorPosition().row") == error_line - 1

    # Fix it (select the typo's line and retype it)
    js(dash_duo, f"var e = {ACE}; e.focus(); e.gotoLine({error_line}, 0, false);")
    textarea = dash_duo.find_element("#strategy-editor-ace textarea")
    textarea.send_keys(Keys.END, Keys.SHIFT, Keys.HOME)
    textarea.send_keys(FIX)
    dash_duo.wait_for_contains_text("#strategy-editor-problems", "No problems found")
    assert editor_code(dash_duo).split("\n")[error_line - 1].strip() == FIX

    # Save with Ctrl+S
    textarea.send_keys(Keys.CONTROL, "s")
    dash_duo.wait_for_contains_text("#strategy-editor-save-status", "Saved")
    wait_until(lambda: dash_duo.find_element("#strategy-editor-dirty").text == "", message="clean")
    assert FIX in saved_file.read_text("utf-8")

    # Reload and find it
    dash_duo.driver.refresh()
    open_editor(dash_duo, "browser_ema")
    assert editor_code(dash_duo).split("\n")[error_line - 1].strip() == FIX
    dash_duo.wait_for_contains_text("#strategy-editor-problems", "No problems found")

    # Delete it from the list (with confirmation)
    dash_duo.find_element(".crumb").click()
    dash_duo.wait_for_element("#strategies-row-browser_ema")
    button = dash_duo.find_element('#strategies-row-browser_ema button[id*="delete"]')
    button.click()
    dash_duo.wait_for_contains_text("#strategies-del-text", "user/browser_ema.lua")
    dash_duo.find_element("#strategies-del-confirm").click()
    dash_duo.wait_for_contains_text("#strategies-notice", "Deleted browser_ema")
    wait_until(
        lambda: not dash_duo.find_elements("#strategies-row-browser_ema"), message="row gone"
    )
    assert not saved_file.exists()
    assert dash_duo.get_logs() == []


def test_example_is_read_only_and_quick_test_runs(dash_duo: Any, app: Any, worker: Any) -> None:
    """The quick test runs as an RQ job on a real worker process (the page polls it)."""
    start(dash_duo, app, "/strategies/ema_crossover")
    open_editor(dash_duo, "ema_crossover")
    assert js(dash_duo, f"return {ACE}.getReadOnly()") is True
    assert dash_duo.find_element("#strategy-editor-save").get_attribute("disabled")
    dash_duo.wait_for_contains_text(".readonly-note", "read-only")
    runner = dash_duo.find_element("#strategy-editor-runner").get_attribute("href")
    assert runner.endswith("/?create=1&strategy=examples%2Fema_crossover.lua")
    dash_duo.find_element("#strategy-editor-quick").click()
    dash_duo.wait_for_contains_text("#strategy-editor-quick-out", "3,000 bars", timeout=20)
    text = dash_duo.find_element("#strategy-editor-quick-out").text.upper()
    assert "TRADES" in text and "NET P&L" in text
    assert dash_duo.get_logs() == []


def test_metadata_form_rewrites_the_header(dash_duo: Any, app: Any) -> None:
    start(dash_duo, app, "/strategies?new=1")
    dash_duo.find_element("#strategies-new-create").click()
    open_editor(dash_duo, "my_strategy")
    description = dash_duo.find_element("#strategy-editor-meta-description")
    description.send_keys(Keys.CONTROL, "a")
    description.send_keys("Buys dips")
    wait_until(lambda: "-- @description Buys dips\n" in editor_code(dash_duo), message="header")
    dash_duo.find_element("#strategy-editor-meta-add-param").click()
    wait_until(lambda: "-- @param param 1\n" in editor_code(dash_duo), message="param")
    # and back: editing the header in code refills the form
    lines = editor_code(dash_duo).split("\n")
    author = next(i for i, text in enumerate(lines) if text.startswith("-- @author")) + 1
    type_at_line_end(dash_duo, author, " Ada")
    wait_until(
        lambda: (
            dash_duo.find_element("#strategy-editor-meta-author").get_attribute("value") == "Ada"
        ),
        message="author field",
    )
    assert dash_duo.get_logs() == []


def test_leaving_with_unsaved_changes_asks_first(dash_duo: Any, app: Any) -> None:
    start(dash_duo, app, "/strategies?new=1")
    dash_duo.find_element("#strategies-new-create").click()
    open_editor(dash_duo, "my_strategy")
    type_at_line_end(dash_duo, 1, " (draft)")
    dash_duo.find_element(".crumb").click()
    alert = dash_duo.driver.switch_to.alert
    assert "unsaved changes" in alert.text
    alert.dismiss()
    assert dash_duo.find_element("#strategy-editor-filename").text == "my_strategy.lua"
    dash_duo.find_element(".crumb").click()
    dash_duo.driver.switch_to.alert.accept()
    dash_duo.wait_for_element("#strategies-row-my_strategy")
    assert dash_duo.get_logs() == []


def test_unknown_strategy_shows_not_found(dash_duo: Any, app: Any) -> None:
    start(dash_duo, app, "/strategies/does_not_exist")
    dash_duo.wait_for_contains_text("#strategy-editor-not-found", "Strategy not found")
    assert dash_duo.get_logs() == []
