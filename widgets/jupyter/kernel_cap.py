"""A cap on the kernels of the dashboards' standalone Voila (`portal up`): a page beyond it gets a sentence.

Every dashboard page holds a kernel (300 MB or so once the portal's widgets are imported) until the page is
closed, or culled 10 minutes after its connection went away. With no cap, a few pages opened at once fill the
machine's memory. :class:`CappedKernelManager` is Voila's ``VoilaConfiguration.multi_kernel_manager_class``
(``widgets/jupyter/config/voila.json``): Jupyter's kernel manager, counting the kernels running and starting,
the preheated pool's included, against ``max_kernels`` (8 by default, ``PORTAL_VOILA_MAX_KERNELS``).

* A visitor's page that needs a new kernel when the cap is reached starts none: the page answers 503 with
  :data:`SENTENCE` and a ``Retry-After`` (:class:`KernelCapReached`, shown by the template's ``503.html``).
  A visitor who gets a preheated kernel starts none, so the pool's kernel is always offered.
* The pool's refill (Voila starts it ``fill_delay`` seconds after a visitor took the pooled kernel) waits for
  a free place instead, and is not offered to visitors while it waits (:meth:`is_waiting`).
* A kernel shut down (its page closed, or culled) frees its place at once.

Only standalone Voila uses it: Voila inside a Jupyter server (Binder, JupyterHub) keeps the server's manager.
"""

from __future__ import annotations

import asyncio
import uuid

from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from tornado.web import HTTPError
from traitlets import Integer

DEFAULT_MAX_KERNELS = 8
RETRY_AFTER = 120  # seconds: "try again in a few minutes"
SENTENCE = ("The portal is serving as many dashboards as it can ({cap}); close another dashboard tab or try again "
            "in a few minutes.")


class KernelCapReached(HTTPError):
    """No kernel for this page: the cap is reached. A 503 whose message is :data:`SENTENCE`."""

    def __init__(self, cap: int):
        super().__init__(503, "%s", SENTENCE.format(cap=cap), reason="Too many dashboards open")
        self.cap = cap


class CappedKernelManager(AsyncMappingKernelManager):
    """Jupyter's kernel manager with at most ``max_kernels`` kernels running or starting."""

    max_kernels = Integer(DEFAULT_MAX_KERNELS, min=1, config=True,
                          help="Kernels (the preheated pool's included) that may run or start at once.")

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._starting: set[str] = set()  # ids of the kernels being started (past the check, not yet returned)
        self._waiting: set[asyncio.Task] = set()  # pool refills waiting for a free place
        self._freed: asyncio.Event | None = None

    def places_taken(self) -> int:
        """Kernels running or starting, each once (a starting kernel has its id from the start: this gives it)."""
        return len(set(self._kernels) | set(self._pending_kernels) | self._starting)

    def is_waiting(self, task: asyncio.Future) -> bool:
        """Whether the pool entry ``task`` is waiting for a free place (it has no kernel to offer yet)."""
        return task in self._waiting

    async def start_kernel(self, *args, **kwargs):
        if kwargs.get("kernel_id") is not None and kwargs["kernel_id"] in self:
            return await super().start_kernel(*args, **kwargs)  # an existing kernel: nothing started
        if self.places_taken() >= self.max_kernels:
            if (kwargs.get("env") or {}).get("VOILA_PREHEAT") != "True":
                self.log.warning("Kernel cap of %d reached: a page was refused", self.max_kernels)
                raise KernelCapReached(self.max_kernels)
            self.log.info("Kernel cap of %d reached: the pool's refill waits for a place", self.max_kernels)
            await self._wait_for_a_place()
        kernel_id = kwargs["kernel_id"] = kwargs.get("kernel_id") or str(uuid.uuid4())
        self._starting.add(kernel_id)  # counted from here, before any await: two pages cannot both take the last place
        try:
            return await super().start_kernel(*args, **kwargs)
        finally:
            self._starting.discard(kernel_id)

    async def _wait_for_a_place(self) -> None:
        task = asyncio.current_task()
        self._waiting.add(task)
        try:
            while self.places_taken() >= self.max_kernels:
                if self._freed is None:
                    self._freed = asyncio.Event()
                freed = self._freed
                try:  # a kernel that died is removed without a shutdown: look again now and then
                    await asyncio.wait_for(freed.wait(), timeout=10)
                except asyncio.TimeoutError:
                    pass
                if self._freed is freed and freed.is_set():
                    self._freed = None
        finally:
            self._waiting.discard(task)

    async def shutdown_kernel(self, *args, **kwargs):
        try:
            return await super().shutdown_kernel(*args, **kwargs)
        finally:
            if self._freed is not None:
                self._freed.set()
