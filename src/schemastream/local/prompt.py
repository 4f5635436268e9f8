"""Prompts for the local model.

The default model (Gemma 3 270M *base*) has no chat template and does not follow
instructions, so it is prompted as a completion: a one-line instruction, a worked example
(a JSON document for the same schema on a different topic, derived from the schema), then the
user's request and the start of the answer. Constrained decoding takes care of the syntax; the
example steers the content. A user-given GGUF with a chat template gets its template instead.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import Any

# message content -> text: one reading for every provider
from ..providers.call import text_of as message_text

#: The worked example's topic (and a second one when the request is about bakeries).
EXAMPLE_TOPIC = "a neighborhood bakery"

_BAKERY: dict[str, list[str]] = {
    "title": ["Fresh Bread Fridays", "Sourdough Class Nights", "Croissant Loyalty Card"],
    "name": ["Morning Crust Bakery", "Golden Loaf", "Rye and Shine"],
    "blurb": [
        "Every Friday the first twenty customers take home a warm loaf for free.",
        "Monthly evening classes where neighbors learn to bake sourdough with our bakers.",
        "Buy nine croissants and the tenth one is on us, stamped on a paper card.",
    ],
    "tagline": ["Baked fresh before sunrise", "Bread worth waking up for", "Warm from our oven"],
    "summary": [
        "A small family bakery that sells bread, pastries and coffee from 6 am.",
        "A cozy shop where every loaf is shaped by hand.",
        "A corner bakery known for its sourdough and cinnamon rolls.",
    ],
    "category": ["promotion", "event", "loyalty"],
    "audience": ["local families", "students", "office workers"],
    "channel": ["Instagram", "flyers", "email newsletter"],
    "city": ["Portland", "Lyon", "Osaka"],
    "author": ["Ana Ruiz", "Tom Becker", "Mei Lin"],
    "tag": ["bread", "local", "pastry"],
    "step": ["Mix flour, water and salt", "Let the dough rise overnight", "Bake at 240 degrees"],
    "question": ["When do you open?", "Do you bake gluten-free bread?", "Can I order a cake?"],
    "answer": ["We open at 6 am every day.", "Yes, on Saturdays.", "Yes, two days ahead."],
    "thing": ["Sourdough loaf", "Cinnamon roll", "Rye bread", "Apple tart"],
    "reason": [
        "Regular visits build a habit.",
        "People share what they learned.",
        "Small rewards bring customers back.",
    ],
}

_BICYCLE: dict[str, list[str]] = {
    "title": ["Free Tune-Up Tuesdays", "Commuter Ride Club", "Flat Tire Workshop"],
    "name": ["Spoke and Chain", "Pedal Point", "Gear Up Cycles"],
    "blurb": [
        "Every Tuesday our mechanics check brakes and gears for free while you wait.",
        "A weekly group ride to work that ends with coffee at the shop.",
        "Hands-on evening lessons on fixing a flat tire in five minutes.",
    ],
    "tagline": ["Keep rolling", "Fixed while you wait", "Ride more, worry less"],
    "summary": [
        "A small shop near the station that sells and repairs city bikes.",
        "A friendly repair shop known for fast fixes.",
        "A bike shop that rents cargo bikes by the hour.",
    ],
    "category": ["service", "community", "education"],
    "audience": ["commuters", "students", "families"],
    "channel": ["local radio", "posters", "Facebook"],
    "tag": ["bikes", "repair", "commute"],
    "step": ["Remove the wheel", "Find the hole in the tube", "Patch and inflate"],
    "question": ["Do you rent bikes?", "How long does a repair take?", "Do you sell helmets?"],
    "answer": ["Yes, by the hour or day.", "Most repairs take an hour.", "Yes, in all sizes."],
    "thing": ["Road bike", "Bike helmet", "Tire pump", "Cargo bike"],
    "reason": [
        "Free checks bring riders into the shop.",
        "Riders who meet weekly become regulars.",
        "Skills build trust in the shop.",
    ],
}

_HOTEL: dict[str, list[str]] = {
    "title": ["Sunset Terrace Dinners", "Kids Stay Free Weekends", "Local Guide Mornings"],
    "name": ["Blue Harbor Hotel", "Sea Breeze Inn", "The Dune House"],
    "blurb": [
        "Guests watch the sunset from the roof terrace with a three-course dinner.",
        "Children under twelve stay free in their parents' room on weekends.",
        "A local guide leads a free morning walk through the old harbor.",
    ],
    "tagline": ["Wake up to the waves", "Your room by the sea", "Rest where the sea starts"],
    "summary": [
        "A quiet hotel of forty rooms right on the beach.",
        "A family-run inn above the old harbor.",
        "A small hotel with sea views from every room.",
    ],
    "category": ["dining", "family", "experience"],
    "audience": ["couples", "families", "retirees"],
    "channel": ["travel blogs", "email newsletter", "Instagram"],
    "tag": ["sea", "holiday", "family"],
    "step": ["Book online", "Pick a room with a view", "Check in after 3 pm"],
    "question": ["Is breakfast included?", "Do you allow pets?", "Is there parking?"],
    "answer": ["Yes, from 7 to 10 am.", "Small dogs are welcome.", "Yes, free for guests."],
    "thing": ["Sea view room", "Beach towel", "Breakfast buffet", "Harbor tour"],
    "reason": [
        "Sunsets make memorable evenings.",
        "Families fill weekend rooms.",
        "Guests love local stories.",
    ],
}

_COMMON: dict[str, list[str]] = {
    "city": ["Portland", "Lyon", "Osaka"],
    "country": ["Canada", "France", "Japan"],
    "author": ["Ana Ruiz", "Tom Becker", "Mei Lin"],
    "color": ["green", "blue", "red"],
    "language": ["English", "French", "Japanese"],
}

#: Worked-example topics: (topic, strings by field name, words that make it too close to a request).
TOPICS: list[tuple[str, dict[str, list[str]], str]] = [
    ("a neighborhood bakery", _BAKERY, r"bak|bread|pastr|cake|cafe|coffee"),
    ("a city bicycle shop", _BICYCLE, r"bike|bicycl|cycl|repair"),
    ("a seaside hotel", _HOTEL, r"hotel|travel|beach|sea\b|holiday|vacation"),
]

_SYNONYMS = {
    "description": "blurb",
    "details": "blurb",
    "text": "blurb",
    "content": "blurb",
    "body": "blurb",
    "pitch": "blurb",
    "idea": "blurb",
    "explanation": "reason",
    "rationale": "reason",
    "why": "reason",
    "headline": "title",
    "subject": "title",
    "label": "title",
    "heading": "title",
    "slogan": "tagline",
    "motto": "tagline",
    "overview": "summary",
    "abstract": "summary",
    "type": "category",
    "kind": "category",
    "genre": "category",
    "target": "audience",
    "target_audience": "audience",
    "platform": "channel",
    "location": "city",
    "place": "city",
    "owner": "author",
    "person": "author",
    "tags": "tag",
    "keyword": "tag",
    "keywords": "tag",
    "instruction": "step",
    "steps": "step",
}


def _words(name: str) -> str:
    text = re.sub(r"([a-z])([A-Z])", r"\1 \2", name).replace("_", " ").replace("-", " ")
    return text.strip().lower() or "value"


def _fit(text: str, schema: dict[str, Any]) -> str:
    max_len = schema.get("maxLength")
    if isinstance(max_len, int) and len(text) > max_len:
        cut = text[:max_len]
        if " " in cut[: max_len - 1] and max_len > 12:
            cut = cut[: cut.rstrip().rfind(" ")]
        text = cut.rstrip(" ,.")[:max_len]
    min_len = schema.get("minLength")
    if isinstance(min_len, int) and len(text) < min_len:
        text = (text + " " + "x" * min_len)[:min_len]
    return text


class _Example:
    def __init__(self, defs: dict[str, Any], bank: dict[str, list[str]], topic: str) -> None:
        self.defs = defs
        self.bank = bank
        self.topic = topic

    def resolve(self, schema: Any) -> dict[str, Any]:
        seen = 0
        while isinstance(schema, dict) and "$ref" in schema and seen < 20:
            ref = str(schema["$ref"])
            target = self.defs.get(ref.rsplit("/", 1)[-1], {})
            extra = {k: v for k, v in schema.items() if k != "$ref"}
            schema = {**target, **extra}
            seen += 1
        return schema if isinstance(schema, dict) else {}

    def string(self, name: str, schema: dict[str, Any], index: int) -> str:
        fmt = schema.get("format")
        if fmt == "date-time":
            return "2024-05-03T09:00:00Z"
        if fmt == "date":
            return "2024-05-03"
        if fmt == "time":
            return "09:00:00"
        if fmt == "email":
            return "hello@bakery.example"
        if fmt in ("uri", "url"):
            return "https://bakery.example"
        if fmt == "uuid":
            return "123e4567-e89b-12d3-a456-426614174000"
        key = name.lower()
        key = _SYNONYMS.get(key, key)
        singular = key[:-1] if key.endswith("s") else key
        values = (
            self.bank.get(key)
            or self.bank.get(singular)
            or _COMMON.get(key)
            or _COMMON.get(singular)
        )
        if values is None:
            # an unknown field: one of the topic's things ("Sourdough loaf", "Road bike" ...)
            values = self.bank.get("thing") or [f"{_words(name)} {index + 1}"]
        text = values[index % len(values)]
        return _fit(text, schema)

    def value(self, schema: Any, name: str = "value", index: int = 0, depth: int = 0) -> Any:
        schema = self.resolve(schema)
        if depth > 8:
            return None
        if "const" in schema:
            return schema["const"]
        if "enum" in schema and schema["enum"]:
            values = schema["enum"]
            return values[index % len(values)]
        if "default" in schema and schema.get("default") is not None and "type" not in schema:
            return schema["default"]
        for key in ("anyOf", "oneOf"):
            if key in schema:
                options = [self.resolve(o) for o in schema[key]]
                non_null = [o for o in options if o.get("type") != "null"] or options
                return self.value(non_null[0], name, index, depth + 1) if non_null else None
        if "allOf" in schema and schema["allOf"]:
            merged: dict[str, Any] = {}
            for part in schema["allOf"]:
                merged.update(self.resolve(part))
            return self.value(merged, name, index, depth + 1)
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind is None:
            if "properties" in schema:
                kind = "object"
            elif "items" in schema or "prefixItems" in schema:
                kind = "array"
            else:
                kind = "string"
        if kind == "object":
            props = schema.get("properties", {})
            return {key: self.value(sub, key, index, depth + 1) for key, sub in props.items()}
        if kind == "array":
            if "prefixItems" in schema:
                return [
                    self.value(sub, name, i, depth + 1)
                    for i, sub in enumerate(schema["prefixItems"])
                ]
            count = 2
            min_items = schema.get("minItems")
            max_items = schema.get("maxItems")
            if isinstance(min_items, int):
                count = max(count, min_items)
            if isinstance(max_items, int):
                count = min(count, max_items)
            item_name = name[:-1] if name.endswith("s") and len(name) > 3 else name
            items = schema.get("items", {})
            return [self.value(items, item_name, index + i, depth + 1) for i in range(count)]
        if kind == "integer":
            return int(self.number(schema, 3 + index))
        if kind == "number":
            return self.number(schema, 4.5 + index)
        if kind == "boolean":
            return index % 2 == 0
        if kind == "null":
            return None
        return self.string(name, schema, index)

    @staticmethod
    def number(schema: dict[str, Any], preferred: float) -> float:
        low = schema.get("minimum")
        high = schema.get("maximum")
        if isinstance(schema.get("exclusiveMinimum"), (int, float)):
            low = schema["exclusiveMinimum"] + 1
        if isinstance(schema.get("exclusiveMaximum"), (int, float)):
            high = schema["exclusiveMaximum"] - 1
        value = preferred
        if isinstance(low, (int, float)) and value < low:
            value = low
        if isinstance(high, (int, float)) and value > high:
            value = high
        if isinstance(low, (int, float)) and isinstance(high, (int, float)) and low > high:
            value = low
        return value


def example_topics(request: str, n: int = 2) -> list[tuple[str, dict[str, list[str]]]]:
    """``n`` worked-example topics unrelated to ``request``."""
    far = [(t, bank) for t, bank, words in TOPICS if not re.search(words, request, re.I)]
    near = [(t, bank) for t, bank, words in TOPICS if re.search(words, request, re.I)]
    return (far + near)[:n]


def example_document(schema: dict[str, Any], topic: str = EXAMPLE_TOPIC, index: int = 0) -> Any:
    """A plausible document for ``schema`` (the wrapped JSON schema) about ``topic``."""
    bank = next((b for t, b, _ in TOPICS if t == topic), {})
    return _Example(schema.get("$defs", {}) or {}, bank, topic).value(schema, index=index)


def list_root(schema: dict[str, Any]) -> dict[str, Any] | None:
    """The root list's schema of a wrapped list document (``{"items": [...]}``), if any."""
    props = schema.get("properties")
    if isinstance(props, dict) and len(props) == 1 and schema.get("required") == list(props):
        (inner,) = props.values()
        if isinstance(inner, dict) and inner.get("type") == "array":
            return inner
    return None


