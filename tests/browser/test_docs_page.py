"""The API's docs page as a person sees it: Swagger UI, every file of it from the service itself.

Like every browser test, it also fails if the page requested anything from another origin or
logged a console error (tests/browser/conftest.py).
"""

from __future__ import annotations

import re

from tests.browser.conftest import expect, save_screenshot

METHODS = ("get", "put", "post", "patch", "delete")
# Swagger UI names each operation's row by its method, its path and its summary. Slashes are
# escaped: Playwright's Python client hands a pattern's source to its selector parser as it is,
# and that parser ends the pattern at the first bare slash.
OPERATION = re.compile(rf"^({'|'.join(method.upper() for method in METHODS)}) \/")
LIST_CONTRACTORS = re.compile(r"^GET \/api\/v1\/contractors( |$)")


def test_a_person_reads_every_operation_of_the_api_on_its_docs_page(page, tmp_path):
    page.goto("/api/v1/docs")

    expect(page.get_by_role("heading", level=1)).to_contain_text("Reputation service")
    document = page.request.get("/api/v1/openapi.json").json()
    operations = [m for path in document["paths"].values() for m in path if m in METHODS]
    expect(page.get_by_role("button", name=OPERATION)).to_have_count(len(operations))
    save_screenshot(page, tmp_path / "docs.png")

    page.get_by_role("button", name=LIST_CONTRACTORS).click()
    expect(page.get_by_role("button", name="Try it out")).to_be_visible()
