"""The accessibility audit: axe-core, in the real browser, over every page of every role.

axe-core is the copy `axe-playwright-python` ships (axe.min.js, MPL-2.0), injected into each page
by Playwright: nothing is fetched at run time. A page fails on any violation axe rates serious or
critical (missing labels, contrast, landmarks, `lang`, alt text, names of buttons and links…).

The pages are the phone sweep's (`tests/e2e/test_phone_fit.py`: the URL map with the demo's real
ids, as the role whose area they are). By default each page is audited in Chinese, and the
storefront's pages also in English and in elder mode; `A11Y_SWEEP=1` audits every page in both
languages and both modes (a longer sweep). The run stops adding pages after SWEEP_SECONDS, so a
slow machine shortens the sweep instead of timing out CI, and says how many it audited.
"""
import os
import time

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.conftest import ARTIFACTS
from tests.e2e.test_phone_fit import EVERY_ROLE, SIGNED_OUT_PAGES, _sign_in, demo_district, pages  # noqa: F401

pytestmark = pytest.mark.browser

LONG_SWEEP = os.environ.get("A11Y_SWEEP") == "1"
SWEEP_SECONDS = 900 if LONG_SWEEP else 420
SERIOUS = {"serious", "critical"}
PUBLIC_AREAS = ("storefront", "auth", "invitations")
_axe = Axe()


def serious_violations(page):
    """axe's serious and critical violations of the page, as short lines naming the elements."""
    found = _axe.run(page, options={"resultTypes": ["violations"], "runOnly": {"type": "tag", "values": [
        "wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]}}).response["violations"]
    return [f"{violation['id']} ({violation['impact']}): "
            + "; ".join(" ".join(node["target"]) for node in violation["nodes"][:3])
            for violation in found if violation["impact"] in SERIOUS]


def _settings():
    """(language, elder mode) pairs, and whether a page of that area is audited with them."""
    combos = [("zh-CN", False), ("en", False), ("zh-CN", True), ("en", True)]
    return [(language, elder, LONG_SWEEP or (language, elder) == ("zh-CN", False)) for language, elder in combos]


def test_no_page_of_any_role_has_a_serious_accessibility_violation(app, demo_district, live_server, browser):
    visits = pages(app, demo_district)
    started, audited, failures = time.monotonic(), 0, []
    ARTIFACTS.mkdir(exist_ok=True)
    for who in [None, *EVERY_ROLE]:
        mine = [(url, endpoint) for person, url, endpoint in visits if person == who]
        for language, elder, every_area in _settings():
            chosen = [(url, endpoint) for url, endpoint in mine
                      if every_area or endpoint.split(".")[0] in PUBLIC_AREAS]
            if not chosen or time.monotonic() - started > SWEEP_SECONDS:
                continue
            context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                          locale=language)
            setup = context.new_page()
            if language == "en":
                setup.goto(live_server + "/lang/en")
            if elder:
                context.add_cookies([{"name": "elder", "value": "1", "url": live_server}])
            setup.close()
            if who:
                _sign_in(context, live_server, who)
            page = context.new_page()
            for url, endpoint in chosen:
                if time.monotonic() - started > SWEEP_SECONDS:
                    break
                response = page.goto(live_server + url)
                if endpoint not in SIGNED_OUT_PAGES and (response is None or response.status != 200):
                    continue  # the phone sweep reports pages that do not open
                audited += 1
                found = serious_violations(page)
                if found:
                    mode = f"{language}{' elder' if elder else ''}"
                    failures.append(f"{who or 'signed out'} {url} ({mode}): " + " | ".join(found))
            context.close()
    print(f"axe audited {audited} pages in {time.monotonic() - started:.0f} s")
    assert audited >= 60, f"only {audited} pages audited"
    assert not failures, f"{len(failures)} pages:\n" + "\n".join(failures)


ELDER_PAGES = ("/", "/products", "/products?q=雪梨", "/products/jiao-snow-pears", "/cart", "/login")


def _elder_figures(page):
    """The smallest text, the tightest line spacing and the smallest touch target of the page's
    visible text, paragraphs and controls."""
    return page.evaluate("""() => {
        const visible = el => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0
                                && getComputedStyle(el).visibility !== 'hidden'; };
        const texts = [...document.querySelectorAll('main p, main li, main h3, main dd, main label, main .price')].filter(visible);
        const sizes = texts.map(el => parseFloat(getComputedStyle(el).fontSize));
        const spacing = texts.map(el => { const s = getComputedStyle(el);
            return s.lineHeight === 'normal' ? 1.2 : parseFloat(s.lineHeight) / parseFloat(s.fontSize); });
        const controls = [...document.querySelectorAll('button, .button, select, input:not([type=hidden]):not([type=checkbox]):not([type=radio]), .site-nav a, summary')]
            .filter(visible).map(el => { const r = el.getBoundingClientRect(); return [Math.min(r.width, r.height), el.outerHTML.slice(0, 60)]; });
        controls.sort((a, b) => a[0] - b[0]);
        return {font: Math.min(...sizes), spacing: Math.min(...spacing), target: controls[0]};
    }""")


def test_elder_mode_meets_the_ageing_friendly_figures_on_a_phone(app, demo_district, live_server, browser):
    """适老化: main text ≥ 18 px, line spacing ≥ 1.3, touch targets ≥ 60 × 60 px (axe checks the
    contrast in the sweep above); screenshots kept in test-artifacts/."""
    ARTIFACTS.mkdir(exist_ok=True)
    for language in ("zh-CN", "en"):
        context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                      locale=language)
        page = context.new_page()
        if language == "en":
            page.goto(live_server + "/lang/en")
        page.goto(live_server + "/")
        page.click(".elder-switch button")  # the header's switch, as a person would
        page.wait_for_load_state()
        assert page.evaluate("document.documentElement.classList.contains('elder')")
        for number, url in enumerate(ELDER_PAGES):
            page.goto(live_server + url)
            figures = _elder_figures(page)
            assert figures["font"] >= 18, (url, figures)
            assert figures["spacing"] >= 1.3, (url, figures)
            assert figures["target"][0] >= 60, (url, figures)
            page.screenshot(path=str(ARTIFACTS / f"elder-mode-390-{number}-{language}.png"), full_page=True)
        context.close()
