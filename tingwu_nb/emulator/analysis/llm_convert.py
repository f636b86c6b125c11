"""GGUF (Qwen2, Q4_K/Q6_K) -> CTranslate2 int8 model directory, tensor by tensor, numpy only.

The one-off conversion behind the emulator's language model (spec offline-engine, last
section). Each GGUF tensor is dequantised with ``gguf.quants`` and immediately quantised to
CTranslate2's int8 layout (per-row ``127 / max|w|`` scales, as ``ctranslate2.specs`` does), so at
most one float32 tensor exists at a time and the peak stays near the size of the int8 model
(~1.8 GB) instead of the ~9.6 GB of a float32 spec. The tokenizer is rebuilt from the GGUF
metadata (byte-level BPE with Qwen2's pre-tokenizer), so no Hugging Face download is needed.

Call :func:`convert` with a verified GGUF path; callers normally use
:func:`tingwu_nb.emulator.analysis.llm_weights.prepare_llm`, which verifies and caches.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["CONVERTER_VERSION", "Progress", "convert", "tokenizer_from_gguf"]

#: Bump when the output of :func:`convert` changes, so caches are rebuilt.
CONVERTER_VERSION = 1

#: ``progress(done, total, what)``; called after each tensor.
Progress = Callable[[int, int, str], None]

# Qwen2's pre-tokenizer regex (tokenizer.ggml.pre == "qwen2"), as in its tokenizer.json.
_QWEN2_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)


def _field(reader: Any, key: str) -> Any:
    field = reader.fields.get(key)
    if field is None:
        raise ValueError(f"GGUF file lacks {key}")
    return field.contents()


def tokenizer_from_gguf(reader: Any) -> Any:
    """A ``tokenizers.Tokenizer`` equal to Qwen2.5's, rebuilt from GGUF metadata."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers

    if _field(reader, "tokenizer.ggml.model") != "gpt2" or _field(reader, "tokenizer.ggml.pre") != "qwen2":
        raise ValueError("expected a GPT-2 style BPE tokenizer with the qwen2 pre-tokenizer")
    tokens: list[str] = _field(reader, "tokenizer.ggml.tokens")
    types: list[int] = _field(reader, "tokenizer.ggml.token_type")
    merges = [tuple(m.split(" ", 1)) for m in _field(reader, "tokenizer.ggml.merges")]
    bpe = models.BPE(vocab={t: i for i, t in enumerate(tokens)}, merges=merges, byte_fallback=False, fuse_unk=False)
    tok = Tokenizer(bpe)
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(_QWEN2_SPLIT), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
    # Control (3) and user-defined (4) tokens: <|im_start|>, <|endoftext|>, <|fim_*|>, ...
    # GGUF pads the vocabulary with "[PAD…]" entries (type 3 too) that never occur in text.
    specials = [(i, t) for i, (t, kind) in enumerate(zip(tokens, types)) if kind in (3, 4) and t.startswith("<|")]
    for i, text in specials:
        added = tok.add_special_tokens([AddedToken(text, special=True, normalized=False)])
        if added != 1 or tok.token_to_id(text) != i:
            raise ValueError(f"special token {text!r} did not get id {i}")
    return tok


def _int8(weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """CTranslate2's int8 weight quantisation (``ctranslate2.specs.model_spec._quantize``)."""
    amax = np.amax(np.absolute(weight), axis=1)
    amax[amax == 0] = 127.0
    amax = np.maximum(amax, np.float32(127) / np.finfo(np.float32).max)
    scale = (127.0 / amax).astype(np.float32)
    q = np.rint(weight * scale[:, None]).astype(np.int8)
    return q, scale


def convert(gguf_path: Path, out_dir: Path, *, progress: Progress | None = None) -> Path:
    """Write a CTranslate2 int8 ``Generator`` model of ``gguf_path`` into ``out_dir``.

    ``out_dir`` must not exist or be empty. Returns ``out_dir`` holding ``model.bin``,
    ``config.json``, ``vocabulary.json`` and ``tokenizer.json``.
    """
    import gguf
    from ctranslate2.specs import common_spec, transformer_spec

    reader = gguf.GGUFReader(str(gguf_path))
    if _field(reader, "general.architecture") != "qwen2":
        raise ValueError("only Qwen2 GGUF files are supported")
    layers = int(_field(reader, "qwen2.block_count"))
    heads = int(_field(reader, "qwen2.attention.head_count"))
    heads_kv = int(_field(reader, "qwen2.attention.head_count_kv"))
    spec = transformer_spec.TransformerDecoderModelSpec.from_config(
        layers, heads, activation=common_spec.Activation.SWISH, pre_norm=True, ffn_glu=True, rms_norm=True,
        rotary_dim=0, rotary_interleave=False, rotary_base=float(_field(reader, "qwen2.rope.freq_base")),
        num_heads_kv=None if heads_kv == heads else heads_kv,
    )
    tensors = {t.name: t for t in reader.tensors}
    total = len(tensors)
    done = 0

    def dense(name: str) -> np.ndarray:
        nonlocal done
        t = tensors[name]
        value = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32, copy=False)
        done += 1
        if progress is not None:
            progress(done, total, name)
        return value

    def linear(target: Any, name: str, *, bias: bool = False) -> None:
        target.weight, target.weight_scale = _int8(dense(f"{name}.weight"))
        if bias:
            target.bias = dense(f"{name}.bias")

    dec = spec.decoder
    dec.scale_embeddings = False
    dec.embeddings.weight, dec.embeddings.weight_scale = _int8(dense("token_embd.weight"))
    dec.layer_norm.gamma = dense("output_norm.weight")
    linear(dec.projection, "output" if "output.weight" in tensors else "token_embd")
    for n, layer in enumerate(dec.layer):
        blk = f"blk.{n}"
        layer.self_attention.layer_norm.gamma = dense(f"{blk}.attn_norm.weight")
        layer.ffn.layer_norm.gamma = dense(f"{blk}.ffn_norm.weight")
        q, k, v = (dense(f"{blk}.attn_{x}.weight") for x in "qkv")
        fused = np.concatenate([q, k, v])
        del q, k, v
        layer.self_attention.linear[0].weight, layer.self_attention.linear[0].weight_scale = _int8(fused)
        del fused
        layer.self_attention.linear[0].bias = np.concatenate([dense(f"{blk}.attn_{x}.bias") for x in "qkv"])
        linear(layer.self_attention.linear[1], f"{blk}.attn_output")
        linear(layer.ffn.linear_0, f"{blk}.ffn_gate")
        linear(layer.ffn.linear_0_noact, f"{blk}.ffn_up")
        linear(layer.ffn.linear_1, f"{blk}.ffn_down")

    tokens: list[str] = _field(reader, "tokenizer.ggml.tokens")
    spec.register_vocabulary(tokens)
    eos = tokens[int(_field(reader, "tokenizer.ggml.eos_token_id"))]
    bos = tokens[int(_field(reader, "tokenizer.ggml.bos_token_id"))]
    spec.config.bos_token = bos
    spec.config.eos_token = eos
    spec.config.unk_token = ""
    spec.config.layer_norm_epsilon = float(_field(reader, "qwen2.attention.layer_norm_rms_epsilon"))
    spec.validate()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    spec.save(str(out_dir))
    tokenizer_from_gguf(reader).save(str(out_dir / "tokenizer.json"))
    meta = {"name": str(_field(reader, "general.name")), "eos_token": eos, "context_length":
            int(_field(reader, "qwen2.context_length")), "converter_version": CONVERTER_VERSION}
    (out_dir / "source.json").write_text(json.dumps(meta, indent=1))
    return out_dir
