"""People's names are a semantic type when the column's name says so and its values are shaped like names."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from etl_assets.profiling.person_names import names_people
from etl_assets.profiling.profiler import profile_parquet

PEOPLE_NAMES = ["name", "Name", "first_name", "lastName", "FirstName", "surname", "Surname", "full_name", "given_name",
                "customer_name", "contact_name", "CustomerName", "name_first", "family-name", "forename", "billing_name"]  # fmt: skip
OTHER_NAMES = ["product_name", "file_name", "company_name", "username", "names_count", "rename", "nickname_id", "", "_", "city"]
PEOPLE = ["Ann Martin", "Bob O'Brien", "Chen Wei", "Dolores McDonald", "Émile van der Berg", "Siobhán Smith-Jones",
          "Jean-Luc Müller", "Ng, Mary", "J. R. Tolkien", "  Diana Prince "]  # fmt: skip
PRODUCTS = ["Widget 3000", "USB-C cable", "Coffee beans 1kg", "desk lamp", "AA batteries (4)", "iPhone case", "Gift card €50", "Blue mug"]


@pytest.mark.parametrize("column", PEOPLE_NAMES)
def test_names_that_say_people(column):
    assert names_people(column)


@pytest.mark.parametrize("column", OTHER_NAMES)
def test_names_that_do_not(column):
    assert not names_people(column)


def profiled(tmp_path, columns: dict[str, list]):
    path = tmp_path / "upload.parquet"
    pq.write_table(pa.table(columns), path)
    return {column.name: column.semantic_type for column in profile_parquet(path).columns}


@pytest.mark.parametrize("rows", [40, 2_400])  # all values in one grouped query, and one query per column
def test_peoples_names_are_recognised_and_product_names_are_not(tmp_path, rows):
    def repeat(values: list) -> list:
        return [values[i % len(values)] for i in range(rows)]

    kinds = profiled(tmp_path, {
        "name": repeat(PEOPLE), "first_name": repeat([p.split()[0] for p in PEOPLE[:8]]), "product_name": repeat(PEOPLE),
        "city": repeat(["Paris", "Lyon", "New York"]), "surname": repeat(["smith", "jones", "lee"]),
    })  # fmt: skip

    assert kinds["name"] == kinds["first_name"] == "person_name"
    assert kinds["product_name"] != "person_name", "its name says products, whatever its values look like"
    assert kinds["city"] != "person_name"
    assert kinds["surname"] != "person_name", "lower-case handles are not shaped like names"


def test_a_name_column_of_products_is_not_peoples_names(tmp_path):
    kinds = profiled(tmp_path, {"name": PRODUCTS * 5, "order_id": list(range(40))})
    assert kinds["name"] != "person_name"
