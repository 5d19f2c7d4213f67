"""clarify-runner: local_endpoint, a SageMaker-compatible model server (the shadow endpoint).

Start it with ``python -m local_endpoint serve --model-dir D --port P`` or
:func:`local_endpoint.server.serve`; build the ASGI app with
:func:`local_endpoint.app.create_app` (tests start one with ``tests/_model_server.py``).
It imports nothing from ``analyzer`` or ``container``.

**Only load trusted models**: joblib/pickle model files run arbitrary code when loaded.
Prefer ``skops``, XGBoost JSON/UBJ and LightGBM text models (see :mod:`local_endpoint.models`).
"""
