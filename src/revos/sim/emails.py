"""How people actually write their email in a DM: plain, obfuscated, wrapped in punctuation, in several
languages. Personas use this to produce replies whose ground truth is known."""

from __future__ import annotations

import random

STYLES = (
    "plain",  # jane@acme.com
    "paren",  # jane (at) acme (dot) com
    "bracket",  # jane [at] acme [dot] com
    "word",  # jane at acme dot com
    "spaced",  # jane @ acme.com
    "mailto",  # mailto:jane@acme.com
    "punctuated",  # <jane@acme.com>.
    "caps",  # Jane@Acme.COM
)
LANGUAGES = ("en", "fr", "es", "de")

_WITH_EMAIL = {
    "en": (
        "Sure! You can send it to {email}",
        "Thanks, my email is {email} :)",
        "Yes please -> {email}",
        "Hi! {email} works best, thank you",
    ),
    "fr": (
        "Avec plaisir ! Mon adresse : {email}",
        "Merci, vous pouvez l'envoyer à {email}",
        "Oui, voici mon mail {email}. Bonne journée",
    ),
    "es": (
        "¡Claro! Mi correo es {email}",
        "Gracias, envíalo a {email} por favor",
        "Sí, aquí tienes: {email}",
    ),
    "de": (
        "Gerne! Meine E-Mail-Adresse ist {email}",
        "Danke, schick es bitte an {email}",
        "Ja, hier: {email}. Viele Grüße",
    ),
}
_WITHOUT_EMAIL = {
    "en": ("Thanks! What is it about exactly?", "Interesting, tell me more", "Not right now, thanks"),
    "fr": ("Merci ! C'est quoi exactement ?", "Intéressant, dites-m'en plus"),
    "es": ("¡Gracias! ¿De qué se trata exactamente?", "Interesante, cuéntame más"),
    "de": ("Danke! Worum geht es genau?", "Interessant, erzähl mir mehr"),
}


def obfuscate(email: str, style: str) -> str:
    local, _, domain = email.partition("@")
    host, _, tld = domain.rpartition(".")
    if style == "plain":
        return email
    if style == "paren":
        return f"{local} (at) {host.replace('.', ' (dot) ')} (dot) {tld}"
    if style == "bracket":
        return f"{local} [at] {host.replace('.', ' [dot] ')} [dot] {tld}"
    if style == "word":
        return f"{local} at {host.replace('.', ' dot ')} dot {tld}"
    if style == "spaced":
        return f"{local} @ {domain}"
    if style == "mailto":
        return f"mailto:{email}"
    if style == "punctuated":
        return f"<{email}>."
    if style == "caps":
        return f"{local.capitalize()}@{host.capitalize()}.{tld.upper()}"
    raise ValueError(f"unknown email style {style!r}; known: {', '.join(STYLES)}")


def reply_with_email(email: str, style: str, language: str, rng: random.Random) -> str:
    template = rng.choice(_WITH_EMAIL.get(language, _WITH_EMAIL["en"]))
    return template.format(email=obfuscate(email, style))


def reply_without_email(language: str, rng: random.Random) -> str:
    return rng.choice(_WITHOUT_EMAIL.get(language, _WITHOUT_EMAIL["en"]))
