"""DM templates: unknown variables are caught when a campaign is saved; known ones are filled."""

from __future__ import annotations

import pytest

from revos.text.templates import fit_invitation_note, render, validate_template


@pytest.mark.parametrize(
    ("text", "unknown"),
    [
        ("Hi {{first_name}}, here is {{lead_magnet_name}}: {{download_url}}", []),
        ("Hi {{ first_name }} {{last_name}} from {{campaign_name}} ({{email}})", []),
        ("Hi {{firstname}}", ["firstname"]),
        ("{{first_name}} {{company}} {{company}}", ["company"]),
        ("no variables at all", []),
    ],
    ids=["all-known", "spaces-inside", "typo", "unknown-once", "plain-text"],
)
def test_validate_template_lists_unknown_variables(text: str, unknown: list[str]) -> None:
    assert validate_template(text) == unknown


def test_render_fills_known_variables_and_tidies_a_missing_name() -> None:
    assert render("Hi {{first_name}}, enjoy {{lead_magnet_name}}!", {"lead_magnet_name": "the guide"}) == (
        "Hi, enjoy the guide!"
    )


def test_an_invitation_note_is_cut_to_linkedins_300_characters() -> None:
    note = fit_invitation_note("word " * 100)
    assert len(note) <= 300
    assert note.endswith("…")
