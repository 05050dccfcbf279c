"""Reading an uploaded workbook in a child process with capped memory and CPU time.

:mod:`campaign.spreadsheets.bounds` refuses the files whose size is known to be dangerous
before any reader opens them. This is the second wall, for what no count foresaw: the
spreadsheet reader is native code, and when it cannot allocate it aborts the whole process.
In a forked child an abort, an exhausted memory limit or a runaway parse ends only the child,
and the caller gets a :class:`SheetError` to show like any other refusal.
"""

from __future__ import annotations

import faulthandler
import gc
import logging
import os
import pickle
import resource
import signal
import warnings
from collections.abc import Sequence
from typing import Any

from campaign.spreadsheets.reading import Column, SheetError, Table, read_table

log = logging.getLogger(__name__)

#: Memory a reading child may add to what it shares with its parent: the reader's grid of a
#: sheet at every bound of bounds.py takes about 400 MB. The app's setting is
#: ``IMPORT_MEMORY_LIMIT`` (``IMPORT_MEMORY_LIMIT_MB`` in the environment).
DEFAULT_MEMORY_LIMIT = 2048 * 1024 * 1024
#: CPU seconds a reading child may use; reading 150.000 rows takes a few.
DEFAULT_CPU_LIMIT = 120


def read_table_isolated(
    data: bytes,
    columns: Sequence[Column],
    memory_limit: int = DEFAULT_MEMORY_LIMIT,
    cpu_limit: int = DEFAULT_CPU_LIMIT,
) -> Table:
    """:func:`read_table` in a forked child; a child that dies is a file refused."""
    return Reading(data, columns, memory_limit, cpu_limit).table()


class Reading:
    """A workbook being read in a forked child: the caller may query the database
    meanwhile, then takes the :meth:`table` (which it must, to reap the child)."""

    def __init__(
        self,
        data: bytes,
        columns: Sequence[Column],
        memory_limit: int = DEFAULT_MEMORY_LIMIT,
        cpu_limit: int = DEFAULT_CPU_LIMIT,
    ) -> None:
        self.pid: int | None = None
        if not hasattr(os, "fork"):  # no fork, no wall: the bounds still hold
            self.data, self.columns = data, columns
            return
        self.receive, send = os.pipe()
        with warnings.catch_warnings():
            # Python 3.12 warns about forking a threaded process, because a lock another
            # thread held stays held in the child. The child below takes no lock: it imports
            # nothing, logs nothing, touches no connection, and leaves through os._exit.
            warnings.simplefilter("ignore", DeprecationWarning)
            self.pid = os.fork()
        if self.pid == 0:  # pragma: no cover (the child's coverage is not collected)
            # A collection would walk every object inherited from the server, touching (and
            # so copying) its pages; the short-lived child makes no cycles worth collecting.
            gc.disable()
            os.close(self.receive)
            _child(send, data, columns, memory_limit, cpu_limit)
        os.close(send)

    def table(self) -> Table:
        """The child's table, or its :class:`SheetError`; waits for the child to end."""
        if self.pid is None:
            return read_table(self.data, self.columns)
        with os.fdopen(self.receive, "rb") as stream:
            message = stream.read()
        # Unpickled before waiting: the child's exit (unmapping its memory) runs meanwhile.
        try:
            outcome, value = pickle.loads(message)
        except Exception:  # nothing, or half a message: the child died while writing
            outcome, value = "died", None
        _, status = os.waitpid(self.pid, 0)
        if outcome == "died" or not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
            log.warning("a workbook's reading process ended with status %d: file refused", status)
            raise SheetError("too_costly")  # killed by a limit, or aborted by the reader
        if outcome == "error":
            code, params = value
            raise SheetError(code, **params)
        return value


def _child(
    send: int, data: bytes, columns: Sequence[Column], memory_limit: int, cpu_limit: int
) -> None:
    """Reads, writes the outcome to ``send`` and exits; never returns."""
    code = 1
    try:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        faulthandler.disable()
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)  # the reader's dying words would only fill the server's log
        space = _address_space() + memory_limit
        resource.setrlimit(resource.RLIMIT_AS, (space, space))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_limit, cpu_limit))
        result: tuple[str, Any]
        try:
            result = ("table", read_table(data, columns))
        except SheetError as error:
            result = ("error", (error.code, error.params))
        with os.fdopen(send, "wb") as stream:
            stream.write(pickle.dumps(result, pickle.HIGHEST_PROTOCOL))
        code = 0
    finally:
        os._exit(code)


def _address_space() -> int:
    """Bytes of address space this process holds now (it inherits its parent's)."""
    with open("/proc/self/statm", encoding="ascii") as statm:
        pages = int(statm.read().split()[0])
    return pages * resource.getpagesize()
