"""One-click unsubscribe (RFC 8058): a link per alert and recipient, signed with a key kept in
the data directory, that takes that recipient off that alert (the alert is paused when it was
its only recipient, so it can be resumed with nothing lost)."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path
from urllib.parse import urlencode

from search.alerts.rules import RuleTable

KEY_FILE = "unsubscribe.key"
PATH = "/unsubscribe"


def key(data_dir: Path) -> bytes:
    """The signing key: created once (readable by its owner only), then read."""
    path = data_dir / KEY_FILE
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first
        return path.read_bytes()
    with os.fdopen(fd, "wb") as out:
        out.write(secrets.token_bytes(32))
    return path.read_bytes()


def signature(secret: bytes, alert: str, recipient: str) -> str:
    """The signature of (alert, recipient); a recipient address cannot hold a NUL."""
    message = f"{alert}\0{recipient.lower()}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()[:32]


def link(public_url: str, secret: bytes, alert: str, recipient: str) -> str:
    """The unsubscribe address for one recipient of one alert."""
    query = urlencode({"alert": alert, "email": recipient, "sig": signature(secret, alert, recipient)})
    return f"{public_url}{PATH}?{query}"


def valid(secret: bytes, alert: str, recipient: str, sig: str) -> bool:
    """True when `sig` was made by this installation for this alert and recipient."""
    return hmac.compare_digest(signature(secret, alert, recipient), sig or "")


def unsubscribe(rules: RuleTable, alert: str, recipient: str) -> str:
    """Take `recipient` off `alert`: 'removed', 'paused' (it was the only recipient), or
    'absent' (already off). NoSuchAlert when the alert is gone."""
    rule = rules.get(alert)
    kept = [e for e in rule.emails if e.lower() != recipient.lower()]
    if len(kept) == len(rule.emails):
        return "absent"
    if not kept:
        rules.set_paused(alert, True)
        return "paused"
    rules.update(alert, rule.query, kept, rule.sites, mode=rule.mode)
    return "removed"
