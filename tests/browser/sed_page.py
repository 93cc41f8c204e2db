"""What the browser tests read of an SED plot on a page: its bqplot marks by colour, its legend's toggles."""

from __future__ import annotations

JOB_BLACK, FHL_GREEN, HEAT_PURPLE = (0x11, 0x11, 0x11), (0x2C, 0xA0, 0x2C), (0x3F, 0x00, 0x7D)  # widgets/sed colours
REFIT_PL, REFIT_LP = (0xD6, 0x27, 0x28), (0xE7, 0x29, 0x8A)


def on_white(color: tuple, opacity: float) -> tuple:
    """The colour a mark of ``color`` drawn with ``opacity`` has on the white page (catalog points are lighter)."""
    return tuple(round(c * opacity + 255 * (1 - opacity)) for c in color)


FHL_DRAWN = on_white(FHL_GREEN, 0.7)  # the 3FHL points as a screenshot shows them (widgets/sed/figure.py OPACITY)

# marks of a colour that are drawn (a hidden bqplot mark has display: none, so no size)
DRAWN = """([selector, property, color]) => [...document.querySelectorAll('.portal-sed-figure ' + selector)]
    .filter(e => e.style[property] === color && e.getBoundingClientRect().width > 0).length"""


def rgb(color: tuple) -> str:
    return f"rgb({color[0]}, {color[1]}, {color[2]})"


def drawn(page, selector: str, color: tuple, prop: str = "fill") -> int:
    """How many ``selector`` elements of the figure (``path.dot``, ``path.area``, ``path.line``) of ``color`` are drawn."""
    return page.evaluate(DRAWN, [selector, prop, rgb(color)])


def wait_for_drawn(page, selector: str, color: tuple, at_least: int = 1, at_most: int | None = None,
                   prop: str = "fill", timeout: float = 120_000) -> None:
    """Until the figure draws between ``at_least`` and ``at_most`` marks of ``color``."""
    page.wait_for_function(
        f"([s, p, c, lo, hi]) => {{ const n = ({DRAWN})([s, p, c]); return n >= lo && (hi === null || n <= hi); }}",
        arg=[selector, prop, rgb(color), at_least, at_most], timeout=timeout)


def wait_for_dots(page, color: tuple, n: int, timeout: float = 120_000) -> None:
    """Until the figure has ``n`` dots of ``color`` (bqplot draws scatter markers as path.dot)."""
    wait_for_drawn(page, "path.dot", color, n, timeout=timeout)


KIND_CLASS = {"flux points": "portal-sed-points", "likelihood profiles": "portal-sed-profiles", "model": "portal-sed-model"}

# the toggles of a legend group (one line: <b>group</b> then a checkbox per layer): [text, title, kind class]
GROUP_TOGGLES = """(group) => {
    const line = [...document.querySelectorAll('.portal-sed-legend-group')]
        .find(g => [...g.querySelectorAll('b')].some(b => b.textContent.trim() === group));
    if (!line) return null;
    return [...line.querySelectorAll('.portal-sed-toggle')].map(t => [t.textContent.trim(), t.title || '',
        [...t.classList].find(c => ['portal-sed-points', 'portal-sed-profiles', 'portal-sed-model'].includes(c))]);
}"""


def toggle(page, group: str, kind: str) -> None:
    """Click the legend toggle of one layer of ``group``: ``kind`` is a kind of layer (flux points, model,
    likelihood profiles) or words of the toggle's text or tooltip (forward-folded fit)."""
    if page.locator(".portal-sed-legend-box .portal-sed-legend").is_hidden():
        page.click(".portal-sed-legend-header")  # the legend was folded away
    toggles = page.evaluate(GROUP_TOGGLES, group)
    if toggles is None:
        raise AssertionError(f"no legend group {group!r}: {page.inner_text('.portal-sed-legend')}")
    index = next((i for i, (text, title, cls) in enumerate(toggles) if kind in text or kind in title), None)
    if index is None:
        index = next((i for i, (_t, _title, cls) in enumerate(toggles) if cls == KIND_CLASS.get(kind)), None)
    if index is None:
        raise AssertionError(f"no {kind!r} toggle in legend group {group!r}: {toggles}")
    line = page.locator(".portal-sed-legend-group", has=page.locator(f"b:text-is('{group}')"))
    box = line.locator(".portal-sed-toggle input[type=checkbox]").nth(index)
    before = box.is_checked()
    box.click()
    page.wait_for_function("([el, was]) => el.checked !== was", arg=[box.element_handle(), before])