def _item_noun(schema: dict[str, Any]) -> str:
    root = list_root(schema)
    if root is None:
        return "items"
    items = root.get("items", {})
    title = ""
    if isinstance(items, dict):
        ref = items.get("$ref")
        if isinstance(ref, str):
            title = str(schema.get("$defs", {}).get(ref.rsplit("/", 1)[-1], {}).get("title", ""))
        title = title or str(items.get("title", ""))
    noun = _words(title) if title else "items"
    return noun if noun.endswith("s") else noun + "s"


def requested_count(request: str, schema: dict[str, Any]) -> int | None:
    """The item count a list request asks for ("Generate 3 marketing ideas" -> 3)."""
    if list_root(schema) is None:
        return None
    words = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7}
    words.update({"eight": 8, "nine": 9, "ten": 10, "a dozen": 12})
    pattern = r"\b(\d{1,2}|" + "|".join(words) + r")\s+(?:[\w-]+\s+){0,3}?[\w-]*[a-z]s\b"
    match = re.search(pattern, request, re.I)
    if not match:
        return None
    raw = match.group(1).lower()
    count = int(raw) if raw.isdigit() else words[raw]
    return count if 1 <= count <= 50 else None


def example_request(topic: str, n_items: int | None, noun: str = "items") -> str:
    """The worked example's request.

    It does not depend on the user's request, so the prompt up to the user's request is the same
    for every call with the same schema, and llama.cpp's KV cache reuses it (time to first
    token is then the request's few tokens, not the whole prompt).
    """
    if n_items is not None:
        return f"Give {n_items} {noun} for {topic}."
    return f"Describe {topic}."


