# clarify-runner: one image, two roles.
#   docker run IMAGE          -> the Clarify processing job (container/processing_job.py)
#   docker run IMAGE serve    -> a SageMaker-style model server for /opt/ml/model (local_endpoint)
#
# Build it with scripts/build-image: it downloads the wheels pinned (with hashes) in
# requirements/runtime.lock into docker/wheels/ on the host and builds the project's wheel, so
# nothing inside `docker build` needs the network (it runs with --network=none). The default base
# needs Debian's mirror only for system libraries it lacks (pango for the PDF report); without
# network the build stops saying so. scripts/build-base-image makes a base that has them.
ARG BASE_IMAGE=python:3.11-slim-bookworm

# ---- base: Python 3.11 + runtime shared libraries (WeasyPrint's pango, OpenMP) --------------
FROM ${BASE_IMAGE} AS base
ENV LANG=C.UTF-8 PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN set -eu; missing=""; \
    for p in libgomp1 libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core; do \
      dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; \
    done; \
    if [ -n "$missing" ]; then \
      { apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing \
        && rm -rf /var/lib/apt/lists/*; } \
      || { echo "ERROR: the base image lacks$missing and apt-get cannot install them from the Debian" \
                "mirror (no network: docker build --network=none?). Build with network access, or use" \
                "the offline base: scripts/build-base-image, then --build-arg" \
                "BASE_IMAGE=clarify-runner-base:bookworm" >&2; exit 1; }; \
    fi; \
    # The standard library's bytecode: without it every process of every container compiles
    # the modules it imports (asyncio alone took a second), as PYTHONDONTWRITEBYTECODE keeps
    # nothing. Debian's python3 (the debootstrap base) ships none; python:3.11-slim has it.
    python3 -m compileall -q -j 0 "$(python3 -c 'import sysconfig; print(sysconfig.get_path("stdlib"))')" \
      >/dev/null || true

# ---- builder: a venv of the locked dependencies, from the host-downloaded wheels only --------
FROM base AS builder
COPY docker/wheels/runtime.lock /wheels/
COPY docker/wheels/deps/ /wheels/deps/
RUN python3 -m venv /opt/venv \
 && { /opt/venv/bin/pip install --no-cache-dir --no-index --find-links /wheels/deps \
        --require-hashes -r /wheels/runtime.lock \
      || { echo "ERROR: docker/wheels/deps/ lacks wheels of requirements/runtime.lock (or a hash" \
                "differs): run scripts/build-image, which downloads them" >&2; exit 1; }; } \
 && find /opt/venv/lib/python3.11/site-packages -depth -type d -name tests \
      \( -path '*/pandas/tests' -o -path '*/numpy/*tests' -o -path '*/scipy/*tests' -o -path '*/sklearn/*tests' \
         -o -path '*/matplotlib/tests' -o -path '*/pyarrow/tests' \) -exec rm -rf {} + \
 && /opt/venv/bin/pip uninstall --yes --quiet pip setuptools \
 && cd /opt/venv/lib/python3.11/site-packages/pyarrow \
 && rm -f libarrow_flight.so* libarrow_python_flight.so* _flight.*.so libarrow_s3.so* _s3fs.*.so \
      _pyarrow_cpp_tests.*.so
# pyarrow's Arrow Flight RPC and its own S3 file system (S3 goes through boto3 here) are ~50 MB of
# shared libraries nothing imports; pyarrow.fs still imports without them (S3FileSystem missing).

# ---- project: clarify-runner itself, a small layer of its own (rebuilt on every code change) --
FROM base AS project
COPY docker/wheels/project/ /wheels/project/
RUN python3 -m venv /tmp/pip \
 && /tmp/pip/bin/pip install --no-cache-dir --no-index --no-deps --target /opt/project /wheels/project/*.whl \
 && mv /opt/project/bin /opt/project-bin \
 && sed -i '1s|^#!.*|#!/opt/venv/bin/python|' /opt/project-bin/*

# ---- runtime: the image -------------------------------------------------------------------------
FROM base AS runtime
# The processing role runs as root: SageMaker mounts /opt/ml/processing/* root-owned, and the
# Docker backend needs the Docker socket. The `serve` role drops to the unprivileged `clarify`
# user before it loads a model.
RUN useradd --uid 1000 --user-group --create-home --home-dir /home/clarify clarify
COPY --from=builder /opt/venv /opt/venv
COPY --from=project /opt/project/ /opt/venv/lib/python3.11/site-packages/
COPY --from=project /opt/project-bin/ /opt/venv/bin/
# Compiled once here, not in every container: numba's kernels (for a generic CPU of this
# architecture, so the cache holds on any host; owned by `clarify` so both roles can use it) and
# matplotlib's font list. docker/warm_caches.py fails the build if a kernel would compile again.
ENV PATH=/opt/venv/bin:$PATH CLARIFY_RUNNER_SERVE_USER=clarify \
    NUMBA_CACHE_DIR=/opt/clarify-runner/numba-cache NUMBA_CPU_NAME=generic \
    MPLCONFIGDIR=/opt/clarify-runner/matplotlib
COPY docker/warm_caches.py /opt/clarify-runner/warm_caches.py
RUN python /opt/clarify-runner/warm_caches.py \
 && python -c "import analyzer, container.processing_job, local_endpoint, sklearn, xgboost, lightgbm, weasyprint, spacy, skimage, PIL, \
pyarrow.csv, pyarrow.parquet, pyarrow.compute, pyarrow.dataset, pyarrow.fs"
EXPOSE 8080
ENTRYPOINT ["/opt/venv/bin/python", "-m", "container.processing_job"]
