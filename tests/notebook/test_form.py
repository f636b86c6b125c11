"""ParameterForm built headless: widget values -> validated request / wire body, inline model messages,
disabled dependent options, and the round trips request -> form -> request and JSON -> form -> JSON."""

from __future__ import annotations

import json

import ipywidgets as widgets
import pytest

from tingwu_nb.contract.params import (
    ContentExtraction,
    CustomPromptContent,
    ExtractionContent,
    IdentityContent,
    IdentityRecognition,
    InspectionContent,
    RealtimeTaskRequest,
    ServiceInspection,
    Transcription,
)
from tingwu_nb.errors import ParameterError
from tingwu_nb.notebook.form import GROUPS, ParameterForm

P = "Parameters."
PROMPT = "Summarise the action items: {Transcription}"


def shown_errors(form: ParameterForm) -> dict[str, str]:
    """Group key -> the text of its inline tingwu-error widget, for the groups showing one."""
    return {key: box.value for key, box in form.errors.items() if box.value}


def model_message(**kwargs) -> str:
    with pytest.raises(ParameterError) as info:
        RealtimeTaskRequest.create(**kwargs)
    return str(info.value)


def everything_on() -> RealtimeTaskRequest:
    return RealtimeTaskRequest.create(
        language="cn", sample_rate=16000, format="opus", output_level=1, speaker_count=3, translate_to=["en", "ja"],
        mp3=True, summarization=True, chapters="General", meeting_assistance=["Actions"], text_polish=True,
        custom_prompts=[("todo", PROMPT), {"name": "risks", "prompt": "Risks in {Transcription}",
                                           "model": "tingwu-plus", "trans_type": "chat"}],
        phrase_id="ce9c2a34", task_key="meeting-0425", multiple_streams_enabled=True,
        progressive_callbacks_enabled=True, model="qwen-plus", llm_output_language="en",
        service_inspection_enabled=True,
        service_inspection=ServiceInspection(scene_introduction="A support call", inspection_introduction="Politeness",
                                             inspection_contents=(InspectionContent(title="Greeting",
                                                                                    content="The agent greets"),),
                                             speaker_map={"1": "Agent", "2": "Customer"}),
        identity_recognition_enabled=True,
        identity_recognition=IdentityRecognition(scene_introduction="Sales", identity_contents=(
            IdentityContent(name="Customer", description="asks about prices"),)),
        content_extraction_enabled=True,
        content_extraction=ContentExtraction(scene_introduction="Sales", extraction_contents=(
            ExtractionContent(title="Budget", content="the budget named", identity="Customer"),)),
        extra_params={"MaxKeywords": 10},
    )


def test_root_has_the_class_and_every_group() -> None:
    form = ParameterForm()
    assert "tingwu-form" in form._dom_classes
    assert form.accordion.titles == tuple(title for _, title in GROUPS)
    assert all("tingwu-error" in box._dom_classes for box in form.errors.values())


def test_defaults_are_the_models() -> None:
    form = ParameterForm()
    assert form.valid and form.error is None
    assert form.request == RealtimeTaskRequest.create()
    assert json.loads(form.to_json()) == RealtimeTaskRequest.create().to_wire()
    assert "valid" in form.status.value and not shown_errors(form)


def test_widget_values_become_the_wire_body() -> None:
    form = ParameterForm()
    form.field("Input.SourceLanguage").value = "cn"
    form.field("Input.SampleRate").value = 8000
    form.field(P + "Transcription.DiarizationEnabled").value = True
    form.speaker_hint.value = True
    form.field(P + "Transcription.Diarization.SpeakerCount").value = 2
    form.field(P + "TranslationEnabled").value = True
    form.field(P + "Translation.TargetLanguages").value = ("en",)
    form.field(P + "SummarizationEnabled").value = True
    form.field(P + "Summarization.Types").value = ("Paragraph", "Conversational")
    form.field(P + "AutoChaptersEnabled").value = True
    form.field(P + "Transcoding.TargetAudioFormat").value = True
    form.field(P + "Transcription.DisfluencyEnabled").value = False
    assert form.valid, form.error
    assert form.request.to_wire() == {
        "Input": {"Format": "pcm", "SampleRate": 8000, "SourceLanguage": "cn"},
        "Parameters": {
            "AutoChaptersEnabled": True,
            "Summarization": {"Types": ["Paragraph", "Conversational"]}, "SummarizationEnabled": True,
            "Transcoding": {"TargetAudioFormat": "mp3"},
            "Transcription": {"Diarization": {"SpeakerCount": 2}, "DiarizationEnabled": True,
                              "DisfluencyEnabled": False, "OutputLevel": 2},
            "Translation": {"TargetLanguages": ["en"]}, "TranslationEnabled": True}}


