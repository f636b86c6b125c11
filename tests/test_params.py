"""Tests for tingwu_nb.contract.params: the CreateTask model, its validation rules and wire JSON."""

from __future__ import annotations

import dataclasses
import json
import warnings

import pytest

from tingwu_nb.contract.params import (
    FORMATS,
    LANGUAGES,
    SAMPLE_RATES,
    TARGET_LANGUAGES,
    AutoChapters,
    ContentExtraction,
    CustomPrompt,
    CustomPromptContent,
    Diarization,
    ExtractionContent,
    IdentityContent,
    IdentityRecognition,
    InspectionContent,
    MeetingAssistance,
    Parameters,
    RealtimeInput,
    RealtimeTaskRequest,
    ServiceInspection,
    Summarization,
    Transcoding,
    Transcription,
    Translation,
    stop_request_body,
    whisper_language,
)
from tingwu_nb.errors import ConfigError, ParameterError

CN16 = RealtimeInput(source_language="cn", format="pcm", sample_rate=16000)


def full_request() -> RealtimeTaskRequest:
    """A request with every Input key (that is legal on start) and every Parameters object set."""
    return RealtimeTaskRequest(
        input=RealtimeInput(
            source_language="multilingual", format="opus", sample_rate=16000, language_hints=("cn", "en"),
            task_key="meeting-0425", progressive_callbacks_enabled=False, multiple_streams_enabled=True,
            output_path="oss://bucket/dir/", audio_channel_mode="separate"),
        parameters=Parameters(
            transcription=Transcription(
                diarization_enabled=True, diarization=Diarization(speaker_count=2), output_level=2,
                additional_stream_output_level=1, realtime_diarization_enabled=True, phrase_id="ce9c2a34",
                model="domain-education", disfluency_enabled=False, profanity_filter_enabled=True,
                audio_event_detection_enabled=True, phrase={"苹果": 3}),
            transcoding=Transcoding(target_audio_format="mp3", spectrum_enabled=True),
            translation_enabled=True,
            translation=Translation(target_languages=("en", "ja"), output_level=2,
                                    additional_stream_output_level=1, translate_llm_scene_enabled=False),
            auto_chapters_enabled=True,
            auto_chapters=AutoChapters(chapter_granularity="Coarse", title_length_level="Short"),
            meeting_assistance_enabled=True,
            meeting_assistance=MeetingAssistance(types=("Actions", "KeyInformation")),
            summarization_enabled=True,
            summarization=Summarization(types=("Paragraph", "Conversational", "QuestionsAnswering", "MindMap")),
            text_polish_enabled=True,
            ppt_extraction_enabled=False,
            service_inspection_enabled=True,
            service_inspection=ServiceInspection(
                scene_introduction="sales call", inspection_introduction="check politeness",
                inspection_contents=(InspectionContent(title="greeting", content="agent greets first"),),
                speaker_map={"1": "agent", "2": "customer"}),
            custom_prompt_enabled=True,
            custom_prompt=CustomPrompt(contents=(CustomPromptContent(
                name="todo", prompt="List the todos in {Transcription}", model="tingwu-plus", trans_type="chat"),)),
            identity_recognition_enabled=True,
            identity_recognition=IdentityRecognition(
                scene_introduction="interview",
                identity_contents=(IdentityContent(name="Host", description="asks questions"),)),
            content_extraction_enabled=True,
            content_extraction=ContentExtraction(
                scene_introduction="interview",
                extraction_contents=(ExtractionContent(title="budget", content="numbers", identity="Host"),),
                speaker_map={"1": "Host"}),
            model="qwen-plus",
            llm_output_language="en",
            extra_params={"MaxKeywords": 5, "TranslationHotwordMap": {"bizType": "x", "bizUserId": "y"}},
        ),
    )


