"""ACS3-HMAC-SHA256 signing: spec §6.5 known answers, AcsAuth on httpx, verify()."""

from __future__ import annotations

import calendar
import hashlib

import httpx
import pytest

from tingwu_nb.client.auth import (
    EMPTY_SHA256,
    AcsAuth,
    NonceCache,
    canonical_query,
    canonical_request,
    sign,
    verify,
)
from tingwu_nb.config import Credentials
from tingwu_nb.errors import ServiceError

TASK = "c5394c6ee0fb474899d42215a3925c7e"
HOST = "tingwu.cn-beijing.aliyuncs.com"
T0 = float(calendar.timegm((2024, 1, 1, 0, 0, 0)))
COMMON = {
    "host": HOST,
    "x-acs-version": "2023-09-30",
    "x-acs-date": "2024-01-01T00:00:00Z",
    "x-acs-signature-nonce": "0123456789abcdef0123456789abcdef",
}
V1_HEADERS = {**COMMON, "x-acs-action": "GetTaskInfo", "x-acs-content-sha256": EMPTY_SHA256}
V1_PATH = f"/openapi/tingwu/v2/tasks/{TASK}"
V1_CANONICAL = f"""GET
{V1_PATH}

host:{HOST}
x-acs-action:GetTaskInfo
x-acs-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
x-acs-date:2024-01-01T00:00:00Z
x-acs-signature-nonce:0123456789abcdef0123456789abcdef
x-acs-version:2023-09-30

host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"""
V1_AUTH = (
    "ACS3-HMAC-SHA256 Credential=testid,SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-date;"
    "x-acs-signature-nonce;x-acs-version,Signature=b2d6a3b12d041c73321d2fdae38dbf5900a5976d996c313e33ded2ba5ebcb02b"
)
V2_BODY = b'{"AppKey":"APPKEY","Input":{"TaskId":"c5394c6ee0fb474899d42215a3925c7e"}}'
V2_SHA = "6b59f80fa85d9553732743044d16c701fcfff857af31ae9c38d8d0a7b1eeb19e"
V2_HEADERS = {
    **COMMON,
    "x-acs-action": "CreateTask",
    "content-type": "application/json; charset=utf-8",
    "x-acs-content-sha256": V2_SHA,
}
V2_AUTH = (
    "ACS3-HMAC-SHA256 Credential=testid,SignedHeaders=content-type;host;x-acs-action;x-acs-content-sha256;"
    "x-acs-date;x-acs-signature-nonce;x-acs-version,"
    "Signature=b7a54507dcc82e12e93df93b5d4efa2fa08776df395c051cfc4b2cdd4296ca86"
)
V3_HEADERS = {**V1_HEADERS, "x-acs-security-token": "STS.example-token", "x-acs-accesskey-id": "STS.testid"}
V3_AUTH = (
    "ACS3-HMAC-SHA256 Credential=STS.testid,SignedHeaders=host;x-acs-accesskey-id;x-acs-action;"
    "x-acs-content-sha256;x-acs-date;x-acs-security-token;x-acs-signature-nonce;x-acs-version,"
    "Signature=dfd63133bf2be14b8842f0aed7aa0eedd1116643d2489fc9d01d09aedaaf35c3"
)


def _string_to_sign_hash(canonical: str) -> str:
    return hashlib.sha256(canonical.encode()).hexdigest()


def test_v1_canonical_request_text():
    """V1 canonical request matches the spec text byte for byte."""
    names = [k for k in V1_HEADERS]
    assert canonical_request("GET", V1_PATH, {}, V1_HEADERS, names, EMPTY_SHA256) == V1_CANONICAL
    assert _string_to_sign_hash(V1_CANONICAL) == "9eb2a88cefdba115415f31fcf4bc30d80f180cb1484e913f0a74352ea833fc0c"


def test_v1_authorization():
    """V1 (GetTaskInfo, empty body) yields the spec's Authorization value."""
    auth = sign(
        method="GET", path=V1_PATH, query={}, headers=V1_HEADERS, body=b"",
        access_key_id="testid", access_key_secret="testsecret",
    )
    assert auth == V1_AUTH


def test_v2_hashes_and_authorization():
    """V2 (realtime stop) body hash, canonical query, StringToSign hash and Authorization match."""
    assert hashlib.sha256(V2_BODY).hexdigest() == V2_SHA
    assert canonical_query({"type": "realtime", "operation": "stop"}) == "operation=stop&type=realtime"
    canonical = canonical_request(
        "PUT", "/openapi/tingwu/v2/tasks", "type=realtime&operation=stop", V2_HEADERS, list(V2_HEADERS), V2_SHA
    )
    assert _string_to_sign_hash(canonical) == "8a4c01c62802fc4c1f0d690bbfa94cee1d5a34a0e8d3d1aae85eda8bbab2e38c"
    auth = sign(
        method="PUT", path="/openapi/tingwu/v2/tasks", query={"type": "realtime", "operation": "stop"},
        headers=V2_HEADERS, body=V2_BODY, access_key_id="testid", access_key_secret="testsecret",
    )
    assert auth == V2_AUTH


