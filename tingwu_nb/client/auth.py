"""ACS3-HMAC-SHA256 request signing (spec ``tingwu-rest-api.md`` §6).

Three layers, all sharing one canonicalisation:

* :func:`sign` is pure: method, path, query, headers and body in, the
  ``Authorization`` header value out. No clock, no randomness, so it is checked
  against the spec's known-answer vectors (§6.5).
* :class:`AcsAuth` is an ``httpx.Auth`` that stamps the date, nonce and body hash
  on every (re)send and then calls :func:`sign`; a retried request is re-signed.
* :func:`verify` is the emulator's side (§6.4): it rebuilds the canonical request
  from what was received and raises :class:`~tingwu_nb.errors.ServiceError` with
  Alibaba's codes when anything is off.
"""

from __future__ import annotations

import calendar
import hashlib
import hmac
import re
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Generator, Mapping, Sequence
from urllib.parse import quote, unquote_plus

import httpx

from tingwu_nb.config import Credentials
from tingwu_nb.errors import ServiceError

__all__ = [
    "ALGORITHM",
    "EMPTY_SHA256",
    "AcsAuth",
    "NonceCache",
    "canonical_query",
    "canonical_request",
    "sign",
    "verify",
]

ALGORITHM = "ACS3-HMAC-SHA256"
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
DATE_FORMAT = "%Y-%m-%dT%H:%M:%SZ"

# §6.4 step 2: headers every valid request must have signed.
REQUIRED_SIGNED = (
    "host",
    "x-acs-action",
    "x-acs-version",
    "x-acs-date",
    "x-acs-signature-nonce",
    "x-acs-content-sha256",
)
# ... and these too, whenever they are present on the request.
SIGNED_WHEN_PRESENT = ("content-type", "x-acs-security-token")

_AUTH_RE = re.compile(
    r"^(?P<alg>\S+)\s+Credential=(?P<cred>[^,\s]+),\s*SignedHeaders=(?P<sh>[^,\s]+),\s*Signature=(?P<sig>[0-9a-fA-F]+)\s*$"
)


def _rfc3986(text: str) -> str:
    # §6.2.3: unreserved -_.~ kept, everything else (space too) percent-encoded.
    return quote(text, safe="~")


def _query_pairs(query: Mapping[str, str] | str) -> list[tuple[str, str]]:
    if isinstance(query, str):
        pairs = []
        for part in query.lstrip("?").split("&"):
            if part:
                key, _, value = part.partition("=")
                pairs.append((unquote_plus(key), unquote_plus(value)))
        return pairs
    return [(str(k), "" if v is None else str(v)) for k, v in query.items()]


def canonical_query(query: Mapping[str, str] | str) -> str:
    """Return the canonical query string of §6.2 step 3.

    Args:
        query: decoded parameters, or a raw query string as received on the wire
            (``'type=realtime&operation=stop'``; a leading ``?`` is ignored).

    Returns:
        ``k=v`` pairs, RFC 3986-encoded, sorted by key then value, joined by ``&``;
        ``""`` for no parameters. Use it both to build the URL and to sign.
    """
    encoded = sorted((_rfc3986(k), _rfc3986(v)) for k, v in _query_pairs(query))
    return "&".join(f"{k}={v}" for k, v in encoded)


def _header_values(headers: Mapping[str, str], name: str) -> list[str]:
    for getter in ("get_list", "getlist"):  # httpx.Headers / starlette Headers keep repeats
        if hasattr(headers, getter):
            return list(getattr(headers, getter)(name))
    return [v for k, v in headers.items() if k.lower() == name]


def _normalise_signed(signed_headers: Sequence[str]) -> list[str]:
    return sorted({h.strip().lower() for h in signed_headers if h.strip()})


def canonical_request(
    method: str,
    path: str,
    query: Mapping[str, str] | str,
    headers: Mapping[str, str],
    signed_headers: Sequence[str],
    payload_sha256: str,
) -> str:
    """Return the CanonicalRequest text of §6.2 step 1.

    Args:
        method: HTTP method (any case).
        path: the path exactly as sent, already percent-encoded (``""`` means ``/``).
        query: parameters or raw query string, see :func:`canonical_query`.
        headers: request headers (names in any case).
        signed_headers: names to include; each must be present in ``headers``.
        payload_sha256: lower-case hex SHA-256 of the body.

    Raises:
        KeyError: a signed header is missing from ``headers``.
    """
    names = _normalise_signed(signed_headers)
    lines = []
    for name in names:
        values = _header_values(headers, name)
        if not values:
            raise KeyError(name)
        lines.append(f"{name}:{','.join(sorted(v.strip() for v in values))}\n")
    return "\n".join(
        [
            method.upper(),
            path or "/",
            canonical_query(query),
            "".join(lines),
            ";".join(names),
            payload_sha256,
        ]
    )


