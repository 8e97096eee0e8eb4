"""The README's pictures of the portal, in English and French, taken in Debian's Chromium from a
running service with the demo agency (`make run` prints its login):

    .venv/bin/python scripts/screenshots.py --url http://127.0.0.1:8000 --password <printed>

Writes docs/screenshots/<page>-<language>.png.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
# Field labels of the sign-in form in each language.
SIGN_IN = {
    "en": ("Agency", "Email", "Password"),
    "fr": ("Agence", "Adresse e-mail", "Mot de passe"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--agency", default="demo")
    parser.add_argument("--email", default="owner@demo.example")
    parser.add_argument("--password", required=True)
    parser.add_argument("--contractor", default="Victor Hale", help="whose page to take")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        for language in ("en", "fr"):
            context = browser.new_context(
                base_url=args.url, locale=language, viewport={"width": 1280, "height": 900}
            )
            page = context.new_page()
            page.goto("/")
            agency, email, password = SIGN_IN[language]
            page.get_by_label(agency).fill(args.agency)
            page.get_by_label(email, exact=True).fill(args.email)
            page.get_by_label(password, exact=True).fill(args.password)
            page.get_by_label(password, exact=True).press("Enter")
            page.wait_for_url("**/contractors")
            page.screenshot(path=args.out / f"contractors-{language}.png")
            page.get_by_role("link", name=args.contractor).first.click()
            page.wait_for_selector("#trajectory-chart canvas")
            page.screenshot(path=args.out / f"contractor-{language}.png", full_page=True)
            page.goto("/policy")
            page.screenshot(path=args.out / f"policy-{language}.png")
            page.goto("/audit")
            page.screenshot(path=args.out / f"audit-{language}.png")
            context.close()
        browser.close()


if __name__ == "__main__":
    main()
