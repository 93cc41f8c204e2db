"""Reading the answers of the TAP service in the reliability tests."""

from __future__ import annotations

import io
import warnings

from astropy.io.votable import parse


def error_message(content: bytes) -> str | None:
    """The message of a DALI error document (QUERY_STATUS=ERROR), or None if it is not one."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            votable = parse(io.BytesIO(content))
        infos = [i for i in votable.resources[0].infos if i.name == "QUERY_STATUS"]
    except Exception:  # noqa: BLE001 - not a VOTable at all
        return None
    if not infos or infos[0].value != "ERROR":
        return None
    return (infos[0].content or "").strip() or None


def table(content: bytes):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return parse(io.BytesIO(content)).get_first_table().to_table()
