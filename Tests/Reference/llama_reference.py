"""Reference fixtures for the LLaMA family and SpikeLLM's neuron (Tests/ModelsTests/LlamaTests.swift).

Makes tiny random LLaMA and Qwen2 models with HF transformers, saves them as HF folders
(config.json, model.safetensors, the project's SentencePiece-kind / byte-level tokenizer.json
from make_tokenizer_fixtures.py) plus a bf16 copy of the LLaMA split into two shards with an
index, and writes what HF computes for them to expected.json:
  - token ids of the prompts (HF tokenizers) and the logits of every position (HF transformers, fp32);
  - greedy continuations;
  - SpikeLLM's neuron as released (our rewrite of SpikeQuantLinear's fake-quant path,
    spike_driven_quant/{quantizer,spike_linear}.py of github.com/Xingrun-Xing2/SpikeLLM):
    per-token asymmetric min-max quantisers at abits and abits+addbit on the input of every
    q/k/v/o/gate/up/down projection, salient channels from x * (x W^T W) averaged over the
    calibration tokens with the lowest low_p fraction ordinary, calibrated block by block on the
    inputs the already-coded blocks produce (the released `static` in spike_omniquant.py), and
    optional per-output-channel RTN weight quantisation (wbits);
  - the perplexity of a short text (mean NLL over every predicted token).

Run from the repository root:  python3 Tests/Reference/llama_reference.py
Needs: torch, transformers, tokenizers, safetensors, numpy (pip).
"""
import json
import os
import shutil

import numpy as np
import torch
from safetensors.torch import save_file
from tokenizers import Tokenizer
from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "Tests/ModelsTests/Fixtures/llama")
TOKENIZERS = os.path.join(ROOT, "Tests/FormatsTests/Fixtures/tokenizers")

PROMPTS = ["The quick brown fox", "Spiking neurons fire ünïcode 😀"]
# Prompts tried in turn for each SpikeLLM setting: the first whose coded values all stay clear of
# rounding ties (|x/scale - (n + 1/2)| >= TIE, see SpikeLLM.min_tie) is used. At a tie two correct
# float implementations may round either way, and one flipped level changes everything after it.
GIF_PROMPTS = ["The quick brown fox", "Spiking neurons fire", "A membrane crosses the threshold",
               "Low bits, high steps", "Salient channels get more time", "Language models add"]
TIE = 2e-5
PPL_TEXT = "Spiking language models add instead of multiply. The neurons fire when the membrane crosses."
GIF_SETTINGS = [
    dict(abits=4, addbit=1, low_p=0.9, wbits=None),
    dict(abits=4, addbit=2, low_p=0.95, wbits=None),
    dict(abits=4, addbit=1, low_p=0.9, wbits=4),
    dict(abits=3, addbit=1, low_p=0.5, wbits=None),
    dict(abits=4, addbit=1, low_p=1.0, wbits=None),
]
PROJECTIONS = ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
               "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"]


def affine_quant(x, bits, ties=None):
    """UniformAffineQuantizer, per token (last axis), asymmetric, as released. Appends to `ties`
    the smallest distance of x/scale and -min/scale to a rounding tie."""
    qmax = 2 ** bits - 1
    xmin = x.amin(-1, keepdim=True)
    xmax = x.amax(-1, keepdim=True)
    scale = ((xmax - xmin) / qmax).clamp(min=1e-5, max=1e4)
    zp = (-xmin / scale).clamp(min=-1e4, max=1e4).round()
    q = (torch.round(x / scale) + zp).clamp(0, qmax)
    if ties is not None:
        for v in (x / scale, -xmin / scale):
            ties.append(float(((v - v.floor()) - 0.5).abs().min()))
    return (q - zp) * scale


def channel_mask(mean, low_p):
    """get_channel_mask; quota 0 makes every channel salient (see SpikeLLMQuantizer.swift)."""
    c = mean.shape[0]
    quota = int(low_p * c)
    if quota == 0:
        return torch.zeros(c, dtype=torch.bool)  # mask_low all false
    thresh = torch.sort(mean)[0][quota - 1]
    return mean <= thresh  # mask_low


