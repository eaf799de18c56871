"""Split a sentence into a static query (objects, attributes) and a dynamic one (verbs and their phrases).

Part-of-speech readings come from lemminflect's lexicon (shipped with the package, nothing is
downloaded); only closed-class function words are listed here. Words absent from the lexicon are
function words (a, the, and, into, ...). A word is a verb when its only readings are verbal, or
when it is an inflected verb form (runs, moving, opened) after its likely subject: a word that can
be a noun or an auxiliary, or a conjunction once a verb was seen; a base form needs a plural noun
before it (circles move). Determiners make it a noun (the moves).
A verb's phrase continues over adverbs/particles and function words (moves to the left, grows then
fades); function words at the end of a phrase are dropped.
"""

import re
from functools import lru_cache

from lemminflect import getAllLemmas

_WORD = re.compile(r"[A-Za-z]+(?:'[a-z]+)?|\S")
_VERBAL = frozenset({"VERB", "AUX"})
_DETERMINERS = frozenset(
    "a an the this that these those his her its their my your our some another each every no all both few several many"
    " one two three four five six seven eight nine ten".split()
)
_CONJUNCTIONS = frozenset("and or then while but".split())


@lru_cache(maxsize=65536)
def _lemmas(word):
    return getAllLemmas(word.lower())


def _is_verb(word, previous, seen_verb):
    readings = set(_lemmas(word))
    if not readings & _VERBAL:
        return False
    if readings <= _VERBAL:
        return True
    if previous is None or previous.lower() in _DETERMINERS:
        return False
    if previous.lower() in _CONJUNCTIONS:
        return seen_verb
    before = _lemmas(previous)
    if word.lower() in _lemmas(word).get("VERB", (word.lower(),)):  # base form: needs a plural subject
        return previous.lower() not in before.get("NOUN", (previous.lower(),))
    return bool(set(before) & {"NOUN", "AUX", "PROPN", "PRON"})


def _continues_phrase(word):
    readings = set(_lemmas(word))
    return not readings or "ADV" in readings or readings <= _VERBAL


def split_query(sentence):
    """sentence -> (static, dynamic) strings; an empty side falls back to the whole sentence."""
    words = _WORD.findall(sentence)
    dynamic, in_phrase, seen_verb = [False] * len(words), False, False
    for i, word in enumerate(words):
        if _is_verb(word, words[i - 1] if i else None, seen_verb):
            dynamic[i] = in_phrase = seen_verb = True
        elif in_phrase and _continues_phrase(word):
            dynamic[i] = True
        else:
            in_phrase = False
    for i in reversed(range(len(words))):  # drop function words that end a phrase
        ends_phrase = i + 1 == len(words) or not dynamic[i + 1]
        if dynamic[i] and ends_phrase and not _lemmas(words[i]):
            dynamic[i] = False
    static = " ".join(w for w, d in zip(words, dynamic) if not d)
    moving = " ".join(w for w, d in zip(words, dynamic) if d)
    return (static or sentence), (moving or sentence)
