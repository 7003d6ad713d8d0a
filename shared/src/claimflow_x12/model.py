"""Base classes for typed segments and loops, and the compiled codecs that convert them to and from elements.

Segments and loops are slotted dataclasses rather than pydantic models: a remittance with 10,000 claims has
200,000 segments, and per-element validation would dominate parsing. Conversion (Decimal, date, code enums)
happens once, in a decoder generated per segment class from its ``Annotated[..., E(n)]`` field declarations.
"""

from __future__ import annotations

import dataclasses
import threading
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any, ClassVar, TypeVar

from claimflow_x12.errors import ElementErrorCode, X12WriteError

__all__ = [
    "At",
    "E",
    "ElementDecodeError",
    "ExtraSegment",
    "GenericSegment",
    "Loop",
    "Segment",
    "SegmentCodec",
    "codec_for",
    "decode_segment",
    "format_date",
    "format_decimal",
    "parse_date",
    "parse_decimal",
]


@dataclass(frozen=True, slots=True)
class E:
    """Marks a segment field as element ``position`` (1-based), optionally one component (or a range of them)."""

    position: int
    component: int | None = None
    last_component: int | None = None
    repeat: bool = False


@dataclass(frozen=True, slots=True)
class At:
    """Marks a loop field: its place in the loop (guide order) and, for segments, the qualifier that selects it."""

    seq: int
    qualifier: tuple[str, ...] = ()
    element: int = 1
    loop_id: str | None = None  # for a child loop: the id it has in this position (2310B, 2420A...)


class ElementDecodeError(Exception):
    """An element that cannot be converted to its declared type."""

    def __init__(
        self, element: int, code: ElementErrorCode, message: str, component: int | None = None, value: str = ""
    ) -> None:
        super().__init__(message)
        self.element = element
        self.component = component
        self.code = code
        self.value = value


def parse_decimal(value: str) -> Decimal:
    """Convert an X12 R/N element to Decimal, rejecting anything that is not a plain number."""
    if not value or not value.lstrip("-").replace(".", "", 1).isdigit():
        raise ValueError(f"not a number: {value!r}")
    return Decimal(value)


def format_decimal(value: Decimal) -> str:
    """Write a Decimal without exponent notation."""
    text = str(value)
    if "E" in text:
        text = format(value, "f")
    return text


def parse_date(value: str) -> date:
    """Convert a CCYYMMDD element to a date."""
    if len(value) != 8 or not value.isdigit():
        raise ValueError(f"not a CCYYMMDD date: {value!r}")
    return date(int(value[:4]), int(value[4:6]), int(value[6:]))


def format_date(value: date) -> str:
    """Write a date as CCYYMMDD."""
    return f"{value.year:04d}{value.month:02d}{value.day:02d}"


@dataclass(slots=True, kw_only=True)
class Segment:
    """Base of every typed segment. ``position`` is where it was read (ST = 1) and is ignored by equality."""

    segment_id: ClassVar[str] = ""
    position: int = field(default=0, compare=False, repr=False)
    extra_elements: dict[int, str] | None = field(default=None, repr=False)

    def to_elements(self, component: str = ":", repetition: str = "^") -> list[str]:
        """The segment as a list of element strings (element 0 is the segment id)."""
        return codec_for(type(self)).encode(self, component, repetition)


@dataclass(slots=True, kw_only=True)
class GenericSegment(Segment):
    """A segment the guide model does not type, kept as its raw elements so round-trips stay byte-exact.

    Example: ``K3*ABC~`` is ``GenericSegment(tag="K3", elements=["ABC"])``.
    """

    tag: str
    elements: list[str] = field(default_factory=list)

    def to_elements(self, component: str = ":", repetition: str = "^") -> list[str]:
        """The segment as a list of element strings."""
        return [self.tag, *self.elements]


@dataclass(slots=True)
class ExtraSegment:
    """An unrecognized segment retained in a loop; ``index`` counts the loop items written before it."""

    index: int
    segment: GenericSegment


@dataclass(slots=True, kw_only=True)
class Loop:
    """Base of every loop. The first field is the loop's trigger segment; ``extra_segments`` keeps the rest."""

    loop_id: ClassVar[str] = ""
    hl_level: ClassVar[str | None] = None  # HL03 when the loop starts with an HL the writer numbers
    hl_child_code: ClassVar[bool] = True  # whether HL04 is written
    extra_segments: list[ExtraSegment] = field(default_factory=list, repr=False)


