"""Typed partial objects and patch operations, built from parser events in O(1) per change.

The builder keeps one frame per open JSON value (mirroring the parser's stack). A value that
closes is validated once by its plan node; its validated form is stored in the parent frame
and reused by every later snapshot. A snapshot only rebuilds the objects along the open path
(the innermost value and its ancestors), so its cost does not grow with what is complete.

What is shown is decided here, once, for snapshots and patch ops alike: a frame is *shown*
unless a display policy hides it (``Done`` until complete, ``NotNull`` until its fields have
values) or it is a union not yet narrowed to one member. A frame is *in the state* when the
client's JSON state (built from the ops) holds it; a hidden frame that becomes shown is
added whole, with everything below it that is shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pydantic_core
from pydantic import BaseModel, TypeAdapter

from ..errors import StreamValidationError
from ..events import ItemEvent, PatchOp
from ..jsonstream.events import JsonEvent, Path, PathItem, StringDelta, ValueEnd, ValueStart
from ..jsonstream.text import BLOCK, TextBuffer
from ..patch import escape_token
from ..policies import FieldState
from ..schema.plan import (
    ANY,
    UNBUILT,
    ListNode,
    ModelNode,
    Node,
    NullableNode,
    UnionNode,
    WrapperNode,
    has_key,
    has_states,
    kind_error,
    relabel,
    with_states,
)
from .models import partial_model

OMIT: Any = object()  # "nothing to show yet" (a number still being written, a hidden value)
_UNKEPT: Any = object()  # a closed container's raw JSON that nothing needed


def _plain(response_model: Any, value: Any) -> Any:
    """A value of the response type as JSON (by alias), as the client's state holds it."""
    return TypeAdapter(response_model).dump_python(value, mode="json", by_alias=True)


def _holds(value: Any, path: Path) -> bool:
    """Whether a closed value (as handed on: raw JSON, or validated where models are) has
    something at ``path`` in its JSON (model fields by key, as they arrived)."""
    for part in path:
        if isinstance(value, BaseModel):
            found = _field_by_key(value, part)
            if found is _UNKEPT:
                return False
            value = found
        elif isinstance(value, dict):
            if part not in value:
                return False
            value = value[part]
        elif isinstance(value, (list, tuple)) and isinstance(part, int) and 0 <= part < len(value):
            value = value[part]
        else:
            return False
    return True


def _field_by_key(obj: BaseModel, key: PathItem) -> Any:
    """The value of the field that arrived under JSON ``key`` in ``obj`` (``_UNKEPT``: none)."""
    if not isinstance(key, str):
        return _UNKEPT
    for name, info in type(obj).model_fields.items():
        alias = info.validation_alias if isinstance(info.validation_alias, str) else info.alias
        if key in (alias or name, name) and name in obj.model_fields_set:
            return getattr(obj, name)
    extra = obj.__pydantic_extra__ or {}
    return extra.get(key, _UNKEPT)


def _started(value: Any) -> bool:
    """A ``NotNull`` string field counts once it has a character."""
    return isinstance(value, str) and value != ""


def _resolve(node: Node, kind: Any, loc: Path) -> tuple[Node, list[Node] | None]:
    """The node for a value of ``kind`` starting at ``node``: an optional's inner type, a
    union's only possible member; or the union with the members it may still be."""
    while True:
        if isinstance(node, NullableNode):
            if kind == "literal":
                return node, None
            node = node.inner
            continue
        if isinstance(node, UnionNode):
            members = node.for_kind(kind)
            if not members:
                raise kind_error(node, kind, loc)
            if len(members) == 1 and members[0] is not node:
                node = members[0]
                continue
            return node, (members if kind == "object" else None)
        node.check_kind(kind, loc)
        return node, None


