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

Llama-family fixtures (one folder each under Tests/FormatsTests/Fixtures/tokenizers/, holding
tokenizer.json and expected.json; `--llama` writes only these):
  sp-bpe/         SentencePiece-kind BPE with byte fallback in the Llama-2 / TinyLlama / Mistral
                  layout: <unk> <s> </s>, the 256 <0xNN> byte tokens, then learned pieces;
                  normalizer Prepend("▁") + Replace(" " → "▁"), no pre-tokenizer, decoder
                  Replace/ByteFallback/Fuse/Strip, TemplateProcessing adding <s>; merges as pairs.
  sp-metaspace/   the same model in the older layout: no normalizer, Metaspace pre-tokenizer
                  (prepend_scheme "first", split false), decoder ByteFallback + Metaspace; merges
                  as "a b" strings.
  byte-bpe/       Llama-3 style byte-level BPE: Split(Llama-3 regex, Isolated) + ByteLevel
                  (use_regex false), ignore_merges true (with whole words added to the vocab that
                  merges would not reach), ByteLevel + TemplateProcessing post-processor,
                  <|begin_of_text|>, <|im_start|>, ... special tokens.
expected.json holds, for LLAMA_STRINGS and LLAMA_PAIRS, HF's ids, tokens, offsets (type ids for
pairs), ids without special tokens, decode(ids) (skip_special_tokens=True) and decode with
skip_special_tokens=False; and "variants": the same file with some sections replaced ("top"),
model fields replaced ("model") or vocab entries removed ("remove_vocab"), with HF's ids and
decoded text for each string (Qwen2's NFC + regex, Split behaviours, Metaspace prepend schemes,
byte fallback with missing byte tokens, ...).

Offsets are what the Python binding reports: [start, end) in code points of the source text.
Truncation and padding are switched off (the MiniLM file asks for both at 128).

Optional: --spikegpt DIR (a checkout of ridgerchu/SpikeGPT) writes the same kind of expected
files for its 20B_tokenizer.json and vocab_book.json to /tmp/spikegpt_expected/ for a local
check; those are never committed.

