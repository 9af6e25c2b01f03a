"""Idle cost of the daemon: CPU share and RSS over 60 idle seconds.

    .venv/bin/python benchmarks/daemon_idle.py [SECONDS]

Starts `account-health run` on a fresh database holding the demo's two
accounts, lets its first cycle finish, then samples /proc for SECONDS
(default 60). Targets: under 1 % of a core and under 150 MB.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EXE = str(Path(sys.executable).parent / "account-health")
TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def rss_mb(pid: int) -> float:
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE / 1e6


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 60.0
    with tempfile.TemporaryDirectory() as folder:
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{folder}/m.db",
            "INBOX_DIR": f"{folder}/inbox",
            "REPORTS_DIR": f"{folder}/reports",
        }
        subprocess.run([EXE, "demo", "--dir", f"{folder}/demo"], env=env, check=True, capture_output=True)
        process = subprocess.Popen([EXE, "run"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(10)  # the first import, check and dashboards
            start_cpu, start = cpu_seconds(process.pid), time.monotonic()
            peak = 0.0
            while time.monotonic() - start < seconds:
                time.sleep(1)
                peak = max(peak, rss_mb(process.pid))
            used = cpu_seconds(process.pid) - start_cpu
            elapsed = time.monotonic() - start
            print(
                f"daemon idle for {elapsed:.0f} s: CPU {used:.2f} s = {100 * used / elapsed:.2f} % of a core "
                f"(target < 1 %), RSS {rss_mb(process.pid):.0f} MB, peak {peak:.0f} MB (target < 150 MB)"
            )
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=15)


if __name__ == "__main__":
    main()