class SpikeLLM:
    """Forward pre-hooks on every projection: float, collect (saliency) or coded."""

    def __init__(self, model, settings):
        self.model = model
        self.s = settings
        self.layers = model.model.layers
        self.mode = ["float"] * len(self.layers)
        self.sums, self.counts, self.mask_low = {}, {}, {}
        self.float_w, self.quant_w = {}, {}
        self.handles = []
        self.ties = []
        for li, layer in enumerate(self.layers):
            for p in PROJECTIONS:
                mod = layer.get_submodule(p)
                name = f"model.layers.{li}.{p}"
                self.float_w[name] = mod.weight.data.clone()
                if settings["wbits"]:
                    self.quant_w[name] = affine_quant(mod.weight.data, settings["wbits"])
                self.handles.append(mod.register_forward_pre_hook(self.hook(li, name, mod)))

    def hook(self, li, name, mod):
        def f(_, args):
            x = args[0]
            mode = self.mode[li]
            if mode == "collect":
                w = self.float_w[name]
                x2 = x.reshape(-1, x.shape[-1])
                g = (x2 @ w.T) @ w
                self.sums[name] = self.sums.get(name, 0) + (x2 * g).sum(0)
                self.counts[name] = self.counts.get(name, 0) + x2.shape[0]
                return None
            if mode == "coded":
                low = self.mask_low[name]
                lo = affine_quant(x, self.s["abits"], self.ties)
                hi = affine_quant(x, self.s["abits"] + self.s["addbit"], self.ties)
                return (torch.where(low, lo, hi),)
            return None
        return f

    def set_weights(self, li, quantized):
        for p in PROJECTIONS:
            name = f"model.layers.{li}.{p}"
            mod = self.layers[li].get_submodule(p)
            mod.weight.data = (self.quant_w[name] if quantized and name in self.quant_w else self.float_w[name]).clone()

    @torch.no_grad()
    def calibrate(self, ids):
        for li in range(len(self.layers)):
            for j in range(len(self.layers)):
                self.mode[j] = "coded" if j < li else ("collect" if j == li else "float")
                self.set_weights(j, quantized=j < li)
            self.model(torch.tensor([ids]))
            for p in PROJECTIONS:
                name = f"model.layers.{li}.{p}"
                self.mask_low[name] = channel_mask(self.sums[name] / self.counts[name], self.s["low_p"])
        for j in range(len(self.layers)):
            self.mode[j] = "coded"
            self.set_weights(j, quantized=True)

    def salient(self):
        return {n: [int(i) for i in torch.nonzero(~m).flatten()] for n, m in self.mask_low.items()}

    def remove(self):
        for h in self.handles:
            h.remove()
        for j in range(len(self.layers)):
            self.set_weights(j, quantized=False)


