"""Shared pieces of the side-by-side benchmarks (keyslot-server next to redis-server 7.0.15 in
the same run): free ports, starting a server in a scratch directory, redis-cli calls, INFO
fields, and a process's CPU time from /proc (the benchmarks print CPU per request beside
throughput, because at -P 1 redis-benchmark itself saturates one of the two cores)."""
import os
import shutil
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The shipped build (Cargo.toml's `dist` profile: fat LTO), as bench/compare measures it.
KEYSLOT = os.path.join(ROOT, "target", "dist", "keyslot-server")


def require_tools():
    for tool in ("redis-server", "redis-cli", "redis-benchmark"):
        if not shutil.which(tool):
            sys.exit(f"missing {tool} (apt-get install -y redis-tools redis-server)")


def build_keyslot():
    subprocess.run(["cargo", "build", "--profile", "dist", "--bin", "keyslot-server", "-q"], cwd=ROOT,
                   check=True)
    return KEYSLOT


def free_port(start):
    p = start
    while True:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", p))
                return p
            except OSError:
                p += 1


def cli(port, *args):
    out = subprocess.run(["redis-cli", "-p", str(port), *args], capture_output=True, text=True)
    return out.stdout.strip()


def info_field(port, section, name):
    for line in cli(port, "INFO", section).splitlines():
        if line.startswith(name + ":"):
            return line.split(":", 1)[1].strip()
    return ""


def wait_ping(port, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        if cli(port, "PING") == "PONG":
            return
        time.sleep(0.05)
    sys.exit(f"server on {port} did not start")


def start(binary, port, workdir, args):
    """Starts `binary --port PORT --bind 127.0.0.1 --dir DIR ARGS...` in DIR (one per port)."""
    d = os.path.join(workdir, str(port))
    os.makedirs(d, exist_ok=True)
    log = open(os.path.join(d, "log.txt"), "w")
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", d, *args],
        stdout=log, stderr=log, cwd=d)
    wait_ping(port)
    return proc


def cpu_seconds(pid):
    """utime + stime of a process (all its threads), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks
