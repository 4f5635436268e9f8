"""Typed partial objects and patch operations, built from parser events in O(1) per change.

The builder keeps one frame per open JSON value (mirroring the parser's stack). A value that
closes is validated once by its plan node; its validated form is stored in the parent frame
and reused by every later snapshot. A snapshot only rebuilds the objects along the open path
(the innermost value and its ancestors), so its cost does not grow with what is complete.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..events import ItemEvent, PatchOp
from ..jsonstream.events import JsonEvent, Path, PathItem, StringDelta, ValueEnd, ValueStart
from ..schema.plan import ANY, ModelNode, Node, NullableNode, UnionNode, WrapperNode

OMIT: Any = object()  # "nothing to show yet" (a number still being written, a hidden string)


def _escape(part: PathItem) -> str:
    if isinstance(part, int):
        return str(part)
    return part.replace("~", "~0").replace("/", "~1")


class _Frame:
    __slots__ = ("node", "path", "loc", "pointer", "kind")

    def __init__(self, node: Node, path: Path, loc: Path, pointer: str | None, kind: str) -> None:
        self.node = node
        self.path = path
        self.loc = loc
        self.pointer = pointer  # None: not part of the user's value (the wrapper object)
        self.kind = kind

    def display(self, open_child: Any) -> Any:
        return OMIT


class _StringFrame(_Frame):
    __slots__ = ("pieces", "length", "_text")

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.pieces: list[str] = []
        self.length = 0
        self._text: str | None = ""

    def grow(self, text: str) -> None:
        self.pieces.append(text)
        self.length += len(text)
        self._text = None

    def text(self) -> str:
        text = self._text
        if text is None:
            text = self._text = "".join(self.pieces)
            self.pieces = [text]
        return text

    def display(self, open_child: Any) -> Any:
        return self.text() if self.node.shows_partial_string else OMIT


class _ContainerFrame(_Frame):
    """An object or array. ``structured`` when its node builds this container itself."""

    __slots__ = ("structured", "validated", "handoff", "open_key")

    def __init__(self, node: Node, path: Path, loc: Path, pointer: str | None, kind: str) -> None:
        super().__init__(node, path, loc, pointer, kind)
        self.structured = node.container_kind() == kind
        self.validated: Any = {} if kind == "object" else []
        self.handoff: Any = {} if kind == "object" else []
        self.open_key: PathItem | None = None

    def child_node(self, key: PathItem) -> Node:
        return self.node.child(key) if self.structured else ANY

    def add(self, key: PathItem, validated: Any, handoff: Any) -> None:
        if self.kind == "object":
            self.validated[key] = validated
            self.handoff[key] = handoff
        else:
            self.validated.append(validated)
            self.handoff.append(handoff)
        self.open_key = None

    def display(self, open_child: Any) -> Any:
        node = self.node
        if self.kind == "array":
            items = list(self.validated)
            if open_child is not OMIT:
                items.append(open_child)
            return items
        if self.structured and isinstance(node, ModelNode) and not isinstance(node, WrapperNode):
            fields = node.fields
            values: dict[str, Any] = {}
            done = []
            for key, value in self.validated.items():
                entry = fields.get(key)
                if entry is not None:
                    values[entry[0]] = value
                    done.append(entry[0])
            if open_child is not OMIT and self.open_key in fields:
                values[fields[self.open_key][0]] = open_child  # type: ignore[index]
            return node.partial_model.build(values, frozenset(done))
        out = dict(self.validated)
        if open_child is not OMIT:
            out[self.open_key] = open_child
        if isinstance(node, UnionNode):
            branch = node.branch(self.validated)
            if branch is not None:  # a discriminated union member: show it typed
                fields = branch.fields
                typed = {fields[k][0]: v for k, v in out.items() if k in fields}
                complete = frozenset(fields[k][0] for k in self.validated if k in fields)
                return branch.partial_model.build(typed, complete)
        return out


@dataclass
class BuildResult:
    """What one batch of parser events changed."""

    ops: list[PatchOp] = field(default_factory=list)
    items: list[ItemEvent] = field(default_factory=list)
    completed: int = 0  # values completed below the root (field-level granularity)
    root_children_completed: int = 0  # direct children of the user's root value


class PartialBuilder:
    """Consumes parser events; keeps validated values and produces snapshots and patch ops."""

    def __init__(self, plan: Node, wrapper_key: str | None) -> None:
        self.plan = plan
        self.wrapper_key = wrapper_key
        self._prefix = 1 if wrapper_key else 0  # path items that belong to the wrapper
        self.stack: list[_Frame] = []
        self.done = False
        self.final: Any = None
        self.final_handoff: Any = None
        self.completed_items: list[Any] = []
        self._root_node = (
            plan.fields[wrapper_key][1] if isinstance(plan, WrapperNode) and wrapper_key else plan
        )
        self._root_is_list = self._root_node.container_kind() == "array"
        self.state_items = 0  # root list entries present in the patch state (for budgets)

    # --- events -------------------------------------------------------------------------
    def apply(self, events: list[JsonEvent]) -> BuildResult:
        result = BuildResult()
        for ev in events:
            if isinstance(ev, StringDelta):
                self._on_delta(ev, result)
            elif isinstance(ev, ValueStart):
                self._on_start(ev, result)
            elif isinstance(ev, ValueEnd):
                self._on_end(ev, result)
        return result

    def _user_loc(self, path: Path) -> Path:
        if self._prefix and path and path[0] == self.wrapper_key:
            return path[1:]
        return path

    def _on_start(self, ev: ValueStart, result: BuildResult) -> None:
        path = ev.path
        if self.stack:
            parent = self.stack[-1]
            key = path[-1]
            node = parent.child_node(key) if isinstance(parent, _ContainerFrame) else ANY
            if isinstance(parent, _ContainerFrame):
                if parent.structured:
                    parent.node.check_child(key, self._user_loc(path))
                parent.open_key = key
            pointer: str | None = (
                "" if parent.pointer is None else parent.pointer + "/" + _escape(key)
            )
        else:
            node = self.plan
            pointer = None if self._prefix else ""
        if isinstance(node, NullableNode):
            node = node.inner if ev.kind != "literal" else node
        loc = self._user_loc(path)
        n_ops = len(result.ops)
        if ev.kind in ("object", "array"):
            frame: _Frame = _ContainerFrame(node, path, loc, pointer, ev.kind)
            if pointer is not None:
                result.ops.append(
                    {"op": "add", "path": pointer, "value": {} if ev.kind == "object" else []}
                )
        elif ev.kind == "string":
            frame = _StringFrame(node, path, loc, pointer, ev.kind)
            if pointer is not None and node.shows_partial_string:
                result.ops.append({"op": "add", "path": pointer, "value": ""})
        else:
            frame = _Frame(node, path, loc, pointer, ev.kind)
        if len(result.ops) > n_ops and len(loc) == 1 and self._root_is_list:
            self.state_items += 1
        self.stack.append(frame)

    def _on_delta(self, ev: StringDelta, result: BuildResult) -> None:
        frame = self.stack[-1]
        assert isinstance(frame, _StringFrame)
        frame.grow(ev.text)
        node = frame.node
        if node.shows_partial_string and frame.pointer is not None:
            result.ops.append({"op": "append", "path": frame.pointer, "value": ev.text})
        if node is not ANY:
            node.check_string(frame.length, frame.text, frame.loc)

    def _on_end(self, ev: ValueEnd, result: BuildResult) -> None:
        frame = self.stack.pop()
        node = frame.node
        if isinstance(frame, _ContainerFrame):
            if frame.structured:
                validated, handoff = node.complete((frame.validated, frame.handoff), frame.loc)
            else:
                validated, handoff = node.complete(ev.value, frame.loc)
            if (
                frame.pointer is not None
                and isinstance(node, ModelNode)
                and not isinstance(node, WrapperNode)
            ):
                dumped = validated.model_dump(mode="json", by_alias=True)
                if dumped != ev.value:
                    result.ops.append({"op": "replace", "path": frame.pointer, "value": dumped})
        else:
            validated, handoff = node.complete(ev.value, frame.loc)
            if frame.pointer is not None and not (
                frame.kind == "string" and node.shows_partial_string
            ):
                result.ops.append({"op": "add", "path": frame.pointer, "value": ev.value})
                if len(frame.loc) == 1 and self._root_is_list:
                    self.state_items += 1
        if self.stack:
            parent = self.stack[-1]
            assert isinstance(parent, _ContainerFrame)
            parent.add(ev.path[-1], validated, handoff)
            depth = len(frame.loc)
            if frame.pointer is not None:
                result.completed += 1
                if depth == 1:
                    result.root_children_completed += 1
                    if self._root_is_list:
                        self.completed_items.append(validated)
                        result.items.append(
                            ItemEvent(
                                index=len(self.completed_items) - 1,
                                item=validated,
                                pointer=frame.pointer,
                            )
                        )
        else:
            self.done = True
            self.final = validated
            self.final_handoff = handoff

    # --- snapshots ----------------------------------------------------------------------
    def snapshot(self) -> Any:
        """The current partial value of the user's type (``None`` before anything arrived)."""
        if self.done:
            return self.final
        shown: Any = OMIT
        for frame in reversed(self.stack):
            if frame.pointer is None:  # the wrapper: its open child is the user's root
                if isinstance(frame, _ContainerFrame) and self.wrapper_key in frame.validated:
                    return frame.validated[self.wrapper_key]
                break
            shown = frame.display(shown)
        return None if shown is OMIT else shown
