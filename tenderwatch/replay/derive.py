"""Records derived from real ones, for replays that need a procedure's later notices.

No real BOAMP API record of a corrigendum was recorded yet (see sources.md, gaps): the
corrigendum below is a real record with the changes a corrigendum makes — a new idweb, a
later publication date, nature ``RECTIFICATIF``, a link to the initial notice, the deadline
moved. Everything derived this way is listed as such in ``data/PROVENANCE.md``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from lxml import etree


def derive_corrigendum(
    record: dict[str, Any], *, idweb: str, published: str, deadline: str
) -> dict[str, Any]:
    """A BOAMP corrigendum of ``record`` that moves its deadline to ``deadline`` (ISO)."""
    corr = dict(record)
    corr.update(
        idweb=idweb,
        id=idweb.replace("-", "_"),
        filename=idweb,
        dateparution=published,
        nature="RECTIFICATIF",
        nature_libelle="Avis rectificatif",
        etat="RECTIFICATIF",
        annonce_lie=record["idweb"],
        datelimitereponse=deadline,
        url_avis=f"https://www.boamp.fr/pages/avis/?q=idweb:{idweb}",
    )
    donnees = json.loads(record["donnees"])
    for family in donnees.values():
        procedure = family.get("initial", {}).get("procedure")
        if isinstance(procedure, dict) and "dateReceptionOffres" in procedure:
            procedure["dateReceptionOffres"] = deadline
    corr["donnees"] = json.dumps(donnees, ensure_ascii=False)
    return corr


def ted_form_of_boamp_eforms(boamp_xml: bytes) -> bytes:
    """The TED publication of a BOAMP "famille JOUE" eForms notice: its ``ContractNotice``
    with the OASIS UBL namespaces TED uses instead of BOAMP's ``urn:boamp:`` copies."""
    root = etree.fromstring(boamp_xml)
    eforms = next(
        el
        for el in root.iter()
        if isinstance(el.tag, str) and el.tag.rsplit("}", 1)[-1] == "ContractNotice"
    )
    eforms.tag = "{urn:oasis:names:specification:ubl:schema:xsd:ContractNotice-2}ContractNotice"
    xml = etree.tostring(eforms, encoding="UTF-8", xml_declaration=True)
    return re.sub(rb"urn:boamp:names:specification", b"urn:oasis:names:specification", xml)


def derive_call_of_award(
    award: dict[str, Any], *, published: str, deadline: str, clauses: dict[str, str]
) -> dict[str, Any]:
    """The call for tenders an award record refers to, as BOAMP would have published it.

    An award names its call (``annonces_anterieures``/``annonce_lie``) but the call itself was
    not recorded: this rebuilds it from the award — same buyer, object and lots, the idweb
    the award names, nature ``APPEL_OFFRE``, no ``ATTRIBUTION`` block — and writes each text
    of ``clauses`` (lot number → sentence) into that lot's ``INFO_COMPL``, where buyers put
    their execution conditions. Tests of the award linking use it; nothing else does.
    """
    previous = json.loads(award["annonces_anterieures"] or "{}").get("REFERENCE", {})
    idweb = previous.get("IDWEB") or award.get("annonce_lie")
    if not idweb:
        raise ValueError(f"l'avis {award['idweb']} ne cite aucun avis antérieur")
    call = dict(award)
    call.update(
        idweb=idweb,
        id=idweb.replace("-", "_"),
        filename=idweb,
        dateparution=published,
        datelimitereponse=deadline,
        nature="APPEL_OFFRE",
        nature_libelle="Avis de marché",
        etat="INITIAL",
        annonce_lie=None,
        annonces_anterieures=None,
        titulaire=None,
        url_avis=f"https://www.boamp.fr/pages/avis/?q=idweb:{idweb}",
        gestion=None,
    )
    donnees = json.loads(award["donnees"])
    for block in ("ATTRIBUTION", "PUBLICATION_ANTERIEURE"):
        donnees.pop(block, None)
    lots = donnees.get("OBJET", {}).get("LOTS", {}).get("LOT", [])
    for lot in lots if isinstance(lots, list) else [lots]:
        text = clauses.get(str(lot.get("NUM")))
        if text:
            lot["INFO_COMPL"] = text
    procedure = donnees.setdefault("PROCEDURE", {})
    procedure["DATE_RECEPT_OFFRES"] = deadline
    call["donnees"] = json.dumps(donnees, ensure_ascii=False)
    return call
