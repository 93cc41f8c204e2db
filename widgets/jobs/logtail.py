"""What a job's log tab shows: the newest lines, unless the reader asked for earlier ones.

:class:`LogTail` holds the log as it arrives (bytes in order, from Range requests) and the window
of lines in view. It *follows* the log by default: the window is the last ``lines`` lines, and
moves as lines arrive. :meth:`LogTail.earlier` stops following and shows ``page`` more lines above
the window; the window then stays where the reader put it, however many lines arrive, until
:meth:`LogTail.latest` follows the log again. So a reader of earlier lines is never moved to
the bottom, and a reader who did nothing sees the newest line.
"""

from __future__ import annotations

import codecs

__all__ = ["LogTail"]


class LogTail:
    def __init__(self, lines: int = 20, page: int = 200, most: int = 2000) -> None:
        self.lines, self.page, self.most = lines, page, most  # followed, added by earlier(), at most in view
        self.clear()

    def clear(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._done: list[str] = []  # complete lines
        self._open = ""  # the last line, still being written
        self.received = 0  # bytes so far (where the next Range request starts)
        self.following = True
        self._start = self._end = 0  # the window [start, end) when not following

    # -- the log --------------------------------------------------------------------------------------
    def append(self, data: bytes) -> None:
        """The next bytes of the log."""
        self.received += len(data)
        text = self._open + self._decoder.decode(data)
        *complete, self._open = text.split("\n")
        self._done.extend(line.rstrip("\r") for line in complete)

    @property
    def total(self) -> int:
        """Lines in the log so far (a last line without its newline counts)."""
        return len(self._done) + (1 if self._open else 0)

    def _line(self, i: int) -> str:
        return self._done[i] if i < len(self._done) else self._open

    # -- the window -----------------------------------------------------------------------------------
    @property
    def window(self) -> tuple[int, int]:
        """The lines in view, ``[start, end)`` (0-based)."""
        if self.following:
            return max(0, self.total - self.lines), self.total
        return self._start, self._end

    @property
    def text(self) -> str:
        start, end = self.window
        return "\n".join(self._line(i) for i in range(start, end))

    @property
    def hidden_before(self) -> int:
        return self.window[0]

    @property
    def hidden_after(self) -> int:
        """Lines after the window (arrived while the reader reads earlier ones)."""
        return self.total - self.window[1]

    def earlier(self) -> None:
        """Show ``page`` more lines above the window; stop following."""
        start, end = self.window
        start = max(0, start - self.page)
        self._start, self._end, self.following = start, min(end, start + self.most), False

    def latest(self) -> None:
        """Follow the log again: the newest lines."""
        self.following = True

    def status(self) -> str:
        """Which lines are in view, as a reader would say it."""
        start, end = self.window
        if not self.total:
            return "The log is empty so far."
        where = f"lines {start + 1:,} to {end:,} of {self.total:,}"
        if self.following:
            return f"Newest lines ({where}); new lines appear as they come."
        newer = f"; {self.hidden_after:,} newer" if self.hidden_after else ""
        return f"Earlier lines ({where}{newer}); the view stays here until Latest lines."
