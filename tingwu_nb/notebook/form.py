"""ParameterForm: every realtime CreateTask option as ipywidgets, validated by the parameter model.

Display a :class:`ParameterForm` in a notebook (it *is* a VBox with class ``tingwu-form``), let
the user set options, then read :attr:`ParameterForm.request` (a validated
:class:`~tingwu_nb.contract.params.RealtimeTaskRequest`) and pass it to ``record(...)``/the
client. Every change rebuilds the request through the model; its
:class:`~tingwu_nb.errors.ParameterError` message appears inline in the offending group (an HTML
widget with class ``tingwu-error``) and :attr:`~ParameterForm.valid` turns False. The form
starts at the model's defaults (``RealtimeTaskRequest.create()``); options that depend on a
switch are disabled, and not sent, while the switch is off. No network calls.
"""

from __future__ import annotations

import html
import json
import re
import warnings
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from tingwu_nb.contract.params import (
    CHAPTER_GRANULARITIES,
    CUSTOM_PROMPT_MODELS,
    CUSTOM_PROMPT_TRANS_TYPES,
    FORMATS,
    LANGUAGE_HINTS,
    LANGUAGES,
    LLM_MODELS,
    LLM_OUTPUT_LANGUAGES,
    MEETING_ASSISTANCE_TYPES,
    SAMPLE_RATES,
    SUMMARIZATION_TYPES,
    TARGET_LANGUAGES,
    TITLE_LENGTH_LEVELS,
    TRANSCRIPTION_MODELS,
    Parameters,
    RealtimeInput,
    RealtimeTaskRequest,
    check_known_keys,
)
from tingwu_nb.errors import ParameterError
from tingwu_nb.notebook.form_fields import (
    Field,
    RowList,
    bool_field,
    check,
    choice,
    get_path,
    json_area,
    json_field,
    leftovers,
    multi,
    set_path,
    text,
    value_field,
)

__all__ = ["GROUPS", "ParameterForm"]

#: (key, accordion title) of the groups, in display order
GROUPS = (("input", "Input"), ("recognition", "Recognition and speakers"), ("translation", "Translation"),
          ("chapters", "Chapters, summaries and assistance"), ("inspection", "Inspection and custom prompts"),
          ("transcoding", "Transcoding"), ("advanced", "Advanced (JSON)"))
_LEVELS = {1: "1 — final sentences only", 2: "2 — interim results too"}
_TRI = {True: "on", False: "off"}
_P = "Parameters."
_HEADER = ("<style>.tingwu-invalid{outline:2px solid #b00020;outline-offset:1px;border-radius:2px}</style>"
           "<b>Tingwu realtime task — CreateTask parameters</b>")