def split_messages(messages: Sequence[dict[str, Any]]) -> tuple[str, str]:
    """(system instructions, conversation text) from chat messages."""
    system: list[str] = []
    conversation: list[str] = []
    for message in messages:
        role = message.get("role", "user")
        text = message_text(message.get("content"))
        if not text:
            continue
        if role in ("system", "developer"):
            system.append(text)
        elif role == "assistant":
            conversation.append(f"(previous answer) {text}")
        else:
            conversation.append(text)
    return "\n".join(system), "\n".join(conversation)


def example_strings(schema: dict[str, Any], request: str) -> list[str]:
    """The string values of the worked examples :func:`completion_prompt` shows."""
    out: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    for i, (topic, _) in enumerate(example_topics(request)):
        walk(example_document(schema, topic, index=i))
    return out


_STOPWORDS = frozenset(
    [
        "that",
        "with",
        "from",
        "this",
        "your",
        "their",
        "they",
        "have",
        "what",
        "when",
        "where",
        "which",
        "there",
        "about",
        "into",
        "more",
        "most",
        "some",
        "each",
        "every",
        "them",
        "then",
        "than",
        "also",
        "just",
        "only",
        "over",
        "under",
        "after",
        "before",
    ]
)


def copy_penalty(
    tokenize: Callable[[str], list[int]],
    piece: Callable[[int], str],
    examples: Sequence[str],
    request: str,
    penalty: float = 3.0,
) -> dict[int, float]:
    """Logit bias against content words of the worked examples (a small base model copies them).

    Tokens of words of four letters or more from the example strings get ``-penalty``, except
    words that also occur in the request and common function words.
    """
    request_words = {w.lower() for w in re.findall(r"[A-Za-z]+", request)}
    bias: dict[int, float] = {}
    for text in examples:
        for token in tokenize(text):
            word = piece(token).strip()
            if (
                len(word) >= 4
                and word.isalpha()
                and word.lower() not in request_words
                and word.lower() not in _STOPWORDS
            ):
                bias[token] = -penalty
    return bias


