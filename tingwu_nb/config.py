"""Endpoint, AppKey and the AccessKey/STS credential chain.

Credentials are looked up like the official ``alibabacloud-credentials`` default chain, for the
providers that need no network call (first match wins, :attr:`Credentials.source` says which):

1. environment: ``ALIBABA_CLOUD_ACCESS_KEY_ID`` + ``ALIBABA_CLOUD_ACCESS_KEY_SECRET``
   (+ ``ALIBABA_CLOUD_SECURITY_TOKEN`` for STS) -> source ``"env"``;
2. Alibaba Cloud CLI profile ``~/.aliyun/config.json`` (modes ``AK`` and ``StsToken``; profile
   ``ALIBABA_CLOUD_PROFILE`` or the file's ``current``; skipped when
   ``ALIBABA_CLOUD_CLI_PROFILE_DISABLED=true``) -> ``"cli:<profile>"``;
3. INI file ``ALIBABA_CLOUD_CREDENTIALS_FILE`` or ``~/.alibabacloud/credentials.ini``, section
   ``ALIBABA_CLOUD_PROFILE`` or ``default``, ``type = access_key`` (``sts`` or a
   ``security_token`` key give STS) -> ``"ini:<section>"``.

Role-based providers (OIDC, RamRoleArn, ECS RAM role, ...) need an STS call and are refused with
:class:`~tingwu_nb.errors.CredentialsError` naming them. The AppKey comes from ``TINGWU_APP_KEY``,
the endpoint from ``TINGWU_ENDPOINT`` (default :data:`TINGWU_ENDPOINT`).

Redaction of what the credentials and the service hand out lives in :mod:`tingwu_nb.redaction`.
"""

from __future__ import annotations

import configparser
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from tingwu_nb.errors import ConfigError, CredentialsError
from tingwu_nb.redaction import MASK

__all__ = [
    "TINGWU_ENDPOINT",
    "Credentials",
    "resolve_app_key",
    "resolve_credentials",
    "resolve_endpoint",
]

TINGWU_ENDPOINT = "https://tingwu.cn-beijing.aliyuncs.com"

_ENV_ID, _ENV_SECRET, _ENV_TOKEN = (
    "ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALIBABA_CLOUD_SECURITY_TOKEN")
_OIDC_VARS = ("ALIBABA_CLOUD_ROLE_ARN", "ALIBABA_CLOUD_OIDC_PROVIDER_ARN", "ALIBABA_CLOUD_OIDC_TOKEN_FILE")
_HOW_TO = (f"set {_ENV_ID} and {_ENV_SECRET} (plus {_ENV_TOKEN} for STS), or an AK/StsToken profile in "
           "~/.aliyun/config.json, or type = access_key in ~/.alibabacloud/credentials.ini")


def _mask_id(key_id: str) -> str:
    return f"{key_id[:4]}{MASK}{key_id[-4:]}" if len(key_id) > 8 else MASK


