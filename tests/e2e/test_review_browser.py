"""Issue 6, item 3 in a real browser: two customers without Slack review their map on the
web page, on a phone-sized screen (390×844), with clicks and the keyboard. Debian's
chromium and chromedriver through Selenium (never selenium-manager: no network); skipped
when they are not installed. Screenshots go to test-artifacts/screenshots/ (and the first
page and an error page to docs/img/)."""

from __future__ import annotations

import base64
import os
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.e2e.review_support import seed
from workflows import customer_links
from workflows.validation import coverage

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-artifacts" / "screenshots"
DOCS = ROOT / "docs" / "img"

if not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)):
    pytest.skip("chromium / chromedriver are not installed (apt-get install chromium "
                "chromium-driver)", allow_module_level=True)
webdriver = pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import WebDriverException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


@pytest.fixture(scope="module")
def browser():
    os.environ.setdefault("SE_OFFLINE", "true")  # selenium-manager must never download
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--disable-gpu", "--window-size=390,844",
                     "--lang=en-US", "--no-first-run", "--disable-extensions"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(15)
    # a phone's viewport (desktop Chrome windows are at least 500 px wide)
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True})
    yield driver
    driver.quit()


def shot(driver, name: str, *, copy_to: str | None = None) -> Path:
    """A full-page screenshot at the phone's width."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    metrics = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
    size = metrics["cssContentSize"]
    data = driver.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True,
        "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}})
    path = SHOTS / f"{name}.png"
    path.write_bytes(base64.b64decode(data["data"]))
    if copy_to:
        DOCS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, DOCS / copy_to)
    return path


def fieldset(driver, text: str):
    return driver.find_element(
        By.XPATH, f"//fieldset[.//legend[contains(., {text!r})]]")


def choose(driver, text: str, label: str):
    """Pick an answer for the post-it with this text, by clicking its label."""
    fieldset(driver, text).find_element(
        By.XPATH, f".//label[contains(., {label!r})]").click()


def save(driver, *, keyboard: bool = False):
    """Press the page's submit button (a click, or Enter on it) and wait for the next page."""
    button = driver.find_element(By.CSS_SELECTOR, "button[type=submit]")
    if keyboard:
        button.send_keys(Keys.ENTER)
    else:
        button.click()
    wait_for_new_page(driver)


def wait_for_new_page(driver):
    WebDriverWait(driver, 10, ignored_exceptions=(WebDriverException,)).until(
        lambda d: d.execute_script("return document.readyState === 'complete' && "
                                   "!document.documentElement.dataset.seen"))
    driver.execute_script("document.documentElement.dataset.seen = '1'")


