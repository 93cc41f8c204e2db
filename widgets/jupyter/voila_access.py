"""Who may use the dashboards' standalone Voila (`portal up`), and which notebooks it serves.

A dashboard's kernel acts as ``PORTAL_TOKEN``'s owner (it launches jobs as them), so whoever reaches Voila's
port acts as that user. Jupyter's answer is a token, and Voila 0.5 has Jupyter's (``Voila.token``, checked by
jupyter_server's ``IdentityProvider`` on every page, API call and websocket; a token in the URL, ``?token=``,
sets a login cookie for the rest of the visit):

* :func:`widgets.jupyter.voila_token.voila_token` is the token `portal up` asks for: ``PORTAL_VOILA_TOKEN``
  when set, else a new random one at each start; ``None`` only when the user said so (``portal up --no-token`` or
  ``PORTAL_VOILA_AUTH=none``). `portal up` gives it to Voila in Jupyter's ``JUPYTER_TOKEN`` variable (the
  environment of a process is private to its user; its command line is not), and prints the dashboard's URL
  with it, as Jupyter does. Without it, a page goes to the login form (the template's ``login.html``), where
  setting a password is off (voila.json): Jupyter would write it to a ``jupyter_server_config.json``.
* :class:`DashboardsOnly` is the contents manager: only the notebooks at the top of the served folder (the
  dashboards of ``notebooks/``) are listed, rendered or read; a sub-folder (``tutorials/``, notebooks for
  JupyterLab that launch jobs from code) answers 404 and runs no kernel.
* :class:`AuthenticatedRequestInfo`: Voila's ``/voila/query/<kernel id>`` websocket, which hands a
  preheated kernel's page the request (its URL, the token included), asks for the token too.

Voila inside a Jupyter server (Binder, JupyterHub) uses the server's authentication and contents manager and
none of this.
"""

from __future__ import annotations

import os

from jupyter_core.utils import ensure_async
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.base.websocket import WebSocketMixin
from jupyter_server.services.contents.largefilemanager import LargeFileManager
from tornado.web import HTTPError
from voila.request_info_handler import RequestInfoSocketHandler


class DashboardsOnly(LargeFileManager):
    """Voila's contents manager, serving only the notebooks at the top of its folder (no sub-folder)."""

    def served(self, path: str) -> bool:
        path = path.strip("/")
        if not path:
            return True
        return "/" not in path and not os.path.isdir(os.path.join(self.root_dir, path))

    def is_hidden(self, path):
        return not self.served(path) or super().is_hidden(path)

    def file_exists(self, path=""):
        return self.served(path) and super().file_exists(path)

    def dir_exists(self, path):
        return self.served(path) and super().dir_exists(path)

    def exists(self, path):
        return self.served(path) and super().exists(path)

    def should_list(self, name):  # only the top folder is ever listed: leave its sub-folders out
        return super().should_list(name) and not os.path.isdir(os.path.join(self.root_dir, name))

    def get(self, path, content=True, type=None, format=None, **kwargs):
        if not self.served(path):
            raise HTTPError(404, "file or directory does not exist: %r", path.strip("/"))
        return super().get(path, content=content, type=type, format=format, **kwargs)


class AuthenticatedRequestInfo(WebSocketMixin, RequestInfoSocketHandler, JupyterHandler):
    """Voila's request-info websocket (preheated kernels), refused (403) without the token or its cookie."""

    async def get(self, *args, **kwargs):
        identity_provider = self.settings.get("identity_provider")
        user = await ensure_async(identity_provider.get_user(self)) if identity_provider else None
        if user is None:
            raise HTTPError(403, "Unauthenticated")
        return await super().get(*args, **kwargs)
