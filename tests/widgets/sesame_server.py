"""A loopback HTTP server that answers as CDS Sesame does (``/-oxp/SNV?name``, Sesame 4 XML)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

# name -> (resolver, canonical name, ra, dec), as Simbad would answer
KNOWN = {
    "crab": ("S=Simbad (via url):    1", "M   1", 83.63308, 22.01450),
    "pks 2155-304": ("S=Simbad (via url):    1", "PKS  2155-304", 329.71694, -30.22559),
    "ngc 1068": ("N=NED (local):    1", "MESSIER 077", 40.66963, -0.01328),
    "msh 15-52": ("S=Simbad (via url):    1", "SNR G320.4-01.2", 228.48, -59.16),
}

FOUND = """<?xml version="1.0" encoding="UTF-8"?>
<Sesame xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="http://vizier.u-strasbg.fr/xml/sesame_4x.xsd">
<Target option="SNV">
  <name>{query}</name>
  <INFO>from cache</INFO>
  <Resolver name="{resolver}">
    <INFO>*** loopback</INFO>
    <otype>SNR</otype>
    <jpos>05:34:31.93 +22:00:52.2</jpos>
    <jradeg>{ra}</jradeg>
    <jdedeg>{dec}</jdedeg>
    <oname>{oname}</oname>
  </Resolver>
</Target>
</Sesame>
"""

NOT_FOUND = """<?xml version="1.0" encoding="UTF-8"?>
<Sesame xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="http://vizier.u-strasbg.fr/xml/sesame_4x.xsd">
<Target option="SNV">
  <name>{query}</name>
  <INFO>*** Simbad: Nothing found for {query}</INFO>
  <Resolver name="S=Simbad (via url):    0"><INFO>*** Nothing found ***</INFO></Resolver>
  <Resolver name="N=NED (local):    0"><INFO>*** Nothing found ***</INFO></Resolver>
</Target>
</Sesame>
"""


class SesameHandler(BaseHTTPRequestHandler):
    requests: list[str]  # set on the subclass made per server

    def do_GET(self):  # noqa: N802 - http.server API
        parts = urlsplit(self.path)
        self.requests.append(self.path)
        if not parts.path.endswith("/-oxp/SNV"):
            self.send_error(404)
            return
        query = unquote(parts.query)
        known = KNOWN.get(" ".join(query.lower().split()))
        if known:
            resolver, oname, ra, dec = known
            body = FOUND.format(query=query, resolver=resolver, oname=oname, ra=ra, dec=dec)
        else:
            body = NOT_FOUND.format(query=query)
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


class SesameServer:
    def __init__(self) -> None:
        handler = type("Handler", (SesameHandler,), {"requests": []})
        self.requests = handler.requests
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/cgi-bin/nph-sesame"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> "SesameServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