def test_custom_prompt_rows_edit_the_request() -> None:
    form = ParameterForm()
    form.field(P + "CustomPromptEnabled").value = True
    rows = form.field(P + "CustomPrompt.Contents")
    rows.add_button.click()
    rows.cells[0]["Name"].value = "todo"
    rows.cells[0]["Prompt"].value = PROMPT
    rows.cells[0]["TransType"].value = "chat"
    assert form.valid, form.error
    prompts = form.request.parameters.custom_prompt.contents
    assert prompts == (CustomPromptContent(name="todo", prompt=PROMPT, trans_type="chat"),)


@pytest.mark.parametrize("edit, group, kwargs", [
    ({"Input.SourceLanguage": "ja", "Input.SampleRate": 8000}, "input", dict(language="ja", sample_rate=8000)),
    ({P + "TranslationEnabled": True, P + "Translation.TargetLanguages": ("en",)}, "translation",
     dict(language="en", translate_to="en")),
    ({P + "SummarizationEnabled": True, P + "Summarization.Types": ("Conversational",)}, "chapters",
     dict(summarization=["Conversational"])),
])
def test_invalid_combination_shows_the_models_message_inline(edit: dict, group: str, kwargs: dict) -> None:
    form = ParameterForm()
    for path, value in edit.items():
        form.field(path).value = value
    message = model_message(**kwargs)
    assert not form.valid and str(form.error) == message
    assert list(shown_errors(form)) == [group]
    assert message.split(": ", 1)[1].replace("'", "&#x27;") in shown_errors(form)[group]
    assert "invalid" in form.status.value and "⚠" in form.accordion.titles[[k for k, _ in GROUPS].index(group)]
    with pytest.raises(ParameterError):
        _ = form.request
    # fixing the value clears the message
    form.field("Input.SampleRate").value = 16000
    form.field(P + "TranslationEnabled").value = False
    form.field(P + "SummarizationEnabled").value = False
    assert form.valid and not shown_errors(form)


def test_too_many_or_bad_custom_prompts() -> None:
    form = ParameterForm()
    form.field(P + "CustomPromptEnabled").value = True
    rows = form.field(P + "CustomPrompt.Contents")
    rows.add_button.click()
    rows.cells[0]["Name"].value = "p0"
    rows.cells[0]["Prompt"].value = "Summarise the meeting"  # no {Transcription}
    assert not form.valid
    assert str(form.error) == model_message(custom_prompts=[("p0", "Summarise the meeting")])
    assert form.error.field == P + "CustomPrompt.Contents[0].Prompt"
    assert "{Transcription}" in shown_errors(form)["inspection"]
    assert "tingwu-invalid" in rows._dom_classes
    rows.cells[0]["Prompt"].value = PROMPT
    assert form.valid
    for i in range(1, 4):
        rows.add_button.click()
        rows.cells[i]["Name"].value = f"p{i}"
        rows.cells[i]["Prompt"].value = PROMPT
    assert not form.valid and "at most 3 custom prompts" in shown_errors(form)["inspection"]
    assert str(form.error) == model_message(custom_prompts=[(f"p{i}", PROMPT) for i in range(4)])
    rows.children[0].children[3].children[-1].click()  # the last row's remove button
    assert form.valid and len(form.request.parameters.custom_prompt.contents) == 3


def test_dependent_options_are_disabled_and_not_sent() -> None:
    form = ParameterForm()
    count = form.field(P + "Transcription.Diarization.SpeakerCount")
    hints = form.field("Input.LanguageHints")
    targets = form.field(P + "Translation.TargetLanguages")
    prompts = form.field(P + "CustomPrompt.Contents")
    assert count.disabled and form.speaker_hint.disabled and hints.disabled and targets.disabled
    assert prompts.add_button.disabled
    form.speaker_hint.value = True
    count.value = 4
    hints.value = ("cn", "en")
    assert "Diarization" not in form.to_json() and "LanguageHints" not in form.to_json()
    form.field(P + "Transcription.DiarizationEnabled").value = True
    form.field("Input.SourceLanguage").value = "multilingual"
    assert not count.disabled and not hints.disabled
    req = form.request
    assert req.parameters.transcription.diarization.speaker_count == 4
    assert req.input.language_hints == ("cn", "en")
    form.field(P + "CustomPromptEnabled").value = True
    assert not prompts.add_button.disabled


def test_speaker_count_out_of_range_is_the_models_message() -> None:
    form = ParameterForm()
    form.field(P + "Transcription.DiarizationEnabled").value = True
    form.speaker_hint.value = True
    form.field(P + "Transcription.Diarization.SpeakerCount").value = 101
    assert not form.valid and form.error.field == P + "Transcription.Diarization.SpeakerCount"
    assert "between 0" in shown_errors(form)["recognition"]
    assert "tingwu-invalid" in form.field(P + "Transcription.Diarization.SpeakerCount")._dom_classes


