"""Run at image build: compile now what every fresh container would otherwise compile on start.

* numba's cache (``$NUMBA_CACHE_DIR``) for every numba kernel: the numeric CSV parser, the
  SHAP coalition sampler, the synthetic-row writer and the image coalition renderer. The image
  sets ``NUMBA_CPU_NAME=generic`` (no host-specific CPU features), so the cache is valid on any
  machine of the image's architecture; without it a container on another CPU model would miss
  the cache and compile again (10-20 s).
* matplotlib's font list (``$MPLCONFIGDIR``), built on first use otherwise.

Then it checks, in fresh interpreters, that each kernel loads from the cache (no compile) as
root (the processing role) and as ``$CLARIFY_RUNNER_SERVE_USER`` (the ``serve`` role), and
fails the build if not.

Usage (Dockerfile): ``python warm_caches.py``; ``python warm_caches.py --check`` only checks
(the Docker tests run it in a fresh container).
"""

from __future__ import annotations

import json
import os
import pwd
import subprocess
import sys

#: Module -> the calls that compile its kernels with the argument types used at run time.
WARMERS = {
    "clarify_common.csv_kernel": (
        "from clarify_common import numeric_csv\n"
        "assert numeric_csv.parse_with_kernel(b'1.5,2\\n3,4\\n') is not None\n"
        "from clarify_common import csv_kernel\n"
        "kernels = [csv_kernel.parse_lines]\n"
    ),
    "analyzer.explain.sampling": (
        "import numpy as np\n"
        "from analyzer.explain import sampling\n"
        "sampling.random_coalitions(np.random.RandomState(0), 5, 10, 0, 2, np.full(3, 1 / 3))\n"
        "kernels = [sampling._random_coalitions]\n"
    ),
    "analyzer.explain.rowfill": (
        "import numpy as np\n"
        "from analyzer.explain import rowfill\n"
        "x, base = np.ones(3), np.zeros((2, 3))\n"
        "rowfill.fill_grid(np.empty((2, 2, 3)), np.ones((2, 3), dtype=bool), x, base)\n"
        "rows_b, keys = np.zeros(2, dtype=np.int64), np.ones((2, 1), dtype=np.uint64)\n"
        "rowfill.fill_keys(np.empty((2, 3)), x, base, rows_b, keys)\n"
        "kernels = [rowfill._fill_grid, rowfill._fill_keys]\n"
    ),
    "analyzer.explain.images.segments": (
        "import numpy as np\n"
        "from analyzer.explain.images import segments\n"
        "image = np.zeros((8, 8, 3), dtype=np.uint8)\n"
        "players = segments.players_for(np.zeros((8, 8), dtype=np.int64), 1)\n"
        "segments.render_coalitions(image, image, players, np.ones((1, players.count)))\n"
        "kernels = [segments._render]\n"
    ),
}

#: Runs a warmer, then prints ``{kernel: [cache hits, cache misses]}``.
CHECK = """
import json
{warmer}
print(json.dumps({{k.__name__: [sum(k.stats.cache_hits.values()), sum(k.stats.cache_misses.values())]
                  for k in kernels}}))
"""


def _run(code: str, user: str | None = None) -> str:
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, user=user, env=dict(os.environ)
    )
    if proc.returncode != 0:
        sys.exit(f"warm_caches: failed{' as ' + user if user else ''}:\n{proc.stderr}")
    return proc.stdout.strip()


def main(argv: list[str]) -> int:
    """Compile, then check that every kernel loads from the cache as root and as the serve user."""
    for var in ("NUMBA_CACHE_DIR", "MPLCONFIGDIR"):
        if not os.environ.get(var):
            sys.exit(f"warm_caches: set {var} (the Dockerfile does)")
    check_only = argv[:1] == ["--check"]
    if not check_only:
        import matplotlib.font_manager  # noqa: F401 - builds and saves the font list

        for module, warmer in WARMERS.items():
            _run(CHECK.format(warmer=warmer))  # compiles and writes the cache
            print(f"warm_caches: compiled {module}")
    cache = os.environ["NUMBA_CACHE_DIR"]
    serve_user = os.environ.get("CLARIFY_RUNNER_SERVE_USER")
    if serve_user and not check_only:
        pw = pwd.getpwnam(serve_user)
        for root, dirs, files in os.walk(cache):
            for name in [*dirs, *files]:
                os.chown(os.path.join(root, name), pw.pw_uid, pw.pw_gid)
        os.chown(cache, pw.pw_uid, pw.pw_gid)
    for user in [None, serve_user] if serve_user else [None]:
        for module, warmer in WARMERS.items():
            stats = json.loads(_run(CHECK.format(warmer=warmer), user=user))
            if not all(hits and not misses for hits, misses in stats.values()):
                sys.exit(f"warm_caches: {module} did not load from the cache as {user or 'root'}: {stats}")
            print(f"warm_caches: {module} loads from the cache as {user or 'root'}: {stats}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
