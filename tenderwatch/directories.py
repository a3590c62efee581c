"""Live import from the inclusion directories' APIs (``tenderwatch structures fetch``).

Off unless ``TENDERWATCH_STRUCTURES_LIVE=1``: a réseau decides to call these services, under
their terms of use. Le marché de l'inclusion needs a token (``TENDERWATCH_LEMARCHE_TOKEN``
or ``TENDERWATCH_LEMARCHE_TOKEN_FILE``); les emplois de l'inclusion is public but limited to
about 12 requests a minute, hence a pause between pages. The pages fetched are imported by
:func:`tenderwatch.core.structures.import_structures` exactly like a downloaded file. The
token is sent in the ``Authorization`` header only and never printed: errors name the host.

The tests run this against a local HTTP server (``TENDERWATCH_*_URL``), never the real APIs.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from tenderwatch import __version__

#: Per format: the default address, the query parameter for a département, the pause between
#: pages (seconds), whether a token is required.
SOURCES: dict[str, dict[str, Any]] = {
    "lemarche": {
        "url": "https://lemarche.inclusion.beta.gouv.fr/api/siae/",
        "departement_param": "department",
        "pause": 1.0,
        "token": True,
    },
    "emplois": {
        "url": "https://emplois.inclusion.beta.gouv.fr/api/v1/siaes/",
        "departement_param": "departement",
        "pause": 5.0,  # about 12 requests a minute
        "token": False,
    },
}
MAX_PAGES = 200


class DirectoryError(RuntimeError):
    """A French sentence without the token."""


def _token(fmt: str, env: Mapping[str, str]) -> str | None:
    prefix = f"TENDERWATCH_{fmt.upper()}_TOKEN"
    if env.get(prefix):
        return env[prefix].strip()
    if env.get(prefix + "_FILE"):
        try:
            return Path(env[prefix + "_FILE"]).read_text("utf-8").strip()
        except OSError as exc:
            raise DirectoryError(f"{prefix}_FILE : fichier illisible ({exc.strerror})") from None
    return None


def fetch(
    fmt: str,
    departement: str,
    *,
    env: Mapping[str, str] | None = None,
    pause: float | None = None,
    timeout: float = 30.0,
) -> bytes:
    """Every page for ``departement``, as one JSON document ``{"results": [...]}``."""
    env = os.environ if env is None else env
    if env.get("TENDERWATCH_STRUCTURES_LIVE", "").lower() not in ("1", "true", "oui", "yes"):
        raise DirectoryError(
            "import en direct désactivé : définissez TENDERWATCH_STRUCTURES_LIVE=1 (après avoir"
            " accepté les conditions d'utilisation de l'annuaire), ou importez un fichier"
            " téléchargé avec « structures import »"
        )
    source = SOURCES[fmt]
    token = _token(fmt, env)
    if source["token"] and not token:
        raise DirectoryError(
            f"jeton manquant : TENDERWATCH_{fmt.upper()}_TOKEN ou"
            f" TENDERWATCH_{fmt.upper()}_TOKEN_FILE"
        )
    base = env.get(f"TENDERWATCH_{fmt.upper()}_URL") or source["url"]
    url: str | None = (
        base + ("&" if "?" in base else "?") + urlencode({source["departement_param"]: departement})
    )
    wait = source["pause"] if pause is None else pause
    host = urlsplit(base).netloc
    results: list[Any] = []
    for page in range(MAX_PAGES):
        if url is None:
            break
        if page:
            time.sleep(wait)
        parts = urlsplit(url)
        # The token goes only to the host it was given for, whatever « next » says.
        if parts.scheme not in ("http", "https") or parts.netloc != host:
            raise DirectoryError(f"page suivante sur une autre adresse que {host} : refusée")
        headers = {"Accept": "application/json", "User-Agent": f"tenderwatch/{__version__}"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(url, headers=headers)  # noqa: S310 - checked above
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                payload = json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            raise DirectoryError(f"{host} a répondu {exc.code} (page {page + 1})") from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise DirectoryError(f"{host} injoignable (page {page + 1} : {reason})") from None
        except ValueError:
            raise DirectoryError(f"{host} : réponse non JSON (page {page + 1})") from None
        if isinstance(payload, list):
            results.extend(payload)
            break
        results.extend(payload.get("results") or [])
        url = payload.get("next")
    else:
        raise DirectoryError(f"{host} : plus de {MAX_PAGES} pages, import arrêté")
    return json.dumps({"results": results}, ensure_ascii=False).encode("utf-8")
