"""What every end-to-end run of the harness must leave behind: no process.

A run is given a unique marker in its environment (WSPH_RUN_MARK=<uuid>); every process it starts
inherits it (a forked child, a grandchild a provider forks, under Wine a CreateProcess'd program:
Wine builds a new process's Unix environment from its Windows one). After the run,
/proc/*/environ is scanned for the marker until no process carries it, capped generously; what is
left is reported with its pid and command line, then killed by pid (it was started by this run).
Wine's own server and the system processes a Wine session starts once (services.exe,
winedevice.exe, ...) outlive any single run by design and are skipped.
"""
import os
import signal
import time
import uuid

MARK_VAR = "WSPH_RUN_MARK"

# Wine's infrastructure: started by whichever run came first, it stays for the session.
WINE_SESSION = {"wineserver", "services.exe", "winedevice.exe", "plugplay.exe", "explorer.exe",
                "svchost.exe", "rpcss.exe", "winemenubuilder.exe", "tabtip.exe"}


def new_mark():
    return uuid.uuid4().hex


def _read(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None


def _state(pid):
    stat = _read(f"/proc/{pid}/stat")
    if not stat:
        return None
    # "pid (comm) S ...": the state follows the last ')'
    return stat[stat.rfind(b")") + 2:stat.rfind(b")") + 3].decode()


def cmdline(pid):
    raw = _read(f"/proc/{pid}/cmdline") or b""
    return " ".join(a.decode(errors="replace") for a in raw.split(b"\0") if a)


def _is_wine_session(pid):
    comm = (_read(f"/proc/{pid}/comm") or b"").decode(errors="replace").strip()
    if comm == "wineserver" or comm.startswith("wineserver"):
        return True
    args = [a.decode(errors="replace") for a in (_read(f"/proc/{pid}/cmdline") or b"").split(b"\0")]
    if args and os.path.basename(args[0]) in ("wineserver", "wineserver64"):
        return True
    # a Wine program's argv[0] is its Windows path, e.g. C:\windows\system32\services.exe
    exe = args[0].replace("\\", "/").rsplit("/", 1)[-1].lower() if args and args[0] else ""
    return exe in WINE_SESSION


def alive(pid):
    """True while pid is a process that is not a zombie."""
    st = _state(pid)
    return st is not None and st != "Z"


def carries(pid, mark):
    """True while pid is a live process whose environment carries the marker (not a pid reused
    by some other process)."""
    env = _read(f"/proc/{pid}/environ")
    return bool(env) and f"{MARK_VAR}={mark}".encode() in env.split(b"\0") and alive(pid)


def marked(mark):
    """Live processes (pid, command line) whose environment carries WSPH_RUN_MARK=mark."""
    needle = f"{MARK_VAR}={mark}".encode()
    me = os.getpid()
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == me:
            continue
        env = _read(f"/proc/{d}/environ")
        if not env or needle not in env.split(b"\0"):
            continue
        pid = int(d)
        if not alive(pid) or _is_wine_session(pid):
            continue
        out.append((pid, cmdline(pid)))
    return out


def wait_until(pred, cap):
    """Polls pred until it is true or cap seconds have passed; returns its last value."""
    deadline = time.monotonic() + cap
    delay = 0.02
    while True:
        v = pred()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(delay)
        delay = min(delay * 2, 0.5)


def check_no_leftovers(mark, cap=30.0):
    """Waits (up to cap s) until no process carries the marker. Returns a list of failure lines
    (empty when none is left); what is left is killed afterwards."""
    left = []

    def none_left():
        left[:] = marked(mark)
        return not left

    if wait_until(none_left, cap):
        return []
    lines = [f"FAIL: a process of the run is still there {cap:.0f} s after it: pid {pid}: {cmd}"
             for pid, cmd in left]
    for pid, _ in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    return lines
