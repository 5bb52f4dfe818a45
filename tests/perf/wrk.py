"""`wrk` as the load generator: C, ≈0.1–0.2 ms of CPU a request, where tests/perf/load.py's asyncio
client spends 0.5–0.85 ms and so capped the ceilings it measured.

Debian's `wrk` has no fixed-rate mode, so it gives throughput (closed model); latencies at a fixed
arrival rate come from load.py's open model, whose CPU cost matters little at half saturation.
A Lua script (WRK_SCRIPT) cycles through a file of paths from a random start per thread, and sends
a visitor's session cookie on no request ("new"), every request ("returning") or half of them at
random ("both").
"""
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

WRK_SCRIPT = r"""
local paths, cookie, mode, index = {}, nil, "new", 0
function init(args)
  for line in io.lines(args[1]) do paths[#paths + 1] = line end
  mode, cookie = args[2] or "new", args[3]
  math.randomseed(os.time() + tonumber(tostring(paths):sub(8), 16))
  index = math.random(#paths)
end
function request()
  index = index % #paths + 1
  local headers = {["Accept-Language"] = "zh-CN"}
  if cookie and (mode == "returning" or (mode == "both" and math.random() < 0.5)) then
    headers["Cookie"] = cookie
  end
  return wrk.format("GET", paths[index], headers)
end
"""


@dataclass
class WrkResult:
    rate: float
    requests: int
    bad_statuses: int
    socket_errors: int


def ensure_wrk(echo=print):
    """The path of `wrk`, installed with apt-get (Debian package `wrk`) when missing, as .ci/run does for chromium."""
    found = shutil.which("wrk")
    if found:
        return found
    echo("wrk is missing: apt-get install -y wrk")
    apt = shutil.which("apt-get")
    if apt:
        subprocess.run([apt, "install", "-y", "-qq", "wrk"], check=False, capture_output=True)
        if not shutil.which("wrk"):
            subprocess.run([apt, "update", "-qq"], check=False, capture_output=True)
            subprocess.run([apt, "install", "-y", "-qq", "wrk"], check=False, capture_output=True)
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError("wrk is not installed and apt-get could not install it (install the Debian package wrk)")
    return found


def run(base, paths_file, seconds, connections, mode="new", cookie="", script_dir=None):
    """Closed-model throughput of the paths in `paths_file` against `base` (http://host:port)."""
    script = Path(script_dir or Path(paths_file).parent) / "paths.lua"
    if not script.exists():
        script.write_text(WRK_SCRIPT)
    command = [ensure_wrk(), "-t1", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "10s", "-s", str(script),
               base, "--", str(paths_file), mode, cookie]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    requests = int(re.search(r"(\d+) requests in", output).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    # A sync gunicorn worker closes each connection after its response: wrk counts the close it
    # reads as a read error, harmlessly. Connect errors and timeouts are real.
    socket_errors = int(sockets.group(1)) + int(sockets.group(4)) if sockets else 0
    return WrkResult(rate, requests, int(bad.group(1)) if bad else 0, socket_errors)
