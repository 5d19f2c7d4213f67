# clarify-runner: one image, two roles.
#   docker run IMAGE          -> the Clarify processing job (container/processing_job.py)
#   docker run IMAGE serve    -> a SageMaker-style model server for /opt/ml/model (local_endpoint)
#
# Build offline with scripts/build-image: it downloads every wheel on the host into
# docker/wheels/ first, so nothing inside `docker build` needs the network. With the public base
# image (default below) the runtime system libraries come from Debian's mirror unless present.
ARG BASE_IMAGE=python:3.11-slim-bookworm

# ---- base: Python 3.11 + runtime shared libraries (WeasyPrint's pango, OpenMP) --------------
FROM ${BASE_IMAGE} AS base
ENV LANG=C.UTF-8 PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN set -eu; missing=""; \
    for p in libgomp1 libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core; do \
      dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; \
    done; \
    if [ -n "$missing" ]; then \
      apt-get update && apt-get install -y --no-install-recommends $missing && rm -rf /var/lib/apt/lists/*; \
    fi

# ---- builder: a venv of the dependencies from the host-built wheels (no index, no compiler) ----
FROM base AS builder
COPY docker/wheels/requirements.txt /wheels/
COPY docker/wheels/deps/ /wheels/deps/
RUN python3 -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-cache-dir --no-index --find-links /wheels/deps -r /wheels/requirements.txt \
 && find /opt/venv/lib/python3.11/site-packages -depth -type d -name tests \
      \( -path '*/pandas/tests' -o -path '*/numpy/*tests' -o -path '*/scipy/*tests' -o -path '*/sklearn/*tests' \
         -o -path '*/matplotlib/tests' -o -path '*/pyarrow/tests' \) -exec rm -rf {} + \
 && /opt/venv/bin/pip uninstall --yes --quiet pip setuptools

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
ENV PATH=/opt/venv/bin:$PATH MPLCONFIGDIR=/tmp/matplotlib CLARIFY_RUNNER_SERVE_USER=clarify
RUN python -c "import analyzer, container.processing_job, local_endpoint, sklearn, xgboost, lightgbm, weasyprint"
EXPOSE 8080
ENTRYPOINT ["/opt/venv/bin/python", "-m", "container.processing_job"]