FULL_WIRE = {
    "AppKey": "APPKEY",
    "Input": {
        "AudioChannelMode": "separate", "Format": "opus", "LanguageHints": ["cn", "en"],
        "MultipleStreamsEnabled": True, "OutputPath": "oss://bucket/dir/", "ProgressiveCallbacksEnabled": False,
        "SampleRate": 16000, "SourceLanguage": "multilingual", "TaskKey": "meeting-0425",
    },
    "Parameters": {
        "AutoChapters": {"ChapterGranularity": "Coarse", "TitleLengthLevel": "Short"},
        "AutoChaptersEnabled": True,
        "ContentExtraction": {
            "ExtractionContents": [{"Content": "numbers", "Identity": "Host", "Title": "budget"}],
            "SceneIntroduction": "interview", "SpeakerMap": {"1": "Host"}},
        "ContentExtractionEnabled": True,
        "CustomPrompt": {"Contents": [{"Model": "tingwu-plus", "Name": "todo",
                                       "Prompt": "List the todos in {Transcription}", "TransType": "chat"}]},
        "CustomPromptEnabled": True,
        "ExtraParams": {"MaxKeywords": 5, "TranslationHotwordMap": {"bizType": "x", "bizUserId": "y"}},
        "IdentityRecognition": {"IdentityContents": [{"Description": "asks questions", "Name": "Host"}],
                                "SceneIntroduction": "interview"},
        "IdentityRecognitionEnabled": True,
        "LlmOutputLanguage": "en",
        "MeetingAssistance": {"Types": ["Actions", "KeyInformation"]},
        "MeetingAssistanceEnabled": True,
        "Model": "qwen-plus",
        "PptExtractionEnabled": False,
        "ServiceInspection": {
            "InspectionContents": [{"Content": "agent greets first", "Title": "greeting"}],
            "InspectionIntroduction": "check politeness", "SceneIntroduction": "sales call",
            "SpeakerMap": {"1": "agent", "2": "customer"}},
        "ServiceInspectionEnabled": True,
        "Summarization": {"Types": ["Paragraph", "Conversational", "QuestionsAnswering", "MindMap"]},
        "SummarizationEnabled": True,
        "TextPolishEnabled": True,
        "Transcoding": {"SpectrumEnabled": True, "TargetAudioFormat": "mp3"},
        "Transcription": {
            "AdditionalStreamOutputLevel": 1, "AudioEventDetectionEnabled": True, "Diarization": {"SpeakerCount": 2},
            "DiarizationEnabled": True, "DisfluencyEnabled": False, "Model": "domain-education", "OutputLevel": 2,
            "Phrase": {"苹果": 3}, "PhraseId": "ce9c2a34", "ProfanityFilterEnabled": True,
            "RealtimeDiarizationEnabled": True},
        "Translation": {"AdditionalStreamOutputLevel": 1, "OutputLevel": 2, "TargetLanguages": ["en", "ja"],
                        "TranslateLlmSceneEnabled": False},
        "TranslationEnabled": True,
    },
}


def err(**kw) -> ParameterError:
    """Build a request from create() keywords and return the ParameterError it raises."""
    with pytest.raises(ParameterError) as info:
        RealtimeTaskRequest.create(**kw)
    return info.value


def build_err(input=CN16, **params) -> ParameterError:
    """Build a request from an Input and Parameters keywords and return its ParameterError."""
    with pytest.raises(ParameterError) as info:
        RealtimeTaskRequest(input=input, parameters=Parameters(**params))
    return info.value


# --- wire format -------------------------------------------------------------------------


def test_full_request_wire_json_is_exact():
    """Every field appears under its PascalCase wire key with JSON types, AppKey first."""
    wire = full_request().to_wire("APPKEY")
    assert wire == FULL_WIRE
    assert next(iter(wire)) == "AppKey"
    # dict equality treats True == 1; the JSON text does not, so bools are checked as JSON bools too.
    assert json.dumps(wire, sort_keys=True, ensure_ascii=False) == json.dumps(FULL_WIRE, sort_keys=True,
                                                                              ensure_ascii=False)


