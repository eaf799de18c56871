"""`vidclip serve` in a real headless Chromium: search, thumbnails, play, click a moment, label, screenshot.

Runs on synthetic shape videos like the demo's (`vidclip synth`'s untrimmed moment videos) with the
colour stand-in model. Set VIDCLIP_SERVE_SCREENSHOT=docs/serve.png to keep the screenshot.
"""

import io
import json
import os
import shutil

import pytest

pytest.importorskip("fastapi", reason="needs the serve extra: pip install 'vidclip[serve]'")

from fakes import TinyVideoModel  # noqa: E402
from serving import running  # noqa: E402

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
WAIT_S = 30


@pytest.fixture(scope="module")
def browser():
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("no headless browser: install Debian's chromium and chromium-driver (`make chromium` as root)")
    pytest.importorskip("selenium", reason="needs selenium (the dev extra)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--mute-audio",
                     "--window-size=1280,900", "--autoplay-policy=no-user-gesture-required"):
        options.add_argument(argument)
    # an explicit driver path: Selenium Manager never tries to download one
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def demo_like(tmp_path_factory):
    """(index of 6 synthetic moment videos, a query from their annotations) with the colour stand-in model."""
    from vidclip.data.synthetic.build import generate
    from vidclip.pipeline import Pipeline
    from vidclip.search.index import VideoIndex

    root = tmp_path_factory.mktemp("demo_like")
    generate(root, num_train=2, num_test=2, num_novel=2, num_moment_train=1, num_moment_test=6, num_moment_novel=1,
             num_images=1, workers=1, frame_cache=False)
    videos = sorted((root / "moments" / "videos").glob("*.mp4"))
    first = json.loads((root / "moments" / "highlight_test_release.jsonl").read_text().splitlines()[0])
    return VideoIndex.build(Pipeline(TinyVideoModel()), videos, progress=False), first["query"]


def test_search_play_seek_label_in_chromium(browser, demo_like, tmp_path):
    from PIL import Image
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    from vidclip.serve.app import create_app
    from vidclip.serve.collection import Collection

    index, query = demo_like
    wait = WebDriverWait(browser, WAIT_S)
    with running(create_app(Collection(index))) as url:
        browser.get(url + "/")
        wait.until(lambda d: "videos" in d.find_element(By.ID, "info").text)
        box = browser.find_element(By.ID, "query")
        box.send_keys(query + Keys.ENTER)

        # thumbnails: one per video, every image decoded
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".result img")) == len(index))
        wait.until(lambda d: d.execute_script(
            "return [...document.querySelectorAll('.result img')].every(i => i.complete && i.naturalWidth > 0)"))

        # open the best result: the player loads it and moments appear on the timeline
        browser.find_elements(By.CSS_SELECTOR, ".result")[0].click()
        player = browser.find_element(By.ID, "player")
        wait.until(lambda d: d.execute_script("return arguments[0].readyState >= 1", player))
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#timeline .moment")) >= 2)
        assert browser.find_element(By.CSS_SELECTOR, "#saliency polyline").get_attribute("points")

        # clicking a moment seeks the player to its start
        browser.execute_script("window.seekedTo = []; arguments[0].addEventListener("
                               "'seeked', () => window.seekedTo.push(arguments[0].currentTime))", player)
        moment = browser.find_elements(By.CSS_SELECTOR, "#timeline .moment")[-1]
        start = float(moment.get_attribute("data-start"))
        moment.click()
        wait.until(lambda d: any(abs(t - start) < 0.05 for t in d.execute_script("return window.seekedTo")))
        browser.execute_script("arguments[0].pause()", player)

        # zero-shot labels for the open video
        labels = browser.find_element(By.ID, "labels")
        labels.send_keys("red, green, blue, yellow" + Keys.ENTER)
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#label-list li")) == 4)
        assert browser.find_element(By.ID, "error").get_attribute("hidden") is not None
        browser.execute_script("window.scrollTo(0, 0)")

        png = browser.get_screenshot_as_png()
    image = Image.open(io.BytesIO(png)).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 20)
    assert image.size[0] >= 1000 and len(colours) > 50, "blank screenshot"
    assert max(count for count, _ in colours) < 0.9 * image.size[0] * image.size[1], "screenshot is one colour"
    (tmp_path / "serve.png").write_bytes(png)
    if os.environ.get("VIDCLIP_SERVE_SCREENSHOT"):
        image.save(os.environ["VIDCLIP_SERVE_SCREENSHOT"], optimize=True)