Re-runnable and deterministic: python3 Tests/Reference/make_tokenizer_fixtures.py [--llama]
"""
import copy
import json
import os
import random
import sys

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
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


# ---------------------------------------------------------------------------------------------
# Llama-family tokenizers: SentencePiece-kind BPE with byte fallback, and Llama-3/Qwen2 byte-level.

LLAMA3_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
                r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|"
               r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")

# About 45 strings: whitespace edge cases, numbers, contractions, scripts and characters the
# training text never has (so byte fallback fires), and the special tokens of both kinds inline.
LLAMA_STRINGS = [
    "",
    " ",
    "Hello world",
    "Hello, world!",
    " leading space",
    "trailing space ",
    "  two leading spaces",
    "multiple   spaces    here",
    "\n\n",
    "line one\nline two\r\nline three",
    "tab\tseparated\tvalues",
    "\t\n \r\n mixed whitespace  ",
    "12345",
    "3.14159 and 1,000,000 and 2024",
    "don't I'LL we'd THEY'RE you've",
    "it's o'clock, 'tis ''quoted''",
    "Café crème brûlée à la carte",
    "naïve résumé coöperate",
    "Straße Groß",
    "日本語のテキストです。",
    "中文测试，你好世界",
    "한국어 문장입니다",
    "Привет, мир! Как дела?",
    "emoji 😀 👍🏽 and 👨‍👩‍👧",
    "never seen: Ω≈√∫ ∑ ∞",
    "🦩🪐🫠 rare emoji",
    "ไทย ภาษา",
    "हिन्दी भाषा",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 math letters",
    "e\u0301 combining and \u00e9 precomposed",
    "nbsp\u00a0and\u3000ideographic space",
    "zero\u200bwidth\u200djoiner",
    "control\u0007bell and \u0000 null",
    "<s>",
    "Hello<s>World</s>",
    "<unk> inline and </s>",
    "<|begin_of_text|>Hi there<|end_of_text|>",
    "<|im_start|>user\nhello<|im_end|>\n",
    "text <|endoftext|> more",
    "antidisestablishmentarianism",
    " antidisestablishmentarianism café",
    "supercalifragilisticexpialidocious",
    "a" * 50,
    "▁ a literal metaspace ▁▁",
    "<0x41> looks like a byte token",
    "symbols $100 & 50% #tag @user ~/.config",
    "x = y + z * (a - b) / c;",
    "mixed 中文 and English 混合 text",
]

LLAMA_PAIRS = [
    ("Is this a question?", "Yes, it is."),
    ("Café", " café"),
    ("", "empty first"),
    ("中文 text", "emoji 😀"),
]

LLAMA_TRAINING_SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "Spiking neurons fire when the membrane potential crosses the threshold.",
    "A language model predicts the next token from the previous tokens.",
    "Hello world! How are you today? I'm fine, thanks; we'll see.",
    "Le café est très bon, mais la crème brûlée est meilleure à Paris.",
    "Das Mädchen läuft über die Straße und grüßt den Bäcker.",
    "El niño comió piña y jamón en la mañana.",
    "Привет, мир! Нейронные сети любят данные.",
    "日本語のテキストと中文的句子，你好世界。",
    "한국어 문장도 조금 있습니다.",
    "Numbers: 0 1 2 3 4 5 6 7 8 9, 42, 1999, 2024 and 3.14.",
    "Emoji are fun 😀 👍 ❤️ 🎉 and so are symbols # $ % & *.",
    "Tabs\tand  double  spaces,   triple   spaces and\nnewlines\n\nappear too.",
    "don't won't can't it's you're they've we'd I'll",
]


def llama_training_text(seed=3, lines=1500):
    """Deterministic multilingual text: the sentences above, shuffled and recombined."""
    rng = random.Random(seed)
    words = " ".join(LLAMA_TRAINING_SENTENCES).split(" ")
    out = list(LLAMA_TRAINING_SENTENCES) * 5
    for _ in range(lines):
        k = rng.randint(2, 12)
        sep = rng.choice([" ", " ", " ", " ", "  ", "\t", "\n", "   "])
        line = sep.join(rng.choice(words) for _ in range(k))
        if rng.random() < 0.2:
            line += " " + str(rng.randint(0, 99999))
        out.append(line)
    return out


BYTE_TOKENS = ["<0x%02X>" % b for b in range(256)]


def sp_tokenizer_json():
    """The Llama-2 layout. Trained with a Metaspace pre-tokenizer so no piece spans two words
    (as with SentencePiece), then rebuilt with the byte tokens after <unk> <s> </s>."""
    trainer_tok = Tokenizer(models.BPE())
    trainer_tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    # The 70 most frequent characters (ties by code point) as the alphabet, so that the rest go
    # through byte fallback. Chosen here: the trainer's own limit_alphabet breaks ties at random;
    # given as initial_alphabet they outrank every other character, and only they are kept.
    counts = {}
    for line in llama_training_text():
        for c in line.replace(" ", "▁"):
            counts[c] = counts.get(c, 0) + 1
    counts["▁"] = counts.get("▁", 0) + 1
    alphabet = sorted(counts, key=lambda c: (-counts[c], c))[:70]
    trainer = trainers.BpeTrainer(vocab_size=140, min_frequency=2, limit_alphabet=len(alphabet),
                                  initial_alphabet=alphabet, show_progress=False)
    trainer_tok.train_from_iterator(llama_training_text(), trainer=trainer)
    trained = json.loads(trainer_tok.to_str())["model"]
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for t in BYTE_TOKENS:
        vocab[t] = len(vocab)
    for t, _ in sorted(trained["vocab"].items(), key=lambda kv: kv[1]):
        if t not in vocab:
            vocab[t] = len(vocab)
    merges = [tuple(m) for m in trained["merges"]]
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token="<unk>", fuse_unk=True, byte_fallback=True))
    tok.add_special_tokens([AddedToken(t, normalized=False, special=True) for t in ["<unk>", "<s>", "</s>"]])
    tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    tok.pre_tokenizer = None
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", pair="<s> $A <s>:1 $B:1",
                                                       special_tokens=[("<s>", 1)])
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(),
                                     decoders.Strip(content=" ", left=1, right=0)])
    return json.loads(tok.to_str())


def byte_tokenizer_json():
    """Llama-3 layout, trained here; whole words added to the vocab that merges do not reach
    (Llama-3 has such entries), so ignore_merges matters."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3_REGEX), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    trainer = trainers.BpeTrainer(vocab_size=470, min_frequency=2, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(llama_training_text(), trainer=trainer)
    specials = ["<|begin_of_text|>", "<|end_of_text|>", "<|im_start|>", "<|im_end|>", "<|endoftext|>"]
    j = json.loads(tok.to_str())
    vocab = j["model"]["vocab"]
    for word in ["antidisestablishmentarianism", "Ġantidisestablishmentarianism", "ĠcafÃ©", "supercalifragilisticexpialidocious"]:
        if word not in vocab:
            vocab[word] = len(vocab)
    j["model"]["ignore_merges"] = True
    tok = Tokenizer.from_str(json.dumps(j))
    tok.add_special_tokens([AddedToken(t, normalized=False, special=True) for t in specials])
    bos = tok.token_to_id("<|begin_of_text|>")
    tok.post_processor = processors.Sequence([
        processors.ByteLevel(add_prefix_space=True, trim_offsets=False, use_regex=True),
        processors.TemplateProcessing(single="<|begin_of_text|> $A",
                                      pair="<|begin_of_text|> $A <|begin_of_text|>:1 $B:1",
                                      special_tokens=[("<|begin_of_text|>", bos)])])
    tok.decoder = decoders.ByteLevel(add_prefix_space=True, trim_offsets=True, use_regex=True)
    return json.loads(tok.to_str())


