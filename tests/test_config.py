"""Tests for tingwu_nb.config: credential chain, AppKey/endpoint, and redaction helpers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tingwu_nb.config import (
    TINGWU_ENDPOINT,
    Credentials,
    resolve_app_key,
    resolve_credentials,
    resolve_endpoint,
)
from tingwu_nb.errors import ConfigError, CredentialsError
from tingwu_nb.redaction import redact_mapping, redact_text, redact_url

SECRET = "s3cr3tVALUEnobodyMaySee"
TOKEN = "CAIS-sts-token-very-secret"
KEY_ID = "TEST-example-key-abcd"  # not a real key id: no LTAI prefix


def write_cli(home: Path, profiles: list[dict], current: str = "default") -> None:
    """Write an Alibaba Cloud CLI config.json under ``home``."""
    (home / ".aliyun").mkdir(parents=True, exist_ok=True)
    (home / ".aliyun" / "config.json").write_text(json.dumps({"current": current, "profiles": profiles}))


def write_ini(home: Path, text: str) -> Path:
    """Write ~/.alibabacloud/credentials.ini under ``home`` and return its path."""
    (home / ".alibabacloud").mkdir(parents=True, exist_ok=True)
    path = home / ".alibabacloud" / "credentials.ini"
    path.write_text(text)
    return path


# --- Credentials -------------------------------------------------------------------------


def test_repr_masks_id_and_hides_secret_and_token():
    """repr/str show a masked key id and never the secret or STS token."""
    creds = Credentials(KEY_ID, SECRET, TOKEN, source="env")
    for text in (repr(creds), str(creds), f"{creds}", repr([creds])):
        assert SECRET not in text and TOKEN not in text and KEY_ID not in text
        assert "TEST****abcd" in text
    assert creds.is_sts
    assert not Credentials(KEY_ID, SECRET).is_sts


def test_short_key_id_fully_masked():
    """A key id too short to mask partly is hidden completely."""
    assert "****" in repr(Credentials("abc", SECRET)) and "abc" not in repr(Credentials("abc", SECRET))


def test_empty_secret_refused():
    """Credentials with an empty secret are refused."""
    with pytest.raises(CredentialsError, match="access_key_secret is empty"):
        Credentials(KEY_ID, "")


# --- chain -------------------------------------------------------------------------------


def test_nothing_configured_returns_none(tmp_path):
    """An empty environment and an empty home give None."""
    assert resolve_credentials(env={}, home=tmp_path) is None


def test_env_access_key(tmp_path):
    """Environment AccessKey pair wins, source 'env'."""
    creds = resolve_credentials(env={"ALIBABA_CLOUD_ACCESS_KEY_ID": KEY_ID,
                                     "ALIBABA_CLOUD_ACCESS_KEY_SECRET": SECRET}, home=tmp_path)
    assert (creds.access_key_id, creds.access_key_secret, creds.source, creds.is_sts) == (KEY_ID, SECRET, "env",
                                                                                         False)


def test_env_sts(tmp_path):
    """ALIBABA_CLOUD_SECURITY_TOKEN turns env credentials into STS."""
    creds = resolve_credentials(env={"ALIBABA_CLOUD_ACCESS_KEY_ID": "STS.x1234567",
                                     "ALIBABA_CLOUD_ACCESS_KEY_SECRET": SECRET,
                                     "ALIBABA_CLOUD_SECURITY_TOKEN": TOKEN}, home=tmp_path)
    assert creds.is_sts and creds.security_token == TOKEN


def test_env_precedes_cli_and_ini(tmp_path):
    """Environment beats the CLI profile, which beats the INI file."""
    write_cli(tmp_path, [{"name": "default", "mode": "AK", "access_key_id": "cli-id-123456",
                          "access_key_secret": "cli-secret"}])
    write_ini(tmp_path, "[default]\ntype = access_key\naccess_key_id = ini-id-123456\naccess_key_secret = x\n")
    env = {"ALIBABA_CLOUD_ACCESS_KEY_ID": KEY_ID, "ALIBABA_CLOUD_ACCESS_KEY_SECRET": SECRET}
    assert resolve_credentials(env=env, home=tmp_path).source == "env"
    assert resolve_credentials(env={}, home=tmp_path).source == "cli:default"
    ini = resolve_credentials(env={"ALIBABA_CLOUD_CLI_PROFILE_DISABLED": "true"}, home=tmp_path)
    assert (ini.source, ini.access_key_id) == ("ini:default", "ini-id-123456")


def test_env_half_pair_is_an_error(tmp_path):
    """An id without a secret is a configuration error naming both variables."""
    with pytest.raises(CredentialsError, match="ALIBABA_CLOUD_ACCESS_KEY_ID is set but "
                                               "ALIBABA_CLOUD_ACCESS_KEY_SECRET is not"):
        resolve_credentials(env={"ALIBABA_CLOUD_ACCESS_KEY_ID": KEY_ID}, home=tmp_path)


def test_env_oidc_is_unsupported(tmp_path):
    """OIDC role variables are refused as unsupported."""
    env = {"ALIBABA_CLOUD_ROLE_ARN": "acs:ram::1:role/x", "ALIBABA_CLOUD_OIDC_PROVIDER_ARN": "p",
           "ALIBABA_CLOUD_OIDC_TOKEN_FILE": "/tmp/t"}
    with pytest.raises(CredentialsError, match="not supported"):
        resolve_credentials(env=env, home=tmp_path)


def test_cli_profile_current_and_named(tmp_path):
    """The CLI 'current' profile is used unless ALIBABA_CLOUD_PROFILE names another."""
    write_cli(tmp_path, [
        {"name": "default", "mode": "AK", "access_key_id": "default-id-1", "access_key_secret": "a"},
        {"name": "work", "mode": "StsToken", "access_key_id": "STS.work-id", "access_key_secret": "b",
         "sts_token": TOKEN}], current="default")
    assert resolve_credentials(env={}, home=tmp_path).access_key_id == "default-id-1"
    work = resolve_credentials(env={"ALIBABA_CLOUD_PROFILE": "work"}, home=tmp_path)
    assert (work.source, work.is_sts, work.security_token) == ("cli:work", True, TOKEN)


def test_cli_unsupported_mode(tmp_path):
    """A RamRoleArn CLI profile is refused as unsupported, naming the mode."""
    write_cli(tmp_path, [{"name": "default", "mode": "RamRoleArn", "access_key_id": "x", "access_key_secret": "y",
                          "ram_role_arn": "acs:ram::1:role/r"}])
    with pytest.raises(CredentialsError, match="mode RamRoleArn, which tingwu_nb does not support"):
        resolve_credentials(env={}, home=tmp_path)


def test_cli_broken_profile_and_json(tmp_path):
    """A StsToken profile without token, and unreadable JSON, are errors."""
    write_cli(tmp_path, [{"name": "default", "mode": "StsToken", "access_key_id": "x", "access_key_secret": "y"}])
    with pytest.raises(CredentialsError, match="needs access_key_id, access_key_secret and sts_token"):
        resolve_credentials(env={}, home=tmp_path)
    (tmp_path / ".aliyun" / "config.json").write_text("{not json")
    with pytest.raises(CredentialsError, match="not readable JSON"):
        resolve_credentials(env={}, home=tmp_path)


def test_ini_default_with_inline_comments(tmp_path):
    """The INI default section is read and inline '#' comments are stripped."""
    write_ini(tmp_path, "# my keys\n[default]\ntype = access_key   # static key\n"
                        f"access_key_id = {KEY_ID} # id\naccess_key_secret = {SECRET}#secret\n")
    creds = resolve_credentials(env={}, home=tmp_path)
    assert (creds.access_key_id, creds.access_key_secret, creds.source) == (KEY_ID, SECRET, "ini:default")


def test_ini_profile_file_env_and_sts(tmp_path):
    """ALIBABA_CLOUD_CREDENTIALS_FILE and ALIBABA_CLOUD_PROFILE pick file and section; sts type works."""
    path = tmp_path / "elsewhere.ini"
    path.write_text(f"[default]\ntype = access_key\naccess_key_id = a\naccess_key_secret = b\n"
                    f"[temp]\ntype = sts\naccess_key_id = STS.t\naccess_key_secret = c\nsecurity_token = {TOKEN}\n")
    creds = resolve_credentials(env={"ALIBABA_CLOUD_CREDENTIALS_FILE": str(path),
                                     "ALIBABA_CLOUD_PROFILE": "temp"}, home=tmp_path)
    assert (creds.source, creds.is_sts, creds.security_token) == ("ini:temp", True, TOKEN)


def test_ini_unsupported_type(tmp_path):
    """type = ram_role_arn is refused and called unsupported."""
    write_ini(tmp_path, "[default]\ntype = ram_role_arn\naccess_key_id = a\naccess_key_secret = b\n")
    with pytest.raises(CredentialsError, match="ram_role_arn, which tingwu_nb does not support"):
        resolve_credentials(env={}, home=tmp_path)


def test_ini_missing_secret(tmp_path):
    """An access_key section without a secret is an error."""
    write_ini(tmp_path, "[default]\ntype = access_key\naccess_key_id = a\n")
    with pytest.raises(CredentialsError, match="needs access_key_id and access_key_secret"):
        resolve_credentials(env={}, home=tmp_path)


def test_ini_env_path_missing(tmp_path):
    """ALIBABA_CLOUD_CREDENTIALS_FILE pointing nowhere is an error."""
    with pytest.raises(CredentialsError, match="does not exist"):
        resolve_credentials(env={"ALIBABA_CLOUD_CREDENTIALS_FILE": str(tmp_path / "nope.ini")}, home=tmp_path)


def test_named_profile_not_found(tmp_path):
    """A profile named in ALIBABA_CLOUD_PROFILE that exists nowhere is an error."""
    write_ini(tmp_path, "[default]\ntype = access_key\naccess_key_id = a\naccess_key_secret = b\n")
    with pytest.raises(CredentialsError, match="profile 'ghost'"):
        resolve_credentials(env={"ALIBABA_CLOUD_PROFILE": "ghost"}, home=tmp_path)


def test_errors_never_contain_the_secret(tmp_path):
    """Error messages about broken configuration do not echo secret values."""
    write_cli(tmp_path, [{"name": "default", "mode": "StsToken", "access_key_id": "x", "access_key_secret": SECRET}])
    with pytest.raises(CredentialsError) as info:
        resolve_credentials(env={}, home=tmp_path)
    assert SECRET not in str(info.value)


# --- AppKey and endpoint -----------------------------------------------------------------


def test_app_key_and_endpoint():
    """TINGWU_APP_KEY and TINGWU_ENDPOINT are read; the endpoint defaults to the cloud."""
    assert resolve_app_key({"TINGWU_APP_KEY": " abc "}) == "abc"
    assert resolve_app_key({}) is None
    assert resolve_endpoint({}) == TINGWU_ENDPOINT == "https://tingwu.cn-beijing.aliyuncs.com"
    assert resolve_endpoint({"TINGWU_ENDPOINT": "http://127.0.0.1:8765/"}) == "http://127.0.0.1:8765"
    assert resolve_endpoint({"TINGWU_ENDPOINT": "tingwu.example.com"}) == "https://tingwu.example.com"
    with pytest.raises(ConfigError, match="http"):
        resolve_endpoint({"TINGWU_ENDPOINT": "ftp://x"})


# --- redaction ---------------------------------------------------------------------------


def test_redact_join_url():
    """The mc token of a MeetingJoinUrl is masked; scheme, host and path stay."""
    url = "wss://tingwu-realtime-cn-beijing.aliyuncs.com/api/ws/v1?mc=Zx9secretCapability"
    assert redact_url(url) == "wss://tingwu-realtime-cn-beijing.aliyuncs.com/api/ws/v1?mc=****"


def test_redact_presigned_oss_url():
    """OSS signature, key id and security token are masked; Expires and path stay visible."""
    url = ("https://bucket.oss-cn-beijing.aliyuncs.com/tingwu/output/t1/Transcription.json?"
           "Expires=1700000000&OSSAccessKeyId=LTAIabc&Signature=abc%2Bdef%3D&security-token=CAIStok")
    assert redact_url(url) == ("https://bucket.oss-cn-beijing.aliyuncs.com/tingwu/output/t1/Transcription.json?"
                               "Expires=1700000000&OSSAccessKeyId=****&Signature=****&security-token=****")


def test_redact_v4_oss_and_emulator_url():
    """x-oss-* params and the emulator's signed file links are masked."""
    url = "https://b.oss.aliyuncs.com/k?x-oss-signature=ab&x-oss-credential=LTAI%2F1&x-oss-expires=3600&v=1"
    assert redact_url(url) == "https://b.oss.aliyuncs.com/k?x-oss-signature=****&x-oss-credential=****&" \
                              "x-oss-expires=****&v=1"
    emu = "http://127.0.0.1:8765/files/t1/Transcription.json?Expires=99&Signature=deadbeef"
    assert redact_url(emu) == "http://127.0.0.1:8765/files/t1/Transcription.json?Expires=99&Signature=****"


