"""Starts a program with SIGTERM blocked and already pending, as a parent on a libdispatch
worker thread (which blocks nearly every signal) starts it when the signal comes before the
program has set up its handling. Prints one JSON object: {"status", "stderr"}; status is the
exit code, or 128 + the signal's number when the signal killed the program.

usage: signal_first.py PROGRAM [ARGS...]   (the environment is passed on unchanged)
"""
import json
import os
import signal
import subprocess
import sys


def main():
    # The child inherits the mask; SIGTERM sent before it unblocks the signal stays pending.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    child = subprocess.Popen(sys.argv[1:], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    os.kill(child.pid, signal.SIGTERM)
    _, err = child.communicate(timeout=120)
    status = child.returncode if child.returncode >= 0 else 128 - child.returncode
    print(json.dumps({"status": status, "stderr": err.decode("utf-8", "replace")}))


if __name__ == "__main__":
    main()
