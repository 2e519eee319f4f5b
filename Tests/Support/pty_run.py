"""Runs a program with its stderr on a pseudo-terminal, as an operator's shell would, and its
stdout on a pipe. Prints one JSON object: {"status", "stdout", "stderr"}, stderr being the raw
bytes the terminal received (decoded as UTF-8 with replacement), escape sequences included.

usage: pty_run.py [--stdout-on-pty] PROGRAM [ARGS...]   (the environment is passed on unchanged)
With --stdout-on-pty, stdout goes to the same terminal too (and "stdout" comes back empty).
"""
import errno
import fcntl
import json
import os
import struct
import subprocess
import sys
import termios
import threading


def main():
    master, slave = os.openpty()
    # A wide terminal: the progress line is cut to the width, and the test reads it whole.
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 200, 0, 0))
    argv = sys.argv[1:]
    both = argv[:1] == ["--stdout-on-pty"]
    if both:
        argv = argv[1:]
    child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=slave if both else subprocess.PIPE, stderr=slave)
    os.close(slave)
    chunks = []

    def drain():
        while True:
            try:
                data = os.read(master, 65536)
            except OSError as e:  # EIO: every writer of the terminal has closed it
                if e.errno == errno.EIO:
                    break
                raise
            if not data:
                break
            chunks.append(data)

    reader = threading.Thread(target=drain)
    reader.start()
    out, _ = child.communicate(timeout=120)
    out = out or b""
    reader.join(timeout=30)
    os.close(master)
    print(json.dumps({"status": child.returncode, "stdout": out.decode("utf-8", "replace"),
                      "stderr": b"".join(chunks).decode("utf-8", "replace")}))


if __name__ == "__main__":
    main()
