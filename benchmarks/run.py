"""Every benchmark, one command: time ratios against hand-written NumPy gradients, over several processes.

Run:  python benchmarks/run.py                  (all workloads, 5 processes, under 3 minutes)
      python benchmarks/run.py --only rnn,mlp --processes 3
      python benchmarks/run.py --json out.json  (the raw figures as well)

A ratio is a gradient's time divided by the hand-written gradient's time on the same inputs (1.00 = as
fast). Each process times every workload in interleaved blocks: hand-written, s2sgrad and each peer
take turns (the order rotating), and each block is one warm-up call then several timed ones, so a
machine that slows down for a while slows every side alike. A process's ratio is the ratio of the
medians of its blocks; the table prints the median over processes and their range (min-max). NumPy is
held to one thread (as the issue's table measured), and each process starts afresh (own compilation).

Peers (HIPS autograd, PyTorch, JAX) are timed where installed (`pip install 's2sgrad[bench]'`), on the
same inputs, and shown as "skipped" where not. Before timing, each process checks that s2sgrad's and
every peer's gradient equal the hand-written one (see workloads.check).

Also measured: the saved state of the RNN gradient (tracemalloc peak during one call / the bytes of the
hidden states its reverse sweep must keep), the time a call spends outside the generated function, the
time of `import s2sgrad` with NumPy imported, and the first gradient of a 30-line function in a new
process (compiled, then loaded from the disk cache).
"""

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
import tracemalloc

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PEERS = ("autograd", "torch", "jax")
ONE_THREAD = {k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
BLOCK_SECONDS = 0.02          # the length of one timed block, roughly
BLOCKS = 7                    # timed blocks per side per workload per process (fewer for slow ones)
ROUND_BUDGET = 2.5            # seconds of timed rounds per workload per process, roughly


def _one_call(fn, args):
    """Seconds one call of `fn` takes."""
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def interleaved(sides, args, blocks):
    """name -> median seconds per call: blocks taken in turn by each side (rotating the order), each one
    warm-up call and then n timed calls (n making a block of about BLOCK_SECONDS, at least one call).
    Where a round of blocks is long (a large MLP, a slow peer), fewer rounds are taken, three at least,
    so that the whole run stays within its few minutes."""
    seconds = {name: _one_call(fn, args) for name, fn in sides.items()}
    calls = {name: max(1, min(2000, round(BLOCK_SECONDS / max(t, 1e-7)))) for name, t in seconds.items()}
    round_seconds = sum((calls[name] + 1) * t for name, t in seconds.items())
    blocks = max(3, min(blocks, int(ROUND_BUDGET / round_seconds)))
    times = {name: [] for name in sides}
    names = list(sides)
    for b in range(blocks):
        order = names[b % len(names):] + names[:b % len(names)]
        for name in order:
            fn, n = sides[name], calls[name]
            fn(*args)
            start = time.perf_counter()
            for _ in range(n):
                fn(*args)
            times[name].append((time.perf_counter() - start) / n)
    return {name: statistics.median(t) for name, t in times.items()}


def saved_state(fn, args):
    """The tracemalloc peak (bytes) of one call, above what was allocated before it."""
    fn(*args)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        fn(*args)
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


def worker(names, blocks, seed):
    """Time the workloads `names` in this process; print one JSON object per workload."""
    from benchmarks import workloads
    for name in names:
        w = workloads.get(name)
        args = w.make(np.random.default_rng(seed), False)
        sides = {"hand": w.by_hand, "s2sgrad": w.s2sgrad()}
        workloads.check(w, sides["s2sgrad"], args)
        row = {"name": name, "skipped": {}}
        for peer in PEERS:
            maker = w.peers.get(peer)
            if maker is None:
                row["skipped"][peer] = "not written"
                continue
            try:
                __import__(peer)
            except ImportError:
                row["skipped"][peer] = "not installed"
                continue
            try:
                sides[peer] = maker(*args)
                workloads.check(w, sides[peer], args)
            except Exception as err:         # a peer that cannot run this workload is reported, not fatal
                sides.pop(peer, None)
                row["skipped"][peer] = f"failed: {type(err).__name__}: {str(err)[:120]}"
        medians = interleaved(sides, args, blocks)
        row["seconds"] = medians
        row["ratio"] = {k: v / medians["hand"] for k, v in medians.items() if k != "hand"}
        if w.kept is not None:
            kept = w.kept(*args)
            row["saved_state"] = {k: saved_state(sides[k], args) / kept for k in ("hand", "s2sgrad")}
        print(json.dumps(row), flush=True)
    print(json.dumps({"name": "call_overhead", **call_overhead()}), flush=True)


def tiny_scalar(x):
    return x * x + 1.0


def tiny_array(x):
    return np.sum(x * x)


def call_overhead(rounds=200, calls=100):
    """Microseconds a gradient call spends outside its generated function, for a scalar and a 3-element
    array: the time of grad(f)(x) minus that of the compiled code called directly with the same arguments,
    each the fastest of `rounds` interleaved blocks of `calls` calls (a difference of a few microseconds
    is lost in a median's noise on a busy machine; the fastest block is the one nothing interrupted)."""
    import s2sgrad
    out = {}
    for name, fn, x in (("scalar", tiny_scalar, 0.5), ("array", tiny_array, np.arange(3.0))):
        g = s2sgrad.grad(fn)
        g(x)
        gradient = g.__s2sgrad_derivative__[1]
        code = gradient.specialised(gradient.arguments((x,), {})).function
        best = {"grad": math.inf, "generated": math.inf}
        for _ in range(rounds):
            for side, f in (("grad", g), ("generated", code)):
                start = time.perf_counter()
                for _ in range(calls):
                    f(x)
                best[side] = min(best[side], (time.perf_counter() - start) / calls)
        out[name] = {"grad_us": best["grad"] * 1e6, "generated_us": best["generated"] * 1e6,
                     "overhead_us": (best["grad"] - best["generated"]) * 1e6}
    return out


FIRST_GRADIENT = '''
import math, time
import numpy as np
start = time.perf_counter()
import s2sgrad
imported = time.perf_counter()

def f(x, y, n=10):
    s = 0.0
    for i in range(n):
        if x > y:
            t = math.sin(x) * y
        else:
            t = math.cos(y) * x
        s = s + t * t
        k = 0
        while s > 10.0 and k < 5:
            s = s * 0.5
            k = k + 1
        if s < 0.01:
            break
        x = x * 0.9 + 0.1 * math.tanh(s)
        y = y + 0.01 * x
        u, v = x, y
        x, y = v, u
        w = np.exp(-x * x) + np.log1p(y * y)
        s = s + 0.001 * w
        if k > 2:
            s = s - 0.0001 * k
        z = x * y - s
        z = z / (1.0 + z * z)
        s = s + 0.01 * z
    return s + x * y

ready = time.perf_counter()
s2sgrad.grad(f, wrt=(0, 1))(0.5, 0.9)
done = time.perf_counter()
print((imported - start) * 1e3, (done - ready) * 1e3)
'''


def startup(processes, cache_dir, env):
    """Medians over `processes` new processes: ms to import s2sgrad (NumPy already imported), ms for the
    first gradient of a 30-line function compiled, and loaded from the disk cache a process before made."""
    script = os.path.join(cache_dir, "first_gradient.py")
    with open(script, "w") as f:
        f.write(FIRST_GRADIENT)
    runs = {"import_ms": [], "first_gradient_ms": [], "first_gradient_cached_ms": []}
    # Bytecode written and read, as for an installed package (a checkout run with PYTHONDONTWRITEBYTECODE
    # would compile every module on each import), kept apart from the source tree; one process writes it.
    env = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = os.path.join(cache_dir, "pyc")
    subprocess.run([sys.executable, script], capture_output=True, env=dict(env, S2SGRAD_CACHE_DIR=""), check=True)
    for _ in range(processes):
        cold = dict(env, S2SGRAD_CACHE_DIR="")
        out = subprocess.run([sys.executable, script], capture_output=True, text=True, env=cold, check=True)
        imported, first = map(float, out.stdout.split())
        runs["import_ms"].append(imported)
        runs["first_gradient_ms"].append(first)
        warm = dict(env, S2SGRAD_CACHE_DIR=os.path.join(cache_dir, "cache"))
        subprocess.run([sys.executable, script], capture_output=True, env=warm, check=True)   # fills it
        out = subprocess.run([sys.executable, script], capture_output=True, text=True, env=warm, check=True)
        runs["first_gradient_cached_ms"].append(float(out.stdout.split()[1]))
    return runs


def _ratio(x):
    """A ratio in three significant figures at most, without exponents (452, 3.42, 1.05)."""
    return f"{x:.0f}" if x >= 100 else f"{x:.1f}" if x >= 10 else f"{x:.2f}"


def _spread(values, fmt="{:.2f}"):
    show = _ratio if fmt is None else fmt.format
    if not values:
        return "-"
    med = statistics.median(values)
    if len(values) == 1:
        return show(med)
    return f"{show(med)} ({show(min(values))}-{show(max(values))})"


def table(rows, titles, processes):
    """The printed table: per workload the median ratio (and range) of s2sgrad and each peer."""
    lines = [f"ratios to a hand-written NumPy gradient (1.00 = as fast); median (min-max) over {processes} "
             f"processes, one thread", ""]
    header = f"{'workload':56s} {'by hand':>10s}  {'s2sgrad':20s}" + "".join(f"{p:20s}" for p in PEERS)
    lines += [header, "-" * len(header)]
    memory = []
    for name, runs in rows.items():
        hand = statistics.median(r["seconds"]["hand"] for r in runs) * 1e6
        cells = [_spread([r["ratio"]["s2sgrad"] for r in runs], None)]
        for peer in PEERS:
            got = [r["ratio"][peer] for r in runs if peer in r["ratio"]]
            cells.append(_spread(got, None) if got else "skipped")
        lines.append(f"{titles[name][:56]:56s} {hand:8.0f}us  " + "".join(f"{c:20s}" for c in cells))
        if "saved_state" in runs[0]:
            memory.append((titles[name], [r["saved_state"] for r in runs]))
    for title, states in memory:
        lines.append("")
        lines.append(f"saved state of the gradient, {title} (tracemalloc peak / hidden states kept): "
                     f"s2sgrad {_spread([s['s2sgrad'] for s in states])}x, "
                     f"by hand {_spread([s['hand'] for s in states])}x")
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--processes", type=int, default=5, help="new processes to repeat the timing in")
    parser.add_argument("--blocks", type=int, default=BLOCKS, help="timed blocks per side per process")
    parser.add_argument("--only", default="", help="comma-separated workload names (benchmarks/workloads.py)")
    parser.add_argument("--no-startup", action="store_true", help="skip the import and first-gradient timings")
    parser.add_argument("--json", help="also write the raw figures to this file")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    opts = parser.parse_args(argv)
    sys.path.insert(0, ROOT)
    from benchmarks import workloads
    names = opts.only.split(",") if opts.only else [w.name for w in workloads.WORKLOADS]
    if opts.worker:
        return worker(names, opts.blocks, opts.seed)
    unknown = [n for n in names if n not in workloads.BY_NAME]
    if unknown:
        parser.error(f"unknown workloads {unknown}; known: {', '.join(workloads.BY_NAME)}")
    import tempfile
    started = time.perf_counter()
    env = dict(os.environ, **ONE_THREAD, S2SGRAD_CACHE_DIR="")       # each process compiles afresh
    env["PYTHONPATH"] = os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p)
    rows, overhead = {}, []
    for p in range(opts.processes):
        out = subprocess.run([sys.executable, __file__, "--worker", "--only", ",".join(names),
                              "--blocks", str(opts.blocks), "--seed", str(p)],
                             capture_output=True, text=True, env=env)
        if out.returncode != 0:
            sys.exit(f"benchmark process {p} failed:\n{out.stderr}")
        for line in out.stdout.splitlines():
            row = json.loads(line)
            if row["name"] == "call_overhead":
                overhead.append(row)
            else:
                rows.setdefault(row["name"], []).append(row)
        print(f"  process {p + 1}/{opts.processes} done ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    titles = {w.name: w.title for w in workloads.WORKLOADS}
    lines = table(rows, titles, opts.processes)
    skipped = {peer: why for runs in rows.values() for peer, why in runs[0]["skipped"].items()
               if why != "not written"}
    if skipped:
        lines.append("")
        lines.append("skipped: " + "; ".join(f"{p} ({why})" for p, why in sorted(skipped.items())))
    lines.append("")
    for kind in ("scalar", "array"):
        lines.append(f"call overhead, {kind} argument: "
                     f"{_spread([o[kind]['overhead_us'] for o in overhead], '{:.1f}')} us outside the generated "
                     f"function (a call {_spread([o[kind]['grad_us'] for o in overhead], '{:.1f}')} us)")
    figures = {"rows": rows, "call_overhead": overhead}
    if not opts.no_startup:
        with tempfile.TemporaryDirectory() as tmp:
            figures["startup"] = runs = startup(opts.processes, tmp, env)
        lines.append(f"import s2sgrad (NumPy imported): {_spread(runs['import_ms'], '{:.0f}')} ms; first gradient "
                     f"of a 30-line function: {_spread(runs['first_gradient_ms'], '{:.0f}')} ms compiled, "
                     f"{_spread(runs['first_gradient_cached_ms'], '{:.0f}')} ms from the disk cache")
    lines.append(f"(took {time.perf_counter() - started:.0f} s)")
    print("\n".join(lines))
    if opts.json:
        with open(opts.json, "w") as f:
            json.dump(figures, f, indent=1)


if __name__ == "__main__":
    main()