class ParameterForm(widgets.VBox):
    """The CreateTask parameter form; display it, then read :attr:`request` (or :meth:`to_json`).

    Build one with ``ParameterForm()`` (model defaults), :meth:`from_request` or :meth:`load_json`.
    :attr:`valid` / :attr:`error` tell whether the current values make a valid request;
    :meth:`on_change` registers a callback run after every re-validation.
    """

    def __init__(self, request: RealtimeTaskRequest | None = None) -> None:
        super().__init__()
        self.add_class("tingwu-form")
        self.error: ParameterError | None = None
        self.warnings: list[str] = []
        self._fields: dict[str, Field] = {}
        self._passthrough: dict[str, Any] = {}
        self._callbacks: list[Callable[[ParameterForm], None]] = []
        self._loading = True
        self._group_boxes: dict[str, list[widgets.Widget]] = {key: [] for key, _ in GROUPS}
        self.errors = {key: widgets.HTML(value="") for key, _ in GROUPS}
        for box in self.errors.values():
            box.add_class("tingwu-error")
        self._build()
        self.status = widgets.HTML(value="")
        self.status.add_class("tingwu-form-status")
        self.accordion = widgets.Accordion(
            children=[widgets.VBox([self.errors[key], *self._group_boxes[key]]) for key, _ in GROUPS],
            titles=tuple(title for _, title in GROUPS), selected_index=0)
        self.children = [widgets.HTML(_HEADER), self.status,
                         self.accordion]
        self.set_request(request if request is not None else RealtimeTaskRequest.create())

    # ---- construction -------------------------------------------------------------------------
    def _add(self, field: Field) -> Field:
        self._fields[field.path] = field
        self._group_boxes[field.group].append(field.widget)
        if not isinstance(field.widget, RowList):
            field.widget.observe(lambda _: self._changed(), names="value")
        return field

    def _on(self, path: str) -> Callable[[], bool]:
        return lambda: bool(self._fields[path].widget.value)

    def _rows(self, path: str, group: str, noun: str, columns: list[tuple[str, str, Any]],
              active: Callable[[], bool], title: str) -> None:
        rows = RowList(noun, columns, self._changed)
        self._group_boxes[group].append(widgets.HTML(f"<i>{html.escape(title)}</i>"))
        self._add(rows.field(path, group, active))

    def _build(self) -> None:
        add, on = self._add, self._on
        g = "input"
        add(value_field("Input.SourceLanguage", g, choice("Source language", LANGUAGES)))
        lang_multi = lambda: self._fields["Input.SourceLanguage"].widget.value == "multilingual"  # noqa: E731
        add(value_field("Input.LanguageHints", g, multi("Language hints", LANGUAGE_HINTS,
                                                                    tooltip="only with Source language multilingual"), lang_multi))
        add(value_field("Input.Format", g, choice("Audio format", FORMATS)))
        add(value_field("Input.SampleRate", g, choice("Sample rate (Hz)", SAMPLE_RATES)))
        add(value_field("Input.TaskKey", g, text("Task key", placeholder="your correlation id")))
        add(bool_field("Input.ProgressiveCallbacksEnabled", g, check("Progressive callbacks")))
        add(bool_field("Input.MultipleStreamsEnabled", g, check("Multiple streams")))
        add(value_field("Input.OutputPath", g, text("Output path (OSS)")))
        add(value_field("Input.AudioChannelMode", g, text("Audio channel mode")))
        g, t = "recognition", _P + "Transcription."
        streams = on("Input.MultipleStreamsEnabled")
        add(value_field(t + "OutputLevel", g, choice("Output level", (1, 2), unset="service default (1)",
                                                     labels=_LEVELS)))
        add(value_field(t + "AdditionalStreamOutputLevel", g, choice(
            "Extra stream output level", (1, 2), unset="service default", labels=_LEVELS), streams))
        add(bool_field(t + "DiarizationEnabled", g, check("Speaker diarization")))
        diar = on(t + "DiarizationEnabled")
        self.speaker_hint = check("Give a speaker count hint (0 = unknown)")
        self._group_boxes[g].append(self.speaker_hint)
        self.speaker_hint.observe(lambda _: self._changed(), names="value")
        count = widgets.IntText(value=2, description="Speaker count", style={"description_width": "190px"})
        add(_count_field(t + "Diarization.SpeakerCount", g, count, self.speaker_hint, diar))
        add(bool_field(t + "RealtimeDiarizationEnabled", g, check("Realtime diarization (live speaker labels)")))
        add(value_field(t + "PhraseId", g, text("Hot-word list (PhraseId)")))
        add(value_field(t + "Model", g, choice("Domain model", TRANSCRIPTION_MODELS, unset="general (default)")))
        add(value_field(t + "DisfluencyEnabled", g, choice("Disfluency removal", (True, False),
                                                           unset="service default (on)", labels=_TRI)))
        add(value_field(t + "ProfanityFilterEnabled", g, choice("Profanity filter", (True, False),
                                                                unset="service default (on)", labels=_TRI)))
        add(bool_field(t + "AudioEventDetectionEnabled", g, check("Audio event detection")))
        g = "translation"
        add(bool_field(_P + "TranslationEnabled", g, check("Translate")))
        tr = on(_P + "TranslationEnabled")
        add(value_field(_P + "Translation.TargetLanguages", g, multi("Target languages", TARGET_LANGUAGES, 7), tr))
        add(value_field(_P + "Translation.OutputLevel", g, choice("Output level", (1, 2), unset="service default (1)",
                                                                  labels=_LEVELS), tr))
        add(value_field(_P + "Translation.AdditionalStreamOutputLevel", g, choice(
            "Extra stream output level", (1, 2), unset="service default", labels=_LEVELS), lambda: tr() and streams()))
        add(bool_field(_P + "Translation.TranslateLlmSceneEnabled", g, check("LLM translation"), tr))
        g = "chapters"
        add(bool_field(_P + "AutoChaptersEnabled", g, check("Auto chapters")))
        ac = on(_P + "AutoChaptersEnabled")
        add(value_field(_P + "AutoChapters.ChapterGranularity", g, choice(
            "Chapter granularity", CHAPTER_GRANULARITIES, unset="service default (Meticulous)"), ac))
        add(value_field(_P + "AutoChapters.TitleLengthLevel", g, choice(
            "Title length", TITLE_LENGTH_LEVELS, unset="service default (Long)"), ac))
        add(bool_field(_P + "SummarizationEnabled", g, check("Summarization")))
        add(value_field(_P + "Summarization.Types", g, multi("Summary types", SUMMARIZATION_TYPES),
                        on(_P + "SummarizationEnabled")))
        add(bool_field(_P + "MeetingAssistanceEnabled", g, check("Meeting assistance")))
        add(value_field(_P + "MeetingAssistance.Types", g, multi("Assistance types", MEETING_ASSISTANCE_TYPES, 2,
                                                                 tooltip="none selected = every type"),
                        on(_P + "MeetingAssistanceEnabled")))
        add(bool_field(_P + "TextPolishEnabled", g, check("Text polish (written style)")))
        add(value_field(_P + "Model", g, choice("LLM model", LLM_MODELS, unset="service default")))
        add(value_field(_P + "LlmOutputLanguage", g, choice("LLM output language", LLM_OUTPUT_LANGUAGES,
                                                            unset="service default")))
        self._build_inspection()
        g = "transcoding"
        mp3 = widgets.Checkbox(value=False, description="Keep an MP3 of the recording", indent=False)
        add(_mp3_field(_P + "Transcoding.TargetAudioFormat", g, mp3))
        add(bool_field(_P + "Transcoding.SpectrumEnabled", g, check("Waveform (spectrum) data")))
        g = "advanced"
        add(json_field(t + "Phrase", g, json_area("Transcription.Phrase")))
        add(json_field(_P + "ExtraParams", g, json_area("ExtraParams", '{"MaxKeywords": 10}')))

    def _build_inspection(self) -> None:
        add, on, g = self._add, self._on, "inspection"
        add(bool_field(_P + "ServiceInspectionEnabled", g, check("Service inspection")))
        si = on(_P + "ServiceInspectionEnabled")
        add(value_field(_P + "ServiceInspection.SceneIntroduction", g, text("Scene", area=True), si))
        add(value_field(_P + "ServiceInspection.InspectionIntroduction", g, text("What to inspect", area=True), si))
        self._rows(_P + "ServiceInspection.InspectionContents", g, "inspection item",
                   [("Title", "title", "text"), ("Content", "definition", "area")], si, "Inspection items")
        add(json_field(_P + "ServiceInspection.SpeakerMap", g, json_area("Inspection speaker map", '{"1": "Agent"}'),
                       si))
        add(bool_field(_P + "CustomPromptEnabled", g, check("Custom prompts (up to 3)")))
        self._rows(_P + "CustomPrompt.Contents", g, "prompt",
                   [("Name", "name", "text"), ("Prompt", "prompt with {Transcription}", "area"),
                    ("Model", "model", CUSTOM_PROMPT_MODELS), ("TransType", "transcript as", CUSTOM_PROMPT_TRANS_TYPES)],
                   on(_P + "CustomPromptEnabled"), "Custom prompts")
        add(bool_field(_P + "IdentityRecognitionEnabled", g, check("Identity recognition")))
        ir = on(_P + "IdentityRecognitionEnabled")
        add(value_field(_P + "IdentityRecognition.SceneIntroduction", g, text("Identity scene", area=True), ir))
        self._rows(_P + "IdentityRecognition.IdentityContents", g, "identity",
                   [("Name", "name", "text"), ("Description", "how it speaks", "area")], ir, "Identities (up to 5)")
        add(bool_field(_P + "ContentExtractionEnabled", g, check("Content extraction")))
        ce = on(_P + "ContentExtractionEnabled")
        add(value_field(_P + "ContentExtraction.SceneIntroduction", g, text("Extraction scene", area=True), ce))
        self._rows(_P + "ContentExtraction.ExtractionContents", g, "extraction item",
                   [("Title", "title", "text"), ("Content", "what to extract", "area"), ("Identity", "identity", "text")],
                   ce, "Extraction items")
        add(json_field(_P + "ContentExtraction.SpeakerMap", g, json_area("Extraction speaker map", '{"1": "Agent"}'),
                       ce))

    # ---- reading and writing ------------------------------------------------------------------
    def field(self, path: str) -> widgets.Widget:
        """The widget editing wire ``path`` (e.g. ``"Input.SampleRate"``); set its ``value`` to edit."""
        return self._fields[path].widget

    def body(self) -> dict[str, Any]:
        """The CreateTask body the widgets describe (not validated; ParameterError for unreadable JSON)."""
        body: dict[str, Any] = {}
        for key, value in self._passthrough.items():
            set_path(body, key, value)
        for path, f in self._fields.items():
            if f.active():
                value = f.read()
                if value is not None:
                    set_path(body, path, value)
        return body

    @property
    def valid(self) -> bool:
        """True when the current values make a valid request (see :attr:`error` otherwise)."""
        return self.error is None

    @property
    def request(self) -> RealtimeTaskRequest:
        """The validated request; raises the current :class:`ParameterError` when invalid."""
        if self.error is not None:
            raise self.error
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return RealtimeTaskRequest.from_wire(self.body())

    @classmethod
    def from_request(cls, request: RealtimeTaskRequest) -> ParameterForm:
        """A new form showing ``request``; display it and read :attr:`request` back."""
        return cls(request)

    def set_request(self, request: RealtimeTaskRequest) -> None:
        """Show ``request`` (every option not in it goes back to the service default)."""
        self._load(request.to_wire())

    def to_json(self, indent: int | None = 2) -> str:
        """The CreateTask body as JSON (``request.to_wire()``; without AppKey). Works when invalid too."""
        req = RealtimeTaskRequest.from_wire(self.body(), validate=False)
        return json.dumps(req.to_wire(), ensure_ascii=False, indent=indent)

    def load_json(self, text: str) -> None:
        """Show a CreateTask body given as JSON; invalid values are loaded and their message shown.

        Raises ParameterError (nothing changed) for text that is not a JSON object or has unknown keys.
        """
        try:
            body = json.loads(text)
        except ValueError as exc:
            raise ParameterError("JSON", f"not valid JSON: {exc}", None) from None
        if not isinstance(body, dict):
            raise ParameterError("JSON", f"must be an object with Input and Parameters, not {type(body).__name__}")
        for key, model in (("Input", RealtimeInput), ("Parameters", Parameters)):
            if isinstance(body.get(key), dict):
                check_known_keys(body[key], model, key)
        self._load({k: v for k, v in body.items() if k != "AppKey"})

    def on_change(self, callback: Callable[[ParameterForm], None]) -> None:
        """Call ``callback(form)`` after every re-validation (read ``form.valid`` / ``form.request``)."""
        self._callbacks.append(callback)

    def _load(self, body: dict[str, Any]) -> None:
        self._loading = True
        try:
            for path, f in self._fields.items():
                f.write(get_path(body, path)[1])  # None (absent) shows the empty/default state
            self.speaker_hint.value = get_path(body, f"{_P}Transcription.Diarization.SpeakerCount")[0]
            self._passthrough = leftovers(body, set(self._fields))
        finally:
            self._loading = False
        self._changed()

    def _changed(self) -> None:
        if self._loading:
            return
        for f in self._fields.values():
            active = f.active()
            if isinstance(f.widget, RowList):
                f.widget.set_disabled(not active)
            else:
                f.widget.disabled = not active
            f.widget.remove_class("tingwu-invalid")
        self.speaker_hint.disabled = not self._fields[f"{_P}Transcription.DiarizationEnabled"].widget.value
        self._validate()
        for callback in list(self._callbacks):
            callback(self)

    def _validate(self) -> None:
        self.error, self.warnings = None, []
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                RealtimeTaskRequest.from_wire(self.body())
            self.warnings = [str(w.message) for w in caught]
        except ParameterError as exc:
            self.error = exc
        group = self._group_of(self.error.field) if self.error else None
        for key, box in self.errors.items():
            box.value = (f"<span style='color:#b00020'>⚠ {html.escape(str(self.error))}</span>"
                         if key == group else "")
        self.accordion.titles = tuple(f"{title}  ⚠" if key == group else title for key, title in GROUPS)
        if self.error is not None:
            where = dict(GROUPS)[group]
            self.status.value = (f"<span style='color:#b00020'>✗ invalid — {html.escape(str(self.error))} "
                                 f"(in {html.escape(where)})</span>")
        else:
            notes = "".join(f"<br><span style='color:#8a6d00'>note: {html.escape(w)}</span>" for w in self.warnings)
            self.status.value = f"<span style='color:#1b5e20'>✓ valid request</span>{notes}"

    def _group_of(self, path: str) -> str:
        """The group showing the error at wire ``path``; the matching widget gets class ``tingwu-invalid``."""
        bare = re.sub(r"\[\d+\]", "", path)
        best = max((p for p in self._fields if bare == p or bare.startswith(p + ".")), key=len, default=None)
        if best is not None:
            self._fields[best].widget.add_class("tingwu-invalid")
            return self._fields[best].group
        for prefix, group in _FALLBACK:
            if bare.startswith(prefix):
                return group
        return "input"


_FALLBACK = ((_P + "Transcription", "recognition"), (_P + "Transcoding", "transcoding"),
             (_P + "Translation", "translation"), (_P + "ServiceInspection", "inspection"),
             (_P + "CustomPrompt", "inspection"), (_P + "IdentityRecognition", "inspection"),
             (_P + "ContentExtraction", "inspection"), (_P + "ExtraParams", "advanced"), (_P, "chapters"))


def _count_field(path: str, group: str, count: widgets.IntText, hint: widgets.Checkbox,
                 active: Callable[[], bool]) -> Field:
    def write(value: Any) -> None:
        count.value = value if isinstance(value, int) else 2

    return Field(path, group, count, lambda: count.value if hint.value else None, write,
                 lambda: active() and hint.value)


def _mp3_field(path: str, group: str, box: widgets.Checkbox) -> Field:
    def write(value: Any) -> None:
        box.value = value == "mp3"

    return Field(path, group, box, lambda: "mp3" if box.value else None, write)