def test_v3_sts_authorization():
    """V3 (V1 plus STS headers) signs the token headers and uses the STS key id."""
    auth = sign(
        method="GET", path=V1_PATH, query="", headers=V3_HEADERS, body=b"",
        access_key_id="STS.testid", access_key_secret="testsecret",
    )
    assert auth == V3_AUTH


def test_header_names_are_case_insensitive_in_sign():
    """Mixed-case header names sign the same as lower-case ones."""
    upper = {k.title(): v for k, v in V1_HEADERS.items()}
    auth = sign(
        method="get", path=V1_PATH, query={}, headers=upper, body=b"",
        access_key_id="testid", access_key_secret="testsecret",
    )
    assert auth == V1_AUTH


def test_canonical_query_encodes_rfc3986():
    """Spaces become %20, unreserved characters stay, pairs sort by key; raw strings are decoded first."""
    assert canonical_query({"b": "x y", "a": "~-_.*/"}) == "a=~-_.%2A%2F&b=x%20y"
    assert canonical_query("?b=x%20y&a=") == "a=&b=x%20y"
    assert canonical_query({}) == ""


def _creds(secret: str = "testsecret", token: str | None = None, key_id: str = "testid") -> Credentials:
    return Credentials(access_key_id=key_id, access_key_secret=secret, security_token=token)


def _auth(creds: Credentials, now: float = T0, nonce: str = "0123456789abcdef0123456789abcdef") -> AcsAuth:
    return AcsAuth(creds, clock=lambda: now, nonce=lambda: nonce)


async def _capture(auth: AcsAuth, method: str, url: str, **kw) -> httpx.Request:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"Code": "0"})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler), auth=auth) as client:
        await client.request(method, url, **kw)
    return seen[0]


async def test_acsauth_reproduces_v1_on_a_real_httpx_request():
    """AcsAuth adds date, nonce, body hash and produces V1's Authorization through httpx."""
    req = await _capture(_auth(_creds()), "GET", f"https://{HOST}{V1_PATH}", headers={"x-acs-action": "GetTaskInfo"})
    assert req.headers["x-acs-date"] == "2024-01-01T00:00:00Z"
    assert req.headers["x-acs-content-sha256"] == EMPTY_SHA256
    assert req.headers["authorization"] == V1_AUTH


async def test_acsauth_reproduces_v2_with_body_and_query():
    """AcsAuth signs the JSON body and the query exactly as V2."""
    req = await _capture(
        _auth(_creds()), "PUT", f"https://{HOST}/openapi/tingwu/v2/tasks?operation=stop&type=realtime",
        content=V2_BODY, headers={"x-acs-action": "CreateTask", "content-type": "application/json; charset=utf-8"},
    )
    assert req.headers["authorization"] == V2_AUTH


async def test_acsauth_reproduces_v3_for_sts():
    """STS credentials add x-acs-security-token and x-acs-accesskey-id and yield V3."""
    creds = _creds(token="STS.example-token", key_id="STS.testid")
    req = await _capture(_auth(creds), "GET", f"https://{HOST}{V1_PATH}", headers={"x-acs-action": "GetTaskInfo"})
    assert req.headers["authorization"] == V3_AUTH


async def test_acsauth_resigns_every_send():
    """Each send gets a fresh nonce and signature (retries are re-signed)."""
    nonces = iter(["a" * 32, "b" * 32])
    auth = AcsAuth(_creds(), clock=lambda: T0, nonce=lambda: next(nonces))
    seen: list[httpx.Request] = []
    transport = httpx.MockTransport(lambda r: seen.append(r) or httpx.Response(200))
    async with httpx.AsyncClient(transport=transport, auth=auth) as client:
        for _ in range(2):
            await client.get(f"https://{HOST}/x", headers={"x-acs-action": "GetTaskInfo"})
    assert [r.headers["x-acs-signature-nonce"] for r in seen] == ["a" * 32, "b" * 32]
    assert seen[0].headers["authorization"] != seen[1].headers["authorization"]


def test_acsauth_repr_hides_secret():
    """The auth object's repr never shows the secret or token."""
    text = repr(_auth(_creds(secret="very-secret-value", token="tok-123456")))
    assert "very-secret-value" not in text and "tok-123456" not in text


# -- verify() --------------------------------------------------------------------------


async def _signed(creds: Credentials, *, body: bytes = V2_BODY, now: float = T0, nonce: str = "n" * 32):
    req = await _capture(
        _auth(creds, now=now, nonce=nonce), "PUT", "http://127.0.0.1:8080/openapi/tingwu/v2/tasks?type=realtime",
        content=body, headers={"x-acs-action": "CreateTask", "content-type": "application/json; charset=utf-8"},
    )
    raw_path, _, query = req.url.raw_path.decode().partition("?")
    return {"method": req.method, "path": raw_path, "query": query, "headers": req.headers, "body": req.content}


def _verify(request: dict, *, keys=None, tokens=None, now: float = T0, nonces: NonceCache | None = None) -> str:
    keys = keys if keys is not None else {"testid": "testsecret"}
    return verify(
        **request, secret_for=keys.get, now=now, nonces=nonces,
        expected_token_for=(tokens or {}).get,
    )


