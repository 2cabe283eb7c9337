"""The whole sitemap as one text: /sitemap.xml is an index of section files (portal/urls.py)."""

import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

NS = {"sm": "http://www.sitemaps.org/schemas/sitemap/0.9"}


def section_paths(client) -> list[str]:
    response = client.get("/sitemap.xml")
    assert response.status_code == 200, response.status_code
    root = ET.fromstring(response.content)
    assert root.tag == f"{{{NS['sm']}}}sitemapindex", root.tag
    return [
        urlsplit(loc.text.strip()).path + (f"?{urlsplit(loc.text.strip()).query}" if urlsplit(loc.text).query else "")
        for loc in root.findall("sm:sitemap/sm:loc", NS)
    ]


def sitemap_text(client) -> str:
    """Every section file of the index, one after the other."""
    parts = []
    for path in section_paths(client):
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        parts.append(response.content.decode())
    return "\n".join(parts)
