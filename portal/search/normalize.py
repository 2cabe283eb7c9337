"""Japanese text normalisation and the bigram tokens the search index is built from.

Queries and documents go through the same ``normalize``: NFKC (full/half width: ＮＰＯ → NPO,
ｼﾆｱ → シニア), lower case, and katakana → hiragana (カンコウ → かんこう). Each run of letters and
digits becomes its overlapping character bigrams plus its last character alone, so that a
2-character word is one token, a longer word is a phrase of bigrams, and a 1-character word is a
prefix of some token (docs/decisions/0006-search.md).
"""

import re
import unicodedata

# Katakana ァ (U+30A1) … ヶ (U+30F6) map to hiragana ぁ (U+3041) … ゖ (U+3096).
_KATA_TO_HIRA = {code: code - 0x60 for code in range(0x30A1, 0x30F7)}
# Half-width voiced marks that combine with the character before them under NFKC.
_COMBINING_NEXT = {"\uff9e", "\uff9f", "\u3099", "\u309a"}

RUN = re.compile(r"[^\W_]+")


# Control characters (but tab and newline), unpaired surrogates and private-use characters.
_UNWANTED = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ue000-\uf8ff]")


def normalize(text: str) -> str:
    """NFKC, lower case, katakana to hiragana; control, surrogate and private-use characters removed."""
    return unicodedata.normalize("NFKC", _UNWANTED.sub("", text)).lower().translate(_KATA_TO_HIRA)


def runs(normalized: str) -> list[str]:
    """The runs of letters and digits of a normalised text."""
    return RUN.findall(normalized)


def run_tokens(run: str) -> list[str]:
    """Positional tokens of one run: its bigrams, then its last character alone."""
    return [run[i : i + 2] for i in range(len(run) - 1)] + [run[-1]]


def document_tokens(normalized: str) -> list[str]:
    """Positional tokens of a whole normalised text (for SQLite FTS5, which keeps positions)."""
    tokens = []
    for run in runs(normalized):
        tokens.extend(run_tokens(run))
    return tokens


def distinct_tokens(normalized: str) -> set[str]:
    """Every bigram and every single character of a normalised text (for PostgreSQL's GIN index)."""
    out = set()
    for run in runs(normalized):
        out.update(run[i : i + 2] for i in range(len(run) - 1))
        out.update(run)
    return out


def normalize_with_map(text: str) -> tuple[str, list[int]]:
    """``normalize(text)`` and, for each character of the result, the index in ``text`` it came from.

    Used to put <mark> around the original characters of a match found in normalised text.
    """
    whole = normalize(text)
    if len(whole) == len(text) and not _UNWANTED.search(text):
        # The usual case (Japanese and ASCII text): one character for one. Checked per character
        # only where NFKC joins or splits characters.
        return whole, list(range(len(text)))
    out: list[str] = []
    index: list[int] = []
    i = 0
    while i < len(text):
        j = i + 1
        while j < len(text) and text[j] in _COMBINING_NEXT:
            j += 1
        piece = normalize(text[i:j])
        out.append(piece)
        index.extend([i] * len(piece))
        i = j
    return "".join(out), index
