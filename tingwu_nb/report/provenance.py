"""Where a report's numbers come from: package versions, endpoint kind, engine models, audio hashes.

    prov = provenance(sessions=[session], emulator=emu)      # or runs=store.runs() for a grid
    rows = provenance_rows(prov)                             # (section, name, value) for a table

Shown in the session and experiment reports (HTML and Markdown). The endpoint is redacted
(:func:`tingwu_nb.redaction.redact_url`); model names come from the emulator object when one is
given (any object with ``engine.config.english_model`` / ``app.state.analysis.kind``), else from
this process's embedded emulator when it runs; for the cloud they are the service's own.
"""

from __future__ import annotations

import hashlib
import platform
from collections.abc import Iterable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from tingwu_nb.redaction import redact_url

__all__ = ["PACKAGES", "audio_sha256", "engine_info", "package_versions", "provenance", "provenance_rows"]

#: The distributions whose versions decide the results (missing ones are reported as such).
PACKAGES = ("tingwu_nb", "numpy", "pandas", "pyarrow", "matplotlib", "httpx", "websockets", "faster-whisper",
            "ctranslate2", "jiwer")


def package_versions(packages: Iterable[str] = PACKAGES) -> dict[str, str]:
    """``{distribution: version}`` plus ``python``; "not installed" for a missing one."""
    out = {"python": platform.python_version()}
    for name in packages:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def audio_sha256(path: str | Path) -> str | None:
    """sha256 of the file's bytes, or None when it cannot be read."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    except OSError:
        return None
    return digest.hexdigest()


def _running_emulator() -> Any:
    from tingwu_nb.session.connect import embedded_emulator

    return embedded_emulator() if embedded_emulator.cache_info().currsize else None


def engine_info(emulator: Any = None) -> dict[str, str]:
    """Speech models and analysis engine of ``emulator`` (or the running embedded one), else {}.

    ``emulator`` may also be a mapping ``{label: value}`` that already describes one (e.g. the
    embedded emulator's default configuration, as ``tingwu-nb report`` passes it): used as is.
    """
    if isinstance(emulator, Mapping):
        return {str(k): str(v) for k, v in emulator.items()}
    emulator = emulator if emulator is not None else _running_emulator()
    if emulator is None:
        return {}
    out: dict[str, str] = {}
    config = getattr(getattr(emulator, "engine", None), "config", None)
    for field, label in (("english_model", "speech model (en)"), ("other_model", "speech model (other languages)")):
        if getattr(config, field, None):
            out[label] = str(getattr(config, field))
    analysis = getattr(getattr(getattr(emulator, "app", None), "state", None), "analysis", None)
    kind = getattr(analysis, "kind", None) or getattr(getattr(emulator, "config", None), "analysis_engine", None)
    if kind:
        used = getattr(getattr(analysis, "_engine", None), "name", None)
        out["analysis engine"] = f"{kind} ({used})" if used and used != kind else str(kind)
    return out


def provenance(*, sessions: Iterable[Any] = (), runs: pd.DataFrame | None = None, emulator: Any = None,
               audio: Iterable[str | Path] = ()) -> dict[str, dict[str, str]]:
    """Provenance sections: ``packages``, ``endpoint``, ``engine``, ``audio`` (name -> sha256).

    ``sessions``: Session objects (their endpoint and source audio); ``runs``: a run table
    (``endpoint_kind``, ``recording``, ``audio_sha256``); ``audio``: more files to fingerprint.
    Each audio hash is listed once, named by its recording and file names ("meeting · turns.wav").
    ``emulator``: an emulator object or a ``{label: value}`` description (:func:`engine_info`).
    """
    endpoints: dict[str, str] = {}
    names: dict[str, list[str]] = {}  # sha256 -> the names it is known by (recording, file)

    def fingerprint(name: str, sha: str) -> None:
        known = names.setdefault(sha, [])
        if name not in known:
            known.append(name)

    for session in sessions:
        meta = getattr(session, "meta", {}) or {}
        url = str(meta.get("endpoint") or "")
        if url:
            kind = "cloud" if "aliyuncs.com" in url else "emulator"
            endpoints[kind] = redact_url(url)
        source = (meta.get("audio") or {}).get("source")
        if source:
            fingerprint(Path(source).name, audio_sha256(source) or f"unreadable ({Path(source).name})")
    if runs is not None and len(runs):
        for kind in sorted(set(runs["endpoint_kind"].dropna())):
            endpoints.setdefault(str(kind), "run store")
        recorded = runs[["recording", "audio_sha256"]].drop_duplicates().itertuples(index=False)
        for name, sha in sorted(recorded, key=lambda r: (str(r[0]), str(r[1]))):
            names.setdefault(str(sha), []).insert(0, str(name))  # the recording name first
    for path in audio:
        fingerprint(Path(path).name, audio_sha256(path) or f"unreadable ({Path(path).name})")
    fingerprints = {" · ".join(dict.fromkeys(known)): sha for sha, known in names.items()}
    engine = engine_info(emulator) if "emulator" in endpoints or emulator is not None else {}
    if "cloud" in endpoints:
        engine.setdefault("cloud models", "chosen by Alibaba Cloud Tingwu (not reported by the service)")
    return {"packages": package_versions(), "endpoint": endpoints, "engine": engine, "audio": fingerprints}


def provenance_rows(prov: dict[str, dict[str, str]]) -> list[tuple[str, str, str]]:
    """``(section, name, value)`` rows in a stable order, for a table in a report."""
    return [(section, str(k), str(v)) for section in ("endpoint", "engine", "audio", "packages")
            for k, v in prov.get(section, {}).items()]
