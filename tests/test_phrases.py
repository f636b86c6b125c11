"""Hot-word lists (rest §9): the client's five calls against the emulator over loopback (real
httpx, ACS3-signed requests the emulator verifies), the rules checked before anything is sent,
the emulator's errors, and ``PhraseId`` changing what the emulator recognises.

The recognition test speaks a sentence with espeak-ng that tiny.en gets wrong without the list
("Kubernetes" comes out as other words) and right with it; both runs are asserted, so the test
fails if the list has no effect or if the word was recognised anyway.
"""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import requires, write_wav
from tingwu_nb.client.pacing import MAX_SPEED
from tingwu_nb.client.phrases import PhraseList, Phrases
from tingwu_nb.client.tasks import TingwuClient
from tingwu_nb.config import Credentials
from tingwu_nb.contract.params import RealtimeTaskRequest
from tingwu_nb.contract.phrases import MAX_LISTS, MAX_WORDS, PHRASES_PATH
from tingwu_nb.emulator.engine.decoding import (
    MAX_GENERATED,
    PROMPT_TOKEN_CAP,
    DecodeOptions,
    hotword_prompt,
    previous_text_tokens,
    token_budget,
)
from tingwu_nb.errors import ParameterError, ServiceError
from tingwu_nb.samples import spoken_clip
from tingwu_nb.session.recording import record

HOT = "Kubernetes"
SENTENCE = f"We deployed the new service on {HOT} last week."


def recorder() -> tuple[list[dict], dict]:
    """An ``on_request`` sink and the client kwargs that use it."""
    seen: list[dict] = []
    return seen, {"on_request": seen.append}


async def test_crud_round_trip_over_loopback(emulator):
    seen, kwargs = recorder()
    async with emulator.client(**kwargs) as client:
        phrases = Phrases(client)
        first = await phrases.create("products", {"Tingwu": 3, "Qwen": 2}, description="product names")
        second = await phrases.create("fruit", {"苹果": 2, "西瓜": -6})
        assert first != second
        listed = {p.phrase_id: p for p in await phrases.list()}
        assert listed[first] == PhraseList(first, "products", "product names")
        assert listed[first].word_weights is None and listed[second].name == "fruit"

        got = await phrases.get(first)
        assert (got.name, got.description, got.word_weights) == ("products", "product names", {"Tingwu": 3, "Qwen": 2})
        assert list(got.word_weights) == ["Tingwu", "Qwen"]  # the caller's order survives
        assert (await phrases.get(second)).word_weights == {"苹果": 2, "西瓜": -6}

        await phrases.update(first, "renamed", {"Kubernetes": 5})
        got = await phrases.get(first)
        assert (got.name, got.description, got.word_weights) == ("renamed", None, {"Kubernetes": 5})

        await phrases.delete(first)
        await phrases.delete(second)
        remaining = {p.phrase_id for p in await phrases.list()}
        assert not {first, second} & remaining
        with pytest.raises(ServiceError) as caught:
            await phrases.get(first)
    err = caught.value
    assert (err.code, err.status_code, err.message) == ("BRK.InvalidPhraseId", 400, "Invalid phrase id.")
    assert err.request_id and err.request_id in str(err)
    actions = [r["action"] for r in seen]
    assert actions[:3] == ["CreateTranscriptionPhrases"] * 2 + ["ListTranscriptionPhrases"]
    assert {"GetTranscriptionPhrases", "UpdateTranscriptionPhrases", "DeleteTranscriptionPhrases"} <= set(actions)
    assert all(r["request_id"] for r in seen)  # every answer came from the (signature-checking) emulator


