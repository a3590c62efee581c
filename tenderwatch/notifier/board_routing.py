"""How the board's marks change what the notifier sends (issue #10, ADR 0010).

- Reminders before a deadline go to the members who marked « intéressé » or « on répond »
  on the notice, each by personal e-mail (a delivery row whose channel is
  ``member:<id>``); to the group's channels when nobody marked anything yet; and to nobody
  when the group's members only said « vu », « pas pour nous » or « cherche partenaire ».
- A claim (« on répond ») and a « cherche partenaire » are announced once to the group's
  channels: the board queues a ``board-claim`` / ``board-partner`` row per group tag, on
  the ``notag:<tag>`` placeholder channel that :class:`~tenderwatch.notifier.delivery.Deliverer`
  already replaces with the tag's real channels before sending; the deliveries table's unique
  key and the (group, notice, kind) check keep it to one announcement.

Personal e-mails go through the apprise e-mail channel tagged ``[web] mail_tag``
(``connexion``), its recipients replaced by the member's address: no second SMTP setup.
"""

from __future__ import annotations

import logging
from typing import Any

import apprise
from apprise import NotifyFormat
from apprise.common import MATCH_ALL_TAG
from markupsafe import escape

from tenderwatch.core.board import ANNOUNCEMENT_KINDS, Board, Member
from tenderwatch.core.store import Store
from tenderwatch.notifier.models import NoticeView
from tenderwatch.notifier.render import Message, clean, escape_markdown

logger = logging.getLogger(__name__)

#: Channel of a delivery to one member: ``member:<board member id>``.
MEMBER_CHANNEL = "member:"
#: The delivery kinds of the board's announcements (defined with the marks, in core).
ANNOUNCEMENTS = tuple(ANNOUNCEMENT_KINDS.values())
DEFAULT_MAIL_TAG = "connexion"


def reminder_recipients(store: Store, group_id: str, notice_id: str) -> list[Member] | None:
    """Who gets a reminder: the engaged members (personal e-mails), ``None`` for the group's
    channels (nobody marked anything), ``[]`` for nobody."""
    board = Board(store)
    engaged = board.engaged_members(group_id, notice_id)
    if engaged:
        return engaged
    return None if not board.any_mark(group_id, notice_id) else []


def send_to_address(
    sender: Any, address: str, message: Message, *, tag: str = DEFAULT_MAIL_TAG, timeout: float = 60
) -> tuple[bool, str | None]:
    """Send ``message`` to ``address`` alone through the e-mail channel tagged ``tag`` of the
    sender's apprise configuration. The error names the tag, never the address or URL."""
    template = None
    for server in sender._apprise.find(MATCH_ALL_TAG, match_always=False):
        tags = {str(t) for t in getattr(server, "tags", ()) or ()}
        if tag in tags and hasattr(server, "targets") and hasattr(server, "smtp_host"):
            template = server
            break
    if template is None:
        return False, f"aucun canal e-mail portant l'étiquette « {tag} » pour les envois personnels"
    server = apprise.Apprise.instantiate(template.url(privacy=False))
    if server is None:
        return False, f"canal e-mail « {tag} » inutilisable"
    server.targets = [(False, address)]
    for attr in ("cc", "bcc"):
        if hasattr(server, attr):
            setattr(server, attr, set())
    one = apprise.Apprise()
    one.add(server)
    try:
        ok = one.notify(
            body=message.html, title=message.title, body_format=NotifyFormat.HTML, timeout=timeout
        )
    except Exception as exc:  # the plugin's text may quote the URL: keep the type only
        return False, f"e-mail personnel : exception {type(exc).__name__}"
    return (True, None) if ok else (False, "e-mail personnel : échec de l'envoi")


def send_to_member(
    store: Store, sender: Any, channel: str, message: Message, *, tag: str = DEFAULT_MAIL_TAG
) -> tuple[bool, str | None]:
    """Deliver a ``member:<id>`` row."""
    try:
        member = Board(store).member(int(channel[len(MEMBER_CHANNEL) :]))
    except ValueError:
        member = None
    if member is None:
        return False, f"membre [{channel}] inconnu du tableau"
    return send_to_address(sender, member.email, message, tag=tag)


def render_announcement(notice: NoticeView, kind: str, details: dict[str, Any]) -> Message:
    """« Alice Martin (ACI Drôme Nature) répond au lot 2 de : <titre> » — notice text and
    member names are escaped for each format."""
    who = clean(details.get("member")) or "Un membre"
    if details.get("structure"):
        who += f" ({clean(details['structure'])})"
    lot = clean(details.get("lot"))
    where = f"au lot {lot}" if lot else "à l'avis"
    if kind == "board-claim":
        what = f"répond {where}"
    else:
        role = {"cotraitance": "en co-traitance", "sous_traitance": "en sous-traitance"}.get(
            details.get("role") or "", ""
        )
        what = f"cherche un partenaire {role} pour répondre {where}".replace("  ", " ")
    title = clean(notice.title) or notice.id
    subject = f"Tableau de veille : {who} {what}"
    link = details.get("url") or ""
    text = f"{who} {what} : {title} ({notice.id}).\n" + (f"{link}\n" if link else "")
    html = (
        f"<p>{escape(who)} {escape(what)} : <strong>{escape(title)}</strong>"
        f" ({escape(notice.id)}).</p>"
        + (f'<p><a href="{escape(link)}">Voir sur le tableau de veille</a></p>' if link else "")
    )
    markdown = f"{escape_markdown(who)} {escape_markdown(what)} : **{escape_markdown(title)}**" + (
        f" ({escape_markdown(notice.id)})" + (f"\n{link}" if link else "")
    )
    return Message(title=subject, html=html, text=text, markdown=markdown)
