"""The emulator's hot-word lists: the five phrases APIs (rest §9) and ``PhraseId`` at CreateTask.

=============================  ======  =====================================================
Action (``x-acs-action``)      Method  Path (under :data:`~tingwu_nb.contract.phrases.PHRASES_PATH`)
=============================  ======  =====================================================
CreateTranscriptionPhrases     POST    ``/openapi/tingwu/v2/resources/phrases``
ListTranscriptionPhrases       GET     ``.../phrases``
GetTranscriptionPhrases        GET     ``.../phrases/{PhraseId}``
UpdateTranscriptionPhrases     PUT     ``.../phrases/{PhraseId}``
DeleteTranscriptionPhrases     DELETE  ``.../phrases/{PhraseId}``
=============================  ======  =====================================================

Requests pass the same gate as CreateTask (ACS3 signature, QPS, action cross-check; see
``rest.py``). Bodies follow :mod:`tingwu_nb.contract.phrases` (the client checks the same
rules before sending). Choices the spec leaves open:

* ``Data`` answers: Create ``{PhraseId, Status}``, List ``{Phrases: [{PhraseId, Name,
  Description}], Status}``, Get ``{Phrases: [{..., WordWeights}], Status}`` (``WordWeights`` as
  the JSON string it was sent as), Update and Delete ``{Status}``; ``Status`` is
  ``"SUCCEEDED"``. Delete uses the usual envelope (``Code``/``Data``/``Message``/``RequestId``)
  although the SDK's model declares top-level ``Status``/``ErrorCode`` (rest §9: odd,
  UNCONFIRMED); the client reads both.
* Errors (none documented): an unknown ``PhraseId`` -> ``choices.unknown_phrase_code``
  (``BRK.InvalidPhraseId``, "Invalid phrase id.", HTTP 400), also at CreateTask for
  ``Parameters.Transcription.PhraseId``; a broken rule -> ``choices.invalid_parameter_code``
  naming every problem; an 11th list -> ``choices.phrase_quota_code``.
* Lists belong to the emulator's one account (every AccessKey sees them all). A task keeps the
  words its ``PhraseId`` had at CreateTask (``TaskRecord.hotwords``): updating or deleting the
  list later does not change a running task.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from tingwu_nb.contract.phrases import (
    MAX_LISTS,
    PHRASES_PATH,
    decode_word_weights,
    encode_word_weights,
    word_weights_problems,
)
from tingwu_nb.emulator.contract import ContractChoices
from tingwu_nb.emulator.validate import json_object, reject

__all__ = ["PhraseList", "PhraseStore", "phrase_routes", "task_hotwords"]

SUCCEEDED = "SUCCEEDED"
Handler = Callable[[Request, bytes], Mapping[str, Any]]
#: ``serve(request, action, handler)``: the REST gate, answering handler's Data or its ServiceError.
Serve = Callable[[Request, str, Handler], Awaitable[Response]]


@dataclass
class PhraseList:
    """One stored hot-word list; ``word_weights`` keeps the caller's word order."""

    phrase_id: str
    name: str
    description: str | None
    word_weights: dict[str, int] = field(repr=False)

    def summary(self) -> dict[str, Any]:
        """The List answer's item: ``PhraseId``, ``Name``, ``Description``."""
        return {"PhraseId": self.phrase_id, "Name": self.name, "Description": self.description}

    def detail(self) -> dict[str, Any]:
        """The Get answer's item: the summary plus ``WordWeights`` (a JSON string)."""
        return {**self.summary(), "WordWeights": encode_word_weights(self.word_weights)}


class PhraseStore:
    """Hot-word lists by ``PhraseId`` (32 hex, like the cloud's example ids)."""

    def __init__(self, max_lists: int = MAX_LISTS) -> None:
        self.max_lists = max_lists
        self._lists: dict[str, PhraseList] = {}

    def add(self, name: str, description: str | None, word_weights: Mapping[str, int]) -> PhraseList:
        """Store a new list (already validated) and return it; the caller checks the quota."""
        item = PhraseList(uuid.uuid4().hex, name, description, dict(word_weights))
        self._lists[item.phrase_id] = item
        return item

    def get(self, phrase_id: str) -> PhraseList | None:
        return self._lists.get(phrase_id)

    def remove(self, phrase_id: str) -> bool:
        """Delete a list; False if there was none."""
        return self._lists.pop(phrase_id, None) is not None

    def __iter__(self) -> Iterator[PhraseList]:
        return iter(list(self._lists.values()))

    def __len__(self) -> int:
        return len(self._lists)

    def __repr__(self) -> str:
        return f"PhraseStore({len(self)} lists)"


