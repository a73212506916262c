#!/usr/bin/env python3
"""Expected tokenizer outputs for the Swift tokenizer tests, from Hugging Face `tokenizers`.

What it writes (Tests/FormatsTests/Fixtures/tokenizers/):
  minilm_expected.json      ids/tokens/type_ids/offsets of the real all-MiniLM-L6-v2 BERT
                            tokenizer (read from <package root>/.downloads/minilm/tokenizer.json,
                            which is NOT committed; CI downloads it) on STRINGS and PAIRS.
  bpe_small.json            a byte-level BPE tokenizer (GPT-NeoX 20B layout: NFC, ByteLevel
                            pre-tokenizer without prefix space, ByteLevel post-processor and
                            decoder, <|endoftext|> special) trained here on generated text.
  bpe_prefix.json           the same model with add_prefix_space=true (exercises that branch).
  bpe_small_expected.json, bpe_prefix_expected.json
  wordpiece_vocab.txt       a small BERT vocabulary written by hand below.
  wordpiece_expected.json   BertWordPieceTokenizer(vocab.txt, lowercase=True) outputs.
  wordpiece_tokenizer.json  that tokenizer saved as a tokenizer.json (same expected outputs).
  charvocab_utf16.json      a SpikeGPT-style char vocabulary (UTF-16 with BOM).
  charvocab_expected.json   ids from SpikeGPT's rule: stoi.get(c, stoi[' ']) per code point.

Offsets are what the Python binding reports: [start, end) in code points of the source text.
Truncation and padding are switched off (the MiniLM file asks for both at 128).

Optional: --spikegpt DIR (a checkout of ridgerchu/SpikeGPT) writes the same kind of expected
files for its 20B_tokenizer.json and vocab_book.json to /tmp/spikegpt_expected/ for a local
check; those are never committed.

Re-runnable and deterministic: python3 Tests/Reference/make_tokenizer_fixtures.py
"""
import json
import os
import random
import sys

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from tokenizers.implementations import BertWordPieceTokenizer

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "Tests", "FormatsTests", "Fixtures", "tokenizers")

# At least 50 varied strings: accents, CJK, emoji, numbers, punctuation, whitespace runs,
# tabs/newlines, the empty string, long words, mixed scripts, special tokens inline.
STRINGS = [
    "",
    " ",
    "Hello, world!",
    "hello world",
    "The quick brown fox jumps over the lazy dog.",
    "Café crème brûlée à la carte",
    "naïve façade coöperate résumé",
    "Ångström Øresund ÆØÅ æøå",
    "NFC vs NFD: e\u0301 vs \u00e9",
    "Straße Groß",
    "İstanbul ıi",
    "ΣΊΣΥΦΟΣ σοφός",
    "Привет, мир! Как дела?",
    "日本語のテキストです。",
    "中文分词测试，你好世界",
    "한국어 문장입니다",
    "mixed 中文 and English 混合",
    "emoji 😀😃 and 👍🏽 and 👨‍👩‍👧",
    "🥰🫠 newer emoji",
    "numbers 12345 and 3.14159 and 1,000,000",
    "٣٤٥ Arabic digits and ⅣⅫ roman",
    "phone: +1-800-555-0199",
    "a\tb\tc",
    "line one\nline two\r\nline three",
    "multiple   spaces    here",
    "trailing spaces   ",
    "   leading spaces",
    "\n\n\nnewlines first",
    "tabs\t\t\tand spaces  \t mixed",
    "punctuation!!! ??? ... --- ;;; :::",
    "quotes \"double\" and 'single' and `back`",
    "brackets (round) [square] {curly} <angle>",
    "symbols $100 & 50% off #hashtag @user ^caret ~tilde |pipe|",
    "underscore_name and kebab-case and CamelCase",
    "don't won't I'm you're they've we'll he'd it's",
    "DON'T SHOUT 'S 'LL",
    "supercalifragilisticexpialidocious",
    "pneumonoultramicroscopicsilicovolcanoconiosis is a long word",
    "a" * 120,
    "antidisestablishmentarianism " * 3,
    "email@example.com https://example.org/path?q=1&r=2",
    "C++ and C# and F# and .NET",
    "x = y + z * (a - b) / c",
    "Hello<|endoftext|>World",
    "<|endoftext|>",
    "start <|endoftext|> middle <|endoftext|>end",
    "[CLS] already [SEP] there [MASK]",
    "non\u00a0breaking\u2009thin\u3000ideographic spaces",
    "zero\u200bwidth\u200djoiner and soft\u00adhyphen",
    "control\u0007bell and \u0000 null",
    "replacement \ufffd char",
    "Ελληνικά και English mixed",
    "עברית ועוד",
    "हिन्दी भाषा",
    "ไทยภาษา",
    "ﬁ ligature ﬀ and full-width ＡＢＣ１２３",
    "ß ẞ ǅ ǈ titlecase",
    "smart “quotes” and ‘apostrophes’ — dashes – …",
    "math ∑ ∫ √ ≠ ≤ ≥ ∞ π",
    "currency € £ ¥ ₹ ₿",
    "'s 't 're 've 'm 'll 'd",
    "it''s a''b",
    " ?! leading space punctuation",
    "12abc34def",
    "MiXeD CaSe WoRdS",
    "THE END.",
]