def test_full_request_round_trips_exactly():
    """from_wire(to_wire(r)) == r and the body re-encodes to the same JSON."""
    req = full_request()
    back = RealtimeTaskRequest.from_wire(json.loads(json.dumps(req.to_wire("APPKEY"))))
    assert back == req
    assert back.to_wire("APPKEY") == FULL_WIRE


def test_minimal_request_omits_unset_values_and_empty_parameters():
    """None values, nested objects never set and an empty Parameters are not sent; no AppKey unless given."""
    req = RealtimeTaskRequest(input=CN16)
    assert req.to_wire() == {"Input": {"Format": "pcm", "SampleRate": 16000, "SourceLanguage": "cn"}}


def test_spec_example_parses_and_round_trips():
    """The realtime-start example of the spec parses and re-encodes identically."""
    body = {"AppKey": "Qp7xYkExample",
            "Input": {"Format": "pcm", "SampleRate": 16000, "SourceLanguage": "cn", "TaskKey": "meeting-0425"},
            "Parameters": {"Transcription": {"DiarizationEnabled": True, "Diarization": {"SpeakerCount": 2},
                                             "OutputLevel": 2},
                           "SummarizationEnabled": True, "Summarization": {"Types": ["Paragraph", "Conversational"]}}}
    assert RealtimeTaskRequest.from_wire(body).to_wire("Qp7xYkExample") == body


def test_from_wire_ignores_unknown_keys():
    """Unknown keys at any level are ignored rather than breaking parsing."""
    body = {"AppKey": "A", "Extra": 1, "Input": {"Format": "pcm", "SampleRate": 16000, "SourceLanguage": "en",
                                                 "NewKey": "x"},
            "Parameters": {"Transcription": {"OutputLevel": 1, "FutureSwitch": True}, "FutureFeature": {}}}
    req = RealtimeTaskRequest.from_wire(body)
    assert req.parameters.transcription == Transcription(output_level=1)


def test_from_wire_can_skip_client_rules():
    """validate=False parses a body the client would refuse (the emulator judges it itself)."""
    body = {"Input": {"Format": "pcm", "SampleRate": 8000, "SourceLanguage": "ja", "TaskId": "abc"}}
    req = RealtimeTaskRequest.from_wire(body, validate=False)
    assert req.input.task_id == "abc"
    with pytest.raises(ParameterError):
        req.validate()


def test_from_wire_refuses_wrong_json_types_with_path():
    """A string where an int belongs is reported at its wire path."""
    body = {"Input": {"Format": "pcm", "SampleRate": "16000", "SourceLanguage": "cn"}}
    with pytest.raises(ParameterError) as info:
        RealtimeTaskRequest.from_wire(body)
    assert info.value.field == "Input.SampleRate"
    assert "expected an integer" in str(info.value)


def test_bool_fields_refuse_integers():
    """1 is not accepted where the wire needs a JSON bool."""
    e = build_err(text_polish_enabled=1)
    assert e.field == "Parameters.TextPolishEnabled" and "true or false" in str(e)


def test_lists_become_tuples_and_model_is_frozen():
    """Lists passed in are stored as tuples and the models cannot be mutated."""
    tr = Translation(target_languages=["en"])
    assert tr.target_languages == ("en",)
    with pytest.raises(dataclasses.FrozenInstanceError):
        tr.output_level = 2


def test_stop_request_body():
    """The stop body carries AppKey (when given) and Input.TaskId only."""
    assert stop_request_body("c5394c", "APPKEY") == {"AppKey": "APPKEY", "Input": {"TaskId": "c5394c"}}
    assert stop_request_body("c5394c") == {"Input": {"TaskId": "c5394c"}}
    with pytest.raises(ParameterError) as info:
        stop_request_body("")
    assert info.value.field == "Input.TaskId"


def test_constants():
    """The public enums match the spec."""
    assert LANGUAGES == ("cn", "en", "yue", "ja", "ko", "fspk", "multilingual")
    assert FORMATS == ("pcm", "opus", "aac", "speex", "mp3")
    assert SAMPLE_RATES == (16000, 8000)
    assert TARGET_LANGUAGES == ("cn", "en", "ja", "ko", "de", "fr", "ru")


