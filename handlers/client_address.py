"""The address a request really came from, for per-address rate limits and the audit log.

Behind the TLS proxy every request comes from the proxy. Only when the peer is one
of ``TRUSTED_PROXIES`` is ``X-Forwarded-For`` believed, and only its last hop (the
one the proxy added itself: the ones before it are the client's to write).
"""

from aiohttp import web

from handlers.context import SETTINGS


def client_address(request: web.Request) -> str | None:
    peer = request.remote
    if peer is None or peer not in request.config_dict[SETTINGS].trusted_proxies:
        return peer
    forwarded = request.headers.get("X-Forwarded-For", "")
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    return hops[-1] if hops else peer
