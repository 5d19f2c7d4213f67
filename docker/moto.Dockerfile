# The AWS emulator for docker-compose.yml: moto (S3 + SageMaker control plane) on port 5000.
# Built by scripts/build-image from the host-downloaded wheels pinned in requirements/moto.lock
# (no network inside the build).
ARG BASE_IMAGE=python:3.11-slim-bookworm

FROM ${BASE_IMAGE} AS builder
COPY docker/wheels/moto.lock /wheels/
COPY docker/wheels/deps/ /wheels/deps/
RUN python3 -m venv /opt/venv \
 && { /opt/venv/bin/pip install --no-cache-dir --no-index --find-links /wheels/deps \
        --require-hashes -r /wheels/moto.lock \
      || { echo "ERROR: docker/wheels/deps/ lacks wheels of requirements/moto.lock (or a hash differs):" \
                "run scripts/build-image, which downloads them" >&2; exit 1; }; } \
 && /opt/venv/bin/pip uninstall --yes --quiet pip setuptools

FROM ${BASE_IMAGE}
COPY --from=builder /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH LANG=C.UTF-8 PYTHONUNBUFFERED=1
RUN useradd --system --uid 1000 --user-group --no-create-home moto
USER moto
EXPOSE 5000
ENTRYPOINT ["/opt/venv/bin/moto_server", "-H", "0.0.0.0", "-p", "5000"]
