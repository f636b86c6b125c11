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

from tingwu_nb.contract.params import FORMATS, LANGUAGE_HINTS, SAMPLE_RATES, TARGET_LANGUAGES
from tingwu_nb.contract.params import LANGUAGES as _LANGUAGES
from tingwu_nb.emulator.analysis.translate import unsupported_directions
from tingwu_nb.emulator.contract import EmulatorConfig
from tingwu_nb.errors import ServiceError

__all__ = ["Validator", "is_int", "reject"]

# Post-meeting switches (rest §2.3) whose results the emulator does not compute yet.
UNSUPPORTED_SWITCHES = (
    "AutoChaptersEnabled", "MeetingAssistanceEnabled", "SummarizationEnabled", "TextPolishEnabled",
    "PptExtractionEnabled", "ServiceInspectionEnabled", "CustomPromptEnabled", "IdentityRecognitionEnabled",
    "ContentExtractionEnabled",
)

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
        self.parameters(self._obj(body, "Parameters", "Parameters"), source=lang)

    def parameters(self, params: Mapping[str, Any], *, source: str) -> None:
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
            bad = unsupported_directions(source, targets)
            if bad:
                raise reject("Emulator.UnsupportedTranslation",
                              f"The offline emulator translates speech into English only (Whisper translate); "
                              f"{source} -> {', '.join(bad)} is not available here. The cloud supports it.")
        audio = self._obj(params, "Transcoding", "Parameters.Transcoding").get("TargetAudioFormat")
        if audio not in (None, "mp3"):
            raise reject("BRK.InvalidAudioFormat", "Invalid audio format.")
        if params.get("CustomPromptEnabled"):
            self._custom_prompt(self._obj(params, "CustomPrompt", "Parameters.CustomPrompt").get("Contents"))
        unsupported = [k for k in UNSUPPORTED_SWITCHES if params.get(k)]
        if (self._obj(params, "Transcoding", "Parameters.Transcoding")).get("SpectrumEnabled"):
            unsupported.append("Transcoding.SpectrumEnabled")
        if unsupported and self.config.refuse_unsupported_features:
            raise reject("Emulator.Unsupported", f"The emulator does not compute {', '.join(unsupported)} yet; "
                         "remove it, use the cloud, or start the emulator with refuse_unsupported_features=False "
                         "to accept and ignore it.")

    def _custom_prompt(self, contents: Any) -> None:
        ok = isinstance(contents, list) and 1 <= len(contents) <= 3  # rest §2.3.8
        ok = ok and all(
            isinstance(c, Mapping) and c.get("Name") and "{Transcription}" in str(c.get("Prompt", "")) for c in contents
        )
        if not ok:
            raise reject(
                self.choices.invalid_parameter_code,
                "Parameters.CustomPrompt.Contents needs 1-3 items with Name and a Prompt containing {Transcription}.",
            )