@dataclass(frozen=True, repr=False)
class Credentials:
    """An AccessKey pair, optionally with an STS token; the repr masks the id and hides the rest.

    Next: pass it to ``TingwuClient`` (which signs requests with it); never print the secret.
    """

    access_key_id: str
    access_key_secret: str = field(repr=False)
    security_token: str | None = field(default=None, repr=False)
    source: str = "explicit"

    def __post_init__(self) -> None:
        for name in ("access_key_id", "access_key_secret"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise CredentialsError(f"Credentials.{name} is empty (from {self.source}); {_HOW_TO}")
        if self.security_token is not None and not isinstance(self.security_token, str):
            raise CredentialsError(f"Credentials.security_token must be a string (from {self.source})")

    @property
    def is_sts(self) -> bool:
        """True for temporary STS credentials (a security token is present)."""
        return bool(self.security_token)

    def __repr__(self) -> str:
        sts = ", sts=True" if self.is_sts else ""
        return f"Credentials(access_key_id={_mask_id(self.access_key_id)!r}, source={self.source!r}{sts})"

    __str__ = __repr__


def resolve_credentials(*, env: Mapping[str, str] | None = None, home: Path | None = None) -> Credentials | None:
    """Find credentials through the chain described in the module docstring.

    Args:
        env: environment to read (default ``os.environ``).
        home: home directory holding ``.aliyun`` / ``.alibabacloud`` (default ``Path.home()``).

    Returns:
        The first credentials found, or ``None`` when nothing is configured (the caller may
        then use the local emulator, or ask the user to configure credentials).

    Raises:
        CredentialsError: something is configured but unusable (half a key pair, broken file,
            or a provider tingwu_nb does not support); the message says what to fix.
    """
    env = os.environ if env is None else env
    home = Path.home() if home is None else Path(home)
    key_id, secret, token = (env.get(k, "").strip() for k in (_ENV_ID, _ENV_SECRET, _ENV_TOKEN))
    if key_id and secret:
        return Credentials(key_id, secret, token or None, source="env")
    if key_id or secret:
        have, missing = (_ENV_ID, _ENV_SECRET) if key_id else (_ENV_SECRET, _ENV_ID)
        raise CredentialsError(f"{have} is set but {missing} is not; set both or unset both")
    if token:
        raise CredentialsError(f"{_ENV_TOKEN} is set without {_ENV_ID}/{_ENV_SECRET}; STS needs all three")
    if all(env.get(k) for k in _OIDC_VARS):
        raise CredentialsError("OIDC role credentials (ALIBABA_CLOUD_ROLE_ARN, ...) are not supported by "
                               f"tingwu_nb because they need an STS AssumeRole call; {_HOW_TO}")
    profile = env.get("ALIBABA_CLOUD_PROFILE", "").strip() or None
    if env.get("ALIBABA_CLOUD_CLI_PROFILE_DISABLED", "").strip().lower() != "true":
        creds = _from_cli(home / ".aliyun" / "config.json", profile)
        if creds is not None:
            return creds
    ini_env = env.get("ALIBABA_CLOUD_CREDENTIALS_FILE", "").strip()
    ini_path = Path(ini_env).expanduser() if ini_env else home / ".alibabacloud" / "credentials.ini"
    if ini_env and not ini_path.is_file():
        raise CredentialsError(f"ALIBABA_CLOUD_CREDENTIALS_FILE points to {ini_path}, which does not exist")
    creds = _from_ini(ini_path, profile or "default")
    if creds is None and profile:
        raise CredentialsError(f"profile {profile!r} (ALIBABA_CLOUD_PROFILE) was found neither in "
                               f"~/.aliyun/config.json nor in {ini_path}")
    return creds


def _from_cli(path: Path, profile: str | None) -> Credentials | None:
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CredentialsError(f"{path} is not readable JSON ({exc}); fix or remove it") from exc
    name = profile or (data.get("current") if isinstance(data, dict) else None)
    profiles = data.get("profiles", []) if isinstance(data, dict) else []
    found = next((p for p in profiles if isinstance(p, dict) and p.get("name") == name), None) if name else None
    if found is None:
        return None
    mode = found.get("mode", "AK")
    where = f"profile {name!r} in {path}"
    if mode not in ("AK", "StsToken"):
        raise CredentialsError(f"{where} uses mode {mode}, which tingwu_nb does not support (only AK and "
                               "StsToken; other modes need an STS or metadata call). Switch it, or set "
                               "ALIBABA_CLOUD_CLI_PROFILE_DISABLED=true to skip the CLI config.")
    key_id, secret = found.get("access_key_id") or "", found.get("access_key_secret") or ""
    token = found.get("sts_token") or None
    if not (key_id and secret) or (mode == "StsToken" and not token):
        need = "access_key_id, access_key_secret and sts_token" if mode == "StsToken" else \
            "access_key_id and access_key_secret"
        raise CredentialsError(f"{where} (mode {mode}) needs {need}")
    return Credentials(key_id, secret, token if mode == "StsToken" else None, source=f"cli:{name}")


def _from_ini(path: Path, section: str) -> Credentials | None:
    if not path.is_file():
        return None
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(path.read_text(encoding="utf-8"), source=str(path))
    except (OSError, configparser.Error) as exc:
        raise CredentialsError(f"{path} is not a readable INI file ({exc}); fix or remove it") from exc
    if not parser.has_section(section):
        return None
    values = {k: v.split("#", 1)[0].strip() for k, v in parser.items(section)}
    kind = values.get("type") or "access_key"
    where = f"section [{section}] of {path}"
    if kind not in ("access_key", "sts"):
        raise CredentialsError(f"{where} has type = {kind}, which tingwu_nb does not support (only "
                               "access_key and sts; role-based types need an STS or metadata call)")
    key_id, secret = values.get("access_key_id", ""), values.get("access_key_secret", "")
    token = values.get("security_token") or values.get("sts_token") or None
    if not (key_id and secret) or (kind == "sts" and not token):
        need = "access_key_id, access_key_secret and security_token" if kind == "sts" else \
            "access_key_id and access_key_secret"
        raise CredentialsError(f"{where} (type = {kind}) needs {need}")
    return Credentials(key_id, secret, token, source=f"ini:{section}")


def resolve_app_key(env: Mapping[str, str] | None = None) -> str | None:
    """Return the Tingwu project AppKey from ``TINGWU_APP_KEY`` (console -> project), or None."""
    value = (os.environ if env is None else env).get("TINGWU_APP_KEY", "").strip()
    return value or None


def resolve_endpoint(env: Mapping[str, str] | None = None) -> str:
    """Return the REST endpoint: ``TINGWU_ENDPOINT`` if set (e.g. the emulator's), else the cloud's.

    A bare host gets ``https://``; a trailing slash is dropped.

    Raises:
        ConfigError: the value is not an http(s) URL.
    """
    value = (os.environ if env is None else env).get("TINGWU_ENDPOINT", "").strip() or TINGWU_ENDPOINT
    if "://" not in value:
        value = "https://" + value
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"TINGWU_ENDPOINT must be an http(s) URL such as {TINGWU_ENDPOINT}; got {value!r}")
    return value.rstrip("/")