def _default_signed(headers: Mapping[str, str]) -> list[str]:
    names = {k.lower() for k in headers.keys()}
    return sorted(n for n in names if n in ("host", "content-type") or n.startswith("x-acs-"))


def _signature(secret: str, canonical: str) -> str:
    string_to_sign = f"{ALGORITHM}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    return hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha256).hexdigest()


def sign(
    *,
    method: str,
    path: str,
    query: Mapping[str, str] | str,
    headers: Mapping[str, str],
    body: bytes,
    access_key_id: str,
    access_key_secret: str,
    signed_headers: Sequence[str] | None = None,
) -> str:
    """Compute the ``Authorization`` header value for one request (pure).

    The caller must already have set every ``x-acs-*`` header (date, nonce, content
    hash, ...) on ``headers``; this function only reads them.

    Args:
        signed_headers: defaults to ``host``, ``content-type`` (when present) and
            every ``x-acs-*`` header present.

    Returns:
        ``ACS3-HMAC-SHA256 Credential=<id>,SignedHeaders=<a;b>,Signature=<hex>``.
    """
    names = _normalise_signed(signed_headers if signed_headers is not None else _default_signed(headers))
    canonical = canonical_request(method, path, query, headers, names, hashlib.sha256(body).hexdigest())
    signature = _signature(access_key_secret, canonical)
    return f"{ALGORITHM} Credential={access_key_id},SignedHeaders={';'.join(names)},Signature={signature}"


def format_date(epoch_s: float) -> str:
    """Return ``epoch_s`` as an ``x-acs-date`` value (UTC, second precision)."""
    return time.strftime(DATE_FORMAT, time.gmtime(epoch_s))


class AcsAuth(httpx.Auth):
    """Sign every request an ``httpx`` client sends with ACS3-HMAC-SHA256.

    The caller sets ``x-acs-action`` (and ``content-type`` for a body); this adds
    ``x-acs-version`` (if missing), ``x-acs-date``, ``x-acs-signature-nonce``,
    ``x-acs-content-sha256``, the STS headers when the credentials carry a token,
    and ``Authorization``. Date and nonce come from the injected ``clock`` and
    ``nonce`` callables, fresh on every send, so retries are re-signed.
    """

    requires_request_body = True

    def __init__(
        self,
        credentials: Credentials,
        *,
        version: str = "2023-09-30",
        clock: Callable[[], float] = time.time,
        nonce: Callable[[], str] = lambda: uuid.uuid4().hex,
    ) -> None:
        self._credentials = credentials
        self._version = version
        self._clock = clock
        self._nonce = nonce

    def __repr__(self) -> str:
        return f"AcsAuth(credentials={self._credentials!r}, version={self._version!r})"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        headers = request.headers
        body = request.content
        headers.setdefault("x-acs-version", self._version)
        headers["x-acs-date"] = format_date(self._clock())
        headers["x-acs-signature-nonce"] = self._nonce()
        headers["x-acs-content-sha256"] = hashlib.sha256(body).hexdigest()
        token = self._credentials.security_token
        if token:  # §6.3: the SDK sends both headers with temporary credentials
            headers["x-acs-security-token"] = token
            headers["x-acs-accesskey-id"] = self._credentials.access_key_id
        headers.pop("authorization", None)
        headers["Authorization"] = sign(
            method=request.method,
            path=request.url.raw_path.decode("ascii").partition("?")[0],
            query=request.url.query.decode("ascii"),
            headers=headers,
            body=body,
            access_key_id=self._credentials.access_key_id,
            access_key_secret=self._credentials.access_key_secret,
        )
        yield request


class NonceCache:
    """Remember signature nonces for ``ttl_s`` seconds (§6.4 step 5).

    ``check_and_add(nonce, now)`` returns False when the nonce was already seen
    within the window; memory is bounded by the number of nonces in the window.
    """

    def __init__(self, ttl_s: float = 900.0, *, clock: Callable[[], float] = time.time) -> None:
        self.ttl_s = ttl_s
        self._clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()

    def __len__(self) -> int:
        return len(self._seen)

    def check_and_add(self, nonce: str, now: float | None = None) -> bool:
        """Record ``nonce``; return True if it is fresh, False if it is a replay."""
        now = self._clock() if now is None else now
        while self._seen:
            oldest, seen_at = next(iter(self._seen.items()))
            if now - seen_at < self.ttl_s:
                break
            del self._seen[oldest]
        if nonce in self._seen:
            return False
        self._seen[nonce] = now
        return True


