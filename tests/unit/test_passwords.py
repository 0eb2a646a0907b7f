"""New passwords must be hard to guess (issue 15 item 6): zxcvbn's estimate with the person's own
words, and a list of common passwords; the administrator's forms refuse weak ones per field."""
from __future__ import annotations

import pytest

from engine.domain.passwords import COMMON, weakness


@pytest.mark.parametrize("password", ["aaaaaaaa", "12345678", "password", "woaini1314", "1qaz2wsx", "88888888",
                                      "Huaining2026", "abcdefgh", "qwertyuiop"])
def test_weak_or_common_passwords_are_refused(password):
    assert weakness(password) is not None, password


@pytest.mark.parametrize("password", ["correct-horse-1", "a new long passphrase 2026", "tq7#Lm2$vR9p"])
def test_strong_passwords_pass(password):
    assert weakness(password) is None


def test_the_persons_own_login_and_name_count_against_the_password():
    assert weakness("wangjianguo2026") is None or True  # alone it may pass
    assert weakness("wangjianguo2026", "wangjianguo", "王建国") is not None
    assert all(p == p.lower() for p in COMMON)


def test_the_reason_is_a_message_in_both_languages():
    found = weakness("woaini1314")
    assert found.code == "password.common" and "most common" in found.render("en")
