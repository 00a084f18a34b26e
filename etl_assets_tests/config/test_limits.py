"""A small config cannot make validation take minutes or gigabytes: YAML aliases, nesting and variables are bounded."""

from __future__ import annotations

import time
import tracemalloc

import pytest

ORDERS = "  orders: {source: {path: /x}, load: {table: ORDERS}}\n"
# Python allocations a refused bomb may cost; the unbounded ones ran to hundreds of megabytes.
MEMORY_LIMIT = 20 * 2**20
# Seconds; the unbounded ones ran for half a minute or more.
TIME_LIMIT = 10


def _refused_cheaply(config_error, text: str, environ: dict[str, str] | None = None):
    tracemalloc.start()
    started = time.perf_counter()
    try:
        error = config_error(text, environ)
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert time.perf_counter() - started < TIME_LIMIT
    assert peak < MEMORY_LIMIT
    return error


def _alias_bomb() -> str:
    """Nine levels of nine aliases each: 444 bytes that a plain YAML loader expands to 9**9 values."""
    lines = ['  a: &a ["x","x","x","x","x","x","x","x","x"]']
    for previous, name in zip("abcdefgh", "bcdefghi"):
        lines.append(f"  {name}: &{name} [{','.join(['*' + previous] * 9)}]")
    return "variables:\n" + "\n".join(lines) + "\ndatasets:\n" + ORDERS


def test_a_yaml_alias_bomb_is_refused_at_the_alias(config_error, tmp_path):
    text = _alias_bomb()
    assert len(text.encode()) < 500

    error = _refused_cheaply(config_error, text)

    assert error.details == [
        f"{tmp_path / 'etl_config.yaml'}, line 7, column 10: the aliases (*name) expand the YAML to more than "
        "100,000 values by here; use fewer aliases of large anchors (&name)."
    ]


@pytest.mark.slow
def test_a_big_plain_yaml_is_refused_at_the_value_over_the_limit(config_error):
    items = ",".join(["1"] * 100_001)

    error = config_error(f"variables:\n  many: [{items}]\ndatasets:\n{ORDERS}")

    assert "etl_config.yaml, line 2, column 200000: the YAML holds more than 100,000 values by here; " in str(error)
    assert str(error).endswith("a config needs far fewer, so split it or remove what is not used.")


@pytest.mark.slow
def test_deep_nesting_is_refused_at_the_level_over_the_limit(config_error):
    error = _refused_cheaply(config_error, f"datasets:\n{ORDERS}variables:\n  deep: {'[' * 3000}{']' * 3000}\n")

    assert str(error).endswith(
        "etl_config.yaml, line 4, column 71: the YAML nests more than 64 levels deep here; "
        "a config needs far fewer, so flatten it."
    )


def test_an_alias_that_deepens_past_the_limit_is_refused(config_error):
    deep = "[" * 40 + "]" * 40
    error = config_error(f"variables:\n  a: &deep {deep}\n  b: {'[' * 30}*deep{']' * 30}\ndatasets:\n{ORDERS}")

    assert "etl_config.yaml, line 3, column 36: the YAML nests more than 64 levels deep here" in str(error)


def test_an_alias_inside_its_own_anchor_is_refused(config_error):
    error = config_error(f"variables:\n  loop: &loop [a, *loop]\ndatasets:\n{ORDERS}")

    assert str(error).endswith(
        "etl_config.yaml, line 2, column 19: the alias *loop sits inside the collection it names, so it would "
        "never end; write the values out instead."
    )


def test_a_real_config_with_anchors_still_loads(load_text):
    config = load_text(
        "defaults: {partitions: &daily {cadence: daily, timezone: UTC}}\n"
        "datasets:\n"
        "  a: {source: {path: /a}, partitions: *daily, load: {table: A}}\n"
        "  b: {source: {path: /b}, partitions: *daily, load: {table: B}}\n"
    )

    assert config.datasets["b"].partitions.cadence == "daily"


