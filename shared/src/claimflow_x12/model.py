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
    "ENVELOPE_SEGMENT_IDS",
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


# Segments that open and close interchanges, groups and transaction sets: never part of a loop.
ENVELOPE_SEGMENT_IDS = frozenset({"ISA", "GS", "ST", "SE", "GE", "IEA", "TA1"})


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
    try:
        return Decimal(value)
    except InvalidOperation:  # passed the check but is no number either: "--5", "²"
        raise ValueError(f"not a number: {value!r}") from None


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


def _fast_check(base: Any, var: str) -> str:
    """A statement rejecting a value ``base`` must not be built from (the converter alone would accept it)."""
    if base is Decimal:  # Decimal() would also take "1E5", " 1", "1_0", "NaN"
        return f"if not {var}.lstrip('-').replace('.', '', 1).isdigit(): raise ValueError"
    if base is date:
        return f"if len({var}) != 8 or not {var}.isdigit(): raise ValueError"
    if base is int:  # int() would also take " 1", "+1", "1_0"
        return f"if not {var}.isdecimal(): raise ValueError"
    raise TypeError(f"unsupported element type {base!r}")


def _fast_converter(base: Any) -> str:
    """Name of the callable (or mapping, for code enums) that turns a checked string into ``base``."""
    if base is Decimal:
        return "_D"
    if base is date:
        return "_fromiso"
    if base is int:
        return "int"
    if isinstance(base, type) and issubclass(base, Enum):
        return f"_M_{base.__name__}"
    raise TypeError(f"unsupported element type {base!r}")


def _fast_field(name: str, base: Any, optional: bool, source: str, m: E) -> list[str]:
    """Statements setting ``o.<name>`` from the string expression ``source`` (one scalar field)."""
    missing = f"    raise _missing({m.position}, {m.component}, {name!r})"
    if base is str:
        if optional:
            return [f"o.{name} = {source} or None"]
        if source.isidentifier():
            return [f"if not {source}:", missing, f"o.{name} = {source}"]
        return [f"v = {source}", "if not v:", missing, f"o.{name} = v"]
    if isinstance(base, type) and issubclass(base, Enum):
        # One lookup: an empty (when required) or unknown code is a KeyError, which the precise decoder reports.
        table = f"_O_{base.__name__}" if optional else f"_M_{base.__name__}"
        return [f"o.{name} = {table}[{source}]"]
    var = source if source.isidentifier() else "v"
    load = [] if var == source else [f"v = {source}"]
    check = _fast_check(base, var)
    convert = f"{_fast_converter(base)}({var})"
    if optional:
        return [*load, f"if {var}:", f"    {check}", f"    o.{name} = {convert}", "else:", f"    o.{name} = None"]
    return [*load, f"if not {var}:", missing, check, f"o.{name} = {convert}"]


def _fast_items(item: Any) -> list[str]:
    """Statements converting the list ``v`` of non-empty strings in place."""
    if item is str:
        return []
    if isinstance(item, type) and issubclass(item, Enum):
        return [f"v = [_M_{item.__name__}[x] for x in v]"]
    if item is int:  # pointers and counts: small numbers, looked up rather than parsed (int() is slow on text)
        return [
            "if v:",
            "    w = list(map(_small_int, v))",
            "    if None in w:",
            "        if not ''.join(v).isdecimal(): raise ValueError",
            "        w = list(map(int, v))",
            "    v = w",
        ]
    return ["for x in v:", f"    {_fast_check(item, 'x')}", f"v = [{_fast_converter(item)}(x) for x in v]"]


_SMALL_INTS = {str(i): i for i in range(1000)}


