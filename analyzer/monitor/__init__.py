"""Model Monitor executions (ModelBiasMonitor, ModelExplainabilityMonitor) on captured traffic.

Pure parts only (no I/O): :mod:`analyzer.monitor.capture` parses SageMaker data-capture and
ground-truth records and merges them on ``inferenceId``/``eventId``;
:mod:`analyzer.monitor.records` turns merged events into dataset rows;
:mod:`analyzer.monitor.drift` compares a window's ``analysis.json`` with the baseline's
(bias drift, feature-attribution drift by NDCG) and writes Model Monitor's violation records;
:mod:`analyzer.monitor.cloudwatch` builds the CloudWatch metric records. Reading the files,
running the analysis and writing the outputs is :mod:`container.monitor`'s job.
"""
