"""The i18n catalog: every message in English and French, with the same placeholders."""

from string import Formatter

from bot.i18n import CATALOG, SUPPORTED_LANGUAGES, language_of, t


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in Formatter().parse(text) if name}


def test_every_message_exists_in_every_language_with_the_same_placeholders():
    for key, entry in CATALOG.items():
        assert set(entry) == set(SUPPORTED_LANGUAGES), key
        assert all(entry.values()), key
        assert fields(entry["en"]) == fields(entry["fr"]), key


def test_language_follows_the_slack_locale():
    assert language_of("fr-FR") == "fr"
    assert language_of("fr-CA") == "fr"
    assert language_of("en-GB") == "en"
    assert language_of("ja-JP", "fr") == "fr"
    assert language_of(None, "fr") == "fr"
    assert t("role.leadership", "fr") == "direction"
