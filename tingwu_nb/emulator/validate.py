"""Body checks of a realtime CreateTask on the raw wire dict, answered with the cloud's codes.

The emulator validates the JSON it receives (not our typed model) so that it also checks
clients other than tingwu_nb; the allowed values are the contract's, shared with
:mod:`tingwu_nb.contract.params` (rest-api §2.2–§2.3, error codes §5.2).
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from typing import Any

from tingwu_nb.contract.params import (
    CHAPTER_GRANULARITIES,
    CUSTOM_PROMPT_MODELS,
    CUSTOM_PROMPT_TRANS_TYPES,
    FORMATS,
    LANGUAGE_HINTS,
    MEETING_ASSISTANCE_TYPES,
    SAMPLE_RATES,
    SUMMARIZATION_TYPES,
    TARGET_LANGUAGES,
    TITLE_LENGTH_LEVELS,
)
from tingwu_nb.contract.params import LANGUAGES as _LANGUAGES
from tingwu_nb.emulator.analysis.translate import unsupported_directions, unsupported_message
from tingwu_nb.emulator.contract import EmulatorConfig
from tingwu_nb.errors import ServiceError

__all__ = ["Validator", "is_int", "reject"]

# Values of the post-meeting objects (rest §2.3.4-§2.3.8), shared with the client's model.
FEATURE_VALUES = {
    "AutoChapters.ChapterGranularity": CHAPTER_GRANULARITIES, "AutoChapters.TitleLengthLevel": TITLE_LENGTH_LEVELS,
    "MeetingAssistance.Types": MEETING_ASSISTANCE_TYPES, "Summarization.Types": SUMMARIZATION_TYPES,
}

# "auto" is offline-only (rest §2.2), so it is not in params.LANGUAGES either.
LANGUAGES = frozenset(_LANGUAGES)
HINT_LANGUAGES = frozenset(LANGUAGE_HINTS)


def reject(code: str, message: str, status: int = 400) -> ServiceError:
    """A ServiceError the REST layer turns into an error response (HTTP ``status``)."""
    return ServiceError(message, code=code, status_code=status)


def json_object(raw: bytes, code: str) -> dict[str, Any]:
    """The request body as a JSON object, or the ``code`` error every route answers for anything else."""
    try:
        body = json.loads(raw or b"null")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise reject(code, "The request body must be a JSON object.")
    return body


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)



class Validator:
    """Body checks of a realtime start request, on the raw wire dict (rest §2.2-§2.3, §5.2)."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.choices = config.choices

    def _obj(self, parent: Mapping[str, Any], key: str, path: str) -> Mapping[str, Any]:
        value = parent.get(key)
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise reject(self.choices.invalid_parameter_code, f"{path} must be a JSON object.")
        return value

    def app_key(self, body: Mapping[str, Any]) -> None:
        if not hmac.compare_digest(str(body.get("AppKey", "")).encode(), self.config.app_key.encode()):
            raise reject("BRK.InvalidAppKey", "Invalid app key.")

    def start(self, body: Mapping[str, Any]) -> None:
        inp = self._obj(body, "Input", "Input")
        if "TaskId" in inp:
            raise reject(self.choices.invalid_parameter_code, "Input.TaskId must not be sent when creating a task.")
        lang = inp.get("SourceLanguage")
        if lang not in LANGUAGES:
            raise reject("BRK.InvalidLanguage", "Invalid language.")
        hints = inp.get("LanguageHints")
        if hints is not None and (not isinstance(hints, list) or not set(hints) <= HINT_LANGUAGES):
            raise reject("BRK.InvalidLanguage", "Invalid language.")
        if inp.get("Format") not in FORMATS:
            raise reject("BRK.InvalidAudioFormat", "Invalid audio format.")
        rate = inp.get("SampleRate")
        if not is_int(rate) or rate not in SAMPLE_RATES or (rate != 16000 and lang in self.choices.languages_16k_only):
            raise reject("BRK.InvalidAudioSampleRate", "Invalid audio sample rate.")
        if inp.get("MultipleStreamsEnabled"):
            raise reject("Emulator.Unsupported", "The emulator does not implement multi-stream input "
                         "(MultipleStreamsEnabled, protobuf MultiAudioFrame framing); the cloud supports it.")
        self.parameters(self._obj(body, "Parameters", "Parameters"), source=lang, hints=hints)

    def parameters(self, params: Mapping[str, Any], *, source: str, hints: list[str] | None = None) -> None:
        transcription = self._obj(params, "Transcription", "Parameters.Transcription")
        count = self._obj(transcription, "Diarization", "Parameters.Transcription.Diarization").get("SpeakerCount")
        if count is not None and (not is_int(count) or not 0 <= count <= 100):
            raise reject("BRK.InvalidRoleSplitNum", "Invalid roleSplitNum.")
        translation = self._obj(params, "Translation", "Parameters.Translation")
        for section in (transcription, translation):
            for key in ("OutputLevel", "AdditionalStreamOutputLevel"):
                if section.get(key) not in (None, 1, 2):
                    raise reject("BRK.InvalidOutputEnabledSetting", "Invalid output enabled setting.")
        if params.get("TranslationEnabled"):
            targets = translation.get("TargetLanguages")
            if not isinstance(targets, list) or not targets or not set(targets) <= set(TARGET_LANGUAGES):
                raise reject("BRK.InvalidLanguage", "Invalid language.")
            llm = self._uses_llm()  # hints: the languages a multilingual sentence may be in
            bad = unsupported_directions(source, targets, llm=llm, hints=hints)
            if bad:
                raise reject("Emulator.UnsupportedTranslation", unsupported_message(source, bad, llm=llm, hints=hints))
        audio = self._obj(params, "Transcoding", "Parameters.Transcoding").get("TargetAudioFormat")
        if audio not in (None, "mp3"):
            raise reject("BRK.InvalidAudioFormat", "Invalid audio format.")
        self.features(params)

    def features(self, params: Mapping[str, Any]) -> None:
        """The post-meeting switches and their objects (rest §2.3.4-§2.3.11, limits §5.6).

        Objects are checked when their switch is on (the cloud ignores them otherwise).
        Refuses what the emulator does not compute (Emulator.Unsupported) and CustomPrompt
        without the language model.
        """
        bad = self.choices.invalid_parameter_code
        for path, allowed in FEATURE_VALUES.items():
            obj_name, key = path.split(".")
            if params.get(f"{obj_name}Enabled") is not True:
                continue
            value = self._obj(params, obj_name, f"Parameters.{obj_name}").get(key)
            if value is None:
                continue
            ok = all(v in allowed for v in value) if isinstance(value, list) and key == "Types" else value in allowed
            if not ok:
                raise reject(bad, f"Parameters.{path} must be {'a list of ' if key == 'Types' else ''}"
                                  f"{', '.join(allowed)}; got {value!r}.")
        if params.get("SummarizationEnabled") is True and not self._obj(
                params, "Summarization", "Parameters.Summarization").get("Types"):
            if self.choices.summarization_without_types == "refuse":
                raise reject(bad, f"Parameters.Summarization.Types is required when SummarizationEnabled is true: "
                                  f"a list of {', '.join(SUMMARIZATION_TYPES)}.")
        if params.get("ServiceInspectionEnabled") is True:
            si = self._obj(params, "ServiceInspection", "Parameters.ServiceInspection")
            for key in ("SceneIntroduction", "InspectionIntroduction"):
                if not isinstance(si.get(key), str) or not si[key].strip():
                    raise reject(bad, f"Parameters.ServiceInspection.{key} is required (a non-empty string).")
            self._contents(si.get("InspectionContents"), "Parameters.ServiceInspection.InspectionContents", 100,
                           ("Title", "Content"))
            self._speaker_map(si, "Parameters.ServiceInspection")
        if params.get("IdentityRecognitionEnabled") is True:
            ir = self._obj(params, "IdentityRecognition", "Parameters.IdentityRecognition")
            self._text(ir, "SceneIntroduction", "Parameters.IdentityRecognition")
            self._contents(ir.get("IdentityContents"), "Parameters.IdentityRecognition.IdentityContents", 5,
                           ("Name",), ("Description",))
        if params.get("ContentExtractionEnabled") is True:
            ce = self._obj(params, "ContentExtraction", "Parameters.ContentExtraction")
            self._text(ce, "SceneIntroduction", "Parameters.ContentExtraction")
            self._contents(ce.get("ExtractionContents"), "Parameters.ContentExtraction.ExtractionContents", 100,
                           ("Title", "Content"), ("Identity",))
            self._speaker_map(ce, "Parameters.ContentExtraction")
        if params.get("CustomPromptEnabled") is True:
            self._custom_prompt(self._obj(params, "CustomPrompt", "Parameters.CustomPrompt").get("Contents"))
            if not self._uses_llm():
                raise reject("Emulator.Unsupported", "CustomPrompt needs the offline language model, and this "
                             "emulator's analysis engine is extractive (a free prompt cannot be answered by "
                             "extraction). Prepare the model (tingwu-nb prepare-models) and start the emulator "
                             "with analysis_engine='auto' or 'llm', or use the cloud.")
        unsupported = []
        if params.get("PptExtractionEnabled") is True and self.choices.ppt_extraction_realtime == "refuse":
            unsupported.append("PptExtractionEnabled (a realtime recording has no video)")
        if self._obj(params, "Transcoding", "Parameters.Transcoding").get("SpectrumEnabled"):
            unsupported.append("Transcoding.SpectrumEnabled")
        if unsupported and self.config.refuse_unsupported_features:
            raise reject("Emulator.Unsupported", f"The emulator does not compute {', '.join(unsupported)}; "
                         "remove it, use the cloud, or start the emulator with refuse_unsupported_features=False "
                         "to accept and ignore it.")

    def _uses_llm(self) -> bool:
        kind = self.config.analysis_engine
        if kind != "auto":
            return kind == "llm"
        from tingwu_nb.emulator.analysis.service import llm_available

        return llm_available()

    def _text(self, obj: Mapping[str, Any], key: str, path: str) -> None:
        if obj.get(key) is not None and not isinstance(obj.get(key), str):
            raise reject(self.choices.invalid_parameter_code, f"{path}.{key} must be a string.")

    def _speaker_map(self, obj: Mapping[str, Any], path: str) -> None:
        value = obj.get("SpeakerMap")
        if value is not None and not (isinstance(value, Mapping) and all(isinstance(v, str) for v in value.values())):
            raise reject(self.choices.invalid_parameter_code, f"{path}.SpeakerMap must map speaker ids to role names.")

    def _contents(self, items: Any, path: str, limit: int, required: tuple[str, ...],
                  optional: tuple[str, ...] = ()) -> None:
        """1..``limit`` objects, each with non-empty string ``required`` keys and string ``optional`` ones."""
        ok = isinstance(items, list) and 1 <= len(items) <= limit and all(
            isinstance(i, Mapping) and all(isinstance(i.get(k), str) and i[k].strip() for k in required)
            and all(i.get(k) is None or isinstance(i.get(k), str) for k in optional) for i in items)
        if not ok:
            keys = " and ".join(required) + "".join(f" (optional {k})" for k in optional)
            raise reject(self.choices.invalid_parameter_code, f"{path} needs 1-{limit} items, each with {keys}.")

    def _custom_prompt(self, contents: Any) -> None:
        ok = isinstance(contents, list) and 1 <= len(contents) <= 3  # rest §2.3.8
        ok = ok and all(
            isinstance(c, Mapping) and c.get("Name") and "{Transcription}" in str(c.get("Prompt", ""))
            and c.get("Model") in (None, *CUSTOM_PROMPT_MODELS) and c.get("TransType") in (None, *CUSTOM_PROMPT_TRANS_TYPES)
            for c in contents
        )
        ok = ok and len({str(c["Name"]) for c in contents}) == len(contents)
        if not ok:
            raise reject(
                self.choices.invalid_parameter_code,
                "Parameters.CustomPrompt.Contents needs 1-3 items with unique Names and a Prompt containing "
                f"{{Transcription}} (Model one of {', '.join(CUSTOM_PROMPT_MODELS)}; TransType one of "
                f"{', '.join(CUSTOM_PROMPT_TRANS_TYPES)}).",
            )
