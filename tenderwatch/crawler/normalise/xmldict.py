"""XML ↔ dict in the conventions of the BOAMP Opendatasoft API.

The BOAMP API serves each notice's ``DONNEES`` and ``GESTION`` blocks as JSON strings made by
an XML→JSON conversion (``shared/docs/sources.md`` §1.3, as seen in the five records of
``tests/fixtures/boamp-api``):

- an element present once is a value, an element repeated among its siblings is a list (never a
  one-element list);
- attributes become ``"@name"`` keys (with their prefix when namespaced: ``"@xsi:type"``), the
  text of an element that also has attributes or children becomes ``"#text"``;
- an element with neither text, attributes nor children becomes ``""`` (so a flag element such
  as ``<non/>`` is a key whose value is ``""``);
- namespace prefixes stay in the keys (``"cbc:Name"``); ``xmlns`` declarations are dropped.

:func:`xml_to_dict` reproduces that conversion so that the DILA XML flux goes through the same
code path as the API JSON; :func:`dict_to_xml` goes back, so that an eForms notice served as
JSON can be handed to the eForms normaliser as an element tree.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"

#: Namespaces of the prefixes BOAMP writes. The UBL ones are BOAMP's own copies rebased on
#: ``urn:boamp:`` (as in the DILA flux), not the OASIS originals: rebuilding a JSON notice with
#: them gives the same tree as the XML file. Unknown prefixes get ``urn:boamp:prefix:<p>``.
KNOWN_NAMESPACES: dict[str, str] = {
    "cac": "urn:boamp:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:boamp:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
    "ext": "urn:boamp:names:specification:ubl:schema:xsd:CommonExtensionComponents-2",
    "efac": "http://data.europa.eu/p27/eforms-ubl-extension-aggregate-components/1",
    "efbc": "http://data.europa.eu/p27/eforms-ubl-extension-basic-components/1",
    "efext": "http://data.europa.eu/p27/eforms-ubl-extensions/1",
    "xsi": XSI_NS,
    "xs": "http://www.w3.org/2001/XMLSchema",
    "jo": "http://boamp.journal-officiel.gouv.fr/XML/3.2.5",
}


def _element_key(el: etree._Element) -> str:
    """``prefix:local`` as the API writes element names, ``local`` when unprefixed."""
    tag = el.tag
    if tag[0] != "{":
        return tag
    local = tag.rsplit("}", 1)[1]
    prefix = el.prefix
    return f"{prefix}:{local}" if prefix else local


def _attribute_key(el: etree._Element, name: str) -> str:
    """``@prefix:local`` for a namespaced attribute (``xsi:type``), ``@name`` otherwise."""
    if name[0] != "{":
        return "@" + name
    uri, local = name[1:].split("}", 1)
    # Only namespaced attributes pay for the nsmap lookup: they are rare (xsi:type).
    for prefix, ns in el.nsmap.items():
        if ns == uri and prefix:
            return f"@{prefix}:{local}"
    return "@" + local


def _convert(el: etree._Element) -> Any:
    children = [c for c in el if isinstance(c.tag, str)]  # comments and PIs are not data
    attrib = el.attrib
    text = el.text
    has_text = text is not None and not text.isspace() and text != ""
    if not children and not attrib:
        return text if has_text else ""
    out: dict[str, Any] = {}
    for name, value in attrib.items():
        out[_attribute_key(el, name)] = value
    if has_text:
        out["#text"] = text.strip() if children else text
    for child in children:
        key = _element_key(child)
        value = _convert(child)
        if key in out:
            previous = out[key]
            # _convert never returns a list, so a list here means "already repeated".
            if isinstance(previous, list):
                previous.append(value)
            else:
                out[key] = [previous, value]
        else:
            out[key] = value
    return out


def xml_to_dict(el: etree._Element) -> dict[str, Any]:
    """The content of ``el`` (its attributes, text and children) as the API's JSON dict.

    ``xml_to_dict(<DONNEES>)`` gives ``{"FNSimple": {...}}``, exactly what ``json.loads`` of the
    API's ``donnees`` field gives. An element holding only text gives ``{"#text": text}``.
    """
    value = _convert(el)
    if isinstance(value, dict):
        return value
    return {"#text": value} if value else {}


def _clark(name: str) -> str:
    """``cbc:Name`` → ``{urn:boamp:…CommonBasicComponents-2}Name``; lxml refuses ``:`` in a
    tag without a namespace, and local names survive either way."""
    if ":" not in name:
        return name
    prefix, local = name.split(":", 1)
    ns = KNOWN_NAMESPACES.get(prefix) or f"urn:boamp:prefix:{prefix}"
    return f"{{{ns}}}{local}"


def _fill(el: etree._Element, value: Any) -> None:
    if value is None or value == "":
        return
    if not isinstance(value, dict):
        el.text = str(value) if not isinstance(value, list) else None
        return
    for key, item in value.items():
        if not isinstance(key, str) or not key:
            continue
        if key == "#text":
            el.text = "" if item is None else str(item)
            continue
        if key[0] == "@":
            name = key[1:]
            if name == "xmlns" or name.startswith("xmlns:"):
                continue
            try:
                el.set(_clark(name), "" if item is None else str(item))
            except ValueError:
                continue  # a key that is not an XML name cannot be an attribute: drop it
            continue
        for one in item if isinstance(item, list) else [item]:
            try:
                child = etree.SubElement(el, _clark(key))
            except ValueError:
                break  # not an XML name (hostile or broken JSON): drop the key, keep the rest
            _fill(child, one)


def dict_to_xml(tag: str, value: Any) -> etree._Element:
    """Build the element ``tag`` from a dict in the API conventions (reverse of
    :func:`xml_to_dict`). Prefixed names are put back in their namespace; keys that are not
    XML names are dropped rather than raising."""
    nsmap = {p: ns for p, ns in KNOWN_NAMESPACES.items() if p != "jo"}
    root = etree.Element(_clark(tag), nsmap=nsmap)
    _fill(root, value)
    return root
