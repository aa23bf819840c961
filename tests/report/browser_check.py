#!/usr/bin/env python3
"""Opens fusion-report HTML pages in headless Debian Chromium and checks
that they render: no console errors or warnings, every plot present with a
rendered size and its data marks, no horizontal overflow at 1280 px, and a
full-page screenshot that is not blank and shows the verdict's colour.

    browser_check.py PAGE.html [PAGE.html ...] --screenshots DIR

The page says what it is: <body data-kind="report"|"comparison"
data-verdict="pass"|"fail">, and each <svg class="plot"> has a
data-points attribute, the number of data marks (elements of class "mark")
it draws; a plot with none shows a text.nodata note instead.

Uses /usr/bin/chromium and /usr/bin/chromedriver (Debian's chromium and
chromium-driver) and never lets Selenium Manager download anything.
"""

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ["SE_OFFLINE"] = "true"

from PIL import Image  # noqa: E402
from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WIDTH = 1280
PLOTS = {
    "report": ["plot-distribution", "plot-stages", "plot-over-time", "plot-misses-timeline"],
    "comparison": ["plot-distribution"],
}
# The verdict badge colours of node/report/src/html/style.rs.
VERDICT_RGB = {"pass": (0x1A, 0x7F, 0x37), "fail": (0xCF, 0x22, 0x2E)}
MIN_COLOURS = 24
MIN_VERDICT_PIXELS = 4000
MAX_HEIGHT = 30000

PLOT_JS = """
const el = document.getElementById(arguments[0]);
if (!el) return null;
const r = el.getBoundingClientRect();
return {
  tag: el.tagName.toLowerCase(),
  cls: el.getAttribute('class') || '',
  width: r.width, height: r.height,
  points: parseInt(el.getAttribute('data-points') || '0', 10),
  marks: el.querySelectorAll('path.mark, polyline.mark, circle.mark, rect.mark').length,
  nodata: el.querySelectorAll('text.nodata').length,
};
"""


def driver_for(profile):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--window-size={WIDTH},2000",
        f"--user-data-dir={profile}",
    ]:
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)


def full_page(driver):
    """Grows the window until the viewport holds the whole page."""
    for _ in range(3):
        height = driver.execute_script(
            "return Math.max(document.body.scrollHeight, document.documentElement.scrollHeight)"
        )
        inner = driver.execute_script("return window.innerHeight")
        if inner >= height:
            break
        size = driver.get_window_size()
        chrome_h = size["height"] - inner
        driver.set_window_size(WIDTH, min(height + chrome_h, MAX_HEIGHT))
        time.sleep(0.2)
    return driver.execute_script("return window.innerHeight")


def screenshot_problems(png, verdict):
    problems = []
    with Image.open(png) as img:
        rgb = img.convert("RGB")
        colours = rgb.getcolors(maxcolors=1 << 24) or []
    if len(colours) <= MIN_COLOURS:
        problems.append(f"screenshot looks blank ({len(colours)} colours)")
    target = VERDICT_RGB.get(verdict)
    if target is None:
        problems.append(f"body has no data-verdict pass/fail (got {verdict!r})")
        return problems, len(colours), 0
    near = sum(
        n for n, c in colours if all(abs(a - b) <= 6 for a, b in zip(c, target))
    )
    if near < MIN_VERDICT_PIXELS:
        problems.append(f"the {verdict} banner colour covers only {near} pixels")
    return problems, len(colours), near


def check(driver, page, shots):
    problems = []
    driver.set_window_size(WIDTH, 2000)
    driver.get(page.resolve().as_uri())
    for _ in range(100):
        if driver.execute_script("return document.readyState") == "complete":
            break
        time.sleep(0.05)
    kind = driver.execute_script("return document.body.dataset.kind || ''")
    verdict = driver.execute_script("return document.body.dataset.verdict || ''")
    marks = []
    for plot in PLOTS.get(kind, []):
        p = driver.execute_script(PLOT_JS, plot)
        if p is None:
            problems.append(f"no #{plot}")
            continue
        if p["tag"] != "svg" or "plot" not in p["cls"].split():
            problems.append(f"#{plot} is not an svg.plot")
        if not (p["width"] > 0 and p["height"] > 0):
            problems.append(f"#{plot} renders {p['width']}x{p['height']}")
        if p["points"] > 0 and p["marks"] < p["points"]:
            problems.append(f"#{plot} draws {p['marks']} marks of {p['points']}")
        if p["points"] == 0 and p["nodata"] == 0:
            problems.append(f"#{plot} has no data and no note saying so")
        marks.append(f"{plot.removeprefix('plot-')} {p['marks']}")
    if kind not in PLOTS:
        problems.append(f"body data-kind is {kind!r}, not report or comparison")
    badge = driver.execute_script(
        "const b = document.querySelector('#verdict .badge');"
        "return b ? getComputedStyle(b).backgroundColor : null"
    )
    want = VERDICT_RGB.get(verdict)
    if want and badge != "rgb({}, {}, {})".format(*want):
        problems.append(f"the verdict badge is {badge}, not the {verdict} colour")
    overflow = driver.execute_script(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    if overflow > 0:
        problems.append(f"the page is {overflow} px wider than the window")
    height = full_page(driver)
    shots.mkdir(parents=True, exist_ok=True)
    png = shots / f"{page.stem}.png"
    if not driver.save_screenshot(str(png)):
        problems.append("no screenshot")
        colours = near = 0
    else:
        more, colours, near = screenshot_problems(png, verdict)
        problems += more
    # Read the console last, so messages from resizing count too.
    console = [e for e in driver.get_log("browser") if e.get("level") in ("SEVERE", "WARNING")]
    for e in console:
        problems.append(f"console {e['level']}: {e.get('message', '')}")
    summary = (
        f"{kind or '?'} {verdict or '?'}, marks: {', '.join(marks) or '-'}; "
        f"{len(console)} console errors/warnings; screenshot {png} "
        f"({WIDTH}x{height}, {colours} colours, {near} verdict-colour pixels)"
    )
    return problems, summary


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("pages", nargs="+", type=Path)
    ap.add_argument("--screenshots", type=Path, required=True, help="directory for the PNGs")
    args = ap.parse_args()
    for exe in (CHROMIUM, CHROMEDRIVER):
        if not os.access(exe, os.X_OK):
            sys.exit(f"browser_check: {exe} is missing (apt-get install chromium chromium-driver)")
    profile = tempfile.mkdtemp(prefix="report-chromium-")
    failed = 0
    driver = driver_for(profile)
    try:
        driver.get_log("browser")
        for page in args.pages:
            if not page.is_file():
                print(f"FAIL {page}: no such file")
                failed += 1
                continue
            driver.get_log("browser")
            problems, summary = check(driver, page, args.screenshots)
            if problems:
                failed += 1
                print(f"FAIL {page.name}: {summary}")
                for p in problems:
                    print(f"     - {p}")
            else:
                print(f"ok   {page.name}: {summary}")
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
    print(f"browser_check: {len(args.pages) - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