class _Frame:
    __slots__ = ("node", "path", "loc", "pointer", "kind", "in_state", "state_pointer")

    def __init__(self, node: Node, path: Path, loc: Path, pointer: str | None, kind: str) -> None:
        self.node = node
        self.path = path
        self.loc = loc
        self.pointer = pointer  # None: not part of the user's value (the wrapper object)
        self.kind = kind
        self.in_state = False  # the client's JSON state holds this value
        self.state_pointer: str | None = None  # a WithState field's {"value", "state"} pair

    def shown(self, open_frame: _Frame | None) -> bool:
        """Whether this open value may appear in a partial (its policies allow it)."""
        return not self.node.policy.done

    def displays_open(self) -> bool:
        """Whether the open value's state has something to show (a number does not)."""
        return False

    def display(self, open_child: Any, open_frame: _Frame | None) -> Any:
        return OMIT


class _StringFrame(_Frame):
    """An open string: the one place its text is kept (the parser keeps none)."""

    __slots__ = ("buffer", "length", "text")

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.buffer = TextBuffer()
        self.length = 0
        self.text = self.buffer.text  # the text so far (joined once, cached until it grows)

    def displays_open(self) -> bool:
        return self.node.shows_partial_string

    def display(self, open_child: Any, open_frame: _Frame | None) -> Any:
        node = self.node
        if node.shows_partial_string and not node.policy.done:
            return self.text()
        return OMIT


class _ContainerFrame(_Frame):
    """An object or array. ``structured`` when its node builds this container itself;
    ``candidates`` while it is an object of a union not yet narrowed to one member."""

    __slots__ = (
        "structured",
        "validated",
        "handoff",
        "open_key",
        "candidates",
        "union_errors",
        "final",
        "withheld",
        "built_keys",
        "model_fields",
        "gated",
        "partial_cls",
        "deep",
        "raw",
    )

    def __init__(self, node: Node, path: Path, loc: Path, pointer: str | None, kind: str) -> None:
        super().__init__(node, path, loc, pointer, kind)
        self.structured = node.container_kind() == kind
        self.validated: Any = {} if kind == "object" else []
        self.handoff: Any = {} if kind == "object" else []
        self.open_key: PathItem | None = None
        self.candidates: list[Node] | None = None
        self.union_errors: list[dict[str, Any]] = []
        self.final: dict[str, Any] = {}  # a model's fields validated for good: name -> value
        self.withheld = False  # a Done field waits for its model: the state lacks it
        self.built_keys: set[PathItem] = set()  # fields whose value its node built (validated)
        #: its whole raw JSON is needed (by a model validator that sees the input, a field
        #: validator that may, a custom serialiser's dump compared with it, WithState
        #: fields); a model whose completion may need its input keeps one level of it
        self.deep = False
        #: its raw JSON as far as needed, where ``handoff`` is not it (None: not needed)
        self.raw: Any = None
        self.retype(node)

    def retype(self, node: Node, candidates: list[Node] | None = None) -> None:
        """Set the node (a union narrows to a member) and what follows from it."""
        self.node = node
        self.candidates = candidates
        self.structured = node.container_kind() == self.kind
        #: a user model being built field by field
        self.model_fields = self.structured and isinstance(node, ModelNode)
        self.partial_cls = partial_model(node.model) if self.model_fields else None  # type: ignore[attr-defined]
        #: whether a policy or an undecided union may hide it (else it is always shown)
        self.gated = (
            node.policy.done
            or candidates is not None
            or (self.model_fields and bool(node.not_null))  # type: ignore[attr-defined]
        )

    def built(self, raw: Any) -> Any:
        """What the node's ``complete`` receives for a container it built."""
        if self.model_fields:
            return (self.validated, self.handoff, self.final, self.built_keys, raw)
        return (self.validated, self.handoff)

    def child_node(self, key: PathItem) -> Node:
        if self.structured:
            return self.node.child(key)
        node = self.node
        if self.candidates is not None and isinstance(node, UnionNode) and key == node.tag_key:
            return node.tag_node
        return ANY

    def add(self, key: PathItem, validated: Any, handoff: Any) -> None:
        if self.kind == "object":
            self.validated[key] = validated
            self.handoff[key] = handoff
        else:
            self.validated.append(validated)
            self.handoff.append(handoff)
        self.open_key = None

    def displays_open(self) -> bool:
        return True

    def shown(self, open_frame: _Frame | None) -> bool:
        if not self.gated:
            return True
        node = self.node
        if node.policy.done or self.candidates is not None:
            return False
        if self.model_fields and isinstance(node, ModelNode):
            for keys in node.not_null:
                if any(
                    k in self.validated
                    and (node.fields[k][0] in self.final or _started(self.validated[k]))
                    for k in keys
                ):
                    continue
                if (
                    isinstance(open_frame, _StringFrame)
                    and self.open_key in keys
                    and open_frame.length > 0
                    and open_frame.node.shows_partial_string
                    and open_frame.shown(None)
                ):
                    continue  # a string field has a value once it has a character
                return False
        return True

    def display(self, open_child: Any, open_frame: _Frame | None) -> Any:
        if self.gated and not self.shown(open_frame):
            return OMIT
        node = self.node
        if self.kind == "array":
            items = list(self.validated)
            if open_child is not OMIT:
                items.append(open_child)
            return items
        if self.model_fields:
            assert isinstance(node, ModelNode)
            fields = node.fields
            values: dict[str, Any] = {}
            final = self.final
            held = node.done_names  # Done fields show only once final
            for key, value in self.validated.items():
                entry = fields.get(key)
                if entry is not None and (not held or entry[0] in final or entry[0] not in held):
                    values[entry[0]] = value
            open_entry = fields.get(self.open_key)  # type: ignore[arg-type]  # object keys: str
            if open_child is not OMIT and open_entry is not None:
                values[open_entry[0]] = open_child
            assert self.partial_cls is not None
            return self.partial_cls.build(
                values, frozenset(final), open_entry[0] if open_entry and open_frame else None
            )
        out = dict(self.validated)
        if open_child is not OMIT:
            out[self.open_key] = open_child
        return out