@pytest.mark.parametrize(("code", "whisper"), [("cn", "zh"), ("en", "en"), ("yue", "zh"), ("ja", "ja"),
                                               ("ko", "ko"), ("fspk", "zh"), ("multilingual", None),
                                               ("de", "de"), ("fr", "fr"), ("ru", "ru")])
def test_whisper_language(code, whisper):
    """Tingwu codes map to Whisper codes; yue never maps to 'yue'."""
    assert whisper_language(code) == whisper


def test_whisper_language_unknown_code():
    """An unknown code is refused with the list of known ones."""
    with pytest.raises(ParameterError, match="unknown language code 'xx'"):
        whisper_language("xx")


# --- create() ----------------------------------------------------------------------------


def test_create_builds_the_documented_body():
    """create() keywords map to the documented wire keys."""
    req = RealtimeTaskRequest.create(
        language="cn", diarization=True, speaker_count=2, translate_to="en", mp3=True,
        summarization=["Paragraph", "Conversational"], chapters="General", meeting_assistance=True,
        text_polish=True, custom_prompts=[("todo", "Todos: {Transcription}")], task_key="k1",
        multiple_streams_enabled=True, model="qwen-plus")
    assert req.to_wire("A") == {
        "AppKey": "A",
        "Input": {"Format": "pcm", "MultipleStreamsEnabled": True, "SampleRate": 16000, "SourceLanguage": "cn",
                  "TaskKey": "k1"},
        "Parameters": {
            "AutoChapters": {"ChapterGranularity": "General"}, "AutoChaptersEnabled": True,
            "CustomPrompt": {"Contents": [{"Name": "todo", "Prompt": "Todos: {Transcription}"}]},
            "CustomPromptEnabled": True, "MeetingAssistanceEnabled": True, "Model": "qwen-plus",
            "Summarization": {"Types": ["Paragraph", "Conversational"]}, "SummarizationEnabled": True,
            "TextPolishEnabled": True, "Transcoding": {"TargetAudioFormat": "mp3"},
            "Transcription": {"Diarization": {"SpeakerCount": 2}, "DiarizationEnabled": True, "OutputLevel": 2},
            "Translation": {"TargetLanguages": ["en"]}, "TranslationEnabled": True}}


def test_create_defaults():
    """create() with no arguments is English, 16 kHz PCM with interim results."""
    assert RealtimeTaskRequest.create().to_wire() == {
        "Input": {"Format": "pcm", "SampleRate": 16000, "SourceLanguage": "en"},
        "Parameters": {"Transcription": {"OutputLevel": 2}}}


def test_create_summarization_true_skips_conversational_without_diarization():
    """summarization=True picks every type that applies; Conversational only with diarization."""
    plain = RealtimeTaskRequest.create(summarization=True).parameters.summarization.types
    assert plain == ("Paragraph", "QuestionsAnswering", "MindMap")
    diarized = RealtimeTaskRequest.create(summarization=True, diarization=True).parameters.summarization.types
    assert "Conversational" in diarized


def test_create_prompt_forms():
    """Custom prompts may be objects, snake_case or PascalCase mappings, or pairs."""
    req = RealtimeTaskRequest.create(custom_prompts=[
        CustomPromptContent(name="a", prompt="{Transcription}"), {"name": "b", "prompt": "x {Transcription}"},
        {"Name": "c", "Prompt": "{Transcription}", "TransType": "chat"}])
    names = [c.name for c in req.parameters.custom_prompt.contents]
    assert names == ["a", "b", "c"]
    assert req.parameters.custom_prompt.contents[2].trans_type == "chat"


def test_create_unknown_keyword_suggests():
    """A misspelt keyword raises TypeError with a suggestion."""
    with pytest.raises(TypeError, match="did you mean 'multiple_streams_enabled'"):
        RealtimeTaskRequest.create(multiple_stream_enabled=True)