# --------------------------------------------------------------------------------------------------------------
# Segment codecs


class SegmentCodec:
    """Decoder and encoder generated for one segment class."""

    __slots__ = ("cls", "decode", "encode", "width")

    def __init__(
        self,
        cls: type[Segment],
        decode: Callable[[list[str], str, str, int], Segment],
        encode: Callable[[Segment, str, str], list[str]],
        width: int,
    ) -> None:
        self.cls = cls
        self.decode = decode
        self.encode = encode
        self.width = width


_CODECS: dict[type[Segment], SegmentCodec] = {}
_S = TypeVar("_S", bound=Segment)


def _unwrap(annotation: Any) -> tuple[Any, bool, Any]:
    """Split an annotation into (base type, optional?, list item type or None)."""
    optional = False
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        optional = len(args) < len(typing.get_args(annotation))
        annotation = args[0]
        origin = typing.get_origin(annotation)
    if origin is list:
        return list, optional, typing.get_args(annotation)[0]
    return annotation, optional, None


def _decoder_expression(base: Any, var: str, element: int, component: int | None) -> str:
    """Python expression converting the string in ``var`` to ``base``."""
    comp = "None" if component is None else str(component)
    if base is str:
        return var
    if base is Decimal:
        return f"_dec({var}, {element}, {comp})"
    if base is date:
        return f"_date({var}, {element}, {comp})"
    if base is int:
        return f"_int({var}, {element}, {comp})"
    if isinstance(base, type) and issubclass(base, Enum):
        return f"_enum(_E_{base.__name__}, {var}, {element}, {comp})"
    raise TypeError(f"unsupported element type {base!r}")


def _fast_conversion(base: Any, var: str) -> list[str]:
    """Statements converting ``var`` in place; any ValueError/KeyError sends the segment to the precise decoder."""
    if base is str:
        return []
    if base is Decimal:
        return [f"if not {var}.lstrip('-').replace('.', '', 1).isdigit(): raise ValueError", f"{var} = _D({var})"]
    if base is date:
        return [f"if len({var}) != 8 or not {var}.isdigit(): raise ValueError", f"{var} = _fromiso({var})"]
    if base is int:
        return [f"if not {var}.isdigit(): raise ValueError", f"{var} = int({var})"]
    if isinstance(base, type) and issubclass(base, Enum):
        return [f"{var} = _M_{base.__name__}[{var}]"]
    raise TypeError(f"unsupported element type {base!r}")


def _fast_decoder(
    specs: list[tuple[str, Any, bool, Any, E]], width: int, composites: list[int], namespace: dict[str, Any]
) -> list[str]:
    """Source of the hot-path decoder: no per-field calls, object built without running ``__init__``."""
    namespace["_new"] = object.__new__
    namespace["_D"] = Decimal
    namespace["_fromiso"] = date.fromisoformat
    for _, base, _, item, _ in specs:
        for t in (base, item):
            if isinstance(t, type) and issubclass(t, Enum):
                namespace[f"_M_{t.__name__}"] = t._value2member_map_
    unmodeled = [p for p in range(1, width) if p not in namespace["_modeled"]]
    namespace["_PAD"] = [[""] * k for k in range(width + 1)]
    extra_check = " or ".join([f"n > {width}", *(f"el[{p}]" for p in unmodeled)])
    lines = [
        "def decode(el, cs, rs, position):",
        "    n = len(el)",
        f"    if n < {width}:",
        f"        el = el + _PAD[{width} - n]",
        "    o = _new(_cls)",
        "    o.position = position",
        f"    if {extra_check}:",
        "        o.extra_elements = {i: el[i] for i in range(1, n) if el[i] and i not in _modeled} or None",
        "    else:",
        "        o.extra_elements = None",
        "    try:",
    ]
    body: list[str] = []
    for p in composites:
        max_comp = max((m.last_component or m.component or 1) for *_, m in specs if m.position == p)
        body.append(f"e = el[{p}]")
        body.append(f"c{p} = e.split(cs) + _PAD[{max_comp}] if e else _PAD[{max_comp}]")
    for name, base, optional, item, m in specs:
        source = f"el[{m.position}]" if m.component is None else f"c{m.position}[{m.component - 1}]"
        if base is list:
            if m.repeat:
                body.append(f"v = {source}")
                body.append("v = (v.split(rs) if rs else [v]) if v else []")
            else:
                assert m.component is not None
                assert m.last_component is not None
                body.append(f"v = list(filter(None, c{m.position}[{m.component - 1}:{m.last_component}]))")
            if item is not str:
                body.append("w = []")
                body.append("for x in v:")
                body += ["    " + line for line in _fast_conversion(item, "x")]
                body.append("    w.append(x)")
                body.append("v = w")
            body.append(f"o.{name} = v")
            continue
        conversion = _fast_conversion(base, "v")
        if optional and not conversion:
            body.append(f"o.{name} = {source} or None")
            continue
        body.append(f"v = {source}")
        if optional:
            body.append("if v:")
            body += ["    " + line for line in conversion]
            body.append("else:")
            body.append("    v = None")
        else:
            body.append("if not v:")
            body.append(f"    raise _missing({m.position}, {m.component}, {name!r})")
            body += conversion
        body.append(f"o.{name} = v")
    lines += ["        " + line for line in body]
    lines += [
        "    except (ValueError, KeyError, ArithmeticError):",
        "        return slow_decode(el, cs, rs, position)",
        "    return o",
    ]
    return lines


