"""Replay server: answers like the BOAMP and TED APIs, from recorded notices.

What it serves is recorded (BOAMP API records, TED eForms / R2.0.9 XML documents, see
``data/PROVENANCE.md``); what it computes is only the envelope the real APIs put around them:

* ``GET /api/explore/v2.1/catalog/datasets/boamp/records`` — Opendatasoft Explore v2.1:
  ``where`` on ``dateparution`` (``>=``/``<=`` ``date'YYYY-MM-DD'``), ``order_by``, ``limit``
  (≤ 100), ``offset``; ``offset + limit`` above ``max_offset`` answers HTTP 400 as the real
  API does. Records are written into the page exactly as recorded.
* ``GET /api/explore/v2.1/catalog/datasets/decp-2022-marches-valides/records`` — the same
  envelope over recorded DECP contracts, ``where`` on ``datepublicationdonnees``.
* ``POST /v3/notices/search`` — TED Search API v3, ITERATION pagination with a next token,
  filtered on ``buyer-country IN (...)`` and ``publication-date>=/<=``.
* ``GET /en/notice/{publication-number}/xml`` — the notice's XML, byte for byte.

:class:`ReplayFaults` injects the faults a crawler must survive: a request that fails once
with HTTP 500 (or 429), a total announced larger than what is served (a shortfall), a
malformed page. Every request is logged (method, path, User-Agent) for assertions.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

BOAMP_PATH = "/api/explore/v2.1/catalog/datasets/boamp/records"
DECP_PATH = "/api/explore/v2.1/catalog/datasets/decp-2022-marches-valides/records"
TED_SEARCH_PATH = "/v3/notices/search"
TED_XML_RE = re.compile(r"^/(?:[a-z]{2}/)?notice/([0-9]+-[0-9]{4})/xml$")
_DATE_FIELD = r"(?:dateparution|datepublicationdonnees)"
_DATE_GE = re.compile(_DATE_FIELD + r"\s*>=\s*date'(\d{4}-\d{2}-\d{2})'")
_DATE_LE = re.compile(_DATE_FIELD + r"\s*<=\s*date'(\d{4}-\d{2}-\d{2})'")


def default_data_dir() -> Path:
    """The recorded notices shipped with tenderwatch."""
    return Path(str(resources.files("tenderwatch.replay") / "data"))


@dataclass
class ReplayData:
    """Recorded notices: BOAMP record texts and TED index entries with their XML bytes."""

    boamp_records: list[str] = field(default_factory=list)  # one record's JSON text each
    ted_index: list[dict[str, Any]] = field(default_factory=list)
    ted_xml: dict[str, bytes] = field(default_factory=dict)  # publication number → XML
    decp_records: list[str] = field(default_factory=list)  # one DECP contract's JSON each

    @classmethod
    def load(cls, directory: str | Path | None = None) -> ReplayData:
        """Load ``boamp/records.jsonl``, ``ted/index.json`` and ``ted/xml/*.xml``."""
        base = Path(directory) if directory else default_data_dir()
        data = cls()
        boamp = base / "boamp" / "records.jsonl"
        if boamp.exists():
            data.boamp_records = [
                line for line in boamp.read_text(encoding="utf-8").splitlines() if line.strip()
            ]
        decp = base / "decp" / "records.jsonl"
        if decp.exists():
            data.decp_records = [
                line for line in decp.read_text(encoding="utf-8").splitlines() if line.strip()
            ]
        # Whole DECP files (schema examples, real files): their contracts are served as the
        # dataset's records, once each (a file may repeat another's contracts).
        for path in sorted((base / "decp").glob("*.json")):
            for text in decp_file_contracts(path.read_text(encoding="utf-8")):
                if text not in data.decp_records:
                    data.decp_records.append(text)
        index = base / "ted" / "index.json"
        if index.exists():
            data.ted_index = json.loads(index.read_text(encoding="utf-8"))
            for entry in data.ted_index:
                number = entry["publication-number"]
                path = base / "ted" / "xml" / f"{number}.xml"
                if path.exists():
                    data.ted_xml[number] = path.read_bytes()
        return data

    def boamp_dates(self) -> tuple[str, str] | None:
        dates = sorted(json.loads(r)["dateparution"] for r in self.boamp_records)
        return (dates[0], dates[-1]) if dates else None

    def ted_dates(self) -> tuple[str, str] | None:
        dates = sorted(e["publication-date"][:10] for e in self.ted_index)
        return (dates[0], dates[-1]) if dates else None

    def decp_dates(self) -> tuple[str, str] | None:
        dates = sorted(d for d, _, _ in decp_rows(self.decp_records) if d)
        return (dates[0], dates[-1]) if dates else None

    def dates(self, source: str) -> tuple[str, str] | None:
        """First and last publication dates recorded for ``source``."""
        return getattr(self, f"{source}_dates")()


def decp_file_contracts(text: str) -> list[str]:
    """Each contract (``marché``) of a DECP file, in either JSON shape, as compact JSON;
    concessions are left out (they are another dataset)."""
    marches = json.loads(text).get("marches")
    if isinstance(marches, dict):
        marches = marches.get("marche") or []
    return [
        json.dumps(m, ensure_ascii=False, separators=(",", ":"))
        for m in marches or []
        if isinstance(m, dict)
    ]


def decp_rows(records: list[str]) -> list[tuple[str, str, str]]:
    """``(data publication date, buyer-id key, text)`` of DECP records, sorted as
    ``order_by=datepublicationdonnees, acheteur_id, id`` sorts them. A record that cannot be
    read is served anyway (at the end of its day): the crawler must survive it."""
    from tenderwatch.crawler.normalise.decp import decp_source_id, field

    rows = []
    for text in records:
        try:
            record = json.loads(text)
        except ValueError:
            record = None
        if isinstance(record, dict):
            day = str(field(record, "data_published") or "")[:10]
            key = decp_source_id(record) or "~"
        else:
            day, key = "", "~"
        rows.append((day, key, text))
    return sorted(rows)


@dataclass
class ReplayFaults:
    """Faults to inject. Patterns are substrings of the request path and query."""

    fail_once: list[str] = field(default_factory=list)  # answer 500 the first time
    throttle_once: list[str] = field(default_factory=list)  # answer 429 the first time
    always_fail: list[str] = field(default_factory=list)  # answer 500 every time
    malformed: list[str] = field(default_factory=list)  # answer a truncated JSON body
    slow_once: list[str] = field(default_factory=list)  # wait slow_seconds the first time
    slow_seconds: float = 3.0
    boamp_extra_total: int = 0  # announced total_count larger than what is served
    decp_extra_total: int = 0
    ted_extra_total: int = 0


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the test output stays readable; requests are kept in server.requests

    # -- plumbing ---------------------------------------------------------------------------

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, payload: Any) -> None:
        self._send(status, json.dumps(payload, ensure_ascii=False).encode("utf-8"))

    def _fault(self) -> bool:
        """Answer an injected fault if one matches; True when answered."""
        target = self.path
        faults = self.server.faults
        delay = 0.0
        with self.server.lock:
            for pattern in faults.slow_once:
                key = (0, pattern, target)
                if pattern in target and key not in self.server.failed:
                    self.server.failed.add(key)
                    delay = faults.slow_seconds
        if delay:
            time.sleep(delay)  # longer than the client's timeout: it gives up and retries
            self._json(200, {"error": "too late"})
            return True
        with self.server.lock:
            for pattern in faults.always_fail:
                if pattern in target:
                    self._json(500, {"error": "injected failure"})
                    return True
            for patterns, status in ((faults.fail_once, 500), (faults.throttle_once, 429)):
                for pattern in patterns:
                    key = (status, pattern, target)
                    if pattern in target and key not in self.server.failed:
                        self.server.failed.add(key)
                        self._json(status, {"error": "injected failure"})
                        return True
            for pattern in faults.malformed:
                if pattern in target:
                    self._send(200, b'{"total_count": 3, "results": [{"idweb": "26-')
                    return True
        return False

    def _log(self, body: bytes = b"") -> None:
        with self.server.lock:
            self.server.requests.append(
                {
                    "method": self.command,
                    "path": self.path,
                    "user_agent": self.headers.get("User-Agent", ""),
                    "body": body.decode("utf-8", "replace"),
                }
            )

    # -- routes -----------------------------------------------------------------------------

    def do_GET(self) -> None:
        self._log()
        if self._fault():
            return
        url = urlparse(self.path)
        if url.path == BOAMP_PATH:
            self._boamp(parse_qs(url.query))
            return
        if url.path == DECP_PATH:
            self._boamp(
                parse_qs(url.query), self.server.decp_rows, self.server.faults.decp_extra_total
            )
            return
        m = TED_XML_RE.match(url.path)
        if m and m.group(1) in self.server.data.ted_xml:
            self._send(200, self.server.data.ted_xml[m.group(1)], "application/xml")
            return
        self._json(404, {"error": "not found", "path": url.path})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self._log(body)
        if self._fault():
            return
        if urlparse(self.path).path == TED_SEARCH_PATH:
            self._ted_search(body)
            return
        self._json(404, {"error": "not found"})

    def _boamp(
        self,
        query: dict[str, list[str]],
        rows: list[tuple[str, str, str]] | None = None,
        extra_total: int | None = None,
    ) -> None:
        """An Opendatasoft ``/records`` answer over ``rows`` (BOAMP's unless given)."""
        where = query.get("where", [""])[0]
        try:
            limit = int(query.get("limit", ["10"])[0])
            offset = int(query.get("offset", ["0"])[0])
        except ValueError:
            self._json(400, {"error_code": "InvalidRESTParameterError", "message": "limit/offset"})
            return
        if limit > 100 or limit < 0:
            self._json(
                400,
                {
                    "error_code": "InvalidRESTParameterError",
                    "message": "Invalid value for limit API parameter",
                },
            )
            return
        if offset + limit > self.server.max_offset:
            self._json(
                400,
                {
                    "error_code": "InvalidRESTParameterError",
                    "message": f"offset + limit must be lower than {self.server.max_offset}",
                },
            )
            return
        ge = _DATE_GE.search(where)
        le = _DATE_LE.search(where)
        rows = self.server.boamp_rows if rows is None else rows
        selected = [
            r for r in rows if (not ge or r[0] >= ge.group(1)) and (not le or r[0] <= le.group(1))
        ]
        order = query.get("order_by", [""])[0].lower()
        if "desc" in order:
            selected = list(reversed(selected))
        page = selected[offset : offset + limit]
        if extra_total is None:
            extra_total = self.server.faults.boamp_extra_total
        total = len(selected) + extra_total
        body = (
            '{"total_count": '
            + str(total)
            + ', "results": ['
            + ", ".join(text for _, _, text in page)
            + "]}"
        )
        self._send(200, body.encode("utf-8"))

    def _ted_search(self, body: bytes) -> None:
        try:
            request = json.loads(body or b"{}")
            query = str(request.get("query", ""))
            limit = int(request.get("limit", 10))
        except (ValueError, TypeError):
            self._json(400, {"message": "invalid JSON body"})
            return
        countries = re.search(r"buyer-country IN \(([^)]*)\)", query)
        wanted = set(countries.group(1).split()) if countries else None
        ge = re.search(r"publication-date>=(\d{8})", query)
        le = re.search(r"publication-date<=(\d{8})", query)

        def keep(entry: dict[str, Any]) -> bool:
            day = entry["publication-date"][:10].replace("-", "")
            if (ge and day < ge.group(1)) or (le and day > le.group(1)):
                return False
            return not wanted or bool(wanted & set(entry.get("buyer-country", [])))

        selected = [e for e in self.server.data.ted_index if keep(e)]
        token = request.get("iterationNextToken")
        start = int(base64.b64decode(token).decode()) if token else 0
        page = selected[start : start + limit]
        end = start + len(page)
        next_token = base64.b64encode(str(end).encode()).decode() if end < len(selected) else None
        host = f"http://{self.headers.get('Host', '127.0.0.1')}"
        notices = [
            {**e, "links": {"xml": {"MUL": f"{host}/en/notice/{e['publication-number']}/xml"}}}
            for e in page
        ]
        self._json(
            200,
            {
                "notices": notices,
                "totalNoticeCount": len(selected) + self.server.faults.ted_extra_total,
                "iterationNextToken": next_token,
                "timedOut": False,
            },
        )


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self, address: tuple[str, int], data: ReplayData, faults: ReplayFaults, max_offset: int
    ) -> None:
        super().__init__(address, _Handler)
        self.data = data
        self.faults = faults
        self.max_offset = max_offset
        self.lock = threading.Lock()
        self.failed: set[tuple[int, str, str]] = set()
        self.requests: list[dict[str, Any]] = []
        # (dateparution, idweb, text), sorted as order_by=dateparution,idweb would sort them
        rows = []
        for text in data.boamp_records:
            record = json.loads(text)
            rows.append((record.get("dateparution") or "", record.get("idweb") or "", text))
        self.boamp_rows = sorted(rows)
        self.decp_rows = decp_rows(data.decp_records)


class ReplayServer:
    """Serve recorded notices on 127.0.0.1 (a free port by default) in a background thread.

    Use as a context manager; ``boamp_base_url`` and ``ted_base_url`` are what the crawl takes
    as ``--base-url``.
    """

    def __init__(
        self,
        data: ReplayData | None = None,
        *,
        faults: ReplayFaults | None = None,
        port: int = 0,
        max_offset: int = 10000,
    ) -> None:
        self.data = data or ReplayData.load()
        self.faults = faults or ReplayFaults()
        self._server = _Server(("127.0.0.1", port), self.data, self.faults, max_offset)
        self._thread = threading.Thread(
            target=self._server.serve_forever, daemon=True, name="tenderwatch-replay"
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def boamp_base_url(self) -> str:
        return self.url + BOAMP_PATH.rsplit("/records", 1)[0]

    @property
    def ted_base_url(self) -> str:
        return self.url

    @property
    def decp_base_url(self) -> str:
        return self.url + DECP_PATH.rsplit("/records", 1)[0]

    def base_url(self, source: str) -> str:
        """What ``crawl SOURCE --base-url`` takes for ``source``."""
        return getattr(self, f"{source}_base_url")

    @property
    def requests(self) -> list[dict[str, Any]]:
        with self._server.lock:
            return list(self._server.requests)

    def start(self) -> ReplayServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> ReplayServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
