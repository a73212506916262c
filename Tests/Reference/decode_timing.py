"""Shared by the decoding references (bench_llama_hf.py, bench_llama_cpp.py): the timing protocol
`spikescope bench generate` uses for its own runs — one short warm-up, then the best of `repeats`
runs of `tokens` greedy steps after the prompt."""


def best_of(run, tokens, repeats):
    """`run(n)` decodes n tokens and returns (seconds, tokens). Returns the JSON fields
    tokens_per_s, ms_per_token and first_tokens of the fastest run."""
    run(4)
    best, first = float("inf"), []
    for _ in range(repeats):
        dt, toks = run(tokens)
        if dt < best:
            best, first = dt, toks
    return dict(tokens_per_s=tokens / best, ms_per_token=1000 * best / tokens, first_tokens=first[:16])