# --- validation rules --------------------------------------------------------------------


def test_parameter_error_is_a_config_error_with_field_and_value():
    """Errors carry the wire path and the offending value and derive from ConfigError."""
    e = err(format="wav")
    assert isinstance(e, ConfigError)
    assert (e.field, e.value) == ("Input.Format", "wav")
    assert "choose one of: pcm, opus, aac, speex, mp3" in str(e)


def test_source_language_enum_with_hint():
    """An unknown language lists the choices and suggests the Tingwu spelling."""
    e = err(language="zh")
    assert e.field == "Input.SourceLanguage"
    assert "did you mean 'cn'" in str(e)


def test_auto_language_is_offline_only():
    """'auto' is refused for realtime with the reason."""
    e = err(language="auto")
    assert e.field == "Input.SourceLanguage" and "offline file transcription only" in str(e)


def test_required_input_fields():
    """SourceLanguage, Format and SampleRate are required on start."""
    for missing, path in (("source_language", "SourceLanguage"), ("format", "Format"),
                          ("sample_rate", "SampleRate")):
        e = build_err(input=dataclasses.replace(CN16, **{missing: None}))
        assert e.field == f"Input.{path}" and "required" in str(e)


def test_sample_rate_enum():
    """Only 16000 and 8000 Hz exist."""
    e = err(sample_rate=44100)
    assert e.field == "Input.SampleRate" and "must be 16000 or 8000 Hz; got 44100" in str(e)


def test_eight_khz_only_for_cn_and_en():
    """8 kHz is refused for other languages with the exact advice."""
    assert str(err(language="ja", sample_rate=8000)) == \
        "Input.SampleRate: 8000 Hz is only available for cn and en; got ja. Use 16000."
    RealtimeTaskRequest.create(language="cn", sample_rate=8000)


def test_multilingual_only_at_16khz():
    """multilingual at 8 kHz is refused."""
    e = err(language="multilingual", sample_rate=8000)
    assert e.field == "Input.SampleRate" and "got multilingual" in str(e)


def test_language_hints_need_multilingual():
    """LanguageHints with another source language are refused with the reason."""
    e = err(language="cn", language_hints=["en"])
    assert e.field == "Input.LanguageHints" and "only apply when SourceLanguage is 'multilingual'" in str(e)


def test_language_hints_members():
    """Each hint must be a known language."""
    e = err(language="multilingual", language_hints=["en", "es"])
    assert e.field == "Input.LanguageHints[1]" and "'es' is not supported" in str(e)
    RealtimeTaskRequest.create(language="multilingual", language_hints=["en", "de"])


def test_task_id_refused_on_start():
    """Input.TaskId on start is refused, pointing at stop_request_body."""
    e = err(task_id="abc")
    assert e.field == "Input.TaskId" and "stop_request_body" in str(e)


def test_file_url_refused_for_realtime():
    """FileUrl belongs to offline tasks."""
    e = err(file_url="https://x/a.wav")
    assert e.field == "Input.FileUrl" and "offline" in str(e)


def test_output_levels():
    """Transcription and translation output levels must be 1 or 2."""
    assert err(output_level=3).field == "Parameters.Transcription.OutputLevel"
    e = err(translate_to="en", language="cn", translation=Translation(target_languages=("en",), output_level=0))
    assert e.field == "Parameters.Translation.OutputLevel" and "1 (final sentences only)" in str(e)


def test_translation_needs_targets():
    """TranslationEnabled without TargetLanguages is refused."""
    e = build_err(translation_enabled=True)
    assert e.field == "Parameters.Translation.TargetLanguages" and "at least one target language" in str(e)


def test_translation_target_members():
    """Targets must come from TARGET_LANGUAGES (yue is not a target)."""
    e = err(language="cn", translate_to=["en", "yue"])
    assert e.field == "Parameters.Translation.TargetLanguages[1]" and "'yue' is not supported" in str(e)


