"""Online explainability: an explainer in front of a model, as SageMaker's ``ClarifyExplainerConfig``.

* :mod:`container.online.config` reads and validates a ``ClarifyExplainerConfig`` JSON with the
  API's field names, limits and error messages;
* :mod:`container.online.explainer` answers one invocation: the model's predictions plus
  Kernel SHAP values per record (the processing job's engine, :mod:`analyzer.explain`);
* :mod:`container.online.transport` reaches the model in-process (``local_endpoint``'s
  registry, no HTTP hop) or over HTTP (a remote endpoint URL);
* :mod:`container.online.app` is the ASGI app (``/ping``, ``/invocations``,
  ``/endpoints/{name}/invocations``) and :mod:`container.online.server` runs it.

This package composes ``analyzer`` and ``local_endpoint``; ``local_endpoint`` stays free of both.
"""
