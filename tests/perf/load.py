"""A small HTTP/1.1 load generator on asyncio streams (it runs on the same machine as the server).

- `saturate(...)`: closed model — `connections` keep-alive clients send back to back for
  `seconds`; the rate achieved is the server's throughput for that request. Each client is one
  visitor's browser: it sends back the cookies the site set it (the session and its CSRF token
  are made once per visitor, not on every page).
- `open_model(...)`: a fixed arrival rate; each request is due at its scheduled instant and its
  latency counts from that instant, so a slow server cannot hide its queue (no coordinated
  omission). A request is a fresh connection, as from distinct buyers.
"""
import asyncio
import time
from dataclasses import dataclass, field


@dataclass
class Request:
    path: str
    method: str = "GET"
    body: bytes = b""
    headers: dict = field(default_factory=dict)

    def encode(self, host, keep_alive=True, cookies=None):
        headers = {"Host": host, "Connection": "keep-alive" if keep_alive else "close",
                   "Accept-Language": "zh-CN", **self.headers}
        if cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in cookies.items())
        if self.body or self.method == "POST":
            headers["Content-Length"] = str(len(self.body))
        head = f"{self.method} {self.path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        return head.encode("latin-1") + b"\r\n" + self.body


async def _read_response(reader, cookies=None):
    """Status and whether the server keeps the connection; the body is read and dropped, the
    cookies set are kept in `cookies`."""
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("server closed the connection")
    status = int(status_line.split()[1])
    length, close, chunked = None, False, False
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"connection":
            close = value.strip().lower() == b"close"
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
        elif name == b"set-cookie" and cookies is not None:
            cookie_name, _, cookie_value = value.decode("latin-1").split(";", 1)[0].strip().partition("=")
            cookies[cookie_name] = cookie_value
    if chunked:
        while True:
            size = int((await reader.readline()).strip(), 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length is not None:
        await reader.readexactly(length)
    else:
        await reader.read()
        close = True
    return status, close


@dataclass
class Result:
    requests: int
    errors: int
    seconds: float
    statuses: dict
    latencies: list = field(default_factory=list)

    @property
    def rate(self):
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p):
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


async def _closed_client(host, port, requests, deadline, tally, index):
    reader = writer = None
    cookies = {}
    n = index
    while time.perf_counter() < deadline:
        request = requests[n % len(requests)]
        n += 1
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(host, port)
            writer.write(request.encode(f"{host}:{port}", cookies=cookies))
            status, close = await _read_response(reader, cookies)
        except (ConnectionError, asyncio.IncompleteReadError, OSError) as error:
            tally["errors"] += 1
            tally["statuses"][type(error).__name__] = tally["statuses"].get(type(error).__name__, 0) + 1
            writer = None
            continue
        tally["statuses"][status] = tally["statuses"].get(status, 0) + 1
        if status < 400:
            tally["ok"] += 1
        else:
            tally["errors"] += 1
        if close:
            writer.close()
            writer = None
    if writer is not None:
        writer.close()


def saturate(port, requests, seconds=3.0, connections=16, host="127.0.0.1"):
    """Closed-model throughput of `requests` (cycled); returns a Result."""
    if isinstance(requests, Request):
        requests = [requests]

    async def run():
        tally = {"ok": 0, "errors": 0, "statuses": {}}
        started = time.perf_counter()
        deadline = started + seconds
        await asyncio.gather(*(_closed_client(host, port, requests, deadline, tally, i) for i in range(connections)))
        return Result(tally["ok"], tally["errors"], time.perf_counter() - started, tally["statuses"])

    return asyncio.run(run())


def open_model(port, requests, rate, seconds=5.0, host="127.0.0.1", timeout=10.0):
    """Send `rate` requests a second for `seconds` whatever the server does; latencies in ms."""
    if isinstance(requests, Request):
        requests = [requests]

    async def one(request, due, result):
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
            writer.write(request.encode(f"{host}:{port}", keep_alive=False))
            status, _close = await asyncio.wait_for(_read_response(reader), timeout)
            writer.close()
        except (ConnectionError, asyncio.IncompleteReadError, OSError, asyncio.TimeoutError):
            result.errors += 1
            return
        result.statuses[status] = result.statuses.get(status, 0) + 1
        if status >= 400:
            result.errors += 1
            return
        result.requests += 1
        result.latencies.append((time.perf_counter() - due) * 1000)

    async def run():
        result = Result(0, 0, seconds, {})
        total = int(rate * seconds)
        started = time.perf_counter()
        tasks = []
        for n in range(total):
            due = started + n / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(requests[n % len(requests)], due, result)))
        await asyncio.gather(*tasks)
        return result

    return asyncio.run(run())
