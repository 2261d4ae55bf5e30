# mp_peer.py: the Python multiprocessing peer of shmkit-bench (case peer.python).
#
# shmkit-bench embeds this file and runs it once per repetition:
#
#   python3 -I -B -c <this file> MODE DURATION_MS CPU0 CPU1 WARMUP_MS
#
# MODE is one of
#   list   a Manager().list(): the writer appends 0, 1, 2... one by one; the
#          reader polls len() and reads and checks each new item (item i == i)
#   queue  a multiprocessing.Queue of 64-byte messages, sender to receiver
#   pipe   a duplex multiprocessing.Pipe(): 64-byte ping-pong
# Role 0 (writer, sender, pinger) is pinned to CPU0, role 1 (reader, receiver,
# ponger) to CPU1; -1 leaves a role unpinned. Each role measures like the C++
# cases: WARMUP_MS first, then at least DURATION_MS.
#
# On success it prints one JSON line on stdout and exits 0:
#   list   {"mode": "list", "items_per_s": R, "verified": N, "python": V}
#   queue  {"mode": "queue", "msgs_per_s": R, "verified": N, "python": V}
#   pipe   {"mode": "pipe", "round_trip_ns": [...], "verified": N, "python": V}
# where N counts every item or message checked, warm-up included, and V is
# the interpreter's version. A failed
# check, or any error, is a line on stderr and a non-zero exit.
#
# Nothing outlives the run: the main process joins its roles and shuts the
# Manager down, and every process it starts dies with it (PR_SET_PDEATHSIG),
# as the main process dies with shmkit-bench.

import json
import os
import platform
import signal
import struct
import sys
import time
import multiprocessing
from multiprocessing.connection import wait as wait_any
from multiprocessing.managers import SyncManager

CHECK_MUL = 0x9E3779B97F4A7C15  # Message64::kCheckMul
MASK64 = (1 << 64) - 1
STOP_SEQ = MASK64  # Message64::kStop
LIST_STOP = -1  # appended after the last item
MIN_LATENCY_SAMPLES = 1000  # kMinLatencySamples
QUEUE_CAPACITY = 1024  # as the shmkit queue it is compared with
PR_SET_PDEATHSIG = 1


class Failure(Exception):
    """A failed check: the role reports it on stderr and exits 1."""


def die_with_parent(parent):
    """In a child: be killed when `parent` dies, so that a killed run (the
    watchdog, Ctrl-C on shmkit-bench) leaves no process behind."""
    try:
        import ctypes

        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (ImportError, OSError, AttributeError):
        pass  # best effort: the main process still joins or kills us
    if os.getppid() != parent:  # it died before prctl took effect
        os._exit(1)


# --- 64-byte messages, as Message64 (workloads/message64.hpp) ---------------


def message(seq):
    return struct.pack("<QQ", seq, (seq * CHECK_MUL) & MASK64) + bytes((seq & 0xFF,)) * 48


def is_valid(m, expected):
    if len(m) != 64:
        return False
    seq, check = struct.unpack_from("<QQ", m)
    low = expected & 0xFF
    return (seq == expected and check == (expected * CHECK_MUL) & MASK64
            and m[16] == low and m[63] == low)


def verify(m, expected, who):
    if not is_valid(m, expected):
        if len(m) != 64:
            raise Failure(f"a message of {len(m)} bytes, expected 64")
        seq, check = struct.unpack_from("<QQ", m)
        good = check == (seq * CHECK_MUL) & MASK64
        raise Failure(f"expected message {expected}, got seq {seq} "
                      f"(check {'ok' if good else 'bad'})")


def is_stop(m):
    return is_valid(m, STOP_SEQ)


# --- Throughput: counted at the receiving end after the warm-up --------------


class ThroughputClock:
    """Like ThroughputClock (workloads/throughput_shared.hpp): the interval
    starts at the first item verified after the warm-up and ends at the stop."""

    def __init__(self, warmup_ns):
        self.warm_until = time.perf_counter_ns() + warmup_ns
        self.first_ns = 0
        self.first_count = -1

    def on_item(self, count):
        if self.first_count < 0:
            now = time.perf_counter_ns()
            if now >= self.warm_until:
                self.first_ns = now
                self.first_count = count

    def rate(self, count):
        last_ns = time.perf_counter_ns()
        received = count - self.first_count
        if self.first_count < 0 or received <= 0 or last_ns <= self.first_ns:
            raise Failure("nothing received after the warm-up")
        return received / (last_ns - self.first_ns) * 1e9


# --- list: Manager().list() --------------------------------------------------


def list_writer(cfg, lst):
    end = time.perf_counter_ns() + cfg["run_for_ns"]
    append = lst.append
    i = 0
    while True:
        append(i)
        i += 1
        if time.perf_counter_ns() >= end:
            break
    append(LIST_STOP)


def list_reader(cfg, lst):
    clock = ThroughputClock(cfg["warmup_ns"])
    n = 0  # the next item to verify
    while True:
        # Polling len(): the way a reader of a Manager list learns of new
        # items (the list has no wait); each call is a round trip.
        size = len(lst)
        while n < size:
            value = lst[n]
            if value != n:
                if value == LIST_STOP:
                    return {"items_per_s": clock.rate(n), "verified": n}
                raise Failure(f"item {n} is {value!r}, expected {n}")
            n += 1
            clock.on_item(n)


# --- queue: multiprocessing.Queue ---------------------------------------------


def queue_sender(cfg, q):
    end = time.perf_counter_ns() + cfg["run_for_ns"]
    put = q.put
    seq = 1
    while True:
        put(message(seq))
        seq += 1
        if time.perf_counter_ns() >= end:
            break
    put(message(STOP_SEQ))
    q.close()
    q.join_thread()  # the feeder thread has written every message