def _fast_decoder(
    specs: list[tuple[str, Any, bool, Any, E]], width: int, composites: list[int], namespace: dict[str, Any]
) -> list[str]:
    """Source of the hot-path decoder: no per-field calls, object built without running ``__init__``.

    The elements are unpacked into locals ``e1``, ``e2``... (padded to the modeled width); composites are split
    once into ``s<n>`` (as read) and ``c<n>`` (padded to the modeled components). Anything unusual (a value that
    does not convert, an unknown code, more elements than modeled) raises ValueError/KeyError/ArithmeticError,
    and the segment goes to ``slow_decode``, which says precisely what is wrong or keeps the extra elements.
    """
    namespace["_new"] = object.__new__
    namespace["_D"] = Decimal
    namespace["_fromiso"] = date.fromisoformat
    namespace["_small_int"] = _SMALL_INTS.get
    for _, base, _, item, _ in specs:
        for t in (base, item):
            if isinstance(t, type) and issubclass(t, Enum):
                namespace[f"_M_{t.__name__}"] = t._value2member_map_
                namespace[f"_O_{t.__name__}"] = {**t._value2member_map_, "": None}
    modeled = namespace["_modeled"]
    unmodeled = [p for p in range(1, width) if p not in modeled]
    components = {
        p: max((m.last_component or m.component or 1) for *_, m in specs if m.position == p) for p in composites
    }
    namespace["_PAD"] = [[""] * k for k in range(max([width, *components.values()]) + 1)]
    names = ", ".join(["_", *(f"e{p}" if p in modeled else f"u{p}" for p in range(1, width))])
    lines = [
        "def decode(el, cs, rs, position):",
        "    n = len(el)",
        "    try:",
        f"        {names} = el + _PAD[{width} - n] if n < {width} else el",
        "    except ValueError:  # more elements than modeled",
        "        return slow_decode(el, cs, rs, position)",
        "    o = _new(_cls)",
        "    o.position = position",
    ]
    if unmodeled:
        lines += [
            f"    if {' or '.join(f'u{p}' for p in unmodeled)}:",
            "        o.extra_elements = {i: el[i] for i in range(1, n) if el[i] and i not in _modeled} or None",
            "    else:",
            "        o.extra_elements = None",
        ]
    else:
        lines.append("    o.extra_elements = None")
    lines.append("    try:")
    body: list[str] = []
    for p, count in components.items():
        # s<p>: the components as read, for list fields; c<p>: padded to ``count``, for single components
        ranged = any(m.position == p and base is list for _, base, _, _, m in specs)
        single = any(m.position == p and base is not list for _, base, _, _, m in specs)
        split = f"e{p}.split(cs)"
        if ranged and single:
            body += [f"if e{p}:", f"    s{p} = {split}", f"    c{p} = s{p} + _PAD[{count}]", "else:"]
            body += [f"    s{p} = _PAD[0]", f"    c{p} = _PAD[{count}]"]
        elif ranged:
            body.append(f"s{p} = {split} if e{p} else _PAD[0]")
        else:
            body.append(f"c{p} = {split} + _PAD[{count}] if e{p} else _PAD[{count}]")
    for name, base, optional, item, m in specs:
        if base is list:
            if m.repeat:
                body.append(f"v = (e{m.position}.split(rs) if rs else [e{m.position}]) if e{m.position} else []")
            else:
                assert m.component is not None
                assert m.last_component is not None
                # a slice of the components as read (never of the padding); empty ones in between are dropped
                body.append(f"v = s{m.position}[{m.component - 1}:{m.last_component}]")
                body.append("if '' in v:")
                body.append("    v = [x for x in v if x]")
            body += _fast_items(item)
            body.append(f"o.{name} = v")
            continue
        source = f"e{m.position}" if m.component is None else f"c{m.position}[{m.component - 1}]"
        body += _fast_field(name, base, optional, source, m)
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
    if not value.isdecimal():  # isdigit() would pass "²", which int() rejects
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


Decoder = Callable[[list[str], str, str, int], Segment]  # (elements, component sep., repetition sep., position)
FastEntry = tuple[int, str, bool, Decoder]  # a loop's own segment on the parser's hot path: (seq, field, many, decoder)


