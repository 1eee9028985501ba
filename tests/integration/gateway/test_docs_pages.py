"""The API's documentation pages work without internet access: every asset they load is the gateway's own."""

from __future__ import annotations

import re
from urllib.parse import urljoin

import pytest

# What a page loads: scripts, stylesheets, icons.
ASSET = re.compile(r"""<(?:script|link)\b[^>]*?\b(?:src|href)=["']([^"']+)["']""", re.I)


@pytest.fixture
async def client(inprocess_gateway):
    async with inprocess_gateway(api_keys="ada-0123456789abcdef") as client:
        yield client


@pytest.mark.parametrize("page, expected_assets", [("/docs", 2), ("/redoc", 1)])
async def test_a_docs_page_loads_only_assets_the_gateway_serves(client, page, expected_assets):
    response = await client.get(page)
    assert response.status_code == 200
    assets = ASSET.findall(response.text)
    # Without a key too: the pages and their assets describe the public API.
    scripts_and_styles = [url for url in assets if url.endswith((".js", ".css"))]
    assert len(scripts_and_styles) >= expected_assets, assets

    for url in assets:
        assert not re.match(r"^(https?:)?//", url), f"{page} loads {url} from another host"
        asset = await client.get(urljoin(page, url))
        assert asset.status_code == 200, url
        assert len(asset.content) > 1000, url


async def test_the_swagger_ui_served_reads_the_openapi_version_the_gateway_writes(client):
    # Swagger UI renders OpenAPI 3.1 from version 5 on; older bundles show an error instead.
    openapi = (await client.get("/openapi.json")).json()["openapi"]
    bundle = (await client.get("/static-offline-docs/swagger-ui-bundle.js")).text
    assert openapi.startswith("3.1")
    assert re.search(r'"5\.\d+\.\d+"', bundle), "the Swagger UI bundle is older than version 5"
