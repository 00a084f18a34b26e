"""Saved scripts: content-hashed files with logs, reused while their inputs are unchanged."""

from __future__ import annotations

import json
from pathlib import Path

from etl_assets.scriptgen.generate import NO_ROWS_FOR_THE_MODEL, generate_script
from etl_assets.scriptgen.store import find_reusable, save_script, script_inputs_hash
from etl_assets.scriptgen.template import GENERATOR_VERSION
from etl_assets_tests.scriptgen.builders import ORDERS_SOURCE_TYPES, ORDERS_TRANSFORM, orders_dataset

TEMPLATE = {"generator": "template", "generator_version": "template-1"}


def _files(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


def test_inputs_hash_changes_with_spec_requirements_schema_and_generator_version() -> None:
    base = script_inputs_hash(orders_dataset(), ORDERS_SOURCE_TYPES, GENERATOR_VERSION)
    changed_requirements = orders_dataset({**ORDERS_TRANSFORM, "requirements": "Keep refunds"})
    changed_types = {**ORDERS_SOURCE_TYPES, "Discount": "float"}

    assert script_inputs_hash(orders_dataset(), dict(ORDERS_SOURCE_TYPES), GENERATOR_VERSION) == base
    assert len({
        base,
        script_inputs_hash(changed_requirements, ORDERS_SOURCE_TYPES, GENERATOR_VERSION),
        script_inputs_hash(orders_dataset(), changed_types, GENERATOR_VERSION),
        script_inputs_hash(orders_dataset(), ORDERS_SOURCE_TYPES, "template-0"),
        script_inputs_hash(orders_dataset(None), ORDERS_SOURCE_TYPES, GENERATOR_VERSION),
    }) == 5


def test_save_writes_code_log_and_index_and_find_reuses_it(tmp_path: Path) -> None:
    saved = save_script(tmp_path, "orders", "print('hi')\n", inputs_hash="abc", **TEMPLATE)

    folder = tmp_path / "orders"
    assert saved.path == folder / f"{saved.content_hash}.py"
    assert saved.path.read_text() == "print('hi')\n"
    assert len(saved.content_hash) == 16 and not saved.reused
    assert _files(folder) == sorted([f"{saved.content_hash}.py", f"{saved.content_hash}.json", "index.json"])
    log = json.loads((folder / f"{saved.content_hash}.json").read_text())
    assert {key: log[key] for key in ("dataset", "generator", "generator_version", "inputs_hash")} == {
        "dataset": "orders",
        "generator": "template",
        "generator_version": "template-1",
        "inputs_hash": "abc",
    }
    assert log["created_at"].endswith("+00:00")
    assert json.loads((folder / "index.json").read_text()) == {"abc": saved.content_hash}

    reused = find_reusable(tmp_path, "orders", "abc")
    assert reused is not None and reused.reused and reused.path == saved.path and reused.generator == "template"
    assert find_reusable(tmp_path, "orders", "other") is None


def test_a_deleted_script_is_not_reused(tmp_path: Path) -> None:
    saved = save_script(tmp_path, "orders", "print(1)\n", inputs_hash="abc", **TEMPLATE)

    saved.path.unlink()
    assert find_reusable(tmp_path, "orders", "abc") is None


def test_a_script_edited_by_hand_is_kept_and_pinned_until_the_inputs_change(tmp_path: Path) -> None:
    first = generate_script(orders_dataset(), ORDERS_SOURCE_TYPES, tmp_path)
    edited = first.path.read_text().replace('"""ETL script', '"""Edited by hand. ETL script', 1)
    first.path.write_text(edited)

    kept = generate_script(orders_dataset(), ORDERS_SOURCE_TYPES, tmp_path)
    again = generate_script(orders_dataset(), ORDERS_SOURCE_TYPES, tmp_path)

    # kept under its own content hash, so the code as generated can be saved again beside it
    assert kept.path.read_text() == edited and kept.pinned and kept.reused and kept.path.stem == kept.content_hash
    assert kept.content_hash != first.content_hash and again.pinned and again.path == kept.path
    index = json.loads((tmp_path / "orders" / "index.json").read_text())
    assert index[first.inputs_hash] == {"content_hash": kept.content_hash, "pinned": True}

    retyped = generate_script(orders_dataset(), {**ORDERS_SOURCE_TYPES, "Discount": "float"}, tmp_path)
    assert not retyped.reused and not retyped.pinned and "Edited by hand" not in retyped.path.read_text()
    assert kept.path.read_text() == edited, "a new script never overwrites an edited one"


def test_an_edit_is_never_overwritten_even_when_the_next_save_comes_first(tmp_path: Path) -> None:
    first = generate_script(orders_dataset(), ORDERS_SOURCE_TYPES, tmp_path)
    edited = first.path.read_text() + "# edited\n"
    first.path.write_text(edited)

    # other inputs that render the same code: saved under the same name the edit sits in
    retyped = generate_script(orders_dataset(), {**ORDERS_SOURCE_TYPES, "Coupon": "string"}, tmp_path)
    kept = generate_script(orders_dataset(), ORDERS_SOURCE_TYPES, tmp_path)

    assert retyped.path == first.path and "# edited" not in retyped.path.read_text()
    assert kept.pinned and kept.path.read_text() == edited


def test_generate_reuses_the_script_until_its_inputs_change(tmp_path: Path) -> None:
    without_dedup = orders_dataset({**ORDERS_TRANSFORM, "deduplicate_on": []})

    first = generate_script(orders_dataset(), ORDERS_SOURCE_TYPES, tmp_path)
    again = generate_script(orders_dataset(), ORDERS_SOURCE_TYPES, tmp_path)
    changed = generate_script(without_dedup, ORDERS_SOURCE_TYPES, tmp_path)

    assert (first.reused, again.reused, changed.reused) == (False, True, False)
    assert again.path == first.path and again.inputs_hash == first.inputs_hash
    assert changed.path != first.path and first.path.is_file()
    assert first.generator == "template" and first.fallback_reason is None
    index = json.loads((tmp_path / "orders" / "index.json").read_text())
    assert index == {first.inputs_hash: first.content_hash, changed.inputs_hash: changed.content_hash}
    assert not [name for name in _files(tmp_path / "orders") if name.endswith(".tmp")]


def test_changed_schema_that_renders_the_same_code_is_rechecked_but_shares_the_file(tmp_path: Path) -> None:
    first = generate_script(orders_dataset(), ORDERS_SOURCE_TYPES, tmp_path)
    retyped = generate_script(orders_dataset(), {**ORDERS_SOURCE_TYPES, "Discount": "float"}, tmp_path)

    assert not retyped.reused and retyped.inputs_hash != first.inputs_hash
    assert retyped.path == first.path
    assert find_reusable(tmp_path, "orders", first.inputs_hash) is not None


def test_generate_rerenders_when_the_saved_file_is_gone(tmp_path: Path) -> None:
    first = generate_script(orders_dataset(), ORDERS_SOURCE_TYPES, tmp_path)
    first.path.unlink()

    second = generate_script(orders_dataset(), ORDERS_SOURCE_TYPES, tmp_path)

    assert not second.reused and second.path == first.path and second.path.is_file()


def test_llm_generator_without_a_window_to_show_falls_back_to_the_template_and_says_why(tmp_path: Path) -> None:
    dataset = orders_dataset({**ORDERS_TRANSFORM, "generator": "llm"})

    generated = generate_script(dataset, ORDERS_SOURCE_TYPES, tmp_path)
    reused = generate_script(dataset, ORDERS_SOURCE_TYPES, tmp_path)

    assert (generated.generator, generated.fallback_reason) == ("template", NO_ROWS_FOR_THE_MODEL)
    assert reused.reused and reused.fallback_reason == NO_ROWS_FOR_THE_MODEL
    log = json.loads(generated.path.with_suffix(".json").read_text())
    assert log["fallback_reason"] == NO_ROWS_FOR_THE_MODEL