@pytest.mark.parametrize(
    "name, words, field, fragment",
    [
        ("n", {}, "WordWeights", "no words"),
        ("n", {"": 2}, "WordWeights", "empty"),
        ("n", {"  ": 2}, "WordWeights", "empty"),
        ("n", {f"w{i}": 1 for i in range(MAX_WORDS + 1)}, "WordWeights", f"at most {MAX_WORDS}"),
        ("n", {"Tingwu": 6}, "WordWeights", "from -6 to 5"),
        ("n", {"Tingwu": -7}, "WordWeights", "from -6 to 5"),
        ("n", {"Tingwu": 2.5}, "WordWeights", "integer"),
        ("n", {"Tingwu": True}, "WordWeights", "integer"),
        ("n", {"Szczepanski": 2}, "WordWeights", "longer than 10"),
        ("n", {"Tingwu!": 2}, "WordWeights", "punctuation"),
        ("", {"Tingwu": 2}, "Name", "name"),
    ],
)
async def test_broken_lists_are_refused_before_any_request(emulator, name, words, field, fragment):
    seen, kwargs = recorder()
    async with emulator.client(**kwargs) as client:
        phrases = Phrases(client)
        with pytest.raises(ParameterError) as caught:
            await phrases.create(name, words)
        with pytest.raises(ParameterError):
            await phrases.update("some-id", name, words)
    assert caught.value.field == field and fragment in str(caught.value)
    assert seen == []  # nothing was sent


async def test_emulator_checks_lists_itself_and_enforces_the_quota(emulator):
    """A client that skips the checks (raw signed calls) gets the service's errors with request ids."""
    async with emulator.client() as client:
        with pytest.raises(ServiceError) as bad:
            await client.call_api("CreateTranscriptionPhrases", "POST", PHRASES_PATH,
                                  body={"Name": "x", "WordWeights": '{"Tingwu": 9, "": 1}'})
        assert bad.value.code == "InvalidParameter" and bad.value.request_id
        assert "from -6 to 5" in bad.value.message and "empty" in bad.value.message
        with pytest.raises(ServiceError) as not_json:
            await client.call_api("CreateTranscriptionPhrases", "POST", PHRASES_PATH,
                                  body={"Name": "x", "WordWeights": "Tingwu=2"})
        assert "JSON string" in not_json.value.message

        phrases = Phrases(client)
        made = [await phrases.create(f"list{i}", {"Tingwu": 2})
                for i in range(MAX_LISTS - len(await phrases.list()))]
        try:
            with pytest.raises(ServiceError) as full:
                await phrases.create("one too many", {"Tingwu": 2})
            assert full.value.code == "BRK.PhraseQuotaExceeded" and full.value.request_id
        finally:
            for phrase_id in made:
                await phrases.delete(phrase_id)
        with pytest.raises(ServiceError) as gone:
            await phrases.delete(made[0])
        assert gone.value.code == "BRK.InvalidPhraseId"


async def test_create_task_with_an_unknown_phrase_id_is_refused(emulator):
    async with emulator.client() as client:
        with pytest.raises(ServiceError) as caught:
            await client.create_realtime_task(RealtimeTaskRequest.create(language="en", phrase_id="no-such-list"))
    assert caught.value.code == "BRK.InvalidPhraseId" and caught.value.request_id
    assert not [r for r in emulator.store if r.request.get("Parameters", {}).get("Transcription", {}).get(
        "PhraseId") == "no-such-list"]


async def test_a_task_keeps_the_words_its_list_had_at_create_task(emulator):
    async with emulator.client() as client:
        phrases = Phrases(client)
        phrase_id = await phrases.create("names", {"Tingwu": 2, "Qwen": 4})
        task = await client.create_realtime_task(RealtimeTaskRequest.create(language="en", phrase_id=phrase_id))
        await phrases.update(phrase_id, "names", {"Other": 1})
        await phrases.delete(phrase_id)
        await client.stop_realtime_task(task.task_id)
    assert emulator.store.get(task.task_id).hotwords == (("Tingwu", 2), ("Qwen", 4))


