"""What the benchmark scripts share: starting a helper server, measuring one client run."""
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "Tests", "Support"))
from serving import HarnessError, wait_for_file  # noqa: E402


def start(script, args):
    port_file = os.path.join(tempfile.mkdtemp(), "port")
    proc = subprocess.Popen([sys.executable, script, "--port-file", port_file] + args, stdin=subprocess.PIPE)
    try:
        return proc, wait_for_file(port_file, 300, proc)
    except HarnessError as e:
        proc.kill()
        sys.exit(str(e))


def measure(argv, env, expect=0):
    """Runs argv to completion; returns wall seconds, user+sys CPU seconds (getrusage of the
    child), peak RSS (MiB), stdout bytes. An exit status other than `expect` is an error."""
    start_time = time.monotonic()
    with open(os.devnull, "wb") as devnull:
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=devnull)
        size = 0
        while True:
            chunk = proc.stdout.read(1 << 16)
            if not chunk:
                break
            size += len(chunk)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - start_time
    if os.waitstatus_to_exitcode(status) != expect:
        raise RuntimeError("%s exited %d" % (" ".join(argv[:3]), os.waitstatus_to_exitcode(status)))
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss": usage.ru_maxrss / 1024.0, "bytes": size}


def median(values):
    return statistics.median(values)


def accepts_format(poller, fmt):
    """Whether the poller's help offers `--format fmt` (csv arrives with the history work)."""
    text = b""
    for argv in ([poller, "--help"], [poller, "poll", "--help"]):
        probe = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        text += probe.stdout
    return re.search(rb"--format[^\n]*\b" + fmt.encode() + rb"\b", text) is not None or \
        re.search(rb"\b" + fmt.encode() + rb"\b", text.split(b"--format", 1)[-1][:400]) is not None