def _encoder_expression(base: Any, var: str) -> str:
    if base is str:
        return var
    if base is Decimal:
        return f"_fdec({var})"
    if base is date:
        return f"_fdate({var})"
    if base is int:
        return f"str({var})"
    if isinstance(base, type) and issubclass(base, Enum):
        return f"{var}.value"
    raise TypeError(f"unsupported element type {base!r}")


def _dec(value: str, element: int, component: int | None) -> Decimal:
    try:
        return parse_decimal(value)
    except (ValueError, InvalidOperation):
        raise ElementDecodeError(
            element, ElementErrorCode.INVALID_CHARACTER, f"expected a number, got {value!r}", component, value
        ) from None


def _date(value: str, element: int, component: int | None) -> date:
    try:
        return parse_date(value)
    except ValueError:
        raise ElementDecodeError(
            element, ElementErrorCode.INVALID_DATE, f"expected a CCYYMMDD date, got {value!r}", component, value
        ) from None


def _int(value: str, element: int, component: int | None) -> int:
    if not value.isdigit():
        raise ElementDecodeError(
            element, ElementErrorCode.INVALID_CHARACTER, f"expected an integer, got {value!r}", component, value
        )
    return int(value)


def _enum(enum: type[Enum], value: str, element: int, component: int | None) -> Enum:
    member = enum._value2member_map_.get(value)
    if member is None:
        allowed = ", ".join(str(m.value) for m in enum)
        raise ElementDecodeError(
            element,
            ElementErrorCode.INVALID_CODE_VALUE,
            f"expected one of {allowed}, got {value!r}",
            component,
            value,
        )
    return member


def _missing(element: int, component: int | None, name: str) -> ElementDecodeError:
    return ElementDecodeError(
        element, ElementErrorCode.REQUIRED_ELEMENT_MISSING, f"required element missing ({name})", component
    )


def _bad(segment: Segment, value: str) -> None:
    raise X12WriteError(
        f"{type(segment).__name__} ({segment.segment_id}) value {value!r} contains a component or repetition separator"
    )


def codec_for(cls: type[_S]) -> SegmentCodec:
    """The compiled codec of a segment class (built on first use and cached)."""
    codec = _CODECS.get(cls)
    if codec is None:
        codec = _compile(cls)
        _CODECS[cls] = codec
    return codec


def decode_segment(cls: type[_S], el: list[str], component: str, repetition: str, position: int) -> _S:
    """Decode elements into a segment of ``cls`` (raises ElementDecodeError)."""
    segment = codec_for(cls).decode(el, component, repetition, position)
    assert isinstance(segment, cls)
    return segment