def randomize(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=g))
            elif name.endswith("bias"):
                p.copy_(0.2 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(torch.randn(p.shape, generator=g) * (1.2 / p.shape[-1] ** 0.5))


def r6(t):
    return [[float(f"{v:.6g}") for v in row] for row in t.tolist()]


@torch.no_grad()
def logits_of(model, ids):
    return model(torch.tensor([ids])).logits[0].float()


@torch.no_grad()
def greedy(model, ids, n):
    out = list(ids)
    for _ in range(n):
        out.append(int(logits_of(model, out)[-1].argmax()))
    return out[len(ids):]


@torch.no_grad()
def perplexity(model, ids):
    lg = logits_of(model, ids)
    nll = torch.nn.functional.cross_entropy(lg[:-1], torch.tensor(ids[1:]), reduction="mean")
    return float(nll), float(torch.exp(nll))


def save_folder(model, tok_kind, folder, dtype=torch.float32, shards=1, classic=False):
    """classic: rope_theta + rope_scaling at the top level, as released configs (transformers < 5)
    write them; else transformers 5's rope_parameters."""
    path = os.path.join(OUT, folder)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    model.config.dtype = str(dtype).replace("torch.", "")
    model.config.architectures = [type(model).__name__]
    cfg = model.config.to_dict()
    for k in ["id2label", "label2id", "_name_or_path", "chunk_size_feed_forward", "output_attentions",
              "output_hidden_states", "return_dict", "problem_type", "is_encoder_decoder"]:
        cfg.pop(k, None)
    if classic:
        rp = dict(cfg.pop("rope_parameters"))
        cfg["rope_theta"] = rp.pop("rope_theta")
        cfg["rope_scaling"] = rp if rp.get("rope_type", "default") != "default" else None
    with open(os.path.join(path, "config.json"), "w") as f:
        json.dump(cfg, f, indent=1, sort_keys=True)
    state = {k: v.detach().to(dtype).contiguous() for k, v in model.state_dict().items()}
    if model.config.tie_word_embeddings:
        state.pop("lm_head.weight", None)
    if shards == 1:
        save_file(state, os.path.join(path, "model.safetensors"), metadata={"format": "pt"})
    else:
        names = sorted(state)
        per = (len(names) + shards - 1) // shards
        weight_map = {}
        for s in range(shards):
            fname = f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
            part = {n: state[n] for n in names[s * per:(s + 1) * per]}
            save_file(part, os.path.join(path, fname), metadata={"format": "pt"})
            weight_map.update({n: fname for n in part})
        total = sum(t.numel() * t.element_size() for t in state.values())
        with open(os.path.join(path, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=1, sort_keys=True)
    shutil.copy(os.path.join(TOKENIZERS, tok_kind, "tokenizer.json"), os.path.join(path, "tokenizer.json"))


def gif_runs(model, tok):
    runs = []
    for s in GIF_SETTINGS:
        for text in GIF_PROMPTS:
            ids = tok.encode(text).ids
            hooks = SpikeLLM(model, s)
            hooks.calibrate(ids)
            lg = logits_of(model, ids)
            hooks.remove()
            if min(hooks.ties) >= TIE:
                runs.append(dict(settings=s, text=text, ids=ids, logits=r6(lg), salient=hooks.salient(),
                                 min_tie_distance=min(hooks.ties)))
                break
        else:
            raise SystemExit(f"every GIF prompt meets a rounding tie under {s}")
    return runs


def family(name, model, tok_kind, seed):
    randomize(model, seed)
    model.eval()
    tok = Tokenizer.from_file(os.path.join(TOKENIZERS, tok_kind, "tokenizer.json"))
    prompts = []
    for text in PROMPTS:
        ids = tok.encode(text).ids
        prompts.append(dict(text=text, ids=ids, logits=r6(logits_of(model, ids)), greedy=greedy(model, ids, 8)))
    ppl_ids = tok.encode(PPL_TEXT).ids
    nll, ppl = perplexity(model, ppl_ids)
    return dict(folder=name, prompts=prompts, gif=gif_runs(model, tok),
                perplexity=dict(text=PPL_TEXT, ids=ppl_ids, nll=nll, ppl=ppl))


def main():
    torch.manual_seed(0)
    os.makedirs(OUT, exist_ok=True)
    common = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                  num_key_value_heads=2, max_position_embeddings=256, attn_implementation="eager")
    sp_vocab = Tokenizer.from_file(os.path.join(TOKENIZERS, "sp-bpe", "tokenizer.json")).get_vocab_size()
    bl_vocab = Tokenizer.from_file(os.path.join(TOKENIZERS, "byte-bpe", "tokenizer.json")).get_vocab_size()

    llama = LlamaForCausalLM(LlamaConfig(vocab_size=sp_vocab, rms_norm_eps=1e-5, rope_theta=10000.0,
                                         rope_scaling=dict(rope_type="llama3", factor=8.0, low_freq_factor=1.0,
                                                           high_freq_factor=4.0, original_max_position_embeddings=128),
                                         tie_word_embeddings=False, bos_token_id=1, eos_token_id=2, **common))
    expected = {"llama": family("llama-tiny", llama, "sp-bpe", 1)}
    save_folder(llama, "sp-bpe", "llama-tiny", classic=True)

    # bf16 weights in two shards: the reference computes in fp32 with the bf16-rounded weights.
    with torch.no_grad():
        for p in llama.parameters():
            p.copy_(p.to(torch.bfloat16).float())
    ids = expected["llama"]["prompts"][0]["ids"]
    expected["llama_bf16"] = dict(folder="llama-tiny-bf16", ids=ids, logits=r6(logits_of(llama, ids)))
    save_folder(llama, "sp-bpe", "llama-tiny-bf16", dtype=torch.bfloat16, shards=2, classic=True)

    qwen = Qwen2ForCausalLM(Qwen2Config(vocab_size=bl_vocab, rms_norm_eps=1e-6, rope_theta=1000000.0,
                                        tie_word_embeddings=True, **common))
    expected["qwen2"] = family("qwen2-tiny", qwen, "byte-bpe", 2)
    save_folder(qwen, "byte-bpe", "qwen2-tiny")

    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, separators=(",", ":"))
    print("wrote", OUT)


if __name__ == "__main__":
    main()
