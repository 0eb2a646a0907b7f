"""How strong a new password must be (issue 15): not one of the passwords people commonly choose,
and hard enough to guess by zxcvbn's estimate (score 3 of 4: about 10^8 guesses or more), judged
with the person's own login and name as words an attacker would try first. Eight characters of
anything (``aaaaaaaa``) are no longer enough."""
from __future__ import annotations

from zxcvbn import zxcvbn

from ..messages import Message, msg

MIN_SCORE = 3
PLACE_WORDS = ("huaining", "anqing", "anhui", "govflow", "zhengwu", "shuju")  # the county, the product
MAX_LENGTH = 200  # zxcvbn's cost grows with the length; longer is refused by the form anyway
# Chosen often in China and not all rated weak by zxcvbn's mostly English lists.
COMMON = frozenset({
    "woaini1314", "woaini520", "5201314", "a123456789", "qq123456", "abc123456", "1qaz2wsx", "1q2w3e4r",
    "zxcvbnm123", "aa123456", "asd123456", "qwe123456", "huaining", "huaining123", "anqing123", "admin123",
    "password1", "p@ssw0rd", "passw0rd", "iloveyou", "12345678", "123456789", "11111111", "88888888",
    "66666666", "00000000", "12341234", "11223344", "147258369", "123123123", "zhang123", "wang123456",
})


def weakness(password: str, *personal: str) -> Message | None:
    """What is wrong with a new password (None: strong enough); ``personal``: the login, the name
    and other words of the person's own that an attacker tries first. Shorter than 8 characters is
    the caller's own message (``org``)."""
    password = password or ""
    if len(password) > MAX_LENGTH:
        return msg("password.too_long", "at most {max_length} characters", max_length=MAX_LENGTH)
    if password.lower() in COMMON:
        return msg("password.common", "this is one of the most common passwords: choose another")
    if zxcvbn(password, user_inputs=[*PLACE_WORDS, *(p for p in personal if p)])["score"] < MIN_SCORE:
        return msg("password.too_weak", "too easy to guess: use a longer passphrase of several words, or mix in "
                                        "digits and signs that do not form a pattern (not your name or login)")
    return None