def test_two_web_customers_validate_their_map_on_a_phone(slack, browser):
    s = seed(slack)
    base = slack.server.url
    driver = browser

    # --- Ana (English): confirms, corrects, says "never", adds a missing step, a feeling --
    driver.get(f"{base}/review/{s.tokens['ana']}")
    wait_for_new_page(driver)
    assert driver.execute_script("return window.innerWidth") == 390  # the viewport meta
    assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
    assert "Page 1 of 5" in driver.find_element(By.ID, "progress").text
    assert driver.find_element(By.TAG_NAME, "h1").text == "Stage: Awareness"
    assert "<script>alert(1)</script>" in fieldset(driver, "Sees an ad").text  # as text
    # no horizontal scrolling on a phone
    assert driver.execute_script(
        "return document.documentElement.scrollWidth <= window.innerWidth")
    shot(driver, "01-first-page", copy_to="review-page-mobile.png")

    choose(driver, "Sees an ad", "Yes, that's me")
    friends = fieldset(driver, "Asks friends")
    radio = friends.find_element(By.CSS_SELECTOR, "input[value=not_quite]")
    radio.send_keys(Keys.SPACE)                # the keyboard picks "Not quite"
    assert radio.is_selected()
    save(driver)                               # ... but no correction: an inline error
    summary = driver.find_element(By.ID, "error-summary")
    assert "There is a problem" in summary.text
    correction = driver.find_element(By.ID, f"correction_{s.post_its['friends']}")
    assert correction.get_attribute("aria-invalid") == "true"
    error = driver.find_element(By.ID, f"correction_{s.post_its['friends']}-error")
    assert "Tell us what it is like for you" in error.text
    assert error.get_attribute("id") in correction.get_attribute("aria-describedby")
    assert driver.find_element(
        By.CSS_SELECTOR, f"#verdict_{s.post_its['ad']}_yes").is_selected()  # kept
    shot(driver, "02-inline-error", copy_to="review-page-error.png")
    summary.find_element(By.TAG_NAME, "a").click()  # the summary link leads to the field
    assert driver.switch_to.active_element == correction
    correction.send_keys("Asks classmates on WhatsApp")
    driver.find_element(By.ID, "missing").send_keys("Reads reviews on forums")
    driver.find_element(By.XPATH, "//label[contains(., 'Good (+1)')]").click()
    driver.find_element(By.ID, "feeling_text").send_keys("curious")
    save(driver)

    assert "Page 2 of 5" in driver.find_element(By.ID, "progress").text
    driver.find_element(By.LINK_TEXT, "Previous").click()  # back: answers are pre-filled
    wait_for_new_page(driver)
    assert driver.find_element(
        By.ID, f"correction_{s.post_its['friends']}").get_attribute("value") == \
        "Asks classmates on WhatsApp"
    save(driver)
    save(driver)                                  # page 2: nothing to add
    assert "Page 3 of 5" in driver.find_element(By.ID, "progress").text
    assert "Channel: Website" in fieldset(driver, "Pays online").text
    choose(driver, "Pays online", "Never")
    save(driver)
    save(driver)
    assert driver.find_element(By.CSS_SELECTOR, "button[type=submit]").text == "Save and finish"
    save(driver)
    assert driver.find_element(By.TAG_NAME, "h1").text == "Thank you!"
    shot(driver, "03-thank-you")

    # --- Bruno (French), only with the keyboard ------------------------------------------
    driver.get(f"{base}/review/{s.tokens['bruno']}")
    wait_for_new_page(driver)
    assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "fr"
    assert "Page 1 sur 5" in driver.find_element(By.ID, "progress").text
    for text in ("Sees an ad", "Asks friends"):
        fieldset(driver, text).find_element(By.CSS_SELECTOR, "input[value=yes]").send_keys(
            Keys.SPACE)
    driver.find_element(By.ID, "feeling").send_keys(Keys.SPACE)  # Très mal (−2)
    driver.find_element(By.ID, "feeling_text").send_keys("trop de pubs")
    for _ in range(5):
        save(driver, keyboard=True)
    assert driver.find_element(By.TAG_NAME, "h1").text == "Merci !"

    # --- an expired link ---------------------------------------------------------------
    with slack.services.uow(slack.team_id) as uow:
        old = customer_links.issue(uow.customers.get(s.customers["ana"]), slack.team_id,
                                   slack.settings.review_secret(),
                                   now=datetime.now(timezone.utc) - timedelta(days=20))
        uow.commit()
    driver.get(f"{base}/review/{old}")
    assert driver.find_element(By.TAG_NAME, "h1").text == "This link has expired"
    shot(driver, "04-expired-link")

    slack.settle()
    with slack.services.uow(slack.team_id) as uow:
        found = coverage(uow, uow.board.group(s.groups[0]))
        assert (found.items, found.confirmed, found.corrected, found.rejected) == (3, 1, 1, 1)
        assert (found.customers, found.answered, found.proposed) == (2, 2, 2)
        answers = {(a.customer_id, a.key): a for a in
                   uow.customers.answers(s.customers["ana"])
                   + uow.customers.answers(s.customers["bruno"])}
        friends_answer = answers[(s.customers["ana"], f"p:{s.post_its['friends']}")]
        assert (friends_answer.verdict, friends_answer.text) == (
            "not_quite", "Asks classmates on WhatsApp")
        feelings = sorted(a.score for a in answers.values() if a.item == "feeling")
        assert feelings == [-2, 1]
        assert all(uow.customers.get(s.customers[n]).done_at for n in ("ana", "bruno"))
    for name in ("01-first-page", "02-inline-error", "03-thank-you", "04-expired-link"):
        assert (SHOTS / f"{name}.png").stat().st_size > 5_000
