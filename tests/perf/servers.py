"""Start and stop the processes a benchmark measures: gunicorn, localstripe, Celery workers."""
import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.error import URLError
from urllib.request import urlopen

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# Sync workers, two per core, as behind a reverse proxy: one request per worker at a time.
WEB_WORKERS = 2 * (os.cpu_count() or 1)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_url(url, seconds=30, process=None):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{url}: the process exited with {process.returncode}")
        try:
            urlopen(url, timeout=2).read()
            return
        except (URLError, OSError):
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {seconds} s")


def _stop(process, seconds=20):
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def gunicorn(env, log_path, workers=WEB_WORKERS):
    """The app under gunicorn (sync workers) on a free port; yields a Server."""
    port = free_port()
    command = [str(BIN / "gunicorn"), "wsgi:app", "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
               "--worker-class", "sync",
               "--backlog", "2048", "--log-level", "warning"]
    with open(log_path, "ab") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log, start_new_session=True)
    server = Server(process, port)
    try:
        wait_for_url(f"{server.base}/healthz", seconds=120, process=process)  # a busy shared machine starts slowly
        yield server
    finally:
        _stop(process)


class Server:
    def __init__(self, process, port):
        self.process = process
        self.port = port
        self.base = f"http://127.0.0.1:{port}"

    def worker_rss_mb(self):
        """Resident memory of each gunicorn worker (the master's children), in MB."""
        sizes = []
        for child in _children(self.process.pid):
            try:
                status = Path(f"/proc/{child}/status").read_text()
            except OSError:
                continue
            for line in status.splitlines():
                if line.startswith("VmRSS:"):
                    sizes.append(int(line.split()[1]) / 1024)
        return sizes


def _children(pid):
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(child) for child in text.split()]


@contextmanager
def localstripe(log_path):
    """A localstripe from scratch on a free port; yields its base URL."""
    port = free_port()
    workdir = log_path.parent / f"localstripe-{port}"
    workdir.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        process = subprocess.Popen([str(BIN / "localstripe"), "--port", str(port), "--from-scratch"], cwd=workdir,
                                   stdout=log, stderr=log, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_url(f"{base}/js.stripe.com/v3/", process=process)
        yield base
    finally:
        _stop(process)


@contextmanager
def celery_worker(env, log_path, concurrency=2, queues="celery"):
    """A Celery worker (prefork) on the app's broker; yields the process."""
    command = [str(BIN / "celery"), "-A", "worker.celery_app", "worker", "--concurrency", str(concurrency),
               "--loglevel", "WARNING", "--queues", queues, "--without-gossip", "--without-mingle",
               "--without-heartbeat"]
    with open(log_path, "ab") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log, start_new_session=True)
    try:
        yield process
    finally:
        _stop(process, seconds=30)


def app_env(database_url, redis_url, **extra):
    """The environment every benchmark process runs with."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DATABASE_", "CELERY_", "CACHE_"))}
    env.update({
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": redis_url,
        "MARKETPLACE_ENV": "development",
        "PYTHONPATH": str(ROOT),
    })
    env.update({key: str(value) for key, value in extra.items() if value is not None})
    return env