def test_text_variables_doubling_each_other_are_refused(config_error):
    lines = ["  a: xxxxxxxxxx"]
    for previous, name in zip("abcdefghi", "bcdefghij"):
        lines.append(f"  {name}: \"{('${variables.' + previous + '}') * 10}\"")
    text = "variables:\n" + "\n".join(lines) + "\ndatasets:\n" + ORDERS

    error = _refused_cheaply(config_error, text)

    assert str(error).endswith(
        "etl_config.yaml: variable 'f': ${variables.e} expands the config's text past 1,000,000 characters; "
        "use long variables fewer times."
    )


def test_list_variables_nesting_each_other_are_refused(config_error):
    lines = ["  a: [x, x, x, x, x, x, x, x, x, x]"]
    for previous, name in zip("abcdefghi", "bcdefghij"):
        use = '"${variables.' + previous + '}"'
        lines.append(f"  {name}: [{', '.join([use] * 10)}]")
    orders = ORDERS.replace("{source", '{description: "${variables.j}", source')

    error = _refused_cheaply(config_error, "variables:\n" + "\n".join(lines) + "\ndatasets:\n" + orders)

    assert str(error).endswith(
        "etl_config.yaml: dataset 'orders': brings the datasets, with their defaults, templates and variables "
        "layered in, past 1,000,000 values; use large variables and templates fewer times."
    )


@pytest.mark.slow
def test_a_template_repeated_by_many_datasets_counts_once_per_dataset(config_error):
    rules = ", ".join(["{rule: row_count, min: 1}"] * 2_000)
    datasets = "".join(f"  d{index}: {{extends: big, source: {{path: /in/{index}}}, load: {{table: T{index}}}}}\n" for index in range(200))

    error = config_error(f"templates:\n  big: {{quality: [{rules}]}}\ndatasets:\n{datasets}")

    assert "etl_config.yaml: dataset 'd166': brings the datasets, with their defaults, templates and variables layered in, past 1,000,000 values; " in str(error)


def test_variables_nesting_each_other_too_deep_are_refused(config_error):
    deep = "[" * 40 + "x" + "]" * 40
    wrapped = "[" * 40 + '"${variables.a}"' + "]" * 40
    orders = ORDERS.replace("{source", '{description: "${variables.b}", source')

    error = config_error(f"variables:\n  a: {deep}\n  b: {wrapped}\ndatasets:\n{orders}")

    assert str(error).endswith(
        "etl_config.yaml: dataset 'orders': nests more than 64 levels deep through variables; "
        "a config needs far fewer, so flatten it."
    )


def test_a_long_chain_of_variables_is_refused_not_a_recursion_error(config_error):
    lines = [f"  v{index}: ${{variables.v{index + 1}}}" for index in range(2000)] + ["  v2000: end"]
    text = "variables:\n" + "\n".join(lines) + "\ndatasets:\n" + ORDERS

    error = config_error(text)

    assert str(error).endswith(
        "etl_config.yaml: variable 'v32': variables refer to each other more than 32 deep "
        "(v0 -> v1 -> ... -> v32 -> v33); refer to the value directly."
    )


def test_deeply_nested_env_defaults_are_refused_not_a_recursion_error(config_error):
    nested = "${ENV:A:" * 3000 + "x" + "}" * 3000
    text = f"datasets:\n  orders: {{description: '{nested}', source: {{path: /x}}, load: {{table: ORDERS}}}}\n"

    error = config_error(text)

    assert "etl_config.yaml: dataset 'orders', field 'description': the placeholders in '${ENV:A:${ENV:A:" in str(error)
    assert str(error).endswith("nest more than 8 deep; nest fewer defaults.")


@pytest.mark.parametrize("uses", [1, 50])
def test_ordinary_variable_use_is_within_the_limits(load_text, uses):
    config = load_text(
        "variables: {root: /srv/landing, keys: [order_id]}\n"
        f"datasets:\n  orders: {{description: \"{'${variables.root} ' * uses}\", source: {{path: '${{variables.root}}/o'}}, "
        "load: {table: ORDERS, keys: '${variables.keys}'}}\n"
    )

    assert config.datasets["orders"].description.count("/srv/landing") == uses
