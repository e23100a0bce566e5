"""Password rules (NIST SP 800-63B §3.1.1.2, ASVS 5 §6.2): length bounds and blocklists, no
composition rules.

A new password is compared, lower-cased and stripped, with:

* the account's email (``PASSWORD_SAME_AS_EMAIL``);
* context words, ``PASSWORD_TOO_SIMILAR``: the email's local part, the user's name, the app name,
  each whole and split into words, kept when 4 letters or more. The password's letters (digits,
  punctuation and spaces dropped) must not contain one that makes up more than half of them;
* a breached-password corpus (414,573 entries, ``data/breached-passwords.txt.gz``, see
  ``data/breached-passwords.LICENSE.txt``) and the shapes it misses, ``PASSWORD_TOO_COMMON``:
  the password is refused when it is a *weak token* (listed, a repeated block, a sequence like
  ``abcdef`` or ``123456789012345``, a keyboard walk like ``qwertyuiop`` or ``1qaz2wsx``), or a
  weak token (also after un-leeting and dropping ``-_.`` and spaces: ``p@ssw0rd``, ``i-love-you``)
  between two *weak affixes*: runs of non-letters whose digits and whose other characters are
  each at most 4 long or a weak token (``Dragon1234567890``, ``iloveyou2024!``). A password of
  non-letters only is refused when it is a weak affix itself. Passphrases of several words pass
  even when a word is common: only the whole core is looked up.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources
from itertools import pairwise

from . import errors
from .settings import PasswordSettings

CORPUS = "data/breached-passwords.txt.gz"
"""Sorted, unique, lower-cased UTF-8 entries, one a line (provenance next to it)."""


@lru_cache(maxsize=1)
def breached_passwords() -> bytes:
    """The corpus as one bytes blob with a newline before and after every entry, loaded once per
    process (3.3 MiB of memory, 20 to 90 ms once: see ``bench/README.md``); see :func:`is_listed`."""
    return b"\n" + gzip.decompress(resources.files("authkeeper").joinpath(CORPUS).read_bytes())


def is_listed(word: str) -> bool:
    """Whether ``word`` (already lower-cased) is a corpus entry: a binary search over the lines."""
    blob, key = breached_passwords(), word.encode("utf-8", "surrogatepass")
    lo, hi = 1, len(blob)  # lo and hi are line starts; lines before lo are < key, from hi on >= key
    while lo < hi:
        start = blob.rfind(b"\n", lo - 1, (lo + hi) // 2) + 1
        end = blob.index(b"\n", start)
        if blob[start:end] < key:
            lo = end + 1
        else:
            hi = start
    return lo < len(blob) and blob[lo : blob.index(b"\n", lo)] == key


def _keyboard() -> dict[str, frozenset[str]]:
    rows = ("1234567890-=", "qwertyuiop[]", "asdfghjkl;'", "zxcvbnm,./", "!@#$%^&*()_+")
    near: dict[str, set[str]] = {}

    def link(a: str, b: str) -> None:
        near.setdefault(a, set()).add(b)
        near.setdefault(b, set()).add(a)

    for row in rows:
        for a, b in pairwise(row):
            link(a, b)
    for upper, lower in pairwise(rows[:4]):  # 1qaz, 2wsx, ... columns
        for a, b in zip(upper, lower, strict=False):
            link(a, b)
    return {key: frozenset(keys) for key, keys in near.items()}


_NEAR = _keyboard()
_LEET = (str.maketrans("@4310$5!7+", "aaeiossitt"), str.maketrans("@4310$5!7+", "aaelossitt"))
_SEPARATORS = str.maketrans("", "", " -_.")


def _is_repeat(s: str) -> bool:
    """``aaaa``, ``abab``, ``123123``, ``dragondragon``: a short or weak block, twice or more."""
    for size in range(1, len(s) // 2 + 1):
        if len(s) % size == 0 and s[:size] * (len(s) // size) == s:
            return size <= 4 or _is_weak_token(s[:size])
    return False


def _is_sequence(s: str) -> bool:
    """``abcdef``, ``fedcba``, ``1234567890123`` (digits wrap round): three or more, step ±1."""
    if len(s) < 3 or not (s.isascii() and (s.isdigit() or s.isalpha())):
        return False
    if s.isdigit():  # 9 → 0 and 0 → 9 are steps too
        return {(ord(b) - ord(a)) % 10 for a, b in pairwise(s)} in ({1}, {9})
    return {ord(b) - ord(a) for a, b in pairwise(s)} in ({1}, {-1})


def _is_walk(s: str) -> bool:
    """Runs of three or more neighbouring keys (a row or a column of a QWERTY keyboard):
    ``qwertyuiop``, ``asdfghjkl``, ``1qaz2wsx``, ``zxcvbnm,./``, ``!@#$%^``, ``qwertyasdf``."""
    if len(s) < 3:
        return False
    run = 1
    for a, b in pairwise(s):
        if b in _NEAR.get(a, ()):
            run += 1
        elif run < 3:
            return False
        else:
            run = 1
    return run >= 3


