"""How `portal serve` serves its application (:func:`portal.serving.server.serve`).

- :mod:`portal.serving.protocol`: request head and body timeouts, a connection limit (503 beyond);
- :mod:`portal.serving.accesslog`: the access log without query-string values;
- :mod:`portal.serving.server`: a server that, told to stop, first ends what would hold the stop (blocking UWS ``WAIT``\\ s: the
  ``on_stop`` callbacks), then gives requests in progress ``shutdown_timeout`` seconds;
- :mod:`portal.serving.origin` and :mod:`portal.serving.compression` are parts of the application
  itself (the host in absolute URLs, gzip), so that they hold however it is served.
"""
