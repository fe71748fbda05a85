"""Read the email address a commenter gave in their DM reply.

:func:`extract_email` finds every address-shaped span in a reply, plain or obfuscated, validates it,
decides which one the person means, and says how sure it is.

Formats recognised (case-insensitive, after NFKC normalisation, so fullwidth "＠" and "．" count):

* plain addresses, with surrounding punctuation, brackets, quotes or markdown stripped
  (``<a@b.com>``, ``(a@b.com).``, ``**a@b.com**``, ``_a@b.com_``), ``mailto:`` links, a trailing
  sentence dot, and a missing space after it (``a@b.com.Thanks``);
* spaces around "@" and around "." in the domain (``jane @ acme . com``);
* bracketed words or symbols: ``(at)``, ``[at]``, ``{at}``, ``<at>``, ``(@)``, ``(dot)``, ``[dot]``,
  ``(.)``, ...;
* spoken forms: ``jane at acme dot com``, ``jane AT acme DOT com``, and the same words in French
  (arobase, point), Spanish (arroba, punto), German (punkt), Portuguese (arroba, ponto) and Italian
  (chiocciola, punto), also mixed with symbols (``jane.doe at gmail.com``, ``jane@acme dot com``).

Spoken forms are where ordinary sentences could be mistaken for addresses ("look at this dot com
boom"), so they are held to stricter rules: the words around "at"/"dot" must not be common function
words, verbs or job titles; the top-level domain must be a common one; and "name at domain.tld" with a
plain dot needs a mail provider's domain, an address-like local part (with ".", "_", "+" or a digit) or
an "email:"-style cue right before it. Every domain needs a plausible TLD (any two letters, or one of an
embedded list of generic TLDs), and every candidate must pass ``email-validator``'s syntax check (no DNS).

Confidence scale (the campaign's review threshold defaults to 0.8; below it a human checks the email):

    0.97  one ``mailto:`` link
    0.96  one plain, well-formed address
    0.88  spaces around "@" or "." (``jane @ acme.com``)
    0.85  bracketed obfuscation (``jane (at) acme (dot) com``)
    0.82  a plain address whose glued-on tail was cut (``a@b.com.Thanks``)
    0.75  "at" spelled out with plain dots (``jane at gmail.com``), or "@" with "dot" spelled out
    0.70  fully spoken, mail-provider domain (``jane at gmail dot com``)
    0.65  fully spoken, other domain (``jane at acme dot com``)

A non-ASCII local part (``josé@...``) costs 0.03. When a reply contains several different addresses,
each gets a score from the words around it: introduced by "use", "send it to", "my email is", "work
email", "rather", "instead", "actually" (and their French, Spanish, German, Portuguese and Italian
equivalents) raises it; a correction after an earlier address ("sorry", "oops", "I meant") raises it
further; negation ("not", "don't use", "old", "no longer works", "instead of") lowers it most; someone
else's address ("cc my assistant", "my colleague") lowers it. The best score wins (the earliest on a
tie), and the confidence becomes:

* a clear winner (score margin ≥ 2): the winner's base confidence × 0.92 (a plain address: 0.88);
* a weak winner (margin 1): × 0.75 (a plain address: 0.72, so a human reviews it);
* no winner (tie): the smaller of × 0.6 and 0.6.

A single address that is itself negated or someone else's keeps half its base confidence. The same
address given twice (e.g. a markdown link and its ``mailto:`` target) counts once.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email

from revos.text._email_words import (
    _ADVERBS,
    _AT_WORDS,
    _DOT_WORDS,
    _FIX,
    _GTLDS,
    _LEAD_CUES,
    _NEG,
    _OTHER,
    _PROSE_WORDS,
    _PROVIDERS,
    _SCORES,
    _SPOKEN_TLDS,
    _TAIL_CUES,
)
from revos.text.triggers import normalize as _fold

__all__ = ["EmailMatch", "extract_email", "find_emails"]


@dataclass(frozen=True, slots=True)
class EmailMatch:
    """An address found in a reply. ``email`` is normalised (lower-cased, punctuation stripped);
    ``raw`` is the span of the original text it was read from; ``reason`` says how it was found."""

    email: str
    confidence: float
    raw: str = ""
    reason: str = ""


# --- Patterns --------------------------------------------------------------------------------------

_H = r"[^\S\r\n]"  # horizontal whitespace: an address never spans lines
_OPEN, _CLOSE = r"[(\[{<]", r"[)\]}>]"
_AT_WORD = "|".join(_AT_WORDS)
_DOT_WORD = "|".join(_DOT_WORDS)
_AT = (
    rf"(?:{_H}*@{_H}*"
    rf"|{_H}*{_OPEN}{_H}*(?:{_AT_WORD}|@){_H}*{_CLOSE}{_H}*"
    rf"|{_H}+(?:{_AT_WORD}){_H}+)"
)
_DOT_BRACKETED = rf"{_H}*{_OPEN}{_H}*(?:{_DOT_WORD}|\.){_H}*{_CLOSE}{_H}*"
_DOT_SPOKEN = rf"{_H}+(?:{_DOT_WORD}){_H}+"
# A spaced dot ("acme . com") needs space on both sides: "jane@acme. It was" is a sentence end.
_DOT_DOMAIN = rf"(?:\.|{_H}+\.{_H}+|{_DOT_BRACKETED}|{_DOT_SPOKEN})"
_DOT_LOCAL = rf"(?:\.|{_DOT_BRACKETED}|{_DOT_SPOKEN})"
_ATOM = r"[\w%+](?:[\w%+'\-]*[\w%+\-])?"
_LABEL = r"[^\W_]+(?:-+[^\W_]+)*"
_CANDIDATE = re.compile(
    # Start at a word boundary, and not after the apostrophe of a word ("o'brien" is one local part).
    # Repetitions are bounded (no real address has more parts) so that prose full of dots or "dot"
    # words is scanned in linear time instead of re-reading the rest of the text from every word.
    rf"(?<![\w%+.\-@])(?<!\w')(?P<local>{_ATOM}(?:{_DOT_LOCAL}{_ATOM}){{0,8}})"
    rf"(?P<at>{_AT})"
    rf"(?P<domain>{_LABEL}(?:{_DOT_DOMAIN}{_LABEL}){{1,8}})"
    # Not the start of a longer address ("me at jane.doe@acme.com" is not me@jane.doe), nor cut short at a
    # dot or an underscore of one ("b@ 0.aa.0@0.com" is not b@0.aa).
    r"(?![^\W_]|-|[\w.%+\-]*@)",
    re.IGNORECASE,
)
_SPLIT_LOCAL = re.compile(f"({_DOT_LOCAL})", re.IGNORECASE)
_SPLIT_DOMAIN = re.compile(f"({_DOT_DOMAIN})", re.IGNORECASE)
_MAILTO = re.compile(r"mailto:\s*$", re.IGNORECASE)
_EMAIL_CUE = re.compile(
    r"(?:e-?mail|mail|correo|courriel|adresse|address|endereco|indirizzo|contact)\b[^\w\n]{0,4}"
    r"(?:\w+\W+){0,3}$",
    re.IGNORECASE,
)

# Separator kinds, from most to least certain.
_PLAIN, _SPACED, _BRACKET, _SPOKEN = 0, 1, 2, 3
_KIND_NAMES = {_PLAIN: "plain", _SPACED: "spaced", _BRACKET: "bracketed", _SPOKEN: "spoken"}


def _kind(sep: str) -> int:
    core = sep.strip()
    if core in ("@", "."):
        return _PLAIN if core == sep else _SPACED
    if core[:1] in "([{<":
        return _BRACKET
    return _SPOKEN


def _cue_regex(table: dict[str, str]) -> re.Pattern[str]:
    alternatives = sorted(table, key=len, reverse=True)  # longest first: "don't use" before "use"
    body = "|".join(re.escape(p).replace(r"\ ", r"\s+") for p in alternatives)
    return re.compile(rf"(?<![^\W_])(?:{body})(?![^\W_])")


_LEAD_RE = _cue_regex(_LEAD_CUES)
_TAIL_RE = _cue_regex(_TAIL_CUES)
_CLAUSE_END = re.compile(r"[,.!?;\n]")
_TAIL_END = re.compile(r"[,.!?;\n]|\s[-\u2013\u2014]\s")
_LEAD_WINDOW, _TAIL_WINDOW = 80, 40


def _fold_cue_text(text: str) -> str:
    return _fold(text.replace("\u2019", "'").replace("\u00b4", "'"))


# --- Extraction ------------------------------------------------------------------------------------

_INVISIBLE = frozenset("\u200b\u200c\u200d\u2060\ufeff\u00ad")


def _prepare(text: str) -> tuple[str, list[int] | None]:
    """NFKC-normalise per character, keeping where each output character came from (for ``raw``)."""
    if text.isascii():
        return text, None
    out: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(text):
        if ch in _INVISIBLE:
            continue
        norm = unicodedata.normalize("NFKC", ch) if ord(ch) > 127 else ch
        out.append(norm)
        where.extend([i] * len(norm))
    return "".join(out), where


def _tld_ok(tld: str, spoken: bool) -> bool:
    tld = tld.lower()
    if spoken:
        return tld in _SPOKEN_TLDS
    if tld.startswith("xn--"):
        return len(tld) > 4
    if not tld.isalpha():
        return False
    if not tld.isascii():
        return len(tld) >= 2  # internationalised TLDs (.рф, .中国): rare, but real
    return len(tld) == 2 or tld in _GTLDS


def _split(pattern: re.Pattern[str], text: str) -> tuple[list[str], list[int]]:
    pieces = pattern.split(text)
    return pieces[::2], [_kind(sep) for sep in pieces[1::2]]


@dataclass(slots=True)
class _Candidate:
    email: str
    base: float
    start: int
    end: int
    reason: str
    score: int = 0
    cues: tuple[str, ...] = ()


# "I'm at acme dot com", "we're at ...": an English contraction is never a spelled-out local part.
_JOB_OF = re.compile(r"\b(?:of|for)\s+$", re.IGNORECASE)
_CONTRACTION = re.compile(r"'(?:m|re|s|ll|d|ve|t)$")


def _join_plain(atoms: list[str], kinds: list[int]) -> list[str]:
    pieces = [atoms[0].lower()]
    for atom, kind in zip(atoms[1:], kinds, strict=True):
        if kind == _PLAIN:
            pieces[-1] += "." + atom.lower()
        else:
            pieces.append(atom.lower())
    return pieces


def _validate(norm: str, m: re.Match[str]) -> _Candidate | None:
    atoms, local_kinds = _split(_SPLIT_LOCAL, m.group("local"))
    labels, domain_kinds = _split(_SPLIT_DOMAIN, m.group("domain"))
    at_kind = _kind(m.group("at"))
    at_spoken = at_kind == _SPOKEN
    dot_spoken = _SPOKEN in domain_kinds or _SPOKEN in local_kinds
    start, end = m.start(), m.end()

    if at_spoken or dot_spoken:
        # Atoms joined by a plain dot ("a.b") are address-like whatever the words; spoken joins are not.
        pieces = _join_plain(atoms, local_kinds) + [lab.lower() for lab in labels[:-1]]
        if any(p in _PROSE_WORDS or _CONTRACTION.search(p) for p in pieces):
            return None
        if at_spoken and len("".join(atoms)) < 2:
            return None
        if at_spoken and _JOB_OF.search(norm, 0, start):
            return None  # "head of growth at acme dot com" is a job, not an address

    # A dotted tail that is not a TLD is usually the next sentence glued on ("a@b.com.Thanks", or
    # "a@b.com . a"): cut it, but trust the address a little less.
    trimmed = False
    seps = _SPLIT_DOMAIN.split(m.group("domain"))[1::2]
    # A spaced dot after a domain written with plain dots starts the next sentence ("a@b.com . bb"), even
    # when the word after it could be a TLD: cut it while what is left still ends in one.
    while (
        len(labels) > 2
        and domain_kinds[-1] == _SPACED
        and _PLAIN in domain_kinds[:-1]
        and _tld_ok(labels[-2], False)
    ):
        end -= len(labels[-1]) + len(seps[-1])
        labels, domain_kinds, seps = labels[:-1], domain_kinds[:-1], seps[:-1]
        trimmed = True
    while not _tld_ok(labels[-1], _SPOKEN in domain_kinds[-1:]):
        if len(labels) <= 2 or domain_kinds[-1] not in (_PLAIN, _SPACED):
            return None
        end -= len(labels[-1]) + len(seps[-1])
        labels, domain_kinds, seps = labels[:-1], domain_kinds[:-1], seps[:-1]
        trimmed = True

    # Markdown emphasis with underscores ("_a@b.com_") would otherwise stay in the local part.
    if atoms[0].startswith("_") and norm[end : end + 1] == "_":
        atoms[0] = atoms[0].lstrip("_")
        start += 1
        if not atoms[0]:
            return None

    domain = ".".join(labels)
    if at_spoken and not dot_spoken:
        # "name at domain.tld": fine for a mail provider, an address-like name, or after "email:".
        addressy = any(ch in "._+" or ch.isdigit() for ch in m.group("local"))
        cued = _EMAIL_CUE.search(norm[max(0, start - 40) : start])
        if not (addressy or cued or labels[0].lower() in _PROVIDERS):
            return None

    try:
        valid = validate_email(
            ".".join(atoms) + "@" + domain,
            check_deliverability=False,
            allow_smtputf8=True,
            allow_quoted_local=False,
        )
    except EmailNotValidError:
        return None
    email = valid.normalized.lower()

    kinds = [at_kind, *local_kinds, *domain_kinds]
    worst = max(kinds)
    if _MAILTO.search(norm[max(0, start - 12) : start]) and worst == _PLAIN:
        base, reason = 0.97, "mailto link"
    elif worst == _PLAIN:
        base, reason = 0.96, "plain address"
    elif worst in (_SPACED, _BRACKET):
        base, reason = (0.88, "spaces around @ or .") if worst == _SPACED else (0.85, "bracketed at/dot")
    elif at_spoken and dot_spoken:
        provider = labels[0].lower() in _PROVIDERS
        base, reason = (0.70 if provider else 0.65), "spoken at/dot"
    else:
        base, reason = 0.75, "spoken " + ("at" if at_spoken else "dot")
    if trimmed:
        base, reason = min(base, 0.82), reason + ", trailing text cut"
    if not email.split("@")[0].isascii():
        base, reason = base - 0.03, reason + ", non-ASCII local part"
    return _Candidate(email, base, start, end, reason)


def _candidates(norm: str) -> list[_Candidate]:
    found: list[_Candidate] = []
    pos = 0
    while (m := _CANDIDATE.search(norm, pos)) is not None:
        cand = _validate(norm, m)
        if cand is None:
            pos = m.start() + 1  # a rejected span may still hide an address starting inside it
        else:
            found.append(cand)
            pos = m.end()
    return found


def _score(norm: str, cands: list[_Candidate]) -> None:
    for i, cand in enumerate(cands):
        prev_end = cands[i - 1].end if i else 0
        lead_raw = norm[max(prev_end, cand.start - _LEAD_WINDOW) : cand.start]
        lead = _fold_cue_text(lead_raw)
        score, cues = 0, []
        last = None
        for cue in _LEAD_RE.finditer(lead):
            phrase = " ".join(cue.group().split())
            category = _LEAD_CUES[phrase]
            if category == _FIX:
                if i:  # a correction only means something after an earlier address
                    score += 1
                    cues.append(phrase)
                continue
            if category in (_NEG, _OTHER) and _CLAUSE_END.search(lead, cue.end()):
                continue  # "No worries, a@b.com": the negation belongs to another clause
            last = (phrase, category)
        if last is not None:
            score += _SCORES[last[1]]
            cues.append(last[0])

        next_start = cands[i + 1].start if i + 1 < len(cands) else len(norm)
        tail = _fold_cue_text(norm[cand.end : min(next_start, cand.end + _TAIL_WINDOW)])
        stop = _TAIL_END.search(tail)
        tail_cue = _TAIL_RE.search(tail[: stop.start() if stop else len(tail)])
        # "a@x.fr ou plutôt b@y.fr": an adverb followed by the next address in the same clause is about
        # that next address, not this one.
        runs_into_next = stop is None and i + 1 < len(cands) and next_start <= cand.end + _TAIL_WINDOW
        if tail_cue is not None and runs_into_next and " ".join(tail_cue.group().split()) in _ADVERBS:
            tail_cue = None
        if tail_cue is not None:
            phrase = " ".join(tail_cue.group().split())
            score += _SCORES[_TAIL_CUES[phrase]]
            cues.append(phrase)
        cand.score, cand.cues = score, tuple(cues)


def _raw(text: str, where: list[int] | None, cand: _Candidate) -> str:
    if where is None:
        return text[cand.start : cand.end]
    return text[where[cand.start] : where[cand.end - 1] + 1]


def find_emails(text: str) -> list[EmailMatch]:
    """Every distinct address in ``text``, in order of appearance, each with its base confidence
    (before any choice between them)."""
    norm, where = _prepare(text)
    out: dict[str, EmailMatch] = {}
    for cand in _candidates(norm):
        if cand.email not in out or out[cand.email].confidence < cand.base:
            out[cand.email] = EmailMatch(cand.email, cand.base, _raw(text, where, cand), cand.reason)
    return list(out.values())


def extract_email(text: str) -> EmailMatch | None:
    """The address the person means, or None when the text holds no address (see the module docstring
    for the formats, how one of several addresses is chosen, and the confidence scale)."""
    norm, where = _prepare(text)
    cands = _candidates(norm)
    if not cands:
        return None
    _score(norm, cands)

    # The same address twice (a markdown link and its mailto target) is one address.
    merged: dict[str, _Candidate] = {}
    for cand in cands:
        seen = merged.get(cand.email)
        if seen is None:
            merged[cand.email] = cand
        else:
            seen.score = max(seen.score, cand.score)
            if cand.base > seen.base:  # report the most certain sighting
                seen.base, seen.reason, seen.start, seen.end = cand.base, cand.reason, cand.start, cand.end
    distinct = list(merged.values())
    ranked = sorted(distinct, key=lambda c: -c.score)  # stable: the earliest wins a tie
    best = ranked[0]
    reason = best.reason
    if len(ranked) == 1:
        confidence = best.base if best.score > -2 else best.base * 0.5
        if best.score <= -2:
            reason += f", but marked {'/'.join(best.cues)}"
    else:
        margin = best.score - ranked[1].score
        if margin >= 2:
            confidence = best.base * 0.92
        elif margin == 1:
            confidence = best.base * 0.75
        else:
            confidence = min(best.base * 0.6, 0.6)
        cues = f" ({', '.join(best.cues)})" if best.cues else ""
        reason += f"; chosen from {len(ranked)} addresses{cues}, margin {margin}"
    return EmailMatch(best.email, round(max(0.0, min(1.0, confidence)), 3), _raw(text, where, best), reason)
