"""Shadow endpoint on SageMaker: CreateEndpointConfig + CreateEndpoint from ``model_name``.

This is what runs inside a real SageMaker processing job (no Docker socket there). The
endpoint and its config are deleted when the block ends, whatever happens. Predictions then
go through ``sagemaker-runtime`` InvokeEndpoint (``AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME`` can
point it elsewhere).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

from analyzer.endpoint import EndpointHandle
from analyzer.errors import ModelError
from analyzer.settings import runner_settings
from container.endpoints import registry
from container.endpoints.common import check_stop, start_timeout
from container.endpoints.naming import endpoint_config_name

logger = logging.getLogger(__name__)

STATUS_LEGEND = (
    "(OutOfService: x, Creating: -, Updating: -, InService: !, RollingBack: <, Deleting: o, Failed: *)"
)
DEFAULT_INSTANCE_TYPE = "ml.m5.xlarge"


def sagemaker_client() -> Any:
    """A boto3 SageMaker client (``AWS_ENDPOINT_URL_SAGEMAKER`` honoured by botocore)."""
    import boto3

    from container.endpoints.region import aws_region

    return boto3.client("sagemaker", region_name=aws_region("model_name"))


def wait_in_service(
    sm: Any, name: str, *, stop_event: threading.Event | None = None, poll: float | None = None
) -> float:
    """Poll DescribeEndpoint until ``InService``; return the seconds waited."""
    poll = runner_settings().sagemaker_poll_seconds if poll is None else poll
    start = time.monotonic()
    logger.info("Waiting for endpoint ... %s", STATUS_LEGEND)
    while True:
        check_stop(stop_event)
        desc = sm.describe_endpoint(EndpointName=name)
        status = desc.get("EndpointStatus")
        if status == "InService":
            return time.monotonic() - start
        if status in ("Failed", "OutOfService"):
            raise ModelError(f"endpoint {name} is {status}: {desc.get('FailureReason', 'no reason given')}")
        if time.monotonic() - start > start_timeout():
            raise ModelError(f"endpoint {name} is still {status} after {start_timeout():.0f} seconds")
        if stop_event is not None:
            stop_event.wait(poll)
        else:
            time.sleep(poll)


def _delete(sm: Any, config_name: str, name: str) -> None:
    logger.info("Deleting endpoint configuration with name: %s", config_name)
    with contextlib.suppress(Exception):
        sm.delete_endpoint_config(EndpointConfigName=config_name)
    logger.info("Deleting endpoint with name: %s", name)
    with contextlib.suppress(Exception):
        sm.delete_endpoint(EndpointName=name)


@contextlib.contextmanager
def open_sagemaker_endpoint(
    name: str,
    model_name: str,
    *,
    count: int = 1,
    instance_type: str | None = None,
    accelerator_type: str | None = None,
    stop_event: threading.Event | None = None,
    client: Any = None,
) -> Iterator[EndpointHandle]:
    """Create endpoint ``name`` for SageMaker model ``model_name``; delete it (and its config) after."""
    from botocore.exceptions import BotoCoreError, ClientError

    sm = client or sagemaker_client()
    config_name = endpoint_config_name()
    variant: dict[str, Any] = {
        "VariantName": "AllTraffic",
        "ModelName": model_name,
        "InitialInstanceCount": count,
        "InstanceType": instance_type or DEFAULT_INSTANCE_TYPE,
    }
    if accelerator_type:
        variant["AcceleratorType"] = accelerator_type
    created_config = created_endpoint = False
    token = registry.register(f"SageMaker endpoint {name}", lambda: _delete(sm, config_name, name))
    try:
        try:
            logger.info("Creating endpoint-config with name %s", config_name)
            sm.create_endpoint_config(EndpointConfigName=config_name, ProductionVariants=[variant])
            created_config = True
            logger.info("Creating endpoint: '%s'", name)
            sm.create_endpoint(EndpointName=name, EndpointConfigName=config_name)
            created_endpoint = True
            logger.info("Using endpoint name: %s", name)
        except (ClientError, BotoCoreError) as exc:
            raise ModelError(
                f"could not create the shadow endpoint for predictor.model_name {model_name!r}: {exc}"
            ) from exc
        seconds = wait_in_service(sm, name, stop_event=stop_event)
        logger.info("Endpoint is in service after %d seconds", round(seconds))
        yield EndpointHandle(
            endpoint_name=name, region=sm.meta.region_name, description=f"SageMaker endpoint {name}"
        )
    finally:
        logger.info("Stop using endpoint: %s", name)
        if created_config or created_endpoint:
            _delete(sm, config_name, name)
        registry.done(token)


@contextlib.contextmanager
def use_existing_endpoint(
    name: str, *, stop_event: threading.Event | None = None
) -> Iterator[EndpointHandle]:
    """Use the user's endpoint ``name`` as it is; never delete it.

    Its status is checked when the SageMaker API answers; when it does not (offline use with
    ``AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME`` pointing at a local server), the check is skipped.
    """
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    from container.endpoints.region import aws_region

    logger.info("Using endpoint %s", name)
    region = aws_region("endpoint_name")
    try:
        sm = boto3.client(
            "sagemaker", region_name=region, config=Config(connect_timeout=5, retries={"max_attempts": 1})
        )
        status = sm.describe_endpoint(EndpointName=name).get("EndpointStatus")
        if status != "InService":
            wait_in_service(sm, name, stop_event=stop_event)
    except ClientError as exc:
        raise ModelError(f"predictor.endpoint_name {name!r}: {exc}") from exc
    except BotoCoreError as exc:
        logger.warning("Could not check the status of endpoint %s (%s); invoking it anyway", name, exc)
    yield EndpointHandle(endpoint_name=name, region=region, description=f"endpoint {name}")
