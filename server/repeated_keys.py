"""What a finding says about a key written more than once in one JSON object.

RFC 8259 says object names SHOULD be unique and leaves a repeated one to the reader: some take
the first value, most (json.loads, JavaScript) the last, some refuse the document. medcode reads
the last, except for a code, where it checks every value (a repeated `code` would otherwise hide
a code from the checks). Both JSON readers (FHIR, price transparency) say it in these words.
"""

from __future__ import annotations

_LONGEST = 40  # characters of a value quoted in a message


def written(text: str, start: int, end: int) -> str:
    """The start of a value's text, as much as excerpt() can show (a value may be the file)."""
    return text[start : min(end, start + _LONGEST + 1)]


def excerpt(raw: str) -> str:
    """A value as written, short enough for a message: objects and arrays are named, not shown."""
    raw = raw.strip()
    if raw.startswith("{"):
        return "an object"
    if raw.startswith("["):
        return "an array"
    return raw if len(raw) <= _LONGEST else raw[: _LONGEST - 1] + "…"


_READERS = "JSON readers differ on which value of a repeated key they take (the first, the last, or an error)"


LAST, EACH_CODE, CODES_OF_EACH = "last", "each code", "codes of each"


def message(key: str, where: str, values: list[str], at: int, reads: str = LAST, used: str = "") -> str:
    """The finding at the at-th (from 2) of a key's values (their raw texts, in text order) in
    `where` ("this object", "this Coding"...), by what medcode reads of them: the LAST value,
    EACH_CODE (each value is a code it checks), the CODES_OF_EACH value (arrays it walks: a
    value that is not an array holds no code it reads; with no array at all, as LAST).
    Never more than three values are quoted, however often the key repeats. `used` says what
    the value read made medcode check ("so this item's codes are judged on 2019-01-02") when
    the repeat changes it: a date, a claim type, a sequence that pointers name."""
    n, last, this = len(values), excerpt(values[-1]), excerpt(values[at - 1])
    if reads == EACH_CODE:
        which = f"both codes ({excerpt(values[0])} and {last})" if n == 2 else f"all {n} codes"
        return f'"{key}" is written {n} times in {where}: medcode checks {which}; {_READERS}: give each code a {where.removeprefix("this ")} of its own'
    arrays = sum(v.lstrip().startswith("[") for v in values) if reads == CODES_OF_EACH else 0
    if arrays == n:
        which = "both values" if n == 2 else f"all {n} values"
        return f'key "{key}" is written {n} times in {where}: medcode checks the codes of {which}; {_READERS}: write each key once'
    if arrays:  # the codes of an array are checked; a value of another kind holds none medcode reads
        which = "the array" if arrays == 1 else f"the {arrays} arrays"
        other = [v for v in values if not v.lstrip().startswith("[")]
        rest = f"the other value ({excerpt(other[0])})" if len(other) == 1 else f"the other {len(other)} values"
        return (f'key "{key}" is written {n} times in {where}: medcode checks the codes of {which} among its values '
                f"and reads nothing of {rest}; {_READERS}: write each key once")
    if at < n:
        read = f"medcode reads only the last value ({last}), not this one ({this})"
    elif n == 2:
        read = f"medcode reads this last value ({last}), not the earlier one ({excerpt(values[0])})"
    else:
        read = f"medcode reads this last value ({last}), not the {n - 1} before it"
    if used:
        read = f"{read}, {used}"
    return f'key "{key}" is written {n} times in {where}: {read}; {_READERS}: write each key once'
