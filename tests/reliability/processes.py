"""Real processes for crash tests: a private Redis that can be killed and started again on the
same port, and a `celery -A worker.celery_app worker` on any broker."""
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import redis
from celery import Celery

ROOT = Path(__file__).resolve().parents[2]
QUEUE = "celery"  # the default queue of an app configured from the environment alone
CELERY = str(Path(sys.executable).with_name("celery"))


def service_env(database_url, broker_url):
    return {**os.environ, "DATABASE_URL": database_url, "CELERY_BROKER_URL": broker_url,
            "OUTBOX_RESEND_AFTER_SECONDS": "0", "PYTHONPATH": str(ROOT)}


def _stop(process, timeout=30):
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class PrivateRedis:
    """A redis-server of the test's own on `port`, keeping nothing on disk (never the machine's)."""

    def __init__(self, port):
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if redis.Redis(port=self.port, socket_timeout=1).ping():
                    return self
            except redis.exceptions.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server on port {self.port} did not start")

    def kill(self):
        """Die at once, as a crashed server does: every queued message is gone with it."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            _stop(self.process)


class WorkerProcess:
    """A real worker process (prefork pool) with its log, and the pids of its pool children."""

    def __init__(self, database_url, broker_url, concurrency, log_path):
        self.log_path = log_path
        self.log = open(log_path, "w")
        self.process = subprocess.Popen(
            [CELERY, "-A", "worker.celery_app", "worker", "-Q", QUEUE, "-c", str(concurrency), "--pool", "prefork",
             "-n", f"reliability-{uuid.uuid4().hex[:8]}@%h", "--without-gossip", "--without-mingle", "-l", "INFO"],
            cwd=ROOT, env=service_env(database_url, broker_url), stdout=self.log, stderr=subprocess.STDOUT)

    def output(self):
        return self.log_path.read_text()

    def children(self):
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in path.read_text().split()] if path.exists() else []

    def stop(self):
        _stop(self.process)
        self.log.close()


def send_task(broker_url, task_name, **kwargs):
    """Send one task to the worker's queue, as the outbox or beat would."""
    sender = Celery(broker=broker_url, set_as_current=False)
    try:
        sender.send_task(task_name, kwargs=kwargs, queue=QUEUE)
    finally:
        sender.close()