def variant_json(base, top=None, model=None, remove_vocab=()):
    j = copy.deepcopy(base)
    j.update(top or {})
    j["model"].update(model or {})
    for t in remove_vocab:
        del j["model"]["vocab"][t]
    return j


def llama_cases(tok, strings, pairs=()):
    cases = encode_all(tok, strings, pairs)
    for c in cases:
        c["decoded_no_skip"] = tok.decode(c["ids"], skip_special_tokens=False)
        if "pair" not in c:
            del c["type_ids"]  # all 0 for one text; kept for pairs (size)
    return cases


def write_llama(folder, j, variants):
    d = os.path.join(OUT, folder)
    os.makedirs(d, exist_ok=True)
    text = json.dumps(j, ensure_ascii=False, indent=None, separators=(",", ":"))
    with open(os.path.join(d, "tokenizer.json"), "w", encoding="utf-8") as f:
        f.write(text + "\n")
    tok = Tokenizer.from_file(os.path.join(d, "tokenizer.json"))
    out = dict(source="Tests/Reference/make_tokenizer_fixtures.py --llama (tokenizers %s)" % tokenizers_version(),
               cases=llama_cases(tok, LLAMA_STRINGS, LLAMA_PAIRS), variants=[])
    for name, spec in variants:
        vt = Tokenizer.from_str(json.dumps(variant_json(j, **spec)))
        cases = []
        for s in LLAMA_STRINGS:
            ids = vt.encode(s).ids
            cases.append(dict(text=s, ids=ids, decoded=vt.decode(ids)))
        out["variants"].append(dict(name=name, top=spec.get("top", {}), model=spec.get("model", {}),
                                    remove_vocab=list(spec.get("remove_vocab", ())), cases=cases))
    with open(os.path.join(d, "expected.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=None, separators=(",", ":"))
        f.write("\n")
    size = sum(os.path.getsize(os.path.join(d, n)) for n in os.listdir(d))
    print("wrote", d, "(%d bytes)" % size)


def tokenizers_version():
    import tokenizers
    return tokenizers.__version__


def metaspace(scheme, split):
    return {"type": "Metaspace", "replacement": "▁", "prepend_scheme": scheme, "split": split}


def make_llama():
    sp = sp_tokenizer_json()
    missing = ["<0xF0>", "<0x9F>", "<0xE0>"]  # 4-byte UTF-8 (emoji) and Thai/Devanagari lose their fallback
    write_llama("sp-bpe", sp, [
        ("missing byte tokens: unk (fused) for characters whose bytes are not all there",
         dict(remove_vocab=missing)),
        ("missing byte tokens and no unk_token: such characters are dropped",
         dict(remove_vocab=missing, model={"unk_token": None})),
        ("fuse_unk false", dict(remove_vocab=missing, model={"fuse_unk": False})),
        ("byte_fallback false: unknown characters become <unk>", dict(model={"byte_fallback": False})),
        ("ignore_merges true", dict(model={"ignore_merges": True})),
    ])

    # The older layout: Metaspace pre-tokenizer and decoder, no normalizer, "a b" merges.
    legacy = copy.deepcopy(sp)
    legacy["normalizer"] = None
    legacy["pre_tokenizer"] = metaspace("first", False)
    legacy["decoder"] = {"type": "Sequence", "decoders": [{"type": "ByteFallback"}, metaspace("first", False)]}
    legacy["model"]["merges"] = [" ".join(m) for m in sp["model"]["merges"]]
    write_llama("sp-metaspace", legacy, [
        ("prepend_scheme always, split true", dict(top={"pre_tokenizer": metaspace("always", True), "decoder": metaspace("always", True)})),
        ("prepend_scheme never, split true", dict(top={"pre_tokenizer": metaspace("never", True), "decoder": metaspace("never", True)})),
        ("prepend_scheme first, split true", dict(top={"pre_tokenizer": metaspace("first", True)})),
        ("legacy add_prefix_space true", dict(top={"pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "add_prefix_space": True}})),
    ])

    bb = byte_tokenizer_json()
    split = bb["pre_tokenizer"]["pretokenizers"][0]

    def with_split(**kw):
        s = dict(split)
        s.update(kw)
        return {"pre_tokenizer": {"type": "Sequence", "pretokenizers": [s, bb["pre_tokenizer"]["pretokenizers"][1]]}}

    qwen2 = {"normalizer": {"type": "NFC"},
             "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
                 {"type": "Split", "pattern": {"Regex": QWEN2_REGEX}, "behavior": "Isolated", "invert": False},
                 {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}]},
             "post_processor": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}}
    write_llama("byte-bpe", bb, [
        ("Qwen2: NFC, single-digit regex, ByteLevel post-processor, ignore_merges false",
         dict(top=qwen2, model={"ignore_merges": False})),
        ("ignore_merges false", dict(model={"ignore_merges": False})),
        ("Split behavior Removed", dict(top=with_split(behavior="Removed"))),
        ("Split behavior MergedWithPrevious", dict(top=with_split(behavior="MergedWithPrevious"))),
        ("Split behavior MergedWithNext", dict(top=with_split(behavior="MergedWithNext"))),
        ("Split behavior Contiguous", dict(top=with_split(behavior="Contiguous"))),
        ("Split invert true", dict(top=with_split(invert=True))),
        ("Split on a string", dict(top=with_split(pattern={"String": " "}, behavior="MergedWithNext"))),
    ])


if __name__ == "__main__":
    assert len(STRINGS) >= 50, len(STRINGS)
    if len(sys.argv) == 3 and sys.argv[1] == "--spikegpt":
        make_spikegpt(sys.argv[2])
        sys.exit(0)
    os.makedirs(OUT, exist_ok=True)
    make_llama()
    if sys.argv[1:] == ["--llama"]:
        sys.exit(0)
    make_bpe()
    make_wordpiece()
    make_charvocab()
    make_minilm()
    print("wrote", OUT, "strings:", len(STRINGS), "pairs:", len(PAIRS))
