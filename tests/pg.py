"""A real, throw-away PostgreSQL server for tests.

    from tests.pg import pg_url, postgres_server   # pg_url: a session-scoped fixture

    def test_something(pg_url):                      # one server for the whole session
        WarehouseResource(url=pg_url).read_table(...)

    with postgres_server(tmp_path) as url:           # or a server of your own
        ...

The URL is ``postgresql://postgres@.../creditpipe...`` (trust authentication, an empty
database ``creditpipe``), what ``source.url`` of a portfolio config and
``pipelines.resources.WarehouseResource`` accept. The server stops when the block exits
(and, as a backstop, when the Python process exits); its data directory is removed.

How it starts, in order (``backend="auto"``):

1. the ``pgserver`` wheel (PostgreSQL 16 binaries inside the wheel, a test dependency):
   ``pgserver.get_server(data_dir, cleanup_mode="stop")``, listening on a unix socket
   only (no TCP port to collide with). **As root** initdb refuses to run, so pgserver runs
   the server as an unprivileged OS user ``pgserver`` that it creates with ``useradd``
   and widens the read/traverse permissions of the data directory's parents; that is why,
   as root, the data directory is a fresh directory under the system temp dir rather
   than under ``base_dir``.
2. if that fails (no wheel, no ``useradd``, ...): PostgreSQL binaries found on the machine
   (``pg_ctl`` on PATH, ``/usr/lib/postgresql/<version>/bin``, or the wheel's own), run as
   the current user, or as root under an existing unprivileged user (``postgres``, else
   ``nobody``), listening on 127.0.0.1 on a free port.

Set ``CREDITPIPE_TEST_PG=pgserver`` or ``=binaries`` to force one way. When neither works
the error says why and shows the server log: a test needing PostgreSQL fails, it never
skips silently.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

__all__ = ["PostgresStartError", "pg_url", "postgres_server"]

DATABASE = "creditpipe"
USER = "postgres"  # the database superuser name (trust authentication)


class PostgresStartError(RuntimeError):
    """No PostgreSQL test server could be started; the message says why."""


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _create_database(admin_url: str, database: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True, connect_timeout=10) as con:
        con.execute(f'CREATE DATABASE "{database}"')


def _with_database(url: str, database: str) -> str:
    """``postgresql://user:@/postgres?host=...`` -> the same URL on ``database``."""
    head, sep, query = url.partition("?")
    base, _, _ = head.rpartition("/")
    return f"{base}/{database}{sep}{query}"


# --------------------------------------------------------------------------- pgserver


@contextlib.contextmanager
def _pgserver(data_dir: Path, database: str) -> Iterator[str]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        import pgserver

        try:
            server = pgserver.get_server(data_dir, cleanup_mode="stop")
        except BaseException:
            # e.g. its 10 s start timeout under load: stop what may still be starting
            if (data_dir / "postmaster.pid").exists():
                with contextlib.suppress(Exception):
                    pgserver.pg_ctl(["-m", "immediate", "-w", "stop"], pgdata=data_dir,
                                    user="pgserver" if _is_root() else None, timeout=60)
            raise
    try:
        admin = server.get_uri()  # postgresql://postgres:@/postgres?host=<socket dir>
        _create_database(admin, database)
        yield _with_database(admin, database)
    finally:
        server.cleanup()  # pg_ctl -w stop (fast mode: open sessions are closed)


# --------------------------------------------------------------------------- binaries


def _bin_dirs() -> list[Path]:
    found: list[Path] = []
    on_path = shutil.which("pg_ctl")
    if on_path:
        found.append(Path(on_path).resolve().parent)
    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: _version(p.parent.name), reverse=True)
    found += debian
    with contextlib.suppress(ImportError):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pgserver

        found.append(Path(pgserver.__file__).parent / "pginstall" / "bin")
    return [d for d in dict.fromkeys(found) if (d / "initdb").is_file() and (d / "pg_ctl").is_file()]


def _version(name: str) -> tuple[int, ...]:
    return tuple(int(p) for p in name.split(".") if p.isdigit())


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(cmd: list[str], user: str | None, timeout: float = 60) -> None:
    proc = subprocess.run(cmd, user=user, capture_output=True, text=True, timeout=timeout, cwd="/")
    if proc.returncode != 0:
        raise PostgresStartError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")