def _compile(cls: type[Segment]) -> SegmentCodec:
    custom_decode = getattr(cls, "decode_elements", None)
    custom_encode = getattr(cls, "encode_elements", None)
    if custom_decode is not None and custom_encode is not None:
        return SegmentCodec(cls, custom_decode, custom_encode, 0)

    hints = typing.get_type_hints(cls, include_extras=True)
    specs: list[tuple[str, Any, bool, Any, E]] = []
    for f in dataclasses.fields(cls):
        annotation = hints[f.name]
        if typing.get_origin(annotation) is not typing.Annotated:
            continue
        marker = next((m for m in annotation.__metadata__ if isinstance(m, E)), None)
        if marker is None:
            continue
        base, optional, item = _unwrap(annotation.__origin__)
        specs.append((f.name, base, optional, item, marker))
    width = max(m.position for *_, m in specs) + 1
    namespace: dict[str, Any] = {
        "_cls": cls,
        "_dec": _dec,
        "_date": _date,
        "_int": _int,
        "_enum": _enum,
        "_missing": _missing,
        "_fdec": format_decimal,
        "_fdate": format_date,
        "_bad": _bad,
        "_write_error": X12WriteError,
        "_modeled": frozenset(m.position for *_, m in specs),
    }
    for _, base, _, item, _ in specs:
        for t in (base, item):
            if isinstance(t, type) and issubclass(t, Enum):
                namespace[f"_E_{t.__name__}"] = t

    # ---- decoder
    unmodeled_check = " or ".join(f"el[{p}]" for p in range(1, width) if p not in namespace["_modeled"]) or "False"
    lines = [
        "def slow_decode(el, cs, rs, position):",
        "    n = len(el)",
        f"    if n < {width}:",
        f"        el = el + [''] * ({width} - n)",
        "    extra = None",
        f"    if n > {width} or {unmodeled_check}:",
        "        extra = {i: el[i] for i in range(1, n) if el[i] and i not in _modeled} or None",
    ]
    composites = sorted({m.position for *_, m in specs if m.component is not None})
    for p in composites:
        max_comp = max((m.last_component or m.component or 1) for *_, m in specs if m.position == p)
        lines.append(f"    c{p} = el[{p}].split(cs) if el[{p}] else []")
        lines.append(f"    if len(c{p}) < {max_comp}:")
        lines.append(f"        c{p} += [''] * ({max_comp} - len(c{p}))")
    kwargs = []
    for name, base, optional, item, m in specs:
        source = f"el[{m.position}]" if m.component is None else f"c{m.position}[{m.component - 1}]"
        var = f"v_{name}"
        if base is list:
            if m.repeat:
                conv = _decoder_expression(item, "x", m.position, None)
                split = f"({source}.split(rs) if rs else [{source}])"
                lines.append(f"    {var} = [{conv} for x in {split}] if {source} else []")
            else:
                assert m.component is not None
                assert m.last_component is not None
                conv = _decoder_expression(item, "x", m.position, m.component)
                lines.append(f"    {var} = [{conv} for x in c{m.position}[{m.component - 1}:{m.last_component}] if x]")
        else:
            conv = _decoder_expression(base, var, m.position, m.component)
            lines.append(f"    {var} = {source}")
            if optional:
                if conv != var:
                    lines.append(f"    {var} = {conv} if {var} else None")
                else:
                    lines.append(f"    {var} = {var} or None")
            else:
                lines.append(f"    if not {var}:")
                lines.append(f"        raise _missing({m.position}, {m.component}, {name!r})")
                if conv != var:
                    lines.append(f"    {var} = {conv}")
        kwargs.append(f"{name}={var}")
    lines.append(f"    return _cls({', '.join(kwargs)}, position=position, extra_elements=extra)")
    lines += _fast_decoder(specs, width, composites, namespace)

    # ---- encoder (string values are checked inline for component/repetition separators; the writer checks
    # element separators and terminators on the finished segment)
    lines += [
        "def encode(obj, cs, rs):",
        "    rx = rs or cs",
        f"    el = [''] * {width}",
        f"    el[0] = {cls.segment_id!r}",
    ]
    for p in composites:
        max_comp = max((m.last_component or m.component or 1) for *_, m in specs if m.position == p)
        lines.append(f"    c{p} = [''] * {max_comp}")
    for name, base, optional, item, m in specs:
        var = f"obj.{name}"
        if base is list:
            conv = _encoder_expression(item, "x")
            if item is str:
                lines.append(f"    for x in {var}:")
                lines.append("        if cs in x or rx in x:")
                lines.append("            _bad(obj, x)")
            if m.repeat:
                lines.append(f"    if len({var}) > 1 and not rs:")
                message = f"{cls.segment_id}{m.position:02d} repeats but ISA11 declares no repetition separator"
                lines.append(f"        raise _write_error({message!r})")
                lines.append(f"    el[{m.position}] = rs.join([{conv} for x in {var}])")
            else:
                assert m.component is not None
                lines.append(f"    for i, x in enumerate({var}):")
                lines.append(f"        c{m.position}[{m.component - 1} + i] = {conv}")
            continue
        conv = _encoder_expression(base, "v")
        target = f"el[{m.position}]" if m.component is None else f"c{m.position}[{m.component - 1}]"
        lines.append(f"    v = {var}")
        if optional:
            lines.append("    if v is not None:")
            lines.append(f"        {target} = {conv}")
        else:
            lines.append(f"    {target} = {conv}")
        if base is str:
            lines.append("    if v and (cs in v or rx in v):")
            lines.append("        _bad(obj, v)")
    for p in composites:
        lines.append(f"    el[{p}] = cs.join(c{p}).rstrip(cs)")
    lines += [
        "    if obj.extra_elements:",
        "        for i, x in obj.extra_elements.items():",
        "            if i >= len(el):",
        "                el += [''] * (i + 1 - len(el))",
        "            el[i] = x",
        "    while len(el) > 1 and not el[-1]:",
        "        el.pop()",
        "    return el",
    ]
    source_code = "\n".join(lines)
    # The decoder/encoder are generated (as dataclasses generates __init__) because this is the hot path:
    # a straight-line function per segment class is several times faster than interpreting field specs.
    exec(compile(source_code, f"<x12 codec {cls.__name__}>", "exec"), namespace)  # noqa: S102
    return SegmentCodec(cls, namespace["decode"], namespace["encode"], width)