@dataclass
class BuildResult:
    """What one batch of parser events changed."""

    ops: list[PatchOp] = field(default_factory=list)
    items: list[ItemEvent] = field(default_factory=list)
    completed: int = 0  # shown values completed below the root (field-level granularity)
    root_children_completed: int = 0  # direct children of the user's root value


class PartialBuilder:
    """Consumes parser events; keeps validated values and produces snapshots and patch ops."""

    def __init__(self, plan: Node, wrapper_key: str | None, context: Any = None) -> None:
        self.plan = plan
        self.context = context  # pydantic's validation context, for every validator
        self.wrapper_key = wrapper_key
        self._prefix = 1 if wrapper_key else 0  # path items that belong to the wrapper
        self.stack: list[_Frame] = []
        self.done = False
        self.final: Any = None
        self.final_handoff: Any = None
        self.completed_items: list[Any] = []
        self.root_node = plan.inner if isinstance(plan, WrapperNode) else plan
        self._root_is_list = self.root_node.container_kind() == "array"
        self.state_items = 0  # root list entries present in the patch state (for budgets)
        self.has_states = has_states(plan)  # WithState fields wrap values in the JSON state
        self.open_length = 0  # characters of the string being written (for snapshot pacing)

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

    def _json(self, node: Node, handoff: Any) -> Any:
        """A completed value as the JSON state holds it (models dumped by alias)."""
        data = pydantic_core.to_jsonable_python(handoff, by_alias=True)
        return with_states(node, data) if self.has_states else data

    def _set_state(self, frame: _Frame, state: str, result: BuildResult) -> None:
        if frame.state_pointer is not None:
            path = frame.state_pointer + "/state"
            result.ops.append({"op": "replace", "path": path, "value": state})

    def _add(self, frame: _Frame, value: Any, result: BuildResult) -> None:
        """Put ``frame``'s value into the client's state."""
        frame.in_state = True
        if frame.pointer is None:
            return
        result.ops.append({"op": "add", "path": frame.pointer, "value": value})
        if len(frame.loc) == 1 and self._root_is_list:
            self.state_items += 1

    def _empty(self, frame: _Frame) -> Any:
        """The JSON state of a value that just started."""
        if frame.kind == "string":
            return ""
        if frame.kind == "array":
            return []
        node = frame.node
        if self.has_states and isinstance(node, ModelNode) and isinstance(frame, _ContainerFrame):
            return {k: dict(v) for k, v in node.pending_states.items()} if frame.structured else {}
        return {}

    def _parent_in_state(self, index: int) -> bool:
        """Whether the parent of the frame at ``index`` is in the state (the root's is)."""
        return index == 0 or self.stack[index - 1].in_state

    def _on_start(self, ev: ValueStart, result: BuildResult) -> None:
        path = ev.path
        loc = self._user_loc(path)
        if self.stack:
            parent = self.stack[-1]
            key = path[-1]
            if isinstance(parent, _ContainerFrame):
                if parent.candidates is not None:
                    self._narrow_by_key(parent, key, loc)
                    if not parent.in_state:
                        self._reveal(len(self.stack) - 1, result)
                if parent.structured:
                    parent.node.check_child(key, loc)
                parent.open_key = key
                node = parent.child_node(key)
            else:
                node = ANY
            pointer: str | None = (
                "" if parent.pointer is None else parent.pointer + "/" + escape_token(key)
            )
            if (
                node.policy.with_state
                and pointer
                and isinstance(parent, _ContainerFrame)
                and parent.structured
                and isinstance(parent.node, ModelNode)
            ):
                state_pointer, pointer = pointer, f"{pointer}/value"
                if parent.in_state:
                    result.ops.append(
                        {"op": "replace", "path": state_pointer + "/state", "value": "streaming"}
                    )
            else:
                state_pointer = None
        else:
            node = self.plan
            pointer = None if self._prefix else ""
            state_pointer = None
        node, candidates = _resolve(node, ev.kind, loc)
        frame: _Frame
        if ev.kind in ("object", "array"):
            frame = _ContainerFrame(node, path, loc, pointer, ev.kind)
            if candidates is not None:
                frame.retype(node, candidates)
            frame.deep = self.has_states or (
                bool(self.stack) and self._needs_raw(self.stack[-1], path[-1])
            )
            if frame.structured and (frame.deep or self._keeps_raw(frame)):
                frame.raw = {} if ev.kind == "object" else []
        elif ev.kind == "string":
            frame = _StringFrame(node, path, loc, pointer, ev.kind)
        else:
            frame = _Frame(node, path, loc, pointer, ev.kind)
        frame.state_pointer = state_pointer
        self.stack.append(frame)
        if frame.pointer is None:
            frame.in_state = True  # the wrapper: its child, the user's root, may be added
        elif (
            self._parent_in_state(len(self.stack) - 1)
            and frame.displays_open()
            and frame.shown(None)
        ):
            self._add(frame, self._empty(frame), result)

    def _on_delta(self, ev: StringDelta, result: BuildResult) -> None:
        stack = self.stack
        frame = stack[-1]
        assert isinstance(frame, _StringFrame)
        pieces = frame.buffer.pieces  # TextBuffer.append, inline: this runs for every delta
        pieces.append(ev.text)
        if len(pieces) >= BLOCK:
            frame.buffer.compact()
        frame.length += len(ev.text)
        self.open_length = frame.length
        if frame.in_state:
            result.ops.append({"op": "append", "path": frame.pointer, "value": ev.text})
            node = frame.node
            if node is not ANY:
                node.check_string(frame.length, frame.text, frame.loc)
                if node.policy.checks:
                    node.run_checks(frame.text(), frame.loc)
            return  # its parent is in the state and decided: nothing else can change
        node = frame.node
        if node is not ANY:
            node.check_string(frame.length, frame.text, frame.loc)
            if node.policy.checks:
                node.run_checks(frame.text(), frame.loc)
        if len(stack) > 1:
            parent = stack[-2]
            assert isinstance(parent, _ContainerFrame)
            if parent.candidates is not None:
                self._narrow_by_prefix(parent, frame)
            if not parent.in_state:
                self._reveal(len(stack) - 2, result)

    @staticmethod
    def _keeps_raw(frame: _ContainerFrame) -> bool:
        """Whether a model's frame keeps its raw JSON (one level; the rest where needed);
        otherwise ``handoff`` stands for it (the same keys, raw leaves)."""
        node = frame.node
        return (
            frame.model_fields
            and isinstance(node, ModelNode)
            and (node.needs_input or bool(node.input_keys))
        )

    @staticmethod
    def _needs_raw(parent: _Frame, key: PathItem) -> bool:
        """Whether the whole raw JSON of ``parent``'s child at ``key`` is needed."""
        if not isinstance(parent, _ContainerFrame):
            return False
        if parent.deep:
            return True
        node = parent.node
        if not parent.model_fields or not isinstance(node, ModelNode):
            return False
        return node.needs_input or key in node.input_keys

    def _on_end(self, ev: ValueEnd, result: BuildResult) -> None:
        frame = self.stack.pop()
        raw: Any  # the value's raw JSON (the parser builds none)
        if isinstance(frame, _StringFrame):
            raw = frame.text()
        elif isinstance(frame, _ContainerFrame):
            if frame.raw is not None:
                raw = frame.raw
            elif not frame.structured or frame.model_fields:
                # what its children handed on: their raw JSON where nothing built them, and
                # the keys as they arrived (all a model that keeps no raw JSON reads of it)
                raw = frame.handoff
            else:
                raw = _UNKEPT
        else:
            raw = ev.value
        self.open_length = 0
        node = frame.node
        parent = self.stack[-1] if self.stack else None
        assert parent is None or isinstance(parent, _ContainerFrame)
        key = ev.path[-1] if parent is not None else None
        in_model = parent is not None and parent.model_fields
        frame_is_model = isinstance(frame, _ContainerFrame) and frame.model_fields
        if isinstance(frame, _ContainerFrame) and frame.structured:
            validated, handoff = node.complete(frame.built(raw), frame.loc, self.context)
        elif in_model:  # a field's JSON value its node did not build: its model validates it
            validated, handoff = UNBUILT, raw
        else:
            validated, handoff = node.complete(raw, frame.loc, self.context)
        final = True
        built = validated
        if in_model:
            assert parent is not None and key is not None
            assert isinstance(parent.node, ModelNode)
            validated, final = parent.node.finish_field(
                parent.final, key, raw, validated, frame.loc, self.context
            )
        if node.policy.checks:
            node.run_checks(validated, frame.loc)
        shown = self._parent_in_state(len(self.stack))  # the frame's index before the pop
        if frame.pointer is not None and shown:
            if not final and node.policy.done:  # not final yet: its model will add it
                assert parent is not None
                parent.withheld = True
            elif not frame.in_state:  # a leaf, or a value hidden until now: add it whole
                if isinstance(frame, _ContainerFrame):
                    whole = self._json(node, handoff)
                elif in_model and final:  # validated for good: its JSON form
                    whole = self._json(node, validated)
                else:
                    whole = raw
                self._add(frame, whole, result)
            elif frame_is_model:
                assert isinstance(frame, _ContainerFrame) and isinstance(node, ModelNode)
                self._reconcile(frame, node, handoff, raw, result)
            elif in_model and final and validated is not built:
                # its validators made something else of it: the state shows what is final
                dumped = self._json(node, validated)
                if dumped != (raw if built is UNBUILT else self._json(node, built)):
                    result.ops.append({"op": "replace", "path": frame.pointer, "value": dumped})
            if final:
                self._set_state(frame, "done", result)
        if parent is None:
            self.done = True
            self.final = validated
            self.final_handoff = handoff
            return
        assert key is not None
        parent.add(key, validated, handoff)
        if parent.raw is not None:  # one level of raw JSON (keys, leaves), or all of it
            kept = handoff if raw is _UNKEPT else raw
            if parent.kind == "object":
                parent.raw[key] = kept
            else:
                parent.raw.append(kept)
        if final and in_model:
            parent.final[parent.node.fields[key][0]] = validated  # type: ignore[attr-defined]
        if in_model and built is not UNBUILT:
            parent.built_keys.add(key)
        if parent.node.policy.checks and parent.structured and parent.kind == "array":
            parent.node.run_checks(list(parent.validated), parent.loc)
        if frame.pointer is not None and shown:
            result.completed += 1
            if len(frame.loc) == 1:
                result.root_children_completed += 1
        if frame.pointer is not None and len(frame.loc) == 1 and self._root_is_list:
            self.completed_items.append(validated)
            result.items.append(
                ItemEvent(
                    index=len(self.completed_items) - 1, item=validated, pointer=frame.pointer
                )
            )
        if parent.candidates is not None and not isinstance(frame, _ContainerFrame):
            self._narrow_by_value(parent, key, raw)
        if not parent.in_state:
            self._reveal(len(self.stack) - 1, result)

    def _reconcile(
        self, frame: _ContainerFrame, node: ModelNode, instance: Any, raw: Any, result: BuildResult
    ) -> None:
        """A model closed: make its JSON state pydantic's JSON form of the validated instance
        (defaults, ignored extras, computed fields, values its validators changed).

        Field by field, without dumping the models below it (each did this when it closed):
        a whole dump per model would cost the depth of the tree, and pydantic refuses to
        serialise deeper than 255 levels. Models with custom serialisers, WithState fields or
        a withheld field take the whole dump."""
        pointer = frame.pointer
        assert pointer is not None
        if self.has_states or frame.withheld or not node.plain_dump:
            dumped = self._json(node, instance)
            held = with_states(node, raw) if self.has_states else raw
            if dumped != held or frame.withheld:
                result.ops.append({"op": "replace", "path": pointer, "value": dumped})
            return
        ops = result.ops
        seen = set()
        for plan in node.plans.values():
            key = plan.key
            seen.add(key)
            value = getattr(instance, plan.name)
            here = f"{pointer}/{escape_token(key)}"
            received = next((k for k in node.keys_of(plan.name) if k in raw), None)
            if received is None:  # a default: not in the document
                ops.append({"op": "add", "path": here, "value": self._json(plan.node, value)})
                continue
            if received != key:  # read by name, dumped by alias
                ops.append({"op": "remove", "path": f"{pointer}/{escape_token(received)}"})
                ops.append({"op": "add", "path": here, "value": self._json(plan.node, value)})
                continue
            shown = frame.validated.get(key, OMIT)
            if key in frame.built_keys:
                if value is not shown:  # a model validator replaced it
                    ops.append(
                        {"op": "replace", "path": here, "value": self._json(plan.node, value)}
                    )
                continue
            state = self._json(plan.node, shown) if plan.name in frame.final else raw[key]
            dumped = self._json(plan.node, value)
            if dumped != state:
                ops.append({"op": "replace", "path": here, "value": dumped})
        extra = instance.__pydantic_extra__ or {}
        for key in raw:
            if key not in seen and key not in extra and key not in node.fields:
                ops.append({"op": "remove", "path": f"{pointer}/{escape_token(key)}"})
        for name in type(instance).model_computed_fields:
            value = self._json(ANY, getattr(instance, name))
            ops.append({"op": "add", "path": f"{pointer}/{escape_token(name)}", "value": value})

    # --- unions -------------------------------------------------------------------------
    def _narrow_by_key(self, frame: _ContainerFrame, key: PathItem, loc: Path) -> None:
        """A key started in an undecided union object: drop the members that cannot take it,
        and narrow to the one member that has every key so far, if only one does."""
        node = frame.node
        assert isinstance(node, UnionNode) and frame.candidates is not None
        if node.tag_key is not None:
            return  # a discriminated union: only the tag decides
        keep = []
        for member in frame.candidates:
            try:
                member.check_child(key, loc)
                keep.append(member)
            except StreamValidationError as exc:
                frame.union_errors.extend(relabel(exc, frame.loc, member))
        self._settle(frame, keep, [*frame.handoff, key])

    def _narrow_by_prefix(self, frame: _ContainerFrame, child: _StringFrame) -> None:
        """A string in an undecided union object grew: drop the members whose field rejects
        the prefix (a ``Literal`` no longer possible, a ``max_length`` passed)."""
        node = frame.node
        assert isinstance(node, UnionNode) and frame.candidates is not None
        if node.tag_key is not None:
            return
        key = frame.open_key
        assert key is not None
        keep = []
        for member in frame.candidates:
            sub = member.child(key)
            try:
                if sub.accepts_kind("string"):
                    sub.check_string(child.length, child.text, child.loc)
                else:
                    raise kind_error(sub, "string", child.loc)
                keep.append(member)
            except StreamValidationError as exc:
                frame.union_errors.extend(relabel(exc, frame.loc, member))
        if self._settle(frame, keep, [*frame.handoff, key]) and frame.candidates is None:
            child.node, _ = _resolve(frame.child_node(key), "string", child.loc)

    def _narrow_by_value(self, frame: _ContainerFrame, key: PathItem, value: Any) -> None:
        """A scalar completed in an undecided union object: the discriminator names the
        member; otherwise drop the members whose field rejects the value."""
        node = frame.node
        assert isinstance(node, UnionNode) and frame.candidates is not None
        if node.tag_key is not None:
            if key == node.tag_key:
                branch = node.branch(value)
                assert branch is not None  # the tag node validated it
                self._settle(frame, [branch], [])
            return
        keep = []
        for member in frame.candidates:
            try:
                member.child(key).validate_raw(value, (*frame.loc, key), self.context)
                keep.append(member)
            except StreamValidationError as exc:
                frame.union_errors.extend(relabel(exc, frame.loc, member))
        self._settle(frame, keep, list(frame.handoff))

    def _settle(self, frame: _ContainerFrame, keep: list[Node], keys: list[Any]) -> bool:
        """Keep ``keep`` as the candidates; narrow if one is left, or if only one names every
        key seen. Fails fast when none is left. Returns whether the frame narrowed."""
        if not keep:
            raise StreamValidationError(frame.union_errors)
        frame.retype(frame.node, keep)
        named = [m for m in keep if all(has_key(m, k) for k in keys)]
        if len(keep) == 1 or len(named) == 1:
            self._decide(frame, keep[0] if len(keep) == 1 else named[0])
            return True
        return False

    def _decide(self, frame: _ContainerFrame, member: Node) -> None:
        """Narrow a union object to ``member``: validate what already completed through the
        member's fields (each value once; nothing of it was validated before)."""
        if isinstance(member, UnionNode):  # a union inside a union: keep narrowing there
            frame.retype(member, frame.candidates)
            tag = member.tag_key
            if tag is not None and tag in frame.handoff:
                branch = member.branch(frame.handoff[tag])
                if branch is None:
                    raise kind_error(member, "object", frame.loc)
                self._decide(frame, branch)
            else:
                self._settle(frame, member.for_kind("object"), list(frame.handoff))
            return
        frame.retype(member)
        if not frame.structured:
            return
        if frame.deep or self._keeps_raw(frame):
            frame.raw = dict(frame.handoff)  # raw so far: nothing was built below it yet
        for key, raw in list(frame.handoff.items()):
            loc = (*frame.loc, key)
            member.check_child(key, loc)
            node = member.child(key)
            built: Any = UNBUILT
            if node.container_kind() is not None or node.holds_models:
                built = node.validate_raw(raw, loc, self.context)  # whole, validated once
            if frame.model_fields:
                assert isinstance(member, ModelNode)
                value, final = member.finish_field(frame.final, key, raw, built, loc, self.context)
                if final:
                    frame.final[member.fields[key][0]] = value
                if built is not UNBUILT:
                    frame.built_keys.add(key)
            elif built is UNBUILT:
                value = node.complete(raw, loc, self.context)[0]
            else:
                value = built
            frame.validated[key] = value
            frame.handoff[key] = value if node.holds_models else raw

    # --- revealing ----------------------------------------------------------------------
    def _reveal(self, index: int, result: BuildResult) -> None:
        """If the hidden frame at ``index`` may now be shown, add it to the state whole."""
        frame = self.stack[index]
        if frame.in_state or not self._parent_in_state(index):
            return
        open_frame = self.stack[index + 1] if index + 1 < len(self.stack) else None
        if frame.displays_open() and frame.shown(open_frame):
            self._add(frame, self._open_state(index), result)

    def _open_state(self, index: int) -> Any:
        """The JSON state of the open frame at ``index``, marking what it holds as in it."""
        frame = self.stack[index]
        frame.in_state = True
        if isinstance(frame, _StringFrame):
            return frame.text()
        assert isinstance(frame, _ContainerFrame)
        if frame.kind == "array":
            out: Any = [self._json(frame.child_node(i), h) for i, h in enumerate(frame.handoff)]
        else:
            out = self._empty(frame)
            for key, h in frame.handoff.items():
                sub = frame.child_node(key)
                value = self._json(sub, h)
                stated = self.has_states and frame.structured and sub.policy.with_state
                out[key] = {"value": value, "state": "done"} if stated else value
        child = self.stack[index + 1] if index + 1 < len(self.stack) else None
        if child is not None:
            grandchild = self.stack[index + 2] if index + 2 < len(self.stack) else None
            shown = child.displays_open() and child.shown(grandchild)
            value = self._open_state(index + 1) if shown else None
            if child.state_pointer is not None:
                out[frame.open_key] = {"value": value, "state": "streaming"}
            elif not shown:
                pass
            elif frame.kind == "object":
                out[frame.open_key] = value
            else:
                out.append(value)
        return out

    # --- the end ------------------------------------------------------------------------
    def final_ops(self, response_model: Any) -> list[PatchOp]:
        """After the root closed: the ops that make the client's state exactly the final
        value's JSON (``response_model`` dumps it), where the ops so far may differ."""
        value = self.final
        root = self.root_node
        item = root.item if isinstance(root, ListNode) else None
        if self.has_states:  # the final state is the plain result, states unwrapped
            return [{"op": "replace", "path": "", "value": _plain(response_model, value)}]
        if not isinstance(root, ModelNode) and not isinstance(item, ModelNode):
            # leaf coercions outside models (e.g. list[datetime]): make the state exact
            dumped = _plain(response_model, value)
            if dumped != self.final_handoff:
                return [{"op": "replace", "path": "", "value": dumped}]
        return []

    def budget_ops(self, kept: list[Any], response_model: Any) -> list[PatchOp]:
        """A root list stopped at an item budget: the ops that leave only the ``kept`` items
        (validated) in the client's state."""
        ops: list[PatchOp] = [
            {"op": "remove", "path": f"/{i}"} for i in reversed(range(len(kept), self.state_items))
        ]
        if self.has_states:
            ops.append({"op": "replace", "path": "", "value": _plain(response_model, kept)})
        return ops

    # --- snapshots ----------------------------------------------------------------------
    def snapshot(self) -> Any:
        """The current partial value of the user's type (``None`` before anything arrived)."""
        if self.done:
            return self.final
        shown: Any = OMIT
        open_frame: _Frame | None = None
        for frame in reversed(self.stack):
            if frame.pointer is None:  # the wrapper: its open child is the user's root
                if isinstance(frame, _ContainerFrame) and self.wrapper_key in frame.validated:
                    return frame.validated[self.wrapper_key]
                break
            shown = frame.display(shown, open_frame)
            open_frame = frame
        return None if shown is OMIT else shown

    def snapshot_cost(self) -> int:
        """What building a snapshot costs beyond a small one, in characters: the open string
        past 4 KiB, plus 64 per open level past 32."""
        depth = len(self.stack)
        cost = 64 * (depth - 32) if depth > 32 else 0
        if self.open_length > 4096:
            cost += self.open_length - 4096
        return cost

    def is_complete(self, path: Path) -> bool:
        """Whether the value at a wire ``path`` has been read to its end: it is neither the
        open value nor one of its ancestors, and it exists."""
        path = tuple(path)
        if self.done:
            if not self._prefix:
                return _holds(self.final_handoff, path)
            return not path or (
                path[0] == self.wrapper_key and _holds(self.final_handoff, path[1:])
            )
        stack = self.stack
        if not stack or stack[-1].path[: len(path)] == path:
            return False
        frame = stack[0]  # the innermost open container that ``path`` lies in
        for inner in stack[1:]:
            if inner.path != path[: len(inner.path)]:
                break
            frame = inner
        if not isinstance(frame, _ContainerFrame) or frame.path != path[: len(frame.path)]:
            return False
        return _holds(frame.handoff, path[len(frame.path) :])

    def state(self, path: Path) -> FieldState:
        """``"done"``, ``"streaming"`` (started, open) or ``"pending"`` for a wire path."""
        for frame in self.stack:
            if frame.path == path:
                return "streaming"
        return "pending"