def test_translation_target_equal_to_source_refused():
    """Translating into the source language is refused."""
    e = err(language="en", translate_to="en")
    assert "translating en into en makes no sense" in str(e)


def test_speaker_count_range():
    """SpeakerCount must be 0..100."""
    e = err(diarization=True, speaker_count=101)
    assert e.field == "Parameters.Transcription.Diarization.SpeakerCount" and "between 0" in str(e)
    RealtimeTaskRequest.create(speaker_count=0)


def test_speaker_count_needs_diarization_enabled():
    """A SpeakerCount without DiarizationEnabled is refused."""
    e = build_err(transcription=Transcription(diarization=Diarization(speaker_count=2)))
    assert e.field == "Parameters.Transcription.DiarizationEnabled"


def test_transcription_model_enum():
    """Transcription.Model accepts the domain models (or empty for the default)."""
    assert err(transcription=Transcription(model="medical")).field == "Parameters.Transcription.Model"
    RealtimeTaskRequest.create(transcription=Transcription(model=""))


def test_transcoding_only_mp3():
    """TargetAudioFormat must be mp3."""
    e = err(transcoding=Transcoding(target_audio_format="wav"))
    assert e.field == "Parameters.Transcoding.TargetAudioFormat" and "only 'mp3'" in str(e)


def test_video_transcoding_refused_for_realtime():
    """Video outputs make no sense for an audio stream."""
    e = err(transcoding=Transcoding(target_video_format="mp4"))
    assert e.field == "Parameters.Transcoding.TargetVideoFormat" and "audio only" in str(e)


def test_chapter_enums():
    """ChapterGranularity and TitleLengthLevel are checked."""
    assert err(chapters="Fine").field == "Parameters.AutoChapters.ChapterGranularity"
    e = err(chapters=True, auto_chapters=AutoChapters(title_length_level="Tiny"))
    assert e.field == "Parameters.AutoChapters.TitleLengthLevel" and "Short, Normal, Long" in str(e)


def test_meeting_assistance_types():
    """MeetingAssistance.Types members are checked, duplicates refused."""
    assert err(meeting_assistance=["Todos"]).field == "Parameters.MeetingAssistance.Types[0]"
    e = err(meeting_assistance=["Actions", "Actions"])
    assert "listed twice" in str(e)


def test_summarization_types():
    """Summarization.Types members are checked and at least one is needed."""
    assert err(summarization=["Abstract"]).field == "Parameters.Summarization.Types[0]"
    e = build_err(summarization_enabled=True)
    assert e.field == "Parameters.Summarization.Types" and "at least one type" in str(e)


def test_conversational_summary_needs_diarization():
    """Conversational summaries are refused without diarization (documented choice)."""
    e = err(summarization=["Conversational"])
    assert "needs speaker diarization" in str(e)
    RealtimeTaskRequest.create(summarization=["Conversational"], diarization=True)


def test_ppt_extraction_refused_for_realtime():
    """PPT extraction is refused for realtime with the reason."""
    e = err(ppt_extraction_enabled=True)
    assert e.field == "Parameters.PptExtractionEnabled" and "no video" in str(e)


def _inspection(n: int = 1, **kw) -> ServiceInspection:
    base = dict(scene_introduction="call", inspection_introduction="check",
                inspection_contents=tuple(InspectionContent(title=f"t{i}", content="c") for i in range(n)))
    return ServiceInspection(**{**base, **kw})


def test_service_inspection_limits_and_required_fields():
    """At most 100 contents; scene, introduction and contents required when enabled."""
    RealtimeTaskRequest.create(service_inspection_enabled=True, service_inspection=_inspection(100))
    e = err(service_inspection_enabled=True, service_inspection=_inspection(101))
    assert "at most 100 inspection items; got 101" in str(e)
    e = err(service_inspection_enabled=True, service_inspection=_inspection(scene_introduction=" "))
    assert e.field == "Parameters.ServiceInspection.SceneIntroduction" and "required" in str(e)
    e = err(service_inspection_enabled=True, service_inspection=_inspection(inspection_introduction=None))
    assert e.field == "Parameters.ServiceInspection.InspectionIntroduction"
    assert err(service_inspection_enabled=True).field == "Parameters.ServiceInspection"