@contextlib.contextmanager
def _binaries(data_dir: Path, database: str) -> Iterator[str]:
    dirs = _bin_dirs()
    if not dirs:
        raise PostgresStartError("no PostgreSQL binaries found (pg_ctl on PATH, /usr/lib/postgresql/*/bin or pgserver)")
    bindir = dirs[0]
    user = None
    if _is_root():
        user = next((u for u in ("postgres", "nobody") if _user_exists(u)), None)
        if user is None:
            raise PostgresStartError("running as root and no unprivileged user (postgres, nobody) to run PostgreSQL as")
        entry = pwd.getpwnam(user)
        os.chown(data_dir, entry.pw_uid, entry.pw_gid)
        for parent in data_dir.parents:  # the server user must reach its data directory
            if parent.stat().st_mode & 0o005 != 0o005:
                raise PostgresStartError(f"{parent} is not traversable by user {user}; use a base_dir under /tmp")
    pgdata = data_dir / "pgdata"
    log = data_dir / "server.log"
    port = _free_port()
    _run([str(bindir / "initdb"), "-D", str(pgdata), "-U", USER, "--auth=trust", "--encoding=UTF8",
          "--no-sync", "--locale=C"], user, timeout=120)
    started = False
    try:
        _run([str(bindir / "pg_ctl"), "-D", str(pgdata), "-l", str(log), "-w", "-t", "60",
              "-o", f"-h 127.0.0.1 -p {port} -k ''", "start"], user, timeout=90)
        started = True
        admin = f"postgresql://{USER}@127.0.0.1:{port}/postgres"
        _create_database(admin, database)
        yield f"postgresql://{USER}@127.0.0.1:{port}/{database}"
    except PostgresStartError as exc:
        tail = log.read_text(errors="replace")[-4000:] if log.exists() else ""
        raise PostgresStartError(f"{exc}\nserver log:\n{tail}") from None
    finally:
        if started or (pgdata / "postmaster.pid").exists():
            subprocess.run([str(bindir / "pg_ctl"), "-D", str(pgdata), "-m", "fast", "-w", "stop"],
                           user=user, capture_output=True, timeout=60, cwd="/")


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


# --------------------------------------------------------------------------- public API


@contextlib.contextmanager
def postgres_server(base_dir: str | Path | None = None, *, database: str = DATABASE,
                    backend: str | None = None) -> Iterator[str]:
    """Start a throw-away PostgreSQL server; yield its SQLAlchemy URL; stop it on exit.

    ``base_dir`` holds the data directory (a fresh sub-directory; as root a fresh
    directory under the system temp dir is used instead, see the module docstring).
    ``backend`` is ``"pgserver"``, ``"binaries"`` or ``"auto"`` (default, or the
    ``CREDITPIPE_TEST_PG`` environment variable).
    """
    backend = backend or os.environ.get("CREDITPIPE_TEST_PG", "auto")
    if backend not in ("auto", "pgserver", "binaries"):
        raise ValueError(f"backend must be auto, pgserver or binaries, got {backend!r}")
    parent = None if (base_dir is None or _is_root()) else Path(base_dir)
    if parent is not None:
        parent.mkdir(parents=True, exist_ok=True)
    tried: list[str] = []
    for name, start in (("pgserver", _pgserver), ("binaries", _binaries)):
        if backend not in ("auto", name):
            continue
        work = Path(tempfile.mkdtemp(prefix="cp-pg-", dir=parent))
        work.chmod(0o755)
        stack = contextlib.ExitStack()
        stack.callback(_remove, work)
        try:
            url = stack.enter_context(start(work / "data" if name == "pgserver" else work, database))
        except Exception as exc:  # try the next way; remember why this one failed
            stack.close()
            tried.append(f"{name}: {exc.__class__.__name__}: {exc}")
            continue
        with stack:  # stops the server, then removes its directory, also on an error
            yield url
        return
    raise PostgresStartError("could not start a PostgreSQL test server:\n" + "\n".join(tried))


def _remove(path: Path) -> None:
    for _ in range(3):
        shutil.rmtree(path, ignore_errors=True)
        if not path.exists():
            return
        time.sleep(0.2)


_SHARED: dict = {"stack": None, "url": None, "users": 0}


@pytest.fixture(scope="session")
def pg_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One PostgreSQL server for the test session: its URL (database ``creditpipe``).

    Import it into a test module (``from tests.pg import pg_url``) or into conftest.py;
    modules that import it separately still share the one server.
    """
    if _SHARED["url"] is None:
        stack = contextlib.ExitStack()
        _SHARED["url"] = stack.enter_context(postgres_server(tmp_path_factory.mktemp("postgres")))
        _SHARED["stack"] = stack
    _SHARED["users"] += 1
    try:
        yield _SHARED["url"]
    finally:
        _SHARED["users"] -= 1
        if _SHARED["users"] == 0:
            stack, _SHARED["stack"], _SHARED["url"] = _SHARED["stack"], None, None
            stack.close()