def _uncompiled(trigger: Segment | None) -> Loop:
    raise RuntimeError("loop spec used before it was compiled")


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
    # the required fields the trigger segment does not fill: what closing the loop has to check
    required_after_trigger: list[str] = field(default_factory=list)
    # segment id → (seq, field name, many, decoder) for own segments that are the only slot with that id and
    # need no qualifier: the parser's hot path.
    fast: dict[str, FastEntry] = field(default_factory=dict)
    # segment id → (qualifier element, qualifier value → fast entry) when every slot with that id is an own,
    # non-repeating-qualifier segment selected by the same element (e.g. the NM1s of an 835 claim).
    qualified: dict[str, tuple[int, dict[str, FastEntry]]] = field(default_factory=dict)
    # segment id → (qualifier element, qualifier value → candidate slots, candidates when no value matches):
    # where the parser looks when the hot path does not apply; candidates are in guide order.
    routes: dict[str, tuple[int, dict[str, tuple[Slot, ...]], tuple[Slot, ...]]] = field(default_factory=dict)
    new: Callable[[Segment | None], Loop] = _uncompiled  # the generated ``_loop_factory`` once compiled


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
        required_after_trigger=[s.name for s in slots if s.required and s is not trigger],
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
        if slot.segment_id in ENVELOPE_SEGMENT_IDS:  # the parser ends a transaction set at any of them
            raise TypeError(f"{cls.__name__}.{slot.name}: {slot.segment_id} is an envelope segment")
        spec.by_id.setdefault(slot.segment_id, []).append(slot)
    for segment_id, candidates in spec.by_id.items():
        spec.routes[segment_id] = _route(cls, segment_id, candidates)
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
    spec.new = _loop_factory(cls, trigger.name)
    return spec


def _route(
    cls: type[Loop], segment_id: str, candidates: list[Slot]
) -> tuple[int, dict[str, tuple[Slot, ...]], tuple[Slot, ...]]:
    """The slots a segment may go to, looked up by its qualifier (one element per segment id, e.g. NM101, HL03)."""
    elements = {c.qualifier_element for c in candidates if c.qualifier}
    if len(elements) > 1:
        raise TypeError(f"{cls.__name__}: the {segment_id} slots are selected by different elements {elements}")
    element = elements.pop() if elements else 0
    values = {value for c in candidates for value in c.qualifier}
    table = {value: tuple(c for c in candidates if not c.qualifier or value in c.qualifier) for value in values}
    return element, table, tuple(c for c in candidates if not c.qualifier)


def _loop_factory(cls: type[Loop], trigger: str) -> Callable[[Segment | None], Loop]:
    """Generate ``new(trigger) -> loop`` for the parser: the loop with every field at its initial value.

    The trigger segment goes into its field (HL loops have none: their HL is not kept). Lists start empty and
    optional parts None; required parts are None too until the parser fills them (it drops a loop whose required
    parts never came). ``__init__`` is not run: it would insist on the required parts.
    """
    lines = ["def new(trigger):", "    o = _new(_cls)"]
    namespace: dict[str, Any] = {"_new": object.__new__, "_cls": cls}
    for f in dataclasses.fields(cls):
        if f.name == trigger:
            lines.append(f"    o.{f.name} = trigger")
        elif f.default_factory is list:
            lines.append(f"    o.{f.name} = []")
        elif f.default_factory is not dataclasses.MISSING:
            namespace[f"_factory_{f.name}"] = f.default_factory
            lines.append(f"    o.{f.name} = _factory_{f.name}()")
        elif f.default is None or f.default is dataclasses.MISSING:
            lines.append(f"    o.{f.name} = None")
        else:
            # the parser treats None as "not read yet"; a loop field with another default would break that
            raise TypeError(f"{cls.__name__}.{f.name}: loop fields default to None or an empty list")
    lines.append("    return o")
    exec(compile("\n".join(lines), f"<x12 loop factory {cls.__name__}>", "exec"), namespace)  # noqa: S102
    return namespace["new"]  # type: ignore[no-any-return]