def _is_weak_token(s: str) -> bool:
    return bool(s) and (is_listed(s) or _is_repeat(s) or _is_sequence(s) or _is_walk(s))


def _is_weak_affix(s: str) -> bool:
    """Digits and other characters, each taken apart: at most 4 of them, or a weak token."""
    digits = "".join(c for c in s if c.isdigit())
    others = "".join(c for c in s if not c.isdigit())
    return all(len(part) <= 4 or _is_weak_token(part) for part in (digits, others))


def is_too_common(folded: str) -> bool:
    """The ``PASSWORD_TOO_COMMON`` rule (see the module docstring) for a lower-cased password."""
    if _is_weak_token(folded):
        return True
    start, end = 0, len(folded)
    while start < end and not folded[start].isalpha():
        start += 1
    while end > start and not folded[end - 1].isalpha():
        end -= 1
    if start == end:
        return _is_weak_affix(folded)
    if not (_is_weak_affix(folded[:start]) and _is_weak_affix(folded[end:])):
        return False
    core = folded[start:end]
    forms = {core, core.translate(_SEPARATORS)}
    forms |= {form.translate(table) for form in tuple(forms) for table in _LEET}
    return any(_is_weak_token(form) for form in forms)


def _letters(text: str) -> str:
    return "".join(c for c in text.lower() if c.isalpha())


def context_words(email: str | None, context: Iterable[str | None]) -> set[str]:
    """The words a password may not mostly be: each of ``email``'s local part and ``context``
    whole and split into words, letters only, lower-cased, 4 letters or more."""
    texts = [email.rpartition("@")[0] or email] if email else []
    texts += [text for text in context if text]
    words: set[str] = set()
    for text in texts:
        words.add(_letters(text))
        words.update(_letters(part) for part in "".join(c if c.isalpha() else " " for c in text).split())
    return {word for word in words if len(word) >= 4}


def is_too_similar(folded: str, words: Iterable[str]) -> bool:
    """The ``PASSWORD_TOO_SIMILAR`` rule: a context word makes up more than half of the password's
    letters (``ann.smith2024`` for ``ann.smith@example.com``, ``Authkeeper!2024`` for the app)."""
    letters = _letters(folded)
    return any(word in letters and 2 * len(word) > len(letters) for word in words)


def check_length(settings: PasswordSettings, password: str) -> None:
    """Length only: for passwords being checked (sign-in, current password), not chosen.

    Length counts code points; the maximum also bounds hashing work (a DoS guard).
    """
    if len(password) > settings.max_length:
        raise errors.AuthError(errors.PASSWORD_TOO_LONG)


def check_new_password(
    settings: PasswordSettings, password: str, *, email: str | None = None, context: Iterable[str | None] = ()
) -> None:
    """Raise the matching error if ``password`` may not be chosen.

    ``context`` holds the other context words: the user's name and the app name. The context-word
    and common-password rules both follow ``settings.reject_common``.
    """
    if len(password) < settings.min_length:
        raise errors.AuthError(errors.PASSWORD_TOO_SHORT)
    check_length(settings, password)
    folded = password.strip().lower()
    if settings.reject_email and email and folded == email.strip().lower():
        raise errors.AuthError(errors.PASSWORD_SAME_AS_EMAIL)
    if not settings.reject_common:
        return
    if is_too_similar(folded, context_words(email, context)):
        raise errors.AuthError(errors.PASSWORD_TOO_SIMILAR)
    if is_too_common(folded):
        raise errors.AuthError(errors.PASSWORD_TOO_COMMON)
