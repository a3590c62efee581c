"""Logging for the command line: one setup, quiet libraries, and no secret in any log line.

:func:`setup_logging` installs one stderr handler on the root logger. tenderwatch's own
loggers (``tenderwatch.*`` and the spiders) speak from INFO; the libraries (Scrapy, apprise,
aiosmtpd, urllib3, ``mail.log``…) only from WARNING, unless DEBUG is asked for (``-v`` or
``TENDERWATCH_LOG_LEVEL=DEBUG``), and ``-q`` keeps errors only. The thresholds are a filter on
the handler rather than logger levels because Scrapy resets its loggers' levels when a crawl
starts (``dictConfig``), and a filter on the handler is what it cannot undo.

:class:`SecretFilter` rewrites every record that reaches a root handler — the project's and
the libraries' alike — so that no channel URL secret is ever written: apprise and urllib3 log
webhook URLs with their tokens at DEBUG. Two layers: the exact strings registered with
:func:`register_secret` / :func:`register_apprise_config` (the apprise YAML's URLs, and their
secret parts, which urllib3 prints without the URL around them), then a generic rewrite of
any URL (:func:`mask_url`).
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from pathlib import Path
from typing import TextIO
from urllib.parse import unquote

#: Loggers that belong to tenderwatch: its modules and its spiders (Scrapy names a spider's
#: logger after the spider).
OWN_LOGGERS: tuple[str, ...] = ("tenderwatch", "france_boamp", "europe_ted", "france_decp")
#: The level names accepted in TENDERWATCH_LOG_LEVEL, the TOML ``log_level`` and the flags.
LEVELS: dict[str, int] = {
    "DEBUG": logging.DEBUG,
    "INFO": logging.INFO,
    "WARNING": logging.WARNING,
    "ERROR": logging.ERROR,
    "CRITICAL": logging.CRITICAL,
}
#: Libraries never speak below this level unless tenderwatch itself is at DEBUG.
LIBRARY_FLOOR = logging.WARNING
MASK = "***"

# A URL: a scheme, then everything up to a blank or a quote/bracket that closes it in a log
# line. Trailing punctuation stays outside (", " after a URL in a sentence).
_URL = re.compile(r"\b([A-Za-z][A-Za-z0-9+.\-]{1,30})://([^\s'\"<>\[\]{}`]+)")
_TRAILING = ".,;:)!?"
# What a token is made of (base64url, hex, UUIDs, Teams' "uuid@uuid", Telegram's "id:secret").
_TOKEN_CHARS = re.compile(r"[A-Za-z0-9_\-.~%+=:@]+")
# Secrets shorter than this are not registered: replacing "1" or "abc" everywhere would
# garble every log line and protect nothing.
MIN_SECRET = 6


class LogLevelError(ValueError):
    """An unknown log level; the message is a French sentence for the user."""


def looks_like_token(part: str) -> bool:
    """A path segment or host label that looks like a credential: 16+ token characters with
    letters and digits mixed (``T00000000``, ``a1b2…``, UUIDs), or 24+ characters with no
    word separator. Plain words (``IncomingWebhook``, ``consortium-idf``) are left alone."""
    if len(part) < 16 or not _TOKEN_CHARS.fullmatch(part):
        return False
    has_digit = any(c.isdigit() for c in part)
    has_alpha = any(c.isalpha() for c in part)
    if has_digit and has_alpha:
        return True
    return len(part) >= 24 and not re.search(r"[-.]", part)


def _mask_authority(authority: str) -> str:
    """``user:password@host:port`` → ``***@host:port``; token-like host labels masked."""
    userinfo, at, hostport = authority.rpartition("@")
    pieces = []
    for piece in hostport.split(":"):
        labels = piece.split(".")
        pieces.append(".".join(MASK if looks_like_token(label) else label for label in labels))
    return (MASK + at if at and userinfo else "") + ":".join(pieces)


def _mask_query(query: str) -> str:
    """``a=1&b=2`` → ``a=***&b=***`` (keys kept: they say what the URL is about)."""
    out = []
    for pair in query.split("&"):
        key, eq, value = pair.partition("=")
        if eq:
            out.append(f"{key}={MASK if value else ''}")
        else:
            out.append(MASK if looks_like_token(key) else key)
    return "&".join(out)


def _mask_one(scheme: str, rest: str) -> str:
    trail = ""
    while rest and rest[-1] in _TRAILING:
        trail = rest[-1] + trail
        rest = rest[:-1]
    rest, hash_, fragment = rest.partition("#")
    rest, qmark, query = rest.partition("?")
    authority, slash, path = rest.partition("/")
    masked = _mask_authority(authority)
    if slash:
        masked += "/" + "/".join(
            MASK if looks_like_token(unquote(seg)) else seg for seg in path.split("/")
        )
    if qmark:
        masked += "?" + _mask_query(query)
    if hash_:
        masked += "#" + (MASK if fragment else "")
    return f"{scheme}://{masked}{trail}"


class _Secrets:
    """The exact strings to hide, longest first (a URL before the token inside it)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None

    def add(self, *values: str) -> None:
        with self._lock:
            before = len(self._values)
            self._values.update(v for v in values if v and len(v) >= MIN_SECRET)
            if len(self._values) != before:
                ordered = sorted(self._values, key=len, reverse=True)
                self._pattern = re.compile("|".join(re.escape(v) for v in ordered))

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
            self._pattern = None

    def sub(self, text: str) -> str:
        pattern = self._pattern
        return pattern.sub(MASK, text) if pattern is not None else text


