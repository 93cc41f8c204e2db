"""TAP request bodies read as they stream in, with running caps: nothing is read past a limit.

``multipart/form-data`` goes through python-multipart's streaming parser (as Starlette does);
each file part may hold at most ``max_upload_bytes``, all of them together ``max_request_bytes``,
the other fields :data:`~portal.archive.limits.MAX_FORM_BYTES`. The moment a part passes its cap
the request is answered (413) and the rest of the body is never read; a ``Content-Length`` above
the request cap is refused before the first byte. ``application/x-www-form-urlencoded`` bodies
hold no files, so they are capped at the field limit.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from fastapi import Request
from python_multipart.multipart import MultipartParser, parse_options_header

from portal.archive.errors import TapError
from portal.archive.limits import MAX_FORM_BYTES, Limits

__all__ = ["read_form"]

MAX_PARTS = 64
MAX_FIELDS = 256


class _Part:
    def __init__(self) -> None:
        self.headers: list[tuple[bytes, bytes]] = []
        self.name = ""
        self.filename: str | None = None
        self.data = bytearray()


class _Collector:
    """python-multipart callbacks that keep the parts and enforce the caps as data arrives."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self.fields: list[tuple[str, str]] = []
        self.files: dict[str, bytes] = {}
        self.file_names: list[tuple[str, str]] = []
        self.part = _Part()
        self.header_name = bytearray()
        self.header_value = bytearray()
        self.file_bytes = 0
        self.field_bytes = 0
        self.parts = 0

    def on_part_begin(self) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise TapError(f"the request has more than {MAX_PARTS} parts")
        self.part = _Part()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        self.part.headers.append((bytes(self.header_name).lower(), bytes(self.header_value)))
        self.header_name, self.header_value = bytearray(), bytearray()

    def on_headers_finished(self) -> None:
        disposition = next((v for k, v in self.part.headers if k == b"content-disposition"), b"")
        _, options = parse_options_header(disposition)
        if b"name" not in options:
            raise TapError("a part of the form has no name (Content-Disposition: form-data; name=...)")
        self.part.name = options[b"name"].decode("utf-8", "replace")
        if b"filename" in options:
            self.part.filename = options[b"filename"].decode("utf-8", "replace")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        size = end - start
        part = self.part
        if part.filename is None:
            self.field_bytes += size
            if self.field_bytes > MAX_FORM_BYTES:
                raise TapError(f"the form fields are larger than {MAX_FORM_BYTES:,} bytes", 413)
        else:
            self.file_bytes += size
            if len(part.data) + size > self.limits.max_upload_bytes:
                raise TapError(f"the uploaded part {part.name} is larger than {self.limits.max_upload_bytes:,} "
                               "bytes, the limit for one table", 413)
            if self.file_bytes > self.limits.max_request_bytes:
                raise TapError(f"the uploaded parts are larger than {self.limits.max_request_bytes:,} bytes "
                               "in total, the limit for one request", 413)
        part.data += data[start:end]

    def on_part_end(self) -> None:
        part = self.part
        if part.filename is None:
            if len(self.fields) >= MAX_FIELDS:
                raise TapError(f"the form has more than {MAX_FIELDS} fields")
            self.fields.append((part.name, part.data.decode("utf-8", "replace")))
            return
        if part.name in self.files:
            raise TapError(f"two uploaded parts are named {part.name}")
        self.files[part.name] = bytes(part.data)
        self.file_names.append((part.name, part.filename))

    def callbacks(self) -> dict:
        return {name: getattr(self, name) for name in (
            "on_part_begin", "on_header_field", "on_header_value", "on_header_end", "on_headers_finished",
            "on_part_data", "on_part_end")}


async def read_form(request: Request, limits: Limits) -> tuple[list[tuple[str, str]], dict[str, bytes]]:
    """The form fields, in order (file parts as (name, filename)), and the file parts' contents."""
    content_type, options = parse_options_header(request.headers.get("content-type"))
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limits.max_request_bytes + MAX_FORM_BYTES:
        raise TapError(f"the request body ({int(declared):,} bytes) is larger than this service accepts "
                       f"({limits.max_request_bytes:,} bytes of uploads per request)", 413)
    if content_type == b"multipart/form-data":
        boundary = options.get(b"boundary")
        if not boundary:
            raise TapError("the multipart form has no boundary")
        collector = _Collector(limits)
        parser = MultipartParser(boundary, collector.callbacks())
        try:
            async for chunk in request.stream():
                parser.write(chunk)
            parser.finalize()
        except TapError:
            raise
        except Exception as exc:  # noqa: BLE001 - python-multipart's errors are the client's malformed body
            raise TapError(f"the request body cannot be read as a multipart form: {exc}") from None
        return collector.fields + collector.file_names, collector.files
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise TapError(f"the form is larger than {MAX_FORM_BYTES:,} bytes (uploads go in a multipart "
                           "form)", 413)
    if not body:
        return [], {}
    if content_type not in (b"application/x-www-form-urlencoded", b""):
        raise TapError(f"a TAP request body must be a form (application/x-www-form-urlencoded or "
                       f"multipart/form-data), not {content_type.decode('latin-1')}", 415)
    try:
        return parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FIELDS), {}
    except (UnicodeDecodeError, ValueError) as exc:
        raise TapError(f"the form cannot be read: {exc}") from None