# --------------------------------------------------------------------------------------------------------------
# Loop specs


@dataclass(slots=True)
class Slot:
    """One field of a loop: a segment or a child loop, with its order and selecting qualifier."""

    name: str
    seq: int
    many: bool
    required: bool
    segment_id: str
    qualifier_element: int
    qualifier: frozenset[str]
    segment_cls: type[Segment] | None = None
    loop: LoopSpec | None = None
    decode: Callable[[list[str], str, str, int], Segment] | None = None


@dataclass(slots=True)
class LoopSpec:
    """Compiled structure of a loop class, used by the parser and the writer."""

    cls: type[Loop]
    loop_id: str
    trigger: Slot
    slots: list[Slot]
    by_id: dict[str, list[Slot]]
    hl_level: str | None
    hl_child_code: bool
    required: list[str]
    child_hl: bool = False
    # segment id → (seq, field name, many, decoder) for own segments that are the only slot with that id and
    # need no qualifier: the parser's hot path.
    fast: dict[str, tuple[int, str, bool, Callable[[list[str], str, str, int], Segment]]] = field(default_factory=dict)
    # segment id → (qualifier element, qualifier value → fast entry) when every slot with that id is an own,
    # non-repeating-qualifier segment selected by the same element (e.g. the NM1s of an 835 claim).
    qualified: dict[
        str, tuple[int, dict[str, tuple[int, str, bool, Callable[[list[str], str, str, int], Segment]]]]
    ] = field(default_factory=dict)
    build: Callable[[dict[str, Any]], Loop] | None = None


_LOOP_SPECS: dict[type[Loop], LoopSpec] = {}  # complete specs only: read without a lock
_BUILDING: dict[type[Loop], LoopSpec] = {}  # specs being compiled by the thread holding _COMPILE_LOCK
_COMPILE_LOCK = threading.RLock()


def loop_spec(cls: type[Loop]) -> LoopSpec:
    """The compiled structure of a loop class (built on first use and cached; safe from several threads).

    Loops refer to each other, so a spec is registered before its children are compiled; it is published to
    other threads only when the whole group compiled with it is complete.
    """
    spec = _LOOP_SPECS.get(cls)
    if spec is not None:
        return spec
    with _COMPILE_LOCK:
        spec = _LOOP_SPECS.get(cls) or _BUILDING.get(cls)
        if spec is not None:
            return spec
        outermost = not _BUILDING
        try:
            spec = _compile_loop(cls)
            if outermost:
                _LOOP_SPECS.update(_BUILDING)
        finally:
            if outermost:
                _BUILDING.clear()
        return spec