_SECRETS = _Secrets()


def mask_url(text: str) -> str:
    """``text`` with every registered secret and every URL's secret parts replaced by
    ``***``: userinfo (login and password), query-string values, fragment, and host labels or
    path segments that look like tokens. Safe on any text (a log line, an error message); a
    text without URL or secret comes back unchanged."""
    if not text:
        return text
    text = _SECRETS.sub(text)
    if "://" not in text:
        return text
    return _URL.sub(lambda m: _mask_one(m.group(1), m.group(2)), text)


def secret_parts(url: str) -> list[str]:
    """The parts of a channel URL that are secret on their own: the whole URL, its userinfo
    and password, its query values, its token-like host labels and path segments (urllib3
    logs ``"POST /hook/<token> HTTP/1.1"`` with no URL around it)."""
    match = _URL.match(url.strip())
    if not match:
        return [url.strip()]
    rest = match.group(2).partition("#")[0]
    rest, _, query = rest.partition("?")
    authority, _, path = rest.partition("/")
    userinfo, at, hostport = authority.rpartition("@")
    parts = [url.strip()]
    if at:
        parts.append(userinfo)
        parts += userinfo.split(":", 1)[1:]
    parts += [p for p in re.split(r"[:.]", hostport) if looks_like_token(p)]
    segments = path.split("/")
    parts += [s for s in segments if looks_like_token(unquote(s))]
    if any(looks_like_token(unquote(s)) for s in segments):
        parts.append("/" + path)
    parts += [v for _, _, v in (p.partition("=") for p in query.split("&")) if v]
    return parts


def register_secret(*values: str) -> None:
    """Hide these exact strings (and, for URLs, their secret parts) in every log record."""
    for value in values:
        _SECRETS.add(*secret_parts(value) if "://" in value else [value])


def register_apprise_config(path: str | Path) -> int:
    """Register every URL of an apprise configuration file (YAML or text) as a secret;
    returns how many were found. A missing or unreadable file registers nothing (the caller
    reports it in its own words)."""
    try:
        text = Path(path).expanduser().read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return 0
    urls = [m.group(0).rstrip(_TRAILING) for m in _URL.finditer(text)]
    register_secret(*urls)
    return len(urls)


def clear_secrets() -> None:
    """Forget the registered secrets (tests)."""
    _SECRETS.clear()


class SecretFilter(logging.Filter):
    """Rewrite each record so that it holds no secret: the formatted message, the traceback
    and the stack. Installed on handlers, it sees the libraries' records too."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken record: let the handler report it as usual
            return True
        record.msg = mask_url(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_url(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_url(record.stack_info)
        return True


def is_own(name: str) -> bool:
    """Whether a logger belongs to tenderwatch (``tenderwatch.cycle``, ``france_boamp``)."""
    return name.split(".", 1)[0] in OWN_LOGGERS


#: Libraries allowed below the floor, by logger name (set by :func:`set_library_level`).
_LIBRARY_LEVELS: dict[str, int] = {}


def set_library_level(name: str, level: int) -> None:
    """Let one library speak from ``level`` on (``tenderwatch schedule`` shows APScheduler's
    job runs at INFO); -q still wins, since tenderwatch's own threshold is then higher."""
    _LIBRARY_LEVELS[name] = level


class LevelFilter(logging.Filter):
    """One threshold for tenderwatch's loggers, another for everything else."""

    def __init__(self, own: int, libraries: int) -> None:
        super().__init__()
        self.own = own
        self.libraries = libraries

    def filter(self, record: logging.LogRecord) -> bool:
        if is_own(record.name):
            return record.levelno >= self.own
        top = record.name.split(".", 1)[0]
        if top in _LIBRARY_LEVELS:
            return record.levelno >= max(self.own, min(_LIBRARY_LEVELS[top], self.libraries))
        return record.levelno >= self.libraries


class ConsoleFormatter(logging.Formatter):
    """tenderwatch's own progress (INFO) as plain lines; anything else with its level and
    logger name, and the time when debugging."""

    def __init__(self, debug: bool) -> None:
        prefix = "%(asctime)s " if debug else ""
        super().__init__(prefix + "%(levelname)s %(name)s: %(message)s")
        self.debug = debug

    def format(self, record: logging.LogRecord) -> str:
        if not self.debug and record.levelno == logging.INFO and is_own(record.name):
            message = record.getMessage()
            if record.exc_text:
                message += "\n" + record.exc_text
            return message
        return super().format(record)


