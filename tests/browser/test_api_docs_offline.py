"""The API docs pages (``/docs``, ``/redoc``) work with no internet, against the whole running service.

FastAPI's default docs pages load Swagger UI and ReDoc from a CDN (and ReDoc
its fonts from Google), so on an offline site they stay blank.  The console
serves both from the ``fastapi-offline`` package instead.  In Chromium every
request that is not to the console is aborted and recorded: none may be
made, and both pages must still render the API.  Over plain HTTP, the pages
may reference only same-origin assets, and those answer with the right
content type.

ReDoc 2's sidebar footer has a hard-coded logo from ``cdn.redoc.ly``: the
docs pages' Content-Security-Policy refuses it before it reaches the network
(the component hides itself when the image fails).  That is the only refusal
allowed here, so a newer bundle that reaches out for something else fails.
The browser test runs twice: as served (the CSP refuses, nothing reaches the
network), and with the CSP bypassed, where the request guard alone stands
between the page and the internet and the logo is the only request it stops.
"""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from playwright.async_api import Browser, ConsoleMessage, Page, Route, expect

if TYPE_CHECKING:
    from conftest import LiveStack

TITLE = "bankcti agent console"
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost"})
#: The one outside URL the bundled ReDoc asks for (its sidebar logo); the CSP refuses it.
REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"
CONTENT_TYPES = {".js": ("text/javascript", "application/javascript"), ".css": ("text/css",)}

# ReDoc parses a 1 MB bundle before it draws anything: on a loaded 2-core CI machine that took over 5 s.
RENDER_TIMEOUT_MS = 30_000


class _Offline:
    """Aborts and records every request from the page that is not to the local server."""

    def __init__(self) -> None:
        self.outside: list[str] = []
        self.local: list[str] = []
        self.csp_refusals: list[str] = []
        self.errors: list[str] = []

    async def route(self, route: Route) -> None:
        url = route.request.url
        parts = urlsplit(url)
        if parts.scheme in {"http", "https", "ws", "wss"} and parts.hostname in LOCAL_HOSTS:
            self.local.append(url)
            await route.continue_()
        elif parts.scheme in {"data", "blob"}:  # in-page content, never the network
            await route.continue_()
        else:
            self.outside.append(url)
            await route.abort("internetdisconnected")

    def console(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            self.csp_refusals.append(message.text)

    async def install(self, page: Page) -> None:
        await page.route("**/*", self.route)
        page.on("console", self.console)
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))


@pytest.mark.parametrize("csp", ["enforced", "bypassed"])
async def test_swagger_ui_and_redoc_render_without_internet(
    live_stack: LiveStack, browser: Browser, artifacts: Path, csp: str
) -> None:
    context = await browser.new_context(
        viewport={"width": 1400, "height": 900}, locale="en-US", bypass_csp=csp == "bypassed"
    )
    context.set_default_timeout(15_000)
    try:
        page = await context.new_page()
        offline = _Offline()
        await offline.install(page)
        await _render_both(page, live_stack.url, artifacts / f"docs-csp-{csp}")
    finally:
        await context.close()

    assert any("/static-offline-docs/swagger-ui-bundle.js" in url for url in offline.local)
    assert any("/static-offline-docs/redoc.standalone.js" in url for url in offline.local)
    assert offline.errors == []
    if csp == "enforced":
        assert offline.outside == []
        assert [r for r in offline.csp_refusals if REDOC_LOGO not in r] == []
    else:
        assert offline.csp_refusals == []
        assert set(offline.outside) <= {REDOC_LOGO}


async def _render_both(page: Page, base: str, screenshots: Path) -> None:
    """Swagger UI and ReDoc show the API's title and its operations."""
    await page.goto(base + "/docs")
    await expect(page.locator(".swagger-ui .info .title")).to_contain_text(TITLE, timeout=RENDER_TIMEOUT_MS)
    operations = page.locator(".swagger-ui .opblock")
    await expect(operations.first).to_be_visible(timeout=RENDER_TIMEOUT_MS)
    assert await operations.count() >= 10
    # An operation of the API is listed by its path: the spec was fetched and rendered.
    login = page.locator(".opblock-summary-path", has_text="/api/login").first
    await expect(login).to_be_visible(timeout=RENDER_TIMEOUT_MS)
    await page.screenshot(path=f"{screenshots}-swagger.png")

    await page.goto(base + "/redoc")
    await expect(page.locator("h1", has_text=TITLE)).to_be_visible(timeout=RENDER_TIMEOUT_MS)
    redoc_operations = page.locator('[data-section-id^="operation/"]')
    await expect(redoc_operations.first).to_be_attached(timeout=RENDER_TIMEOUT_MS)
    assert await redoc_operations.count() >= 10
    login = page.locator("h2", has_text="Log in and get a bearer token").first
    await expect(login).to_be_visible(timeout=RENDER_TIMEOUT_MS)
    await page.screenshot(path=f"{screenshots}-redoc.png")


class _Assets(HTMLParser):
    """The URLs a page loads: ``<script src>``, ``<link href>``, ``<img src>``."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        wanted = {"script": "src", "link": "href", "img": "src"}.get(tag)
        for name, value in attrs:
            if name == wanted and value:
                self.urls.append(value)


async def test_docs_pages_reference_only_same_origin_assets(live_stack: LiveStack) -> None:
    base = live_stack.url
    origin = urlsplit(base)[:2]
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        for path, expected in (
            ("/docs", {"swagger-ui-bundle.js", "swagger-ui.css"}),
            ("/redoc", {"redoc.standalone.js"}),
        ):
            response = await client.get(path)
            assert response.status_code == 200, path
            html = response.text
            assert "cdn." not in html and "googleapis" not in html and "fonts.g" not in html, path
            csp = response.headers["content-security-policy"]
            assert "http" not in csp and "*" not in csp and "default-src 'self'" in csp, csp

            parser = _Assets()
            parser.feed(html)
            names = {Path(urlsplit(url).path).name for url in parser.urls}
            assert expected <= names, (path, parser.urls)
            for url in parser.urls:
                absolute = urljoin(base + path, url)
                assert urlsplit(absolute)[:2] == origin, (path, url)
                asset = await client.get(absolute)
                assert asset.status_code == 200, absolute
                assert asset.headers["x-content-type-options"] == "nosniff"
                kind = asset.headers["content-type"].split(";")[0].strip()
                suffix = Path(urlsplit(absolute).path).suffix
                if suffix in CONTENT_TYPES:
                    assert kind in CONTENT_TYPES[suffix], (absolute, kind)
                else:
                    assert kind.startswith("image/"), (absolute, kind)  # the favicon
                assert len(asset.content) > 1000, absolute

        spec = await client.get("/openapi.json")
        assert spec.status_code == 200
        assert spec.json()["info"]["title"] == TITLE