def completion_prompt(
    schema: dict[str, Any],
    messages: Sequence[dict[str, Any]],
    *,
    feedback: Sequence[str] = (),
) -> str:
    """Completion-style prompt for a base model (no chat template).

    Two worked examples on unrelated topics come first (they depend only on the schema and the
    request's shape, so llama.cpp's prompt cache reuses them), then the request.
    """
    system, request = split_messages(messages)
    request = request.strip() or "Fill in the document."
    noun = _item_noun(schema)
    lines = ["Each request below is answered with one JSON document."]
    if system.strip():
        lines.append(system.strip())
    for i, (topic, _) in enumerate(example_topics(request)):
        example = example_document(schema, topic, index=i)
        n_items = None
        if isinstance(example, dict) and len(example) == 1:
            (only,) = example.values()
            n_items = len(only) if isinstance(only, list) else None
        lines += [
            "",
            f"Request: {example_request(topic, n_items, noun)}",
            "JSON:",
            json.dumps(example, ensure_ascii=False, separators=(",", ":")),
        ]
    lines += ["", f"Request: {request}"]
    for note in feedback:
        lines.append(f"Note: {note}")
    lines.append("JSON:")
    return "\n".join(lines) + "\n"


def chat_messages(
    schema_prompt: str, messages: Sequence[dict[str, Any]], *, feedback: Sequence[str] = ()
) -> list[dict[str, str]]:
    """Messages for a model with a chat template: the schema instruction as a system message."""
    system, _ = split_messages(messages)
    out: list[dict[str, str]] = [
        {"role": "system", "content": (system + "\n\n" if system else "") + schema_prompt}
    ]
    for message in messages:
        role = message.get("role", "user")
        if role in ("system", "developer"):
            continue
        out.append({"role": str(role), "content": message_text(message.get("content"))})
    if feedback:
        out.append({"role": "user", "content": "\n".join(feedback)})
    return out
