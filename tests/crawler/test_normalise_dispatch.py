"""``tenderwatch.crawler.normalise.normalise`` picks the parser from the source and the payload."""

from pathlib import Path

import pytest

from tenderwatch.core.records import RawNotice
from tenderwatch.crawler.normalise import NormaliseError, normalise
from tenderwatch.crawler.normalise.common import MAX_PAYLOAD_BYTES

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def raw(source: str, body: bytes, source_id: str = "1-2024") -> RawNotice:
    return RawNotice(
        source=source, source_id=source_id, url="http://127.0.0.1/", content_type="", body=body
    )


def test_ted_eforms_and_r209_are_told_apart() -> None:
    eforms = (
        FIXTURES / "ted-eforms" / "ted-rdf-mapping-eforms" / "2024-OJS017-00047522.xml"
    ).read_bytes()
    r209 = (FIXTURES / "ted-r209" / "19-090974-001-EXP.xml").read_bytes()
    assert normalise(raw("ted", eforms)).form.startswith("eforms/")
    assert normalise(raw("ted", r209)).form.startswith("ted-r209/")


def test_boamp_xml_and_json_are_told_apart() -> None:
    xml = (FIXTURES / "boamp-xml-v3" / "26-88471.xml").read_bytes()
    assert normalise(raw("boamp", xml, "26-88471")).id == "boamp:26-88471"


def test_the_source_id_given_by_the_spider_is_kept() -> None:
    eforms = (
        FIXTURES / "ted-eforms" / "ted-rdf-mapping-eforms" / "2024-OJS017-00047522.xml"
    ).read_bytes()
    assert normalise(raw("ted", eforms, "47522-2024")).id == "ted:47522-2024"


@pytest.mark.parametrize("body", [b"", b"   \n"])
def test_empty_payload(body: bytes) -> None:
    with pytest.raises(NormaliseError) as exc:
        normalise(raw("ted", body))
    assert exc.value.reason == "empty_payload"


def test_huge_payload_is_refused_before_parsing() -> None:
    body = b"<ContractNotice>" + b"a" * (MAX_PAYLOAD_BYTES + 1) + b"</ContractNotice>"
    with pytest.raises(NormaliseError) as exc:
        normalise(raw("ted", body))
    assert exc.value.reason == "too_large"


def test_unknown_source() -> None:
    with pytest.raises(NormaliseError) as exc:
        normalise(raw("place", b"<x/>"))
    assert exc.value.reason == "unknown_source"
