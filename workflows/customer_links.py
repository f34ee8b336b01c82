"""Personal review links for customers without Slack: signed, expiring, single-customer,
revocable.

A token is ``<payload>.<signature>``, both base64url: the payload names the workspace, the
customer, the customer's current link nonce and the expiry; the signature is an HMAC-SHA256
of the payload with the app's secret (the Slack signing secret). Revoking a link gives the
customer a new nonce: every token issued before stops working. Nothing in a token is
secret, but nothing in it can be changed without the app's key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from storage.models import Customer
from workflows.problems import Forbidden

LINK_DAYS = 14


@dataclass(frozen=True)
class LinkClaim:
    team_id: str
    customer_id: int
    nonce: str
    expires: datetime


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret: str, payload: str) -> str:
    return _b64(hmac.new(secret.encode(), b"journeybot-review:" + payload.encode(),
                         hashlib.sha256).digest())


def issue(customer: Customer, team_id: str, secret: str, *, now: datetime | None = None,
          days: int = LINK_DAYS) -> str:
    """A token for the customer's review page, valid `days` days (the customer's nonce is
    created on first use; the caller commits)."""
    now = now or datetime.now(timezone.utc)
    if not customer.link_nonce:
        customer.link_nonce = secrets.token_urlsafe(12)
    expires = now + timedelta(days=days)
    customer.link_expires_at = expires
    payload = _b64(json.dumps({"t": team_id, "c": customer.id, "n": customer.link_nonce,
                               "e": int(expires.timestamp())}, separators=(",", ":")).encode())
    return f"{payload}.{_sign(secret, payload)}"


def revoke(customer: Customer) -> None:
    """Every link given to the customer so far stops working. Caller commits."""
    customer.link_nonce = secrets.token_urlsafe(12)
    customer.link_expires_at = None


def read(token: str, secret: str, *, now: datetime | None = None) -> LinkClaim:
    """The claim of a well-signed, unexpired token; ``Forbidden("link_invalid")`` or
    ``Forbidden("link_expired")`` otherwise. (Revocation is checked against the stored
    customer by ``check``.)"""
    now = now or datetime.now(timezone.utc)
    payload, _, signature = (token or "").partition(".")
    if not payload or not signature or not hmac.compare_digest(
            signature, _sign(secret, payload)):
        raise Forbidden("link_invalid")
    try:
        data = json.loads(_unb64(payload))
        claim = LinkClaim(str(data["t"]), int(data["c"]), str(data["n"]),
                          datetime.fromtimestamp(int(data["e"]), timezone.utc))
    except (ValueError, KeyError, TypeError) as error:
        raise Forbidden("link_invalid") from error
    if claim.expires <= now:
        raise Forbidden("link_expired")
    return claim


def check(customer: Customer | None, claim: LinkClaim) -> Customer:
    """The customer the claim names, if the link was not revoked since."""
    if customer is None or customer.id != claim.customer_id:
        raise Forbidden("link_invalid")
    if not customer.link_nonce or not hmac.compare_digest(customer.link_nonce, claim.nonce):
        raise Forbidden("link_revoked")
    return customer
