"""Placeholders in etl_config.yaml: ${ENV:...} with and without defaults, ${variables...}, ${SECRET:...}."""

from __future__ import annotations

ONE_DATASET = """
variables:
  landing: ${ENV:LANDING:/default/landing}
datasets:
  orders:
    description: DESCRIPTION
    source: {path: "${variables.landing}/orders"}
    load: {table: ORDERS}
"""


def _with(description: str) -> str:
    return ONE_DATASET.replace("DESCRIPTION", description)


def test_env_placeholder_takes_the_variable(load_text):
    config = load_text(_with("Owner ${ENV:OWNER}"), {"OWNER": "ana"})

    assert config.datasets["orders"].description == "Owner ana"


def test_env_default_is_used_when_the_variable_is_unset_or_empty(load_text):
    unset = load_text(_with("${ENV:OWNER:nobody} at ${ENV:SITE:}"))
    empty = load_text(_with("${ENV:OWNER:nobody}"), {"OWNER": ""})

    assert unset.datasets["orders"].description == "nobody at "
    assert empty.datasets["orders"].description == "nobody"


def test_env_default_may_hold_a_placeholder_of_its_own(load_text):
    text = _with("${ENV:OUTER:${ENV:INNER:fallback}/x}")

    assert load_text(text).datasets["orders"].description == "fallback/x"
    assert load_text(text, {"INNER": "in"}).datasets["orders"].description == "in/x"
    assert load_text(text, {"OUTER": "out", "INNER": "in"}).datasets["orders"].description == "out"


def test_env_default_may_contain_colons(load_text):
    config = load_text(_with("${ENV:URL:https://example.com:8080/x}"))

    assert config.datasets["orders"].description == "https://example.com:8080/x"


def test_a_whole_value_from_env_stays_a_string(load_text):
    config = load_text(_with("${ENV:NUMBER}"), {"NUMBER": "42"})

    assert config.datasets["orders"].description == "42"


def test_missing_env_variable_is_named_with_what_to_do(config_error, tmp_path):
    error = config_error(_with("${ENV:OWNER}"))

    assert str(error) == (
        f"{tmp_path / 'etl_config.yaml'}: dataset 'orders', field 'description': uses ${{ENV:OWNER}} but the "
        "environment variable OWNER is not set; set it, or give a default with ${ENV:OWNER:default}."
    )


def test_variables_are_substituted_and_may_use_env(load_text):
    default = load_text(ONE_DATASET)
    from_env = load_text(ONE_DATASET, {"LANDING": "/mnt/in"})

    assert default.datasets["orders"].source.path == "/default/landing/orders"
    assert from_env.datasets["orders"].source.path == "/mnt/in/orders"


def test_a_whole_value_from_a_variable_keeps_its_type(load_text):
    config = load_text(
        """
        variables:
          keys: [order_id, day]
          strategy: append
          base: /srv
          root: ${variables.base}/landing
        datasets:
          orders:
            source: {path: "${variables.root}/orders"}
            load: {table: ORDERS, keys: "${variables.keys}", strategy: "${variables.strategy}"}
        """
    )
    orders = config.datasets["orders"]

    assert orders.load.keys == ["order_id", "day"]
    assert orders.load.strategy == "append"
    assert orders.source.path == "/srv/landing/orders"


def test_unknown_variable_is_named_with_the_known_ones(config_error):
    error = config_error(_with("${variables.lnding}"))

    assert "etl_config.yaml: dataset 'orders', field 'description': uses ${variables.lnding}" in str(error)
    assert "no variable 'lnding'" in str(error)
    assert "known: landing" in str(error)


def test_variables_referring_to_each_other_in_a_cycle_fail(config_error):
    error = config_error(
        """
        variables: {a: "${variables.b}", b: "x${variables.a}"}
        datasets:
          orders: {source: {path: /x}, load: {table: ORDERS}}
        """
    )

    assert "cycle (a -> b -> a)" in str(error)
    assert "etl_config.yaml: variable 'b'" in str(error)


def test_a_list_variable_cannot_sit_inside_text(config_error):
    error = config_error(
        """
        variables: {keys: [a, b]}
        datasets:
          orders: {description: "keys ${variables.keys}", source: {path: /x}, load: {table: ORDERS}}
        """
    )

    assert "dataset 'orders', field 'description': puts ${variables.keys}, which is a list, inside text" in str(error)


def test_secret_placeholder_needs_the_form_profile_field(config_error):
    error = config_error(
        """
        datasets:
          orders:
            source: {path: /x}
            description: "${SECRET:snowflake_password}"
            load: {table: ORDERS}
        """
    )

    assert "field 'description': has ${SECRET:snowflake_password}; write ${SECRET:profile.field}" in str(error)


def test_placeholders_in_lists_name_the_list_position(config_error):
    error = config_error(
        """
        datasets:
          orders:
            source: {path: /x}
            quality: [{rule: not_null, column: a}, {rule: regex, column: b, pattern: "${ENV:PATTERN}"}]
            load: {table: ORDERS}
        """
    )

    assert "dataset 'orders', field 'quality[1].pattern': uses ${ENV:PATTERN}" in str(error)


def test_unknown_and_unclosed_placeholders_fail_clearly(config_error):
    unknown = config_error(_with("${HOME}"))
    unclosed = config_error(_with("${ENV:OWNER"))

    assert "dataset 'orders', field 'description': has an unknown placeholder ${HOME}; use ${ENV:NAME}" in str(unknown)
    assert "field 'description': the placeholder in '${ENV:OWNER' is not closed" in str(unclosed)


def test_double_dollar_writes_a_literal_placeholder(load_text):
    config = load_text(_with("write $${ENV:NAME} to use the variable NAME"))

    assert config.datasets["orders"].description == "write ${ENV:NAME} to use the variable NAME"


def test_placeholders_in_defaults_and_templates_are_resolved(load_text):
    config = load_text(
        """
        defaults: {warehouse: {database: "${ENV:DB:ANALYTICS}"}}
        templates: {t: {warehouse: {schema: "${ENV:SCHEMA}"}}}
        datasets:
          orders: {extends: t, source: {path: /x}, load: {table: ORDERS}}
        """,
        {"DB": "PROD", "SCHEMA": "SALES"},
    )

    assert (config.datasets["orders"].warehouse.database, config.datasets["orders"].warehouse.schema_) == (
        "PROD",
        "SALES",
    )