def parse_level(level: str | int | None, default: int = logging.INFO) -> int:
    """A level name (any case) or number → its number; :class:`LogLevelError` otherwise."""
    if level is None or level == "":
        return default
    if isinstance(level, int):
        return level
    name = str(level).strip().upper()
    if name.isdigit():
        return int(name)
    if name not in LEVELS:
        raise LogLevelError(
            f"niveau de journalisation inconnu : « {level} » "
            f"(attendu : {', '.join(LEVELS)}) — voir TENDERWATCH_LOG_LEVEL ou log_level"
        )
    return LEVELS[name]


def install_secret_filter(handler: logging.Handler) -> None:
    """Add the secret filter to a handler once (a file handler added later, for instance)."""
    if not any(isinstance(f, SecretFilter) for f in handler.filters):
        handler.addFilter(SecretFilter())


class _TenderwatchHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler :func:`setup_logging` owns (a second call replaces it). On a terminal it
    shares stderr with a status line (:func:`show_status`): a log record clears the line,
    is written, and the line is drawn again below it."""

    def emit(self, record: logging.LogRecord) -> None:
        status = _STATUS.text if _STATUS.stream is self.stream else None
        if status:
            self.stream.write("\r\x1b[K")
        super().emit(record)
        if status:
            self.stream.write(status)
            self.flush()


class _Status:
    """The one progress line shown on a terminal, rewritten in place."""

    def __init__(self) -> None:
        self.text: str | None = None
        self.stream: TextIO | None = None


_STATUS = _Status()


def show_status(text: str, stream: TextIO | None = None) -> bool:
    """Show ``text`` as the progress line on stderr when it is a terminal; returns whether it
    was shown (not on a pipe or a log file: progress is then logged every N items)."""
    stream = stream if stream is not None else sys.stderr
    if not stream.isatty():
        return False
    _STATUS.text, _STATUS.stream = text, stream
    stream.write("\r\x1b[K" + text)
    stream.flush()
    return True


class Progress:
    """Progress of a long piece of work, for a person: a counter line rewritten in place on a
    terminal, otherwise one INFO line on ``logger`` every ``every`` items. Silent when the
    logger does not speak INFO (``-q``). The caller prints its own summary at the end."""

    def __init__(
        self,
        what: str,
        total: int | None = None,
        *,
        logger: logging.Logger,
        every: int = 100,
        stream: TextIO | None = None,
    ) -> None:
        self.what = what
        self.total = total
        self.logger = logger
        self.every = max(1, every)
        self.stream = stream
        self.count = 0
        self._shown = False

    def text(self) -> str:
        """« Envois : 12/40 »."""
        of = f"/{self.total}" if self.total is not None else ""
        return f"{self.what} : {self.count}{of}"

    def step(self, n: int = 1) -> None:
        self.count += n
        if not self.logger.isEnabledFor(logging.INFO):
            return
        if show_status(self.text(), self.stream):
            self._shown = True
        elif self.count % self.every == 0 or self.count == self.total:
            self.logger.info("%s", self.text())

    def done(self) -> None:
        if self._shown:
            clear_status()
            self._shown = False


def clear_status() -> None:
    """Erase the progress line (the summary printed next replaces it)."""
    if _STATUS.stream is not None and _STATUS.text:
        _STATUS.stream.write("\r\x1b[K")
        _STATUS.stream.flush()
    _STATUS.text, _STATUS.stream = None, None


def setup_logging(
    level: str | int | None = None,
    *,
    verbose: bool = False,
    quiet: bool = False,
    stream: TextIO | None = None,
) -> int:
    """Configure logging for a command; returns tenderwatch's own level.

    ``level`` is the configured level (``TENDERWATCH_LOG_LEVEL`` / ``log_level``, default
    INFO); ``verbose`` forces DEBUG for everyone, ``quiet`` ERROR. Libraries stay at WARNING
    unless the level is DEBUG. Calling it again (a command after the group) replaces the
    previous setup. Every root handler, ours and any other, gets the secret filter.
    """
    own = parse_level(level)
    if verbose:
        own = logging.DEBUG
    elif quiet:
        own = logging.ERROR
    libraries = logging.DEBUG if own <= logging.DEBUG else max(own, LIBRARY_FLOOR)
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, _TenderwatchHandler):
            root.removeHandler(handler)
    handler = _TenderwatchHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(ConsoleFormatter(debug=own <= logging.DEBUG))
    handler.addFilter(LevelFilter(own, libraries))
    root.addHandler(handler)
    root.setLevel(min(own, libraries))
    for existing in root.handlers:
        install_secret_filter(existing)
    return own
