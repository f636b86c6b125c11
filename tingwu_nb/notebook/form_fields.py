"""Building blocks of :class:`tingwu_nb.notebook.form.ParameterForm`: one widget bound to one wire path.

A :class:`Field` reads its widget as the wire value of its path (``None`` = not sent) and writes a
wire value back into the widget; :class:`RowList` edits a list of wire objects (custom prompts,
inspection items ...) as rows; :func:`choice` and :func:`json_area` make the dropdowns and JSON
text areas. Nothing here validates: the form sends what these produce through
:class:`~tingwu_nb.contract.params.RealtimeTaskRequest`, the one place the rules live.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets

from tingwu_nb.errors import ParameterError

UNSET = ""  # the dropdown value meaning "not sent; the service's default applies"
_STYLE = {"description_width": "190px"}
_WIDE = widgets.Layout(width="560px")


def choice(label: str, values: Sequence[Any], *, unset: str | None = None, value: Any = None,
           labels: Mapping[Any, str] | None = None) -> widgets.Dropdown:
    """A Dropdown of ``values``; ``unset`` adds a first option (its label) meaning "not sent"."""
    labels = labels or {}
    options = ([(unset, UNSET)] if unset is not None else []) + [(labels.get(v, str(v)), v) for v in values]
    start = value if value is not None else options[0][1]
    return widgets.Dropdown(options=options, value=start, description=label, style=_STYLE, layout=_WIDE)


def set_choice(dropdown: widgets.Dropdown | widgets.SelectMultiple, value: Any) -> None:
    """Select ``value`` (a tuple for SelectMultiple), first adding options the widget lacks.

    An unsupported value (``44100``, ``"auto"``) is thus shown as it is, and the model's message
    about it appears, instead of the value being dropped silently.
    """
    wanted = value if isinstance(dropdown, widgets.SelectMultiple) else (value,)
    if not hasattr(dropdown, "_tingwu_options"):  # the options before any were added here
        dropdown._tingwu_options = [o if isinstance(o, tuple) else (str(o), o) for o in dropdown.options]
    known = dropdown._tingwu_options
    missing = [v for v in wanted if all(v != k or type(v) is not type(k) for _, k in known)]
    options = known + [("(not set)" if v == UNSET else f"{v!r} (unsupported)", v) for v in missing]
    if options != [o if isinstance(o, tuple) else (str(o), o) for o in dropdown.options]:
        dropdown.options = options
    dropdown.value = value


def text(label: str, *, area: bool = False, placeholder: str = "") -> widgets.Text | widgets.Textarea:
    """A Text (or Textarea) whose empty value means "not sent"."""
    cls = widgets.Textarea if area else widgets.Text
    return cls(value="", description=label, placeholder=placeholder, style=_STYLE, layout=_WIDE)


def check(label: str) -> widgets.Checkbox:
    """A Checkbox for a ``bool`` wire key (unticked = not sent)."""
    return widgets.Checkbox(value=False, description=label, indent=False, layout=widgets.Layout(width="560px"))


def multi(label: str, values: Sequence[str], rows: int = 4, tooltip: str | None = None) -> widgets.SelectMultiple:
    """A SelectMultiple for a list of enum strings (nothing selected = not sent)."""
    return widgets.SelectMultiple(options=list(values), value=(), rows=rows, description=label, style=_STYLE,
                                  layout=widgets.Layout(width="560px"), tooltip=tooltip)


def json_area(label: str, placeholder: str = '{"key": "value"}') -> widgets.Textarea:
    """A Textarea holding a JSON object (empty = not sent)."""
    return widgets.Textarea(value="", description=label, placeholder=placeholder, style=_STYLE,
                            layout=widgets.Layout(width="560px", height="70px"))


@dataclass
class Field:
    """One wire path edited by one widget.

    ``read()`` gives the wire value (``None`` = omit); ``write(v)`` shows a wire value;
    ``active()`` says whether the path is relevant now (irrelevant fields are disabled and not sent).
    """

    path: str
    group: str
    widget: widgets.Widget
    read: Callable[[], Any]
    write: Callable[[Any], None]
    active: Callable[[], bool] = lambda: True


def value_field(path: str, group: str, widget: widgets.Widget, active: Callable[[], bool] = lambda: True,
                *, integer: bool = False) -> Field:
    """Bind a Dropdown/Text/SelectMultiple/IntText: empty, ``UNSET`` and ``()`` read as ``None``."""
    def read() -> Any:
        value = widget.value
        if isinstance(value, tuple):
            return list(value) or None
        return None if value == UNSET and not isinstance(value, int) else value

    def write(value: Any) -> None:
        if isinstance(widget, widgets.SelectMultiple):
            set_choice(widget, tuple(value or ()))
        elif isinstance(widget, widgets.Dropdown):
            set_choice(widget, UNSET if value is None else value)
        else:
            widget.value = "" if value is None else value

    return Field(path, group, widget, read, write, active)


def bool_field(path: str, group: str, widget: widgets.Checkbox,
               active: Callable[[], bool] = lambda: True) -> Field:
    """Bind a Checkbox: ticked reads ``True``; unticked reads ``None``, or ``False`` if it was loaded so."""
    state = {"explicit_false": False}

    def read() -> bool | None:
        return True if widget.value else (False if state["explicit_false"] else None)

    def write(value: Any) -> None:
        state["explicit_false"] = value is False
        widget.value = bool(value)

    return Field(path, group, widget, read, write, active)


def json_field(path: str, group: str, widget: widgets.Textarea,
               active: Callable[[], bool] = lambda: True) -> Field:
    """Bind a JSON Textarea; text that is not a JSON object raises ParameterError(path)."""
    def read() -> Any:
        if not widget.value.strip():
            return None
        try:
            value = json.loads(widget.value)
        except ValueError as exc:
            raise ParameterError(path, f"not valid JSON: {exc}", widget.value) from None
        if not isinstance(value, dict):
            raise ParameterError(path, f"must be a JSON object, not {type(value).__name__}", value)
        return value

    def write(value: Any) -> None:
        widget.value = "" if value is None else json.dumps(value, ensure_ascii=False, indent=1)

    return Field(path, group, widget, read, write, active)


class RowList(widgets.VBox):
    """Editable rows of one list of wire objects (e.g. ``CustomPrompt.Contents``), with Add/Remove.

    ``columns`` is ``(wire key, label, kind)`` with kind ``"text"``, ``"area"`` or a tuple of
    allowed values (a Dropdown with a "default" option). No limit is enforced here: the model's
    message says when there are too many rows. Call :meth:`field` to bind it to its wire path.
    """

    def __init__(self, noun: str, columns: Sequence[tuple[str, str, Any]], on_change: Callable[[], None]) -> None:
        self._columns, self._on_change = tuple(columns), on_change
        self._rows: list[tuple[widgets.HBox, dict[str, widgets.Widget]]] = []
        self.add_button = widgets.Button(description=f"Add {noun}", icon="plus", layout=widgets.Layout(width="auto"))
        self.add_button.on_click(lambda _: self.add({}))
        self._box = widgets.VBox()
        super().__init__([self._box, self.add_button])

    def _cell(self, key: str, label: str, kind: Any) -> widgets.Widget:
        if isinstance(kind, tuple):
            return widgets.Dropdown(options=[(f"{label}: default", UNSET)] + [(str(v), v) for v in kind],
                                    value=UNSET, layout=widgets.Layout(width="170px"))
        cls = widgets.Textarea if kind == "area" else widgets.Text
        width = "320px" if kind == "area" else "170px"
        return cls(value="", placeholder=label, layout=widgets.Layout(width=width))

    def add(self, item: Mapping[str, Any]) -> None:
        """Append a row showing wire object ``item`` (missing keys empty)."""
        cells = {key: self._cell(key, label, kind) for key, label, kind in self._columns}
        for key, cell in cells.items():
            if item.get(key) is not None:
                if isinstance(cell, widgets.Dropdown):
                    set_choice(cell, item[key])
                else:
                    cell.value = str(item[key])
            cell.observe(lambda _: self._on_change(), names="value")
        remove = widgets.Button(icon="trash", tooltip="remove this row", layout=widgets.Layout(width="46px"))
        row = widgets.HBox([*cells.values(), remove])
        remove.on_click(lambda _: self._remove(row))
        self._rows.append((row, cells))
        self._box.children = [r for r, _ in self._rows]
        self._on_change()

    def _remove(self, row: widgets.HBox) -> None:
        self._rows = [(r, c) for r, c in self._rows if r is not row]
        self._box.children = [r for r, _ in self._rows]
        self._on_change()

    @property
    def cells(self) -> list[dict[str, widgets.Widget]]:
        """Each row's widgets by wire key (set their ``value`` to edit a row programmatically)."""
        return [cells for _, cells in self._rows]

    def read(self) -> list[dict[str, Any]] | None:
        """The rows as wire objects (empty cells omitted); ``None`` when there are no rows."""
        out = [{k: c.value for k, c in cells.items() if c.value != UNSET} for cells in self.cells]
        return out or None

    def write(self, items: Any) -> None:
        """Replace the rows by the wire objects in ``items``."""
        self._rows = []
        self._box.children = []
        for item in items or ():
            self.add(item if isinstance(item, Mapping) else {})

    def set_disabled(self, disabled: bool) -> None:
        """Grey out (or enable) every cell and button."""
        self.add_button.disabled = disabled
        for row, _ in self._rows:
            for child in row.children:
                child.disabled = disabled

    def field(self, path: str, group: str, active: Callable[[], bool] = lambda: True) -> Field:
        """This list bound to wire path ``path``."""
        return Field(path, group, self, self.read, self.write, active)


def set_path(body: dict[str, Any], path: str, value: Any) -> None:
    """Put ``value`` at dotted wire ``path`` in ``body``, creating the objects on the way."""
    *parents, leaf = path.split(".")
    for key in parents:
        body = body.setdefault(key, {})
    body[leaf] = value


def get_path(body: Mapping[str, Any], path: str) -> tuple[bool, Any]:
    """``(found, value)`` at dotted wire ``path``."""
    node: Any = body
    for key in path.split("."):
        if not isinstance(node, Mapping) or key not in node:
            return False, None
        node = node[key]
    return True, node


def leftovers(body: Mapping[str, Any], known: set[str], prefix: str = "") -> dict[str, Any]:
    """The leaf paths of ``body`` that no field edits (``{path: value}``), e.g. ``Input.TaskId``."""
    out: dict[str, Any] = {}
    for key, value in body.items():
        path = f"{prefix}{key}"
        if path in known:
            continue
        if isinstance(value, Mapping) and value and any(k.startswith(path + ".") for k in known):
            out.update(leftovers(value, known, path + "."))
        else:
            out[path] = value
    return out