def queue_receiver(cfg, q):
    clock = ThroughputClock(cfg["warmup_ns"])
    get = q.get
    expected = 1
    while True:
        m = get()
        if is_stop(m):
            return {"msgs_per_s": clock.rate(expected), "verified": expected - 1}
        verify(m, expected, "receiver")
        clock.on_item(expected)
        expected += 1


# --- pipe: multiprocessing.Pipe() ping-pong -----------------------------------


def pipe_pinger(cfg, conn):
    send, recv = conn.send_bytes, conn.recv_bytes
    samples = []
    warm_end = time.perf_counter_ns() + cfg["warmup_ns"]
    measuring = False
    end = hard_end = 0
    seq = 1
    prev = time.perf_counter_ns()
    while True:
        send(message(seq))
        verify(recv(), seq, "pinger")
        now = time.perf_counter_ns()
        seq += 1
        if measuring:
            samples.append(now - prev)
            # As TimeBox: the duration and enough samples, or 4x the duration.
            if (now >= end and len(samples) >= MIN_LATENCY_SAMPLES) or now >= hard_end:
                break
        elif now >= warm_end:
            measuring = True
            end = now + cfg["duration_ns"]
            hard_end = now + 4 * cfg["duration_ns"]
        prev = now
    send(message(STOP_SEQ))
    return {"round_trip_ns": samples, "verified": seq - 1}


def pipe_ponger(cfg, conn):
    send, recv = conn.send_bytes, conn.recv_bytes
    expected = 1
    while True:
        m = recv()
        if is_stop(m):
            return None
        verify(m, expected, "ponger")
        send(m)
        expected += 1


# --- Roles ---------------------------------------------------------------------


def role_main(parent, name, cpu, body, cfg, arg, start, results):
    """A role's process: pinned, waits at the start line with its peer, runs
    `body`; a figure it returns goes to the main process through `results`."""
    die_with_parent(parent)
    try:
        if cpu >= 0:
            os.sched_setaffinity(0, {cpu})
        start.wait()
        figures = body(cfg, arg)
        if figures is not None:
            results.send(figures)
        results.close()
    except Failure as e:
        fail(name, str(e))
    except Exception as e:  # a broken connection, a dead Manager...
        fail(name, f"{type(e).__name__}: {e}")


def fail(name, text):
    sys.stderr.write(f"{name}: {text}\n")
    sys.stderr.flush()
    os._exit(1)


def run_roles(ctx, cfg, roles):
    """Runs roles [(name, cpu, body, arg)], each in a process that calls
    body(cfg, arg), and returns the figures the reporting one sent; fails if
    any role failed."""
    start = ctx.Barrier(len(roles))
    results_in, results_out = ctx.Pipe(duplex=False)
    parent = os.getpid()
    procs = [ctx.Process(target=role_main, name=name, daemon=True,
                         args=(parent, name, cpu, body, cfg, arg, start, results_out))
             for name, cpu, body, arg in roles]
    for p in procs:
        p.start()
    results_out.close()
    figures = None
    waiting = {p.sentinel: p for p in procs}
    waiting[results_in] = None
    failed = []
    killed = set()
    while waiting:
        for ready in wait_any(list(waiting)):
            p = waiting.pop(ready)
            if p is None:  # figures, or the end of the pipe: every role is gone
                try:
                    figures = results_in.recv()
                    waiting[results_in] = None
                except EOFError:
                    pass
                continue
            p.join()
            if p.exitcode != 0 and p.name not in killed:
                failed.append(f"{p.name} exited with {p.exitcode}")
                # Its peer may wait for it forever: stop it now.
                for other in waiting.values():
                    if other is not None and other.exitcode is None:
                        killed.add(other.name)
                        other.kill()
                break
    if failed:
        raise Failure("; ".join(failed))
    if figures is None:
        raise Failure("no figures reported")
    return figures


def main(argv):
    if len(argv) != 6:
        raise Failure("usage: MODE DURATION_MS CPU0 CPU1 WARMUP_MS")
    mode = argv[1]
    duration_ns = int(argv[2]) * 1_000_000
    cpu0, cpu1 = int(argv[3]), int(argv[4])
    warmup_ns = int(argv[5]) * 1_000_000
    cfg = {"duration_ns": duration_ns, "warmup_ns": warmup_ns,
           "run_for_ns": warmup_ns + duration_ns}
    # fork: the roles inherit the Manager's proxy, the Queue, the Pipe.
    ctx = multiprocessing.get_context("fork")
    if mode == "list":
        manager = SyncManager(ctx=ctx)
        manager.start(die_with_parent, (os.getpid(),))
        with manager:  # shut down on the way out, even on a failure
            lst = manager.list()
            figures = run_roles(ctx, cfg, [("writer", cpu0, list_writer, lst),
                                           ("reader", cpu1, list_reader, lst)])
    elif mode == "queue":
        q = ctx.Queue(QUEUE_CAPACITY)
        figures = run_roles(ctx, cfg, [("sender", cpu0, queue_sender, q),
                                       ("receiver", cpu1, queue_receiver, q)])
    elif mode == "pipe":
        a, b = ctx.Pipe(duplex=True)
        figures = run_roles(ctx, cfg, [("pinger", cpu0, pipe_pinger, a),
                                       ("ponger", cpu1, pipe_ponger, b)])
    else:
        raise Failure(f"unknown mode {mode!r}")
    figures["mode"] = mode
    figures["python"] = platform.python_version()
    print(json.dumps(figures), flush=True)


if __name__ == "__main__":
    try:
        main(sys.argv)
    except Failure as e:
        sys.stderr.write(f"mp_peer: {e}\n")
        sys.exit(1)
