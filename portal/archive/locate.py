"""Where the archive keeps observations: obs ids -> GADF release folders (for the analysis jobs).

Fast and light on imports: sqlite3 and the job-definition dataclasses only.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import quote

from portal.uws.definitions import ObservationLocation, UsageError

_SQL = ('SELECT o."obs_number", r."path", o."target_name", o."s_ra", o."s_dec" '
        'FROM "ivoa.obscore" AS o LEFT JOIN "archive_release" AS r ON r.id = o."release_id" '
        'WHERE o."obs_number" IN ({marks}) ORDER BY r.id, o."_id"')


def locate_observations(db_path: Path, obs_ids: list[int]) -> list[ObservationLocation]:
    """The release folder of each observation, in the order asked.

    Raises :class:`UsageError` naming the obs ids the archive does not know (or holds without files,
    such as synthetic rows). An obs id present in several releases resolves to the release ingested
    first.
    """
    wanted = [int(i) for i in obs_ids]
    found: dict[int, ObservationLocation] = {}
    no_files: list[int] = []
    if wanted and Path(db_path).exists():
        conn = sqlite3.connect(f"file:{quote(str(db_path))}?mode=ro", uri=True)
        try:
            unique = sorted(set(wanted))
            for start in range(0, len(unique), 500):
                chunk = unique[start:start + 500]
                sql = _SQL.format(marks=", ".join("?" * len(chunk)))
                for number, path, target, ra, dec in conn.execute(sql, chunk):
                    if number in found:
                        continue
                    if path is None:
                        no_files.append(number)
                        continue
                    found[number] = ObservationLocation(number, Path(path), target, ra, dec)
        except sqlite3.Error as exc:
            raise UsageError(f"the archive cannot be read ({exc})") from None
        finally:
            conn.close()
    unknown = [i for i in dict.fromkeys(wanted) if i not in found and i not in no_files]
    problems = []
    if unknown:
        problems.append(f"unknown obs id{'s' if len(unknown) > 1 else ''}: {', '.join(map(str, unknown))}")
    without = [i for i in dict.fromkeys(no_files) if i not in found]
    if without:
        problems.append(f"obs id{'s' if len(without) > 1 else ''} {', '.join(map(str, without))} "
                        "have no data files (synthetic rows)")
    if problems:
        raise UsageError("; ".join(problems) + " (search the archive for valid ids)")
    return [found[i] for i in wanted]
