"""``pinlock sync``: make an environment contain exactly what one or more locks say.

One entry point: ``sync(SyncRequest(...)) -> SyncReport`` (``run``). Its steps: ``environment``
finds and inspects the target, ``flavours`` picks the lock for this machine's GPU, ``locks``
selects the lock lines for the target, ``plan`` diffs them (pure), and ``apply`` changes the
environment all-or-nothing: ``fetch`` gets verified files, ``install`` builds and installs them
through ``piprun``, ``snapshot`` saves what goes away and puts it back on failure.
"""

from pinlock.sync.report import SyncReport
from pinlock.sync.run import SyncRequest, sync

__all__ = ["SyncReport", "SyncRequest", "sync"]
