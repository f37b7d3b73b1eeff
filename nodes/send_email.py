"""Send Email: write a message into the outbox; it is sent once the action has succeeded."""

import re
from email.utils import parseaddr

from nodes.kind import EventKind, Port, Raises, Setting

# A line break in a header would end it; the mail library refuses such headers at sending time,
# after the commit, so they are refused here while the run can still be rolled back.
_LINE_BREAK = re.compile(r"[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]")


def valid_address(address: str) -> bool:
    """A plain check that text is one mail address."""
    _name, addr = parseaddr(address)
    return bool(addr) and addr.count("@") == 1 and "." in addr.split("@")[1] \
        and " " not in addr and "," not in address and not _LINE_BREAK.search(address)


def _addresses(value) -> list[str]:
    if value in (None, ""):
        return []
    if isinstance(value, str):
        return [a.strip() for a in value.split(",") if a.strip()]
    if isinstance(value, (list, tuple)):
        return [str(a).strip() for a in value if str(a).strip()]
    return [str(value)]


async def run(ctx, inputs, settings):
    """Check the addresses and write the message into the outbox (the run's transaction)."""
    to, cc = _addresses(inputs.get("to")), _addresses(inputs.get("cc"))
    if not to:
        raise ctx.error("no recipient: `to` is empty", status=422)
    for address in to + cc:
        if not valid_address(address):
            raise ctx.error(f'"{address}" is not a mail address', status=422)
    subject = str(inputs.get("subject") or "")
    if _LINE_BREAK.search(subject):
        raise ctx.error("the subject must be one line: it has a line break", status=422)
    await ctx.send_mail(to=to, cc=cc, subject=subject, text=str(inputs.get("text") or ""),
                  html=str(inputs.get("html") or ""))
    return {"sent": {"to": to, "cc": cc, "subject": subject}}


EVENT = EventKind(
    id="send_email",
    writes=True,  # the outbox row, in the run's transaction
    name="Send Email",
    category="Messaging",
    doc="Send a mail: `to` and `cc` (one address, several separated by commas, or a list), a "
        "subject, and a text and/or HTML body, each a literal or an expression such as "
        "=concat('Welcome, ', newUser.name). The mail is written into the outbox with the "
        "action's other changes and leaves only after the whole action has succeeded, so a "
        "failed run sends nothing; a mail server that is down does not change the action's "
        "answer: the mail is retried until the server takes it. A bad address or a subject "
        "with a line break fails the action with status 422. Headless `serve` sends through "
        "the SMTP server in the project settings; in the editor mails go to the Outbox.",
    run=run,
    inputs=(
        Port("to", "Any", "Recipient address(es).", required=True),
        Port("cc", "Any", "Copy address(es)."),
        Port("subject", "Text", "The subject line.", required=True),
        Port("text", "Text", "The plain-text body."),
        Port("html", "Text", "The HTML body (optional)."),
    ),
    outputs=(Port("sent", "Record", "What was queued: to, cc, subject."),),
    settings=(Setting("as", "variable", "Store what was queued in this variable.", default=""),),
    errors=(Raises(422, "an address is not valid, `to` is empty or the subject has a line break"),),
    summary=lambda s: f"to {s.get('to')!s:.28}",
)