async def test_verify_accepts_what_acsauth_signs():
    """verify() returns the AccessKey id for a request AcsAuth signed."""
    assert _verify(await _signed(_creds())) == "testid"


def test_verify_accepts_the_spec_vector_with_uppercase_names():
    """verify() accepts V2 as plain headers, whatever the header-name case."""
    headers = {k.upper(): v for k, v in V2_HEADERS.items()} | {"Authorization": V2_AUTH}
    request = {"method": "PUT", "path": "/openapi/tingwu/v2/tasks", "query": "type=realtime&operation=stop",
               "headers": headers, "body": V2_BODY}
    assert _verify(request) == "testid"


def _code(exc: pytest.ExceptionInfo[ServiceError]) -> tuple[str | None, int | None]:
    return exc.value.code, exc.value.status_code


async def test_verify_rejects_flipped_body_byte():
    """A body that differs from what was signed fails with SignatureDoesNotMatch."""
    request = await _signed(_creds())
    request["body"] = request["body"].replace(b"APPKEY", b"APPKEZ")
    with pytest.raises(ServiceError) as exc:
        _verify(request)
    assert _code(exc) == ("SignatureDoesNotMatch", 400)


async def test_verify_rejects_wrong_secret():
    """A signature made with another secret fails with SignatureDoesNotMatch."""
    with pytest.raises(ServiceError) as exc:
        _verify(await _signed(_creds(secret="wrong")))
    assert _code(exc) == ("SignatureDoesNotMatch", 400)


async def test_verify_rejects_skewed_date():
    """A date more than 15 minutes off fails with InvalidTimeStamp.Expired."""
    request = await _signed(_creds(), now=T0 - 901)
    with pytest.raises(ServiceError) as exc:
        _verify(request, now=T0)
    assert _code(exc) == ("InvalidTimeStamp.Expired", 400)
    assert _verify(await _signed(_creds(), now=T0 - 899), now=T0) == "testid"


async def test_verify_rejects_reused_nonce():
    """The same nonce twice within the window fails with SignatureNonceUsed; it is fine after 15 min."""
    cache = NonceCache(ttl_s=900)
    _verify(await _signed(_creds(), nonce="x" * 32), nonces=cache)
    with pytest.raises(ServiceError) as exc:
        _verify(await _signed(_creds(), nonce="x" * 32), nonces=cache)
    assert _code(exc) == ("SignatureNonceUsed", 400)
    later = T0 + 1000
    assert _verify(await _signed(_creds(), nonce="x" * 32, now=later), nonces=cache, now=later) == "testid"


async def test_verify_rejects_unknown_key():
    """An unknown AccessKey id fails with InvalidAccessKeyId.NotFound (404)."""
    with pytest.raises(ServiceError) as exc:
        _verify(await _signed(_creds()), keys={"other": "testsecret"})
    assert _code(exc) == ("InvalidAccessKeyId.NotFound", 404)


async def test_verify_requires_sts_token():
    """An STS key without its token fails with MissingSecurityToken; a wrong token with Mismatch."""
    keys, tokens = {"STS.testid": "testsecret"}, {"STS.testid": "STS.example-token"}
    with pytest.raises(ServiceError) as exc:
        _verify(await _signed(_creds(key_id="STS.testid")), keys=keys, tokens=tokens)
    assert _code(exc) == ("MissingSecurityToken", 400)
    with pytest.raises(ServiceError) as exc:
        _verify(await _signed(_creds(key_id="STS.testid", token="other")), keys=keys, tokens=tokens)
    assert _code(exc) == ("InvalidSecurityToken.Mismatch", 400)
    good = await _signed(_creds(key_id="STS.testid", token="STS.example-token"))
    assert _verify(good, keys=keys, tokens=tokens) == "STS.testid"


async def test_verify_rejects_incomplete_signature():
    """Missing Authorization or a required header left unsigned fails with IncompleteSignature."""
    request = await _signed(_creds())
    headers = dict(request["headers"])
    headers.pop("authorization")
    with pytest.raises(ServiceError) as exc:
        _verify(request | {"headers": headers})
    assert _code(exc) == ("IncompleteSignature", 400)
    partial = dict(V1_HEADERS)
    partial["Authorization"] = sign(
        method="GET", path=V1_PATH, query="", headers=partial, body=b"", access_key_id="testid",
        access_key_secret="testsecret", signed_headers=["host", "x-acs-date"],
    )
    with pytest.raises(ServiceError) as exc:
        _verify({"method": "GET", "path": V1_PATH, "query": "", "headers": partial, "body": b""})
    assert _code(exc) == ("IncompleteSignature", 400)


def test_nonce_cache_forgets_after_ttl():
    """NonceCache reports replays only within its window and prunes old entries."""
    cache = NonceCache(ttl_s=10, clock=lambda: 0.0)
    assert cache.check_and_add("a", 0.0) and not cache.check_and_add("a", 5.0)
    assert cache.check_and_add("b", 20.0) and len(cache) == 1
    assert cache.check_and_add("a", 21.0)
