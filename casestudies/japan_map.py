"""A tile-grid map of Japan by prefecture, drawn on the server as SVG (no script, no map service).

Each prefecture is one square on a grid that keeps the country's shape; a tile is a link that
adds the prefecture to the list's filters, and is named with its count for screen readers. The
page also shows the same counts as a table.
"""

from dataclasses import dataclass
from html import escape

from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

# Prefecture code -> (column, row) on the grid; west to east, north to south.
GRID = {
    "01": (11, 0),
    "02": (11, 1),
    "03": (11, 2),
    "04": (11, 3),
    "05": (10, 2),
    "06": (10, 3),
    "07": (10, 4),
    "08": (11, 5),
    "09": (10, 5),
    "10": (9, 5),
    "11": (9, 6),
    "12": (11, 6),
    "13": (10, 6),
    "14": (9, 7),
    "15": (9, 4),
    "16": (8, 4),
    "17": (7, 4),
    "18": (6, 5),
    "19": (8, 6),
    "20": (8, 5),
    "21": (7, 5),
    "22": (8, 7),
    "23": (7, 6),
    "24": (6, 7),
    "25": (6, 6),
    "26": (5, 5),
    "27": (4, 6),
    "28": (4, 5),
    "29": (5, 6),
    "30": (5, 7),
    "31": (3, 5),
    "32": (2, 5),
    "33": (3, 6),
    "34": (2, 6),
    "35": (1, 6),
    "36": (4, 8),
    "37": (3, 7),
    "38": (2, 7),
    "39": (3, 8),
    "40": (1, 7),
    "41": (0, 7),
    "42": (0, 8),
    "43": (1, 8),
    "44": (2, 8),
    "45": (2, 9),
    "46": (1, 9),
    "47": (0, 11),
}
TILE, GAP = 52, 4
COLUMNS, ROWS = 12, 12
# Fills from light to dark (DADS blue scale); text is dark on the first three, white on the rest.
SHADES = ["#f2f2f2", "#d9e6ff", "#9db7f9", "#264af4", "#0031d8", "#001a96"]


@dataclass
class Tile:
    code: str
    name: str
    short: str
    count: int
    x: int
    y: int
    fill: str
    text: str
    selected: bool
    href: str


def shade(count: int, top: int) -> int:
    if count == 0 or top == 0:
        return 0
    return 1 + min(4, (count * 5 - 1) // top)


def tiles(prefectures, *, selected: str, href) -> list[Tile]:
    """``prefectures``: objects with code, display_name and n (the count); ``href(code=…)`` gives the
    tile's link. The tile shows the whole name, so that the link's name holds what it shows."""
    top = max((p.n for p in prefectures), default=0)
    out = []
    for p in prefectures:
        col, row = GRID[p.code]
        level = shade(p.n, top)
        out.append(
            Tile(
                code=p.code,
                name=p.display_name,
                short=p.display_name,
                count=p.n,
                x=col * (TILE + GAP),
                y=row * (TILE + GAP),
                fill=SHADES[level],
                text="#1a1a1a" if level < 3 else "#ffffff",
                selected=p.code == selected,
                href=href(code=p.code),
            )
        )
    return out


WIDTH = COLUMNS * (TILE + GAP)
HEIGHT = ROWS * (TILE + GAP)


# The map and its table are drawn here rather than in a template: 47 tiles and 47 rows are the
# bulk of the list page, and string formatting draws them in a fraction of the time the template
# engine takes (docs/decisions/0007-case-study-facets.md). Every text is escaped.


def svg(tiles: list[Tile], *, labelled_by: str) -> SafeString:
    name_count = _("%(name)s %(n)s件")
    parts = [
        f'<svg class="japan-map__svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="group" aria-labelledby="{labelled_by}">'
    ]
    for t in tiles:
        label = escape(name_count % {"name": t.name, "n": t.count})
        current = ' aria-current="true"' if t.selected else ""
        stroke, width = ("#1a1a1a", 3) if t.selected else ("#767676", 1)
        cx = t.x + TILE // 2
        parts.append(
            f'<a href="{escape(t.href)}" aria-label="{label}"{current}>'
            f'<rect x="{t.x}" y="{t.y}" width="{TILE}" height="{TILE}" rx="6" fill="{t.fill}" stroke="{stroke}"'
            f' stroke-width="{width}"></rect>'
            f'<text x="{cx}" y="{t.y + 22}" text-anchor="middle" fill="{t.text}" class="japan-map__name">'
            f"{escape(t.short)}</text>"
            f'<text x="{cx}" y="{t.y + 42}" text-anchor="middle" fill="{t.text}" class="japan-map__count">'
            f"{t.count}</text></a>"
        )
    parts.append("</svg>")
    return mark_safe("\n".join(parts))  # noqa: S308 (built from escaped text above)


def table_rows(tiles: list[Tile]) -> SafeString:
    return mark_safe(  # noqa: S308 (built from escaped text)
        "".join(
            f'<tr><th scope="row"><a href="{escape(t.href)}">{escape(t.name)}</a></th><td>{t.count}</td></tr>'
            for t in tiles
        )
    )