def test_redact_url_userinfo_and_non_urls():
    """Passwords in the authority are masked; plain text is returned unchanged."""
    assert redact_url("https://user:pw@host/p") == "https://user:****@host/p"
    assert redact_url("not a url") == "not a url"
    assert redact_url("https://host/p?a=1") == "https://host/p?a=1"


def test_redact_text_secrets_and_embedded_urls():
    """Given secrets and URLs inside free text are masked."""
    text = (f"secret={SECRET} joined wss://h/api/ws/v1?mc=TOKEN123, file "
            f"https://b/x.json?Signature=zz&Expires=5 and {TOKEN}.")
    out = redact_text(text, [SECRET, TOKEN, None, ""])
    assert SECRET not in out and TOKEN not in out and "TOKEN123" not in out and "zz&" not in out
    assert "wss://h/api/ws/v1?mc=****, file" in out and "https://b/x.json?Signature=****&Expires=5" in out


def test_redact_text_authorization_header():
    """A loose Signature= outside a URL (an Authorization header) is masked."""
    line = "Authorization: ACS3-HMAC-SHA256 Credential=testid,SignedHeaders=host,Signature=b2d6a3b12d04"
    out = redact_text(line)
    assert "b2d6a3b12d04" not in out and out.endswith("Signature=****")


def test_redact_mapping():
    """Nested dicts/lists: join URLs, sensitive keys and embedded URLs are redacted; other values kept."""
    data = {"Data": {"TaskId": "t1", "MeetingJoinUrl": "wss://h/api/ws/v1?mc=abc",
                     "Result": {"Transcription": "https://b/t.json?OSSAccessKeyId=k&Signature=s"}},
            "access_key_secret": SECRET, "SecurityToken": TOKEN, "password": "hunter2", "InputTokens": 42,
            "log": [f"used {SECRET}", ("wss://h/?mc=zz",)], "n": 3}
    out = redact_mapping(data, secrets=[SECRET])
    assert out == {"Data": {"TaskId": "t1", "MeetingJoinUrl": "wss://h/api/ws/v1?mc=****",
                            "Result": {"Transcription": "https://b/t.json?OSSAccessKeyId=****&Signature=****"}},
                   "access_key_secret": "****", "SecurityToken": "****", "password": "****", "InputTokens": 42,
                   "log": ["used ****", ("wss://h/?mc=****",)], "n": 3}
    assert data["access_key_secret"] == SECRET
