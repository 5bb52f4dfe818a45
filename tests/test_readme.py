"""The README is read by a newcomer first: its first screen says how to start and how to sign in,
and the documents it sends a reader to exist."""
import re

from marketplace.config import PROJECT_ROOT

README = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
FIRST_SCREEN = "\n".join(README.splitlines()[:40])


def test_the_first_screen_says_what_to_run_and_how_to_sign_in():
    assert FIRST_SCREEN.index("make run") < FIRST_SCREEN.index("make test")
    assert "http://127.0.0.1:5000/" in FIRST_SCREEN
    assert "demo1234" in FIRST_SCREEN
    for login in ("buyer@demo.cn", "coop@demo.cn", "town@demo.cn", "agent@demo.cn", "supplier@demo.cn",
                  "admin@demo.cn"):
        assert login in FIRST_SCREEN, f"{login} is not on the README's first screen"


def test_the_readme_says_where_development_mail_goes_and_its_links_lead_somewhere():
    assert "instance/mail.log" in README
    for target in re.findall(r"\]\(((?:docs/)[^)#]+)\)", README):
        assert (PROJECT_ROOT / target).is_file(), target
    assert {"docs/architecture.md", "docs/reliability.md", "docs/performance.md"} <= set(
        re.findall(r"\]\((docs/[^)#]+)\)", README))
