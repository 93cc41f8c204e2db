"""What the browser tests read of an SED plot on a page: its bqplot marks by colour, its legend's toggles."""

from __future__ import annotations

JOB_BLACK, FHL_GREEN, HEAT_PURPLE = (0x11, 0x11, 0x11), (0x2C, 0xA0, 0x2C), (0x3F, 0x00, 0x7D)  # widgets/sed colours
REFIT_PL, REFIT_LP = (0xD6, 0x27, 0x28), (0xE7, 0x29, 0x8A)

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


def toggle(page, group: str, kind: str) -> None:
    """Click the legend toggle of one layer (``kind``: flux points, model, likelihood profiles) of ``group``."""
    rows = page.locator(".portal-sed-legend > *")
    texts = rows.all_inner_texts()
    start = next(i for i, t in enumerate(texts) if t.strip() == group)
    for i in range(start + 1, len(texts)):
        if kind in texts[i]:
            box = rows.nth(i).locator("input[type=checkbox]")
            before = box.is_checked()
            box.click()
            page.wait_for_function("([el, was]) => el.checked !== was", arg=[box.element_handle(), before])
            return
    raise AssertionError(f"no {kind!r} toggle in legend group {group!r}: {texts}")
