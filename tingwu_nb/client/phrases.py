"""Hot-word lists (Tingwu "phrases", rest §9): create, list, get, update and delete.

A list raises the odds that recognition writes its words (product names, surnames); pass its
id as ``Transcription.PhraseId`` (``RealtimeTaskRequest.create(..., phrase_id=...)``)::

    async with TingwuClient(endpoint=url, app_key=key, credentials=creds) as client:
        phrases = Phrases(client)
        phrase_id = await phrases.create("products", {"Tingwu": 3, "Qwen": 2})
        request = RealtimeTaskRequest.create(language="en", phrase_id=phrase_id)

Every call goes through the client's signed, paced and retried requests. Word lists are
checked before anything is sent (:func:`~tingwu_nb.contract.phrases.word_weights_problems`:
1-300 words of at most 10 letters, digits or spaces, integer weights -6..5) and refused with
:class:`~tingwu_nb.errors.ParameterError`; the service's refusals surface as
:class:`~tingwu_nb.errors.ServiceError` with code, message and request id.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from tingwu_nb.client.taskinfo import pick, str_or_none
from tingwu_nb.contract.phrases import (
    PHRASES_PATH,
    decode_word_weights,
    encode_word_weights,
    word_weights_problems,
)
from tingwu_nb.errors import ParameterError, ServiceError

__all__ = ["PhraseList", "Phrases"]


@dataclass(frozen=True)
class PhraseList:
    """One hot-word list as the service describes it.

    ``word_weights`` is ``{word: weight}`` from GetTranscriptionPhrases; None in a listing
    (ListTranscriptionPhrases gives ids, names and descriptions only — call
    :meth:`Phrases.get` for the words).
    """

    phrase_id: str
    name: str | None = None
    description: str | None = None
    word_weights: dict[str, int] | None = field(default=None, compare=False)

    @classmethod
    def from_wire(cls, item: Mapping[str, Any]) -> PhraseList:
        """Read one ``Phrases[]`` item tolerantly (PascalCase or camelCase; unknown keys ignored)."""
        weights = decode_word_weights(pick(item, "WordWeights"))
        return cls(
            phrase_id=str(pick(item, "PhraseId") or ""),
            name=str_or_none(pick(item, "Name")),
            description=str_or_none(pick(item, "Description")),
            word_weights=dict(weights) if isinstance(weights, Mapping) else None,
        )


def _data(response: Mapping[str, Any]) -> Mapping[str, Any]:
    data = pick(response, "Data")
    return data if isinstance(data, Mapping) else {}


def _check_status(response: Mapping[str, Any], action: str) -> Mapping[str, Any]:
    """``Data`` of a success envelope; a ``Status`` other than SUCCEEDED with an ErrorCode raises.

    Reads ``Status``/``ErrorCode``/``ErrorMessage`` under ``Data`` or at the top level (the SDK's
    Delete model puts them there, rest §9).
    """
    data = _data(response)
    code = pick(data, "ErrorCode") or pick(response, "ErrorCode")
    status = pick(data, "Status") or pick(response, "Status")
    if code or (status is not None and str(status).upper() not in ("SUCCEEDED", "SUCCESS")):
        message = pick(data, "ErrorMessage") or pick(response, "ErrorMessage") or f"{action} status {status}"
        raise ServiceError(str(message), code=str_or_none(code), request_id=str_or_none(pick(response, "RequestId")))
    return data


def _list_body(name: str, word_weights: Mapping[str, int], description: str | None) -> dict[str, Any]:
    if not isinstance(name, str) or not name.strip():
        raise ParameterError("Name", "a hot-word list needs a non-empty name", name)
    problems = word_weights_problems(word_weights)
    if problems:
        raise ParameterError("WordWeights", "; ".join(problems), dict(word_weights) if isinstance(
            word_weights, Mapping) else word_weights)
    body: dict[str, Any] = {"Name": name, "WordWeights": encode_word_weights(word_weights)}
    if description is not None:
        body["Description"] = description
    return body


def _item_path(phrase_id: str) -> str:
    if not isinstance(phrase_id, str) or not phrase_id:
        raise ParameterError("PhraseId", "must be a non-empty string", phrase_id)
    return f"{PHRASES_PATH}/{quote(phrase_id, safe='')}"


class Phrases:
    """The five phrases APIs on top of a :class:`~tingwu_nb.client.tasks.TingwuClient`.

    The client stays yours: close it as usual; this object holds no connection of its own.
    """

    def __init__(self, client: Any) -> None:
        self.client = client

    def __repr__(self) -> str:
        return f"Phrases({self.client!r})"

    async def create(self, name: str, word_weights: Mapping[str, int], *, description: str | None = None) -> str:
        """Create a list; returns its ``PhraseId`` (pass it as ``Transcription.PhraseId``).

        Raises ParameterError before sending when ``name`` is empty or ``word_weights`` breaks a
        rule. The request is never sent twice once it may have arrived (no duplicate lists).
        """
        body = _list_body(name, word_weights, description)
        response = await self.client.call_api("CreateTranscriptionPhrases", "POST", PHRASES_PATH, body=body,
                                              resend=False)
        phrase_id = pick(_check_status(response, "CreateTranscriptionPhrases"), "PhraseId")
        if not phrase_id:
            raise ServiceError("CreateTranscriptionPhrases response has no Data.PhraseId",
                               request_id=str_or_none(pick(response, "RequestId")))
        return str(phrase_id)

    async def list(self) -> list[PhraseList]:
        """Every list of the account: ids, names and descriptions (no words; see :meth:`get`)."""
        response = await self.client.call_api("ListTranscriptionPhrases", "GET", PHRASES_PATH)
        items = pick(_check_status(response, "ListTranscriptionPhrases"), "Phrases") or []
        return [PhraseList.from_wire(item) for item in items if isinstance(item, Mapping)]

    async def get(self, phrase_id: str) -> PhraseList:
        """One list with its words and weights; an unknown id raises ServiceError."""
        response = await self.client.call_api("GetTranscriptionPhrases", "GET", _item_path(phrase_id))
        data = _check_status(response, "GetTranscriptionPhrases")
        items = [item for item in pick(data, "Phrases") or [] if isinstance(item, Mapping)]
        if not items:
            raise ServiceError(f"GetTranscriptionPhrases returned no list for {phrase_id}",
                               request_id=str_or_none(pick(response, "RequestId")))
        found = PhraseList.from_wire(items[0])
        return found if found.phrase_id else PhraseList(phrase_id, found.name, found.description, found.word_weights)

    async def update(self, phrase_id: str, name: str, word_weights: Mapping[str, int], *,
                     description: str | None = None) -> None:
        """Replace a list's name, description and words (checked as in :meth:`create`)."""
        body = _list_body(name, word_weights, description)
        response = await self.client.call_api("UpdateTranscriptionPhrases", "PUT", _item_path(phrase_id), body=body)
        _check_status(response, "UpdateTranscriptionPhrases")

    async def delete(self, phrase_id: str) -> None:
        """Delete a list; tasks already created with it are not affected in the emulator."""
        response = await self.client.call_api("DeleteTranscriptionPhrases", "DELETE", _item_path(phrase_id))
        _check_status(response, "DeleteTranscriptionPhrases")
