"""``tenderwatch explore``: the database in Datasette, read-only, for ad-hoc questions.

Datasette is an optional extra (``pip install "tenderwatch[explore]"``). What is tested here
without it: the metadata (table descriptions, canned queries run on a real SQLite file) and
the command line built to start it.

By default Datasette opens a fresh snapshot of the base (``core.backup``), in immutable mode:
Datasette's immutable mode assumes the file never changes and ignores the ``-wal`` file, so
on the live base, which the scheduler writes in WAL mode, it could show a stale or torn
state. The snapshot is consistent, and its sign-in nonces are removed first (a nonce not yet
used is half of a sign-in link). ``--live`` opens the live base instead, read-only but not
immutable.
"""

from __future__ import annotations

import importlib.util
import json
import sqlite3
import sys
from pathlib import Path
from typing import Any

#: What each table holds, in French (shown by Datasette above the table).
TABLE_DESCRIPTIONS = {
    "notices": "Avis de marché normalisés (BOAMP, TED) : un avis par ligne.",
    "lots": "Lots des avis.",
    "procedures": "Procédures : état courant (ouverte, annulée, attribuée) et avis successifs.",
    "classifications": (
        "Clauses sociales détectées par le classifieur, une ligne par avis et version du"
        " modèle ; « positive » liste les étiquettes vraies."
    ),
    "deliveries": "Envois d'alertes par groupe, avis, type et canal (jamais l'URL du canal).",
    "crawls": "Comptes rendus des collectes.",
    "raw_notices": "Charges brutes reçues des sources, telles quelles.",
    "notice_links": "Liens entre avis (rectificatif, attribution, même avis sur deux sources).",
    "board_members": "Membres du tableau de veille (données personnelles : adresse, nom).",
    "board_memberships": "Appartenance des membres aux groupes, avec leur rôle.",
    "board_marks": "Marques des membres sur les avis et lots (intéressé, on répond...).",
    "board_notes": "Notes des membres sur les avis.",
    "board_activity": "Historique des actions sur le tableau.",
    "board_items": "Avis ajoutés au tableau par un membre.",
    "board_audit": "Journal de sécurité (connexions, membres, imports).",
    "structures": "Structures membres du réseau (SIRET, type, département, secteurs).",
    "reseaux": "Réseaux hébergés par l'instance.",
    "group_settings": "Réglages des groupes gérés dans la base.",
    "group_changes": "Modifications des réglages des groupes (qui, quand, avant, après).",
}

#: Canned queries: name → (title, SQL). Parameters are Datasette's ``:named`` ones. A notice
#: counts through its newest classification (it may have one per model version).
CANNED_QUERIES = {
    "avis_clause_par_departement": (
        "Avis à clause sociale par département",
        "SELECT d.value AS departement, count(DISTINCT n.id) AS avis_avec_clause"
        " FROM notices n, json_each(CASE WHEN json_valid(n.departements)"
        " THEN n.departements ELSE '[]' END) d"
        " JOIN classifications c ON c.notice_id = n.id AND c.classified_at ="
        " (SELECT max(c2.classified_at) FROM classifications c2 WHERE c2.notice_id = n.id)"
        " WHERE coalesce(c.positive, '') != ''"
        " AND (:etiquette = '' OR ',' || c.positive || ',' LIKE '%,' || :etiquette || ',%')"
        " AND (:depuis = '' OR n.published >= :depuis)"
        " GROUP BY d.value ORDER BY avis_avec_clause DESC, departement",
    ),
    "envois_par_groupe": (
        "Alertes envoyées par groupe",
        "SELECT group_id AS groupe, kind AS type, status AS etat, count(*) AS envois,"
        " count(DISTINCT notice_id) AS avis, max(sent_at) AS dernier_envoi"
        " FROM deliveries WHERE (:depuis = '' OR created_at >= :depuis)"
        " GROUP BY group_id, kind, status ORDER BY group_id, kind, status",
    ),
}

INSTALL_HINT = (
    'Datasette n\'est pas installé : pip install "tenderwatch[explore]" '
    "(exploration facultative de la base en lecture seule)"
)


def datasette_available() -> bool:
    return importlib.util.find_spec("datasette") is not None


def metadata(db_path: str | Path) -> dict[str, Any]:
    """Datasette's metadata for the base: descriptions of the tables it has, canned queries
    (the ones whose tables exist). Datasette names a database after its file's stem."""
    path = Path(db_path)
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        conn.close()
    needs = {
        "avis_clause_par_departement": {"notices", "classifications"},
        "envois_par_groupe": {"deliveries"},
    }
    return {
        "title": "tenderwatch — exploration de la base (lecture seule)",
        "description": (
            "Avis de marchés publics et clauses sociales collectés par tenderwatch. Les tables"
            " board_* contiennent des données personnelles : ne partagez pas cette page."
        ),
        "databases": {
            path.stem: {
                "tables": {
                    name: {"description": text}
                    for name, text in TABLE_DESCRIPTIONS.items()
                    if name in tables
                },
                "queries": {
                    name: {"title": title, "sql": sql}
                    for name, (title, sql) in CANNED_QUERIES.items()
                    if needs[name] <= tables
                },
            }
        },
    }


def snapshot_for_explore(source: str | Path, folder: Path, now: str) -> Path:
    """A consistent copy of the live base in ``folder``, without sign-in nonces."""
    from tenderwatch.core.backup import backup

    target = folder / (Path(source).stem + ".db")
    backup(source, target, now=now, overwrite=True)
    conn = sqlite3.connect(str(target), isolation_level=None)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        for table in ("board_signin", "board_signin_requests"):
            if table in tables:
                conn.execute(f"DELETE FROM [{table}]")  # noqa: S608
        conn.execute("VACUUM")
    finally:
        conn.close()
    return target


def write_metadata(db_path: Path, folder: Path) -> Path:
    path = folder / "metadata.json"
    path.write_text(json.dumps(metadata(db_path), ensure_ascii=False, indent=2), "utf-8")
    return path


def command(
    db_path: Path, metadata_path: Path, *, host: str, port: int, immutable: bool
) -> list[str]:
    """The command line that starts Datasette on the base (no shell involved)."""
    args = [sys.executable, "-m", "datasette", "serve"]
    args += ["-i", str(db_path)] if immutable else [str(db_path)]
    args += ["--metadata", str(metadata_path), "--host", host, "--port", str(port)]
    # Read-only all the way: no write plugins, no table downloads of the whole base.
    args += ["--setting", "allow_download", "off"]
    return args
