"""Starting the Streamlit dashboard for a workspace, in the foreground (CLI) or in the background."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from importlib import resources
from pathlib import Path

from .errors import UserError

log = logging.getLogger(__name__)


def app_path() -> Path:
    return Path(str(resources.files("dashboard").joinpath("app.py")))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def command(port: int) -> list[str]:
    """The server: `streamlit run` through dashboard/server.py, which imports the pages' libraries first."""
    return [sys.executable, "-m", "dashboard.server", str(app_path()), *options(port)]


def options(port: int) -> list[str]:
    """The options of `streamlit run` the dashboard is served with (benchmarks serve their bare page with them too)."""
    return [
        "--server.headless",
        "true",
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(port),
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
        # no full garbage collection after every script run: a tenth of a second per click with a million
        # judgments' frames in memory; Python's own collector still runs
        "--runner.postScriptGC",
        "false",
    ]


def wait_until_serving(process: subprocess.Popen, url: str, timeout_s: float) -> None:
    """Until the Streamlit server at `url` answers its health check; UserError if it exits first or times out
    (the caller stops it)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            out = process.stdout.read().decode(errors="replace") if process.stdout else ""
            raise UserError(f"the dashboard exited at start: {out.strip().splitlines()[-1] if out.strip() else '?'}")
        try:
            with urllib.request.urlopen(url + "_stcore/health", timeout=1) as r:
                if r.read().strip() == b"ok":
                    return
        except OSError:
            time.sleep(0.3)
    raise UserError(f"the dashboard did not answer on {url} within {timeout_s:.0f} s")


def _env(workspace: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["JUDGESCOPE_WORKSPACE"] = str(Path(workspace).resolve())
    env.setdefault("HF_HUB_OFFLINE", "1")
    return env


def _end(process: subprocess.Popen) -> None:
    """Stop a server process: terminate, and kill it if it has not exited within 10 s."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def prepare(workspace: Path) -> None:
    """While the server starts: the audit of the whole workspace, and the tables of the Judges and Rubrics pages,
    kept beside it (reliability/saved.py), so those pages' first visit reads them instead of computing them
    (seconds at a million judgments). A workspace another process is writing is left as it is (the page computes
    what it needs). A connection this process did not have before is closed after, so the file's lock is not held
    while the server runs."""
    from . import store
    from .workspace import Workspace

    was_open = store.is_open(workspace)
    try:
        ws = Workspace(workspace, read_only=True)
        ws.audit()
        ws.audit.judge_tables()
        ws.rubrics.summary()
    except Exception as exc:  # noqa: BLE001 - only a head start: the page computes what it needs
        log.info("audit not prepared: %s", exc)
    finally:
        if not was_open:
            store.close(workspace)


def serve_foreground(workspace: Path, port: int = 8501) -> int:
    """Serve until the Streamlit server exits or this process is told to stop (Ctrl+C, SIGTERM, SIGHUP): the
    server goes with it, never left serving on its own."""
    import signal

    child = subprocess.Popen(command(port), env=_env(workspace), cwd=str(app_path().parent.parent))

    def stop(signum, frame):  # noqa: ARG001 - the signal handler's signature
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        print(f"judgescope dashboard for {workspace}: preparing the judge audit …", end=" ", flush=True)
        prepare(workspace)
        print(f"http://127.0.0.1:{port}/  (Ctrl+C stops it)", flush=True)
        return child.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        _end(child)


class DashboardServer:
    """A dashboard running in the background; `.url`, `.stop()`; shows inline in Jupyter."""

    def __init__(self, workspace: Path, port: int | None = None, timeout_s: float = 60.0):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.process = subprocess.Popen(
            command(self.port),
            env=_env(workspace),
            cwd=str(app_path().parent.parent),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            prepare(workspace)
        except BaseException:  # interrupted while preparing: no server left serving on its own
            _end(self.process)
            raise
        try:
            wait_until_serving(self.process, self.url, timeout_s)
        except UserError:
            self.stop()
            raise

    on_stop: Callable[[], None] | None = None

    def stop(self) -> None:
        _end(self.process)
        if self.on_stop:
            self.on_stop()

    def _repr_html_(self) -> str:
        return f'<iframe src="{self.url}" width="100%" height="800" style="border:1px solid #ddd"></iframe>'

    def __repr__(self) -> str:
        return f"DashboardServer({self.url})"