PAIRS = [
    ("Is this a question?", "Yes, it is."),
    ("The cat sat on the mat.", "A cat is sitting."),
    ("Café", "café"),
    ("", "empty first"),
    ("empty second", ""),
    ("中文 text", "日本語 text"),
    ("emoji 😀", "more 👍🏽"),
    ("don't", "won't"),
    ("multiple   spaces", "tabs\there"),
    ("[SEP] inside", "and [CLS]"),
    ("numbers 123", "456 numbers"),
    ("Привет", "мир"),
]


def encode_all(tok, strings, pairs=()):
    cases = []
    for s in strings:
        e = tok.encode(s)
        cases.append(dict(text=s, ids=e.ids, tokens=e.tokens, type_ids=e.type_ids,
                          offsets=[list(o) for o in e.offsets], decoded=tok.decode(e.ids)))
        e2 = tok.encode(s, add_special_tokens=False)
        cases[-1]["ids_no_special"] = e2.ids
    for a, b in pairs:
        e = tok.encode(a, b)
        cases.append(dict(text=a, pair=b, ids=e.ids, tokens=e.tokens, type_ids=e.type_ids,
                          offsets=[list(o) for o in e.offsets], decoded=tok.decode(e.ids)))
    return cases


def write_json(name, obj):
    with open(os.path.join(OUT, name), "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=None, separators=(",", ":"))
        f.write("\n")


def training_text(seed=7, lines=3000):
    """Deterministic multi-script text for training the small BPE."""
    rng = random.Random(seed)
    words = ("the of and to in is was for on that with as by at from his her they this have "
             "spike neuron model token layer time step rate fire threshold membrane potential "
             "hello world quick brown fox lazy dog café naïve résumé über straße "
             "привет мир данные 日本語 中文 한국어 emoji 😀 👍 "
             "don't it's we'll you're 123 456 3.14 2024 ! ? , . ; : ( ) \" '").split()
    out = []
    for _ in range(lines):
        n = rng.randint(3, 14)
        line = " ".join(rng.choice(words) for _ in range(n))
        if rng.random() < 0.3:
            line = line.capitalize()
        if rng.random() < 0.1:
            line += "  \t" + str(rng.randint(0, 99999))
        out.append(line)
    return out


def make_bpe():
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.post_processor = processors.ByteLevel(trim_offsets=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=800, min_frequency=2, special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(training_text(), trainer=trainer)
    path = os.path.join(OUT, "bpe_small.json")
    tok.save(path, pretty=False)
    write_json("bpe_small_expected.json", dict(source="bpe_small.json", cases=encode_all(tok, STRINGS, PAIRS)))
    # Same model, prefix space added by the pre-tokenizer and kept by the offset trimming.
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    tok.post_processor = processors.ByteLevel(trim_offsets=True, add_prefix_space=True)
    tok.save(os.path.join(OUT, "bpe_prefix.json"), pretty=False)
    write_json("bpe_prefix_expected.json", dict(source="bpe_prefix.json", cases=encode_all(tok, STRINGS, PAIRS)))


# A small hand-written BERT vocabulary: specials, punctuation, single letters (and their ##
# continuations) so every Latin word splits, some whole words and pieces, a few CJK characters.
WORDPIECE_VOCAB = (
    ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    + list("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
    + list("0123456789")
    + list("abcdefghijklmnopqrstuvwxyz")
    + ["##" + c for c in "abcdefghijklmnopqrstuvwxyz0123456789"]
    + "the quick brown fox jump over lazy dog hello world cafe creme is a an and of to it this that "
      "question yes cat sat on mat sit number empty first second more text emoji tab here space "
      "multiple line one two three don won t s m re ve ll d".split()
    + ["##s", "##ing", "##ed", "##er", "##est", "##ly", "##tion", "##ize", "##ment", "##ness"]
    + list("中文日本語你好世界") + ["привет", "мир"]
)


def make_wordpiece():
    vocab_path = os.path.join(OUT, "wordpiece_vocab.txt")
    with open(vocab_path, "w", encoding="utf-8") as f:
        f.write("\n".join(WORDPIECE_VOCAB) + "\n")
    tok = BertWordPieceTokenizer(vocab_path, lowercase=True)
    # The same tokenizer as a tokenizer.json (BertNormalizer, BertPreTokenizer, BertProcessing).
    tok.save(os.path.join(OUT, "wordpiece_tokenizer.json"), pretty=False)
    write_json("wordpiece_expected.json", dict(source="wordpiece_vocab.txt", cases=encode_all(tok, STRINGS, PAIRS)))


def char_expected(word_table, strings, unknown=" "):
    """SpikeGPT src/utils.py TOKENIZER in char mode: stoi = {v: int(k)}; ids = stoi.get(c, UNK)."""
    stoi = {v: int(k) for k, v in word_table.items()}
    unk = stoi[unknown]
    cases = []
    for s in strings:
        ids = [stoi.get(c, unk) for c in s]
        cases.append(dict(text=s, ids=ids, offsets=[[i, i + 1] for i in range(len(s))]))
    return cases


def make_charvocab():
    chars = sorted(set("".join(training_text(seed=11, lines=200)) + "\n\u00e9\u3000"))
    table = {str(i): c for i, c in enumerate(chars)}
    with open(os.path.join(OUT, "charvocab_utf16.json"), "w", encoding="utf-16") as f:
        f.write(json.dumps(table, ensure_ascii=False))
    write_json("charvocab_expected.json", dict(source="charvocab_utf16.json", unknown=" ",
                                               cases=char_expected(table, STRINGS)))


def make_minilm():
    path = os.path.join(ROOT, ".downloads", "minilm", "tokenizer.json")
    tok = Tokenizer.from_file(path)
    tok.no_truncation()
    tok.no_padding()
    write_json("minilm_expected.json", dict(source=".downloads/minilm/tokenizer.json (all-MiniLM-L6-v2)",
                                            cases=encode_all(tok, STRINGS, PAIRS)))


def make_spikegpt(repo):
    out = "/tmp/spikegpt_expected"
    os.makedirs(out, exist_ok=True)
    tok = Tokenizer.from_file(os.path.join(repo, "20B_tokenizer.json"))
    with open(os.path.join(out, "20b_expected.json"), "w", encoding="utf-8") as f:
        json.dump(dict(cases=encode_all(tok, STRINGS, PAIRS)), f, ensure_ascii=False)
    with open(os.path.join(repo, "vocab_book.json"), encoding="utf-16") as f:
        table = json.load(f)
    with open(os.path.join(out, "vocab_book_expected.json"), "w", encoding="utf-8") as f:
        json.dump(dict(unknown=" ", cases=char_expected(table, STRINGS)), f, ensure_ascii=False)
    print("wrote", out)


if __name__ == "__main__":
    assert len(STRINGS) >= 50, len(STRINGS)
    if len(sys.argv) == 3 and sys.argv[1] == "--spikegpt":
        make_spikegpt(sys.argv[2])
        sys.exit(0)
    os.makedirs(OUT, exist_ok=True)
    make_bpe()
    make_wordpiece()
    make_charvocab()
    make_minilm()
    print("wrote", OUT, "strings:", len(STRINGS), "pairs:", len(PAIRS))