def _fail(code: str, message: str, status: int = 400) -> ServiceError:
    return ServiceError(message, code=code, status_code=status)


def _parse_date(value: str) -> float:
    try:
        return float(calendar.timegm(time.strptime(value.strip(), DATE_FORMAT)))
    except ValueError:
        raise _fail("InvalidTimeStamp.Format", f"Specified time stamp or date value is not well formatted: {value!r}.") from None


def _header(headers: Mapping[str, str], name: str) -> str | None:
    values = _header_values(headers, name)
    return values[0] if values else None


def _parse_authorization(headers: Mapping[str, str]) -> tuple[str, list[str], str]:
    raw = _header(headers, "authorization")
    match = _AUTH_RE.match(raw or "")
    if not match or match["alg"] != ALGORITHM:
        raise _fail("IncompleteSignature", "The request signature does not conform to Aliyun standards.")
    signed = match["sh"].split(";")
    if signed != _normalise_signed(signed):
        raise _fail("IncompleteSignature", "SignedHeaders must be lower-case, sorted and unique.")
    needed = list(REQUIRED_SIGNED) + [h for h in SIGNED_WHEN_PRESENT if _header(headers, h) is not None]
    missing = [h for h in needed if h not in signed] + [h for h in signed if _header(headers, h) is None]
    if missing:
        raise _fail("IncompleteSignature", f"Header(s) not signed or not sent: {', '.join(sorted(set(missing)))}.")
    return match["cred"], signed, match["sig"].lower()


def _check_token(headers: Mapping[str, str], key_id: str, expected: str | None) -> None:
    sent = _header(headers, "x-acs-security-token")
    if expected is None and not key_id.startswith("STS."):
        return
    if sent is None:
        raise _fail("MissingSecurityToken", "The security token you provided is missing.")
    if expected is None or not hmac.compare_digest(sent.strip().encode(), expected.encode()):
        raise _fail("InvalidSecurityToken.Mismatch", "The security token does not match the access key.")


def verify(
    *,
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    body: bytes,
    secret_for: Callable[[str], str | None],
    now: float,
    nonces: NonceCache | None = None,
    max_skew_s: float = 900,
    expected_token_for: Callable[[str], str | None] | None = None,
) -> str:
    """Check an incoming request's ACS3 signature (§6.4) and return its AccessKey id.

    Args:
        path: the raw (still percent-encoded) request path.
        query: the raw query string as received.
        secret_for: AccessKey id -> secret, or None if unknown.
        now: current epoch seconds (for the ``x-acs-date`` skew check).
        nonces: replay cache; a nonce is only recorded once the signature is valid.
        expected_token_for: AccessKey id -> STS token for temporary keys, else None.

    Raises:
        ServiceError: ``code`` is one of ``IncompleteSignature``,
            ``InvalidAccessKeyId.NotFound`` (404), ``MissingSecurityToken``,
            ``InvalidSecurityToken.Mismatch``, ``SignatureDoesNotMatch``,
            ``InvalidTimeStamp.Format``/``.Expired`` or ``SignatureNonceUsed`` (400).
    """
    key_id, signed, signature = _parse_authorization(headers)
    secret = secret_for(key_id)
    if secret is None:
        raise _fail("InvalidAccessKeyId.NotFound", "Specified access key is not found.", 404)
    _check_token(headers, key_id, expected_token_for(key_id) if expected_token_for else None)
    body_hash = hashlib.sha256(body).hexdigest()
    if not hmac.compare_digest((_header(headers, "x-acs-content-sha256") or "").strip().lower(), body_hash):
        raise _fail("SignatureDoesNotMatch", "x-acs-content-sha256 does not match the request body.")
    canonical = canonical_request(method, path, query, headers, signed, body_hash)
    if not hmac.compare_digest(_signature(secret, canonical), signature):
        raise _fail("SignatureDoesNotMatch", "Specified signature does not match our calculation.")
    if abs(now - _parse_date(_header(headers, "x-acs-date") or "")) > max_skew_s:
        raise _fail("InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")
    if nonces is not None and not nonces.check_and_add(_header(headers, "x-acs-signature-nonce") or "", now):
        raise _fail("SignatureNonceUsed", "Specified signature nonce was used already.")
    return key_id
