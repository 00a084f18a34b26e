"""`compliance`: defaults, merging from `defaults`, and one-sentence errors naming the field."""

from __future__ import annotations

ORDERS = "orders: {source: {path: /x}, load: {table: ORDERS}"
WITH_COLUMNS = (
    "orders: {source: {path: /x}, load: {table: ORDERS}, transform: {columns: {email: {from: Email}, phone: {from: Phone}}}"
)


def test_a_dataset_declares_no_personal_data_by_default(load_text):
    compliance = load_text(f"datasets:\n  {ORDERS}}}\n").datasets["orders"].compliance

    assert (compliance.pii, compliance.auto_detect_pii, compliance.mask, compliance.retention_days) == ([], False, {}, None)
    assert (compliance.classification, compliance.hash_key) == (None, "pii_hash_key")


def test_the_shape_of_the_issue_is_read_and_a_masked_column_is_pii(load_text):
    config = load_text(
        f"datasets:\n  {WITH_COLUMNS}, compliance: {{pii: [email], auto_detect_pii: true, mask: {{email: hash, phone: redact}}, "
        "retention_days: 400, classification: confidential}}\n"
    )
    compliance = config.datasets["orders"].compliance

    assert compliance.declared_pii == ["email", "phone"]
    assert (compliance.masked("hash"), compliance.masked("redact")) == (["email"], ["phone"])
    assert (compliance.retention_days, compliance.classification) == (400, "confidential")


def test_compliance_may_come_from_the_defaults_and_a_dataset_adds_to_it(load_text):
    config = load_text(
        "defaults: {compliance: {auto_detect_pii: true, retention_days: 30}}\n"
        f"datasets:\n  {ORDERS}}}\n  customers: {{source: {{path: /y}}, load: {{table: CUSTOMERS}}, compliance: {{retention_days: 90}}}}\n"
    )
    orders, customers = (config.datasets[name].compliance for name in ("orders", "customers"))

    assert (orders.auto_detect_pii, orders.retention_days) == (True, 30)
    assert (customers.auto_detect_pii, customers.retention_days) == (True, 90)


def test_a_column_not_among_the_transform_columns_is_refused_by_name(config_error):
    error = config_error(f"datasets:\n  {WITH_COLUMNS}, compliance: {{mask: {{e_mail: hash}}}}}}\n")

    assert "dataset 'orders'" in str(error)
    assert "compliance names e_mail, which is not among the transform's columns (email, phone)" in str(error)


def test_bad_values_name_the_field_and_what_is_allowed(config_error):
    unknown_mask = config_error(f"datasets:\n  {ORDERS}, compliance: {{mask: {{email: encrypt}}}}}}\n")
    assert "compliance.mask.email" in str(unknown_mask) and "got 'encrypt'; allowed: hash, redact, none." in str(unknown_mask)

    no_days = config_error(f"datasets:\n  {ORDERS}, compliance: {{retention_days: 0}}}}\n")
    assert "compliance.retention_days" in str(no_days) and "greater than or equal to 1" in str(no_days)

    twice = config_error(f"datasets:\n  {ORDERS}, compliance: {{pii: [email, email]}}}}\n")
    assert "pii names email more than once" in str(twice)

    typo = config_error(f"datasets:\n  {ORDERS}, compliance: {{retention: 30}}}}\n")
    assert "unknown key 'retention'" in str(typo) and "retention_days" in str(typo)