def task_hotwords(store: PhraseStore, body: Mapping[str, Any], choices: ContractChoices) -> tuple[tuple[str, int], ...]:
    """The ``(word, weight)`` pairs of a CreateTask body's ``Parameters.Transcription.PhraseId``.

    ``()`` without a PhraseId. Raises the ServiceError the REST layer answers with when the
    PhraseId is not a string or names no list. Call after the body's shape was validated.
    """
    params = body.get("Parameters")
    transcription = params.get("Transcription") if isinstance(params, Mapping) else None
    phrase_id = transcription.get("PhraseId") if isinstance(transcription, Mapping) else None
    if phrase_id is None:
        return ()
    if not isinstance(phrase_id, str):
        raise reject(choices.invalid_parameter_code, "Parameters.Transcription.PhraseId must be a string.")
    return tuple(_existing(store, phrase_id, choices).word_weights.items())


def _existing(store: PhraseStore, phrase_id: str, choices: ContractChoices) -> PhraseList:
    """The list ``phrase_id`` names, or the unknown-PhraseId ServiceError (same in every API)."""
    found = store.get(phrase_id)
    if found is None:
        raise reject(choices.unknown_phrase_code, "Invalid phrase id.", choices.unknown_phrase_status)
    return found


class _PhraseApi:
    def __init__(self, store: PhraseStore, choices: ContractChoices) -> None:
        self.store = store
        self.choices = choices

    def _find(self, request: Request) -> PhraseList:
        return _existing(self.store, request.path_params["phrase_id"], self.choices)

    def _fields(self, raw: bytes) -> tuple[str, str | None, dict[str, int]]:
        """Name, Description and WordWeights of a Create/Update body, or the error naming every problem."""
        body = json_object(raw, self.choices.invalid_parameter_code)
        problems = []
        name, description = body.get("Name"), body.get("Description")
        if not isinstance(name, str) or not name.strip():
            problems.append("Name is required")
        if description is not None and not isinstance(description, str):
            problems.append("Description must be a string")
        if body.get("WordWeights") is None:
            problems.append("WordWeights is required")
            weights: Any = {}
        else:
            weights = decode_word_weights(body.get("WordWeights"))
            problems += word_weights_problems(weights) if weights is not None else [
                "WordWeights must be a JSON string of a map word -> weight"]
        if problems:
            raise reject(self.choices.invalid_parameter_code, "; ".join(problems) + ".")
        return name, description, weights

    def create(self, request: Request, raw: bytes) -> Mapping[str, Any]:
        name, description, weights = self._fields(raw)
        if len(self.store) >= self.store.max_lists:
            raise reject(self.choices.phrase_quota_code,
                         f"At most {self.store.max_lists} hot-word lists per account; delete one first.")
        return {"PhraseId": self.store.add(name, description, weights).phrase_id, "Status": SUCCEEDED}

    def list(self, request: Request, raw: bytes) -> Mapping[str, Any]:
        return {"Phrases": [item.summary() for item in self.store], "Status": SUCCEEDED}

    def get(self, request: Request, raw: bytes) -> Mapping[str, Any]:
        return {"Phrases": [self._find(request).detail()], "Status": SUCCEEDED}

    def update(self, request: Request, raw: bytes) -> Mapping[str, Any]:
        item = self._find(request)
        item.name, item.description, item.word_weights = self._fields(raw)
        return {"Status": SUCCEEDED}

    def delete(self, request: Request, raw: bytes) -> Mapping[str, Any]:
        self.store.remove(self._find(request).phrase_id)
        return {"Status": SUCCEEDED}


def phrase_routes(store: PhraseStore, choices: ContractChoices, serve: Serve) -> list[BaseRoute]:
    """Routes for the five phrases APIs; ``serve`` is the REST gate (``rest.py``)."""
    api = _PhraseApi(store, choices)

    def route(path: str, method: str, action: str, handler: Handler) -> Route:
        async def endpoint(request: Request) -> Response:
            return await serve(request, action, handler)

        return Route(path, endpoint, methods=[method])

    item = PHRASES_PATH + "/{phrase_id}"
    return [
        route(PHRASES_PATH, "POST", "CreateTranscriptionPhrases", api.create),
        route(PHRASES_PATH, "GET", "ListTranscriptionPhrases", api.list),
        route(item, "GET", "GetTranscriptionPhrases", api.get),
        route(item, "PUT", "UpdateTranscriptionPhrases", api.update),
        route(item, "DELETE", "DeleteTranscriptionPhrases", api.delete),
    ]
