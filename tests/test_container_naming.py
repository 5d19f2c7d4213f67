"""Shadow-endpoint names follow the real Clarify container's (clarify-contract.md 4.1)."""

from __future__ import annotations

import re

from container.endpoints.naming import endpoint_config_name, endpoint_name


def test_endpoint_name_matches_the_real_container_log() -> None:
    name = endpoint_name("DEMO-clarify-model-18-04-2022-15-45-46", epoch=1650297024, suffix="12c3")
    assert name == "sm-clarify-DEMO-clarify-model-18-04-2022-15-45--1650297024-12c3"
    assert len(name) == 63


def test_short_model_name_is_kept_whole_and_prefix_is_respected() -> None:
    assert endpoint_name("gc", "my-prefix", epoch=1, suffix="abcd") == "my-prefix-gc-1-abcd"


def test_long_prefix_and_odd_characters_still_give_a_valid_name() -> None:
    name = endpoint_name("model_with.dots", "p" * 80)
    assert len(name) <= 63
    assert re.fullmatch(r"[a-zA-Z0-9](-*[a-zA-Z0-9])*", name)


def test_names_differ_between_calls_and_config_name_has_clarify_form() -> None:
    assert endpoint_name("m", epoch=5) != endpoint_name("m", epoch=5)
    assert re.fullmatch(r"sm-clarify-config-\d+-[0-9a-f]{4}", endpoint_config_name())
