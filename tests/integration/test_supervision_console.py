"""The supervision desk's web console in a real headless Chromium (Debian's
chromium and chromium-driver, driven by Selenium; no browser is
downloaded), against the real services: ingest, the three checkers, the
alert-router, the ledger-writer and the desk on the test broker.

A street office signs in, sees a fraudulent check-in's alert arrive live
(no reload), opens the case, acknowledges and resolves it; another street's
key does not see it; the dossier draws the map and shows a verified
inclusion proof; the case list works from the keyboard; labels and the
alert colours' contrast are checked. Screenshots of each page go to
$CW_ARTIFACTS_DIR/console (default var/artifacts/console)."""

import json
import os
import shutil
import time
import uuid

import pytest

from conftest import REPO, Service, allocate_day, free_port, post, wait_until
from carewatch_py.demo_day import Day
from test_alert_router import INPUTS, Router, commit_group, group_offsets
from test_ledger_writer import make_key, post_rest, LedgerWriter
from test_supervision_desk import DeskKeys

pytest.importorskip("selenium")  # installed by deploy/local/install-deps
from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.options import Options  # noqa: E402
from selenium.webdriver.chrome.service import Service as ChromeService  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys as Key  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

CHROMIUM = os.environ.get("CW_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CW_CHROMEDRIVER", "/usr/bin/chromedriver")
ARTIFACTS = os.path.join(os.environ.get("CW_ARTIFACTS_DIR", os.path.join(REPO, "var", "artifacts")),
                         "console")


def desk_config(admin_port, http_port, group, keys, ledger_dir, public_key, ingest_url):
    return """kafka:
  brokers: {brokers}
  message_timeout_ms: 4000
admin:
  bind: 127.0.0.1
  port: {admin_port}
http:
  bind: 127.0.0.1
  port: {http_port}
auth:
  keys: [{keys}]
desk:
  ledger_dir: {ledger_dir}
  ledger_public_key: {public_key}
  ingest_url: {ingest_url}
stream:
  group_id: {group}
  transactional_id: {group}
  allowed_lateness_minutes: 0
  quiet_partition_ms: 500
""".format(brokers=os.environ.get("KAFKA_BROKERS", "127.0.0.1:9092"), admin_port=admin_port,
           http_port=http_port, group=group, keys=", ".join('"%s"' % k for k in keys.entries()),
           ledger_dir=ledger_dir, public_key=public_key, ingest_url=ingest_url)


@pytest.fixture(scope="module")
def stack(tmp_path_factory, redis_server, ingest, checkers):
    """The alert-router, the ledger-writer and the desk beside the module's
    ingest and checkers."""
    work = tmp_path_factory.mktemp("console")
    group = "test-%s" % uuid.uuid4().hex[:8]
    commit_group(group + "-router", group_offsets(INPUTS))
    router = Router(str(work / "router"), redis_server.port, group + "-router")
    signing, public = make_key(str(work))
    ledger_dir = str(work / "ledger")
    writer = LedgerWriter(str(work / "writer"), redis_server.port, group + "-ledger", ledger_dir,
                          signing)
    keys = DeskKeys()
    admin_port, http_port = free_port(), free_port()
    desk = Service("supervision-desk",
                   desk_config(admin_port, http_port, group + "-desk", keys, ledger_dir, public,
                               ingest.url), str(work / "desk"))
    for svc, url in ((router, router.ready_url), (writer, writer.ready_url),
                     (desk, "http://127.0.0.1:%d/readyz" % admin_port)):
        svc.wait_ready(url, timeout=90)
    yield {"desk_url": "http://127.0.0.1:%d" % http_port, "keys": keys}
    for svc in (desk, writer, router):
        svc.stop()


def browser():
    opts = Options()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,1100",
                "--disable-dev-shm-usage", "--lang=zh-CN"):
        opts.add_argument(arg)
    return webdriver.Chrome(service=ChromeService(CHROMEDRIVER), options=opts)


def shot(driver, name):
    os.makedirs(ARTIFACTS, exist_ok=True)
    driver.save_screenshot(os.path.join(ARTIFACTS, name + ".png"))


def sign_in(driver, url, key):
    driver.get(url + "/")
    driver.find_element(By.ID, "key").send_keys(key)
    driver.find_element(By.CSS_SELECTOR, "#signin-form button[type=submit]").click()
    WebDriverWait(driver, 20).until(lambda d: d.find_element(By.ID, "tabs").is_displayed())
    WebDriverWait(driver, 20).until(
        lambda d: d.find_element(By.ID, "live-status").text.strip() != "")