def _compile_loop(cls: type[Loop]) -> LoopSpec:
    hints = typing.get_type_hints(cls, include_extras=True)
    slots: list[Slot] = []
    pending: dict[str, tuple[type[Loop], At]] = {}
    for f in dataclasses.fields(cls):
        annotation = hints[f.name]
        if typing.get_origin(annotation) is not typing.Annotated:
            continue
        marker = next((m for m in annotation.__metadata__ if isinstance(m, At)), None)
        if marker is None:
            continue
        base, optional, item = _unwrap(annotation.__origin__)
        many = base is list
        target = item if many else base
        required = not many and not optional
        if issubclass(target, Segment):
            slots.append(
                Slot(
                    f.name,
                    marker.seq,
                    many,
                    required,
                    target.segment_id,
                    marker.element,
                    frozenset(marker.qualifier),
                    segment_cls=target,
                    decode=codec_for(target).decode,
                )
            )
        else:
            slots.append(Slot(f.name, marker.seq, many, required, "", 0, frozenset()))
            # child loop specs are resolved after this spec is registered (loops may refer to each other)
            pending[f.name] = (target, marker)
    trigger = slots[0]
    hl_level = cls.hl_level
    if hl_level is not None:
        # HL loops are triggered by the HL itself; the writer generates it, so the model holds no HL field.
        trigger = Slot("", 0, False, True, "HL", 3, frozenset((hl_level,)))
    spec = LoopSpec(
        cls=cls,
        loop_id=cls.loop_id,
        trigger=trigger,
        slots=slots,
        by_id={},
        hl_level=hl_level,
        hl_child_code=cls.hl_child_code,
        required=[s.name for s in slots if s.required],
    )
    _BUILDING[cls] = spec
    for slot in slots:
        entry = pending.get(slot.name)
        if entry is not None:
            child_cls, marker = entry
            child = loop_spec(child_cls)
            if marker.loop_id is not None:
                child = dataclasses.replace(child, loop_id=marker.loop_id)
            slot.loop = child
            slot.segment_id = child.trigger.segment_id
            slot.qualifier_element = child.trigger.qualifier_element
            slot.qualifier = frozenset(marker.qualifier) if marker.qualifier else child.trigger.qualifier
            slot.segment_cls = child.trigger.segment_cls
            slot.decode = child.trigger.decode
            spec.child_hl = spec.child_hl or child.hl_level is not None
    own = slots if hl_level is not None else slots[1:]
    for slot in own:
        spec.by_id.setdefault(slot.segment_id, []).append(slot)
    for segment_id, candidates in spec.by_id.items():
        (only,) = candidates if len(candidates) == 1 else (None,)
        if only is not None and only.loop is None and not only.qualifier and only.decode is not None:
            spec.fast[segment_id] = (only.seq, only.name, only.many, only.decode)
        elif (
            all(c.loop is None and c.qualifier and c.decode is not None for c in candidates)
            and len({c.qualifier_element for c in candidates}) == 1
            and sum(len(c.qualifier) for c in candidates) == len(set().union(*(c.qualifier for c in candidates)))
        ):
            table = {}
            for c in candidates:
                assert c.decode is not None
                for value in c.qualifier:
                    table[value] = (c.seq, c.name, c.many, c.decode)
            spec.qualified[segment_id] = (candidates[0].qualifier_element, table)
    spec.build = _loop_builder(cls)
    return spec


def _loop_builder(cls: type[Loop]) -> Callable[[dict[str, Any]], Loop]:
    """Generate ``build(values) -> loop`` that fills every field without running the dataclass ``__init__``."""
    lines = ["def build(v):", "    o = _new(_cls)"]
    for f in dataclasses.fields(cls):
        if f.default_factory is not dataclasses.MISSING:
            lines.append(f"    x = v.get({f.name!r})")
            lines.append(f"    o.{f.name} = [] if x is None else x")
        elif f.default is not dataclasses.MISSING:
            lines.append(f"    o.{f.name} = v.get({f.name!r}, {f.default!r})")
        else:
            lines.append(f"    o.{f.name} = v[{f.name!r}]")
    lines.append("    return o")
    namespace: dict[str, Any] = {"_new": object.__new__, "_cls": cls}
    exec(compile("\n".join(lines), f"<x12 loop builder {cls.__name__}>", "exec"), namespace)  # noqa: S102
    return namespace["build"]  # type: ignore[no-any-return]