def test_custom_prompt_rules():
    """At most 3 prompts, each named uniquely and containing {Transcription}; enums checked."""
    ok = [("a", "{Transcription}"), ("b", "{Transcription}"), ("c", "{Transcription}")]
    RealtimeTaskRequest.create(custom_prompts=ok)
    assert "at most 3 custom prompts per request; got 4" in str(err(custom_prompts=ok + [("d", "{Transcription}")]))
    e = err(custom_prompts=[("a", "Summarise the meeting")])
    assert e.field == "Parameters.CustomPrompt.Contents[0].Prompt" and "{Transcription}" in str(e)
    e = err(custom_prompts=[("a", "{Transcription}"), ("a", "{Transcription}")])
    assert e.field == "Parameters.CustomPrompt.Contents[1].Name" and "unique" in str(e)
    assert err(custom_prompts=[("", "{Transcription}")]).field == "Parameters.CustomPrompt.Contents[0].Name"
    e = err(custom_prompts=[{"name": "a", "prompt": "{Transcription}", "model": "gpt-4"}])
    assert e.field == "Parameters.CustomPrompt.Contents[0].Model"
    e = err(custom_prompts=[{"name": "a", "prompt": "{Transcription}", "trans_type": "raw"}])
    assert e.field == "Parameters.CustomPrompt.Contents[0].TransType"
    assert err(custom_prompt_enabled=True).field == "Parameters.CustomPrompt.Contents"


def test_identity_recognition_limits():
    """At most 5 identities, each with name and description."""
    idents = tuple(IdentityContent(name=f"n{i}", description="d") for i in range(6))
    e = err(diarization=True, identity_recognition_enabled=True,
            identity_recognition=IdentityRecognition(identity_contents=idents))
    assert "at most 5 identities; got 6" in str(e)
    e = err(diarization=True, identity_recognition_enabled=True,
            identity_recognition=IdentityRecognition(identity_contents=(IdentityContent(name="x"),)))
    assert e.field == "Parameters.IdentityRecognition.IdentityContents[0].Description"


def test_identity_recognition_warns_without_diarization():
    """Identity recognition without diarization warns (it is allowed)."""
    with pytest.warns(UserWarning, match="turn on diarization"):
        RealtimeTaskRequest.create(identity_recognition_enabled=True, identity_recognition=IdentityRecognition(
            identity_contents=(IdentityContent(name="Host", description="asks"),)))


def test_content_extraction_limits():
    """At most 100 extraction contents, each with title and content."""
    items = tuple(ExtractionContent(title="t", content="c") for _ in range(101))
    e = err(content_extraction_enabled=True, content_extraction=ContentExtraction(extraction_contents=items))
    assert "at most 100 extraction items; got 101" in str(e)
    assert err(content_extraction_enabled=True).field == "Parameters.ContentExtraction.ExtractionContents"


def test_llm_model_and_output_language():
    """Parameters.Model and LlmOutputLanguage are enums."""
    assert err(model="gpt").field == "Parameters.Model"
    assert err(llm_output_language="ja").field == "Parameters.LlmOutputLanguage"


def test_config_without_switch_warns():
    """A feature object without its Enabled switch warns that the service ignores it."""
    with pytest.warns(UserWarning, match="AutoChaptersEnabled is not true"):
        RealtimeTaskRequest(input=CN16, parameters=Parameters(auto_chapters=AutoChapters()))


def test_valid_requests_do_not_warn():
    """The full example and create() defaults raise no warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        full_request()
        RealtimeTaskRequest.create()


def test_repr_shows_only_set_fields():
    """Model reprs list the fields that are set, so notebook output stays short."""
    assert repr(Transcription(output_level=2)) == "Transcription(output_level=2)"