def tab(driver, name):
    driver.find_element(By.CSS_SELECTOR, 'nav button[data-tab="%s"]' % name).click()
    if name == "cases":  # the list is drawn anew: wait until it is
        WebDriverWait(driver, 30).until(
            lambda d: d.find_element(By.ID, "case-rows").get_attribute("aria-busy") is None)


def relative_luminance(rgb):
    def channel(c):
        c = c / 255.0
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def parse_rgb(css):
    inside = css[css.index("(") + 1:css.index(")")]
    return [float(x) for x in inside.split(",")[:3]]


def contrast(fg, bg):
    a, b = sorted((relative_luminance(fg), relative_luminance(bg)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def test_a_street_office_works_a_live_case_in_the_browser(ingest, keys, checkers, stack, ids):
    url, desk_keys = stack["desk_url"], stack["keys"]
    day = Day(prefix=ids, date=allocate_day())
    away = ids + "O-AWAY"
    held = [(k, b) for k, b in day.events if b.get("order_id") == away]
    assert [k for k, _ in held] == ["check-in", "check-out"]
    # The day without O-AWAY's visit: reference data, orders, other visits.
    for kind, bodies in (("elder", day.elders), ("caregiver", day.caregivers),
                         ("contract", day.contracts), ("elder-status", day.elder_statuses)):
        for body in bodies:
            post(ingest, keys.registry, kind, body)
    for body in day.orders:
        post(ingest, keys.importer, "order", body)
    for kind, body in day.events:
        if body.get("order_id") != away:
            post(ingest, keys.importer, kind, body)

    s01, s02 = browser(), browser()
    try:
        sign_in(s01, url, desk_keys.s01)
        sign_in(s02, url, desk_keys.s02)
        assert "S01" in s01.find_element(By.ID, "who").text
        shot(s01, "1-live")
        s01.execute_script("window.__notReloaded = true;")

        # The fraudulent check-in (far from the elder's home) through ingest:
        # its alert appears in the open page, which is never reloaded.
        posted = time.monotonic()
        post(ingest, keys.importer, held[0][0], held[0][1])
        selector = '#live-list li[data-case="%s"][data-rule="GEO_DISTANCE"]' % away
        WebDriverWait(s01, 60, poll_frequency=0.05).until(
            lambda d: d.find_elements(By.CSS_SELECTOR, selector))
        seen = time.monotonic()
        assert s01.execute_script("return window.__notReloaded === true;")
        item = s01.find_element(By.CSS_SELECTOR, selector)
        assert "GEO_DISTANCE" in item.text and "YELLOW" in item.get_attribute("class")
        os.makedirs(ARTIFACTS, exist_ok=True)
        with open(os.path.join(ARTIFACTS, "live-latency.json"), "w", encoding="utf-8") as f:
            json.dump({"post_answered_to_shown_s": round(seen - posted, 3)}, f)
        print("check-in answered by ingest -> alert shown in the browser: %.3f s"
              % (seen - posted))
        shot(s01, "2-live-alert")
        # Street S02's page shows nothing of it.
        time.sleep(1.0)
        assert not s02.find_elements(By.CSS_SELECTOR, selector)

        # The rest of the day, so the order is finalized into the ledger.
        post(ingest, keys.importer, held[1][0], held[1][1])
        post_rest(ingest, keys, day)

        # The case list from the keyboard: focus the first row, arrow down,
        # Enter opens the focused case.
        tab(s01, "cases")
        WebDriverWait(s01, 60).until(lambda d: d.find_elements(
            By.CSS_SELECTOR, '#case-rows tr[data-case="%s"]' % away))
        shot(s01, "3-cases")
        rows = s01.find_elements(By.CSS_SELECTOR, "#case-rows tr[data-case]")
        assert len(rows) >= 2
        s01.execute_script("arguments[0].focus();", rows[0])
        s01.switch_to.active_element.send_keys(Key.ARROW_DOWN)
        focused = s01.switch_to.active_element.get_attribute("data-case")
        assert focused == rows[1].get_attribute("data-case")
        s01.switch_to.active_element.send_keys(Key.ENTER)
        WebDriverWait(s01, 20).until(lambda d: d.find_element(By.ID, "dossier").is_displayed())
        assert focused in s01.find_element(By.ID, "dossier-title").text
        s01.find_element(By.ID, "back").click()

        # Open O-AWAY's case: the map, then acknowledge and resolve it.
        WebDriverWait(s01, 20).until(lambda d: d.find_elements(
            By.CSS_SELECTOR, '#case-rows tr[data-case="%s"]' % away))
        s01.find_element(By.CSS_SELECTOR, '#case-rows tr[data-case="%s"]' % away).click()
        WebDriverWait(s01, 20).until(lambda d: d.find_element(By.ID, "dossier").is_displayed())
        svg = s01.find_element(By.CSS_SELECTOR, "#map svg")
        assert svg.find_elements(By.CSS_SELECTOR, "circle.radius")
        assert svg.find_elements(By.CSS_SELECTOR, ".home")
        assert len(svg.find_elements(By.CSS_SELECTOR, ".fix.gps")) >= 1
        assert "GEO_DISTANCE" in s01.find_element(By.ID, "verdict-rows").text
        s01.find_element(By.ID, "deed-note").send_keys("called the provider")
        s01.find_element(By.ID, "do-acknowledge").click()
        WebDriverWait(s01, 20).until(
            lambda d: "ACKNOWLEDGED" in d.find_element(By.ID, "history").text
            or "受理" in d.find_element(By.ID, "history").text)
        s01.find_element(By.ID, "deed-note").send_keys("the caregiver checked in from the street")
        Select(s01.find_element(By.ID, "deed-resolution")).select_by_value("CONFIRMED")
        s01.find_element(By.ID, "do-resolve").click()
        WebDriverWait(s01, 20).until(
            lambda d: "已办结" in d.find_element(By.ID, "dossier-title").text)

        # Once the order is in the ledger: its inclusion proof, verified.
        def proven(d):
            d.find_element(By.ID, "proof-button").click()
            time.sleep(0.5)
            return d.find_elements(By.CSS_SELECTOR, '#proof p[data-verified="true"]')
        wait_until(lambda: open_case(s01, away) and proven(s01), 180,
                   "a verified inclusion proof in the dossier")
        assert "sm3" in s01.find_element(By.ID, "proof").text
        shot(s01, "4-dossier")

        # The English switch.
        Select(s01.find_element(By.ID, "lang")).select_by_value("en")
        WebDriverWait(s01, 20).until(
            lambda d: "Resolved" in d.find_element(By.ID, "dossier-title").text)
        assert "Verdicts" in s01.find_element(By.ID, "dossier").text
        Select(s01.find_element(By.ID, "lang")).select_by_value("zh")

        # Street S02 cannot open it, by list or by id.
        tab(s02, "cases")
        time.sleep(1.0)
        assert not s02.find_elements(By.CSS_SELECTOR, '#case-rows tr[data-case="%s"]' % away)
        status = s02.execute_script(
            "return fetch('/v1/cases/' + arguments[0], {headers: {Authorization: 'Bearer ' + "
            "sessionStorage.getItem('cw-key')}}).then(r => r.status);", away)
        assert status == 404

        # The dashboard and the command view render.
        tab(s01, "dashboard")
        s01.find_element(By.ID, "dash-day").send_keys(day.date[5:7] + day.date[8:10] + day.date[:4])
        s01.find_element(By.CSS_SELECTOR, "#dash-form button[type=submit]").click()
        WebDriverWait(s01, 20).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#charts svg"))
        shot(s01, "5-dashboard")
        command = browser()
        try:
            sign_in(command, url, desk_keys.command)
            tab(command, "command")
            WebDriverWait(command, 20).until(
                lambda d: d.find_elements(By.CSS_SELECTOR, "#command-streets h3"))
            shot(command, "6-command")
        finally:
            command.quit()

        accessibility(s01)
    finally:
        s01.quit()
        s02.quit()


def open_case(driver, case_id):
    """Opens the case from the list (its dossier read anew)."""
    tab(driver, "cases")
    WebDriverWait(driver, 20).until(lambda d: d.find_elements(
        By.CSS_SELECTOR, '#case-rows tr[data-case="%s"]' % case_id))
    driver.find_element(By.CSS_SELECTOR, '#case-rows tr[data-case="%s"]' % case_id).click()
    WebDriverWait(driver, 20).until(lambda d: d.find_element(By.ID, "dossier").is_displayed())
    return True


def accessibility(driver):
    """Every form control has a label; the alert colours keep a contrast of
    at least 4.5:1 (WCAG AA) between their text and background."""
    unlabelled = driver.execute_script("""
        return [...document.querySelectorAll('input, select, textarea')]
          .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
          .map(e => e.id || e.outerHTML);""")
    assert unlabelled == [], unlabelled
    for colour in ("RED", "ORANGE", "YELLOW"):
        fg, bg = driver.execute_script("""
            const s = document.createElement('span'); s.className = 'colour ' + arguments[0];
            document.body.append(s); const c = getComputedStyle(s);
            const out = [c.color, c.backgroundColor]; s.remove(); return out;""", colour)
        ratio = contrast(parse_rgb(fg), parse_rgb(bg))
        assert ratio >= 4.5, (colour, fg, bg, ratio)
