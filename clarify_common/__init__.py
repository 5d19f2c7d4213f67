"""clarify-runner: code shared by ``analyzer``, ``local_endpoint`` and ``container``.

``local_endpoint`` (the model server) is shipped and installed without the analyzer, so what
both sides need lives here, in a package that imports none of the three:

* :mod:`clarify_common.numeric_csv` — exact numeric CSV parsing and fast CSV writing, used by
  the model server for request bodies and by the analyzer's model client for responses;
* :mod:`clarify_common.extras` — which optional extra (``pip install 'clarify-runner[...]'``)
  a feature needs, and the message to print when it is missing.

Keep it small: code used by one package belongs in that package (``tests/test_architecture.py``
checks the import rules).
"""