def test_bad_json_in_a_map_field_is_shown() -> None:
    form = ParameterForm()
    form.field(P + "ExtraParams").value = "{not json"
    assert not form.valid and form.error.field == P + "ExtraParams"
    assert "not valid JSON" in shown_errors(form)["advanced"]
    form.field(P + "ExtraParams").value = '{"MaxKeywords": 5}'
    assert form.valid and form.request.parameters.extra_params == {"MaxKeywords": 5}


@pytest.mark.parametrize("request_", [
    RealtimeTaskRequest.create(),
    RealtimeTaskRequest.create(language="multilingual", language_hints=["cn", "en"], output_level=1),
    RealtimeTaskRequest.create(language="en", sample_rate=8000, diarization=True, meeting_assistance=True,
                               chapters=True, transcription=Transcription(output_level=2, disfluency_enabled=False,
                                                                          profanity_filter_enabled=True,
                                                                          model="domain-education",
                                                                          audio_event_detection_enabled=False),
                               text_polish_enabled=False),
    everything_on(),
], ids=["defaults", "multilingual", "flags", "everything"])
def test_request_form_request_round_trip(request_: RealtimeTaskRequest) -> None:
    form = ParameterForm.from_request(request_)
    assert form.valid, form.error
    assert form.request == request_
    assert form.to_json() == json.dumps(request_.to_wire(), ensure_ascii=False, indent=2)
    other = ParameterForm()
    other.set_request(request_)
    assert other.request == request_
    other.set_request(RealtimeTaskRequest.create())  # everything not in it goes back to the default
    assert other.request == RealtimeTaskRequest.create()


def test_everything_on_fills_the_widgets() -> None:
    form = ParameterForm.from_request(everything_on())
    assert form.field(P + "Translation.TargetLanguages").value == ("en", "ja")
    assert form.field(P + "AutoChapters.ChapterGranularity").value == "General"
    assert len(form.field(P + "CustomPrompt.Contents").cells) == 2
    assert form.field(P + "CustomPrompt.Contents").cells[1]["Model"].value == "tingwu-plus"
    assert json.loads(form.field(P + "ServiceInspection.SpeakerMap").value) == {"1": "Agent", "2": "Customer"}
    assert form.field(P + "Transcoding.TargetAudioFormat").value is True


def test_json_round_trip_and_invalid_json_loads_with_its_message() -> None:
    body = everything_on().to_wire()
    form = ParameterForm()
    form.load_json(json.dumps({"AppKey": "app", **body}))
    assert form.valid and json.loads(form.to_json()) == body
    assert form.request == everything_on()
    # an unsupported value is loaded as it is and the model says why
    form.load_json(json.dumps({"Input": {"SourceLanguage": "cn", "Format": "pcm", "SampleRate": 44100}}))
    assert not form.valid and form.error.field == "Input.SampleRate"
    assert "44100" in shown_errors(form)["input"]
    assert json.loads(form.to_json())["Input"]["SampleRate"] == 44100
    # keys the form has no widget for are kept, and judged by the model
    form.load_json(json.dumps({"Input": {"SourceLanguage": "en", "Format": "pcm", "SampleRate": 16000},
                               "Parameters": {"PptExtractionEnabled": True}}))
    assert not form.valid and form.error.field == P + "PptExtractionEnabled"
    assert "PPT extraction" in shown_errors(form)["chapters"]
    with pytest.raises(ParameterError, match="Input.SampleRat"):
        form.load_json('{"Input": {"SampleRat": 16000}}')
    with pytest.raises(ParameterError, match="not valid JSON"):
        form.load_json("{")


def test_missing_required_input_is_reported() -> None:
    form = ParameterForm()
    form.load_json('{"Input": {"Format": "pcm", "SampleRate": 16000}}')
    assert not form.valid and form.error.field == "Input.SourceLanguage"
    assert "is required" in shown_errors(form)["input"]
    assert form.field("Input.SourceLanguage").label == "(not set)"


def test_on_change_callback_and_model_warnings() -> None:
    form = ParameterForm()
    seen: list[bool] = []
    form.on_change(lambda f: seen.append(f.valid))
    form.field(P + "IdentityRecognitionEnabled").value = True  # no identities yet: invalid
    rows = form.field(P + "IdentityRecognition.IdentityContents")
    rows.add({"Name": "Customer", "Description": "asks about prices"})
    assert seen[0] is False and seen[-1] is True
    assert any("diarization" in w for w in form.warnings) and "note:" in form.status.value
    assert isinstance(form, widgets.VBox)


def test_unsupported_option_is_removed_again_when_a_valid_request_is_loaded() -> None:
    form = ParameterForm()
    rate = form.field("Input.SampleRate")
    form.load_json('{"Input": {"SourceLanguage": "en", "Format": "pcm", "SampleRate": 44100}}')
    assert 44100 in [value for _, value in rate.options]
    form.set_request(RealtimeTaskRequest.create())
    assert [value for _, value in rate.options] == [16000, 8000] and form.valid