async def test_sdk_shaped_answers_are_read_both_ways():
    """The SDK's Delete model has top-level Status/ErrorCode (rest §9): a failure there raises."""
    answers = iter([
        {"RequestId": "r1", "Status": "SUCCEEDED"},
        {"RequestId": "r2", "Status": "FAILED", "ErrorCode": "Phrase.InUse", "ErrorMessage": "in use"},
        {"Code": "0", "RequestId": "r3", "Data": {"status": "FAILED", "errorCode": "E", "errorMessage": "bad"}},
    ])
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=next(answers)))
    creds = Credentials(access_key_id="LTAIexample", access_key_secret="s" * 30, source="test")
    async with TingwuClient(endpoint="http://127.0.0.1:9", app_key="k", credentials=creds, transport=transport) as client:
        phrases = Phrases(client)
        await phrases.delete("abc")
        with pytest.raises(ServiceError) as top:
            await phrases.delete("abc")
        with pytest.raises(ServiceError) as camel:
            await phrases.update("abc", "n", {"Tingwu": 2})
    assert (top.value.code, top.value.message, top.value.request_id) == ("Phrase.InUse", "in use", "r2")
    assert (camel.value.code, camel.value.request_id) == ("E", "r3")


@requires("espeak-ng")
@pytest.mark.network
@pytest.mark.slow
async def test_a_hot_word_changes_recognition(emulator, tmp_path):
    """Without the list tiny.en does not write "Kubernetes"; with a PhraseId holding it, it does."""
    path = write_wav(tmp_path / "clip.wav", spoken_clip([("en-us", SENTENCE)]), 16000)
    texts = {}
    async with emulator.client() as client:
        phrases = Phrases(client)
        phrase_id = await phrases.create("infra", {HOT: 3, "Tingwu": 2})
        try:
            for label, pid in (("plain", None), ("biased", phrase_id)):
                request = RealtimeTaskRequest.create(language="en", phrase_id=pid)
                session = await record(path, request, client=client, speed=MAX_SPEED, out_dir=tmp_path / label,
                                       poll_interval_s=0.2)
                assert session.status == "COMPLETED"
                texts[label] = " ".join(session.sentences()["text"])
        finally:
            await phrases.delete(phrase_id)
    assert HOT.lower() not in texts["plain"].lower(), texts
    assert HOT in texts["biased"], texts
    assert "deployed" in texts["biased"] and "service" in texts["biased"], texts  # the rest still recognised


def test_weights_map_to_inclusion_and_order():
    pairs = [("alpha", 2), ("beta", 5), ("avoid", -6), ("gamma", 2), ("zero", 0), ("delta", 1), ("beta", 1)]
    assert hotword_prompt(pairs) == "delta, alpha, gamma, beta"  # <= 0 left out, highest weight last
    assert hotword_prompt([("x", -1)]) is None and hotword_prompt([]) is None


def test_prompt_is_capped_cut_at_a_word_and_paid_from_the_budget(engine):
    tokenizer = pytest.importorskip("faster_whisper.tokenizer").Tokenizer(
        engine.load("tiny.en").hf_tokenizer, False, task="transcribe", language="en")
    many = hotword_prompt([(f"Zorvantix{i}", 2) for i in range(40)])
    tokens = previous_text_tokens(tokenizer, many)
    assert len(tokens) <= PROMPT_TOKEN_CAP and tokens[0] == tokenizer.sot_prev
    kept = tokenizer.decode(tokens[1:])
    assert kept.startswith(" Zorvantix") and kept.endswith("Zorvantix39")  # the end (highest weights) is kept
    assert previous_text_tokens(tokenizer, None) == [] and previous_text_tokens(tokenizer, "  ") == []
    opts = DecodeOptions(tokens_per_second=12, base_tokens=10)
    assert token_budget(100, opts, prompt_tokens=len(tokens)) == MAX_GENERATED - len(tokens)
    assert token_budget(1.3, opts, prompt_tokens=len(tokens)) == token_budget(1.3, opts) == 26
