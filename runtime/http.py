"""The HTTP client events use: bounded time and size, and no reaching cloud metadata addresses."""

from __future__ import annotations

import ipaddress
import json
import socket
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver
from aiohttp.resolver import DefaultResolver

# Link-local addresses include the cloud metadata service (169.254.169.254); IPv6-mapped
# forms of them are caught by checking `ipv4_mapped` too.
BLOCKED = [ipaddress.ip_network(n) for n in ("169.254.0.0/16", "fe80::/10", "fd00:ec2::254/128",
                                             "100.100.100.200/32")]


class BlockedAddress(Exception):
    """A request to an address the project does not allow."""


def blocked(host: str) -> bool:
    """Whether an IP address is link-local or a metadata address."""
    try:
        ip = ipaddress.ip_address(host.strip("[]").split("%")[0])
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return any(ip in net or (mapped is not None and mapped in net) for net in BLOCKED
               if ip.version == net.version or mapped is not None)


class GuardedResolver(AbstractResolver):
    """Resolves names, dropping addresses that are blocked (so DNS cannot smuggle them in)."""

    def __init__(self):
        self._resolver = DefaultResolver()

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET):
        """Addresses of a host, none of them blocked."""
        infos = await self._resolver.resolve(host, port, family)
        allowed = [i for i in infos if not blocked(i["host"])]
        if not allowed:
            raise BlockedAddress(f"{host} resolves to a link-local or metadata address")
        return allowed

    async def close(self) -> None:
        """Close the underlying resolver."""
        await self._resolver.close()


class Unreachable(ValueError):
    """No answer: a timeout or a connection error (a call that may succeed when retried)."""

    retryable = True  # what HTTP Request reads (nodes/ does not import runtime/)


class HttpClient:
    """One shared aiohttp session for a server's HTTP Request events."""

    def __init__(self, allow_private: bool = False):
        self.allow_private = allow_private
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        """The session, made on first use (inside the running loop)."""
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                resolver=None if self.allow_private else GuardedResolver(), limit=50)
            self._session = aiohttp.ClientSession(connector=connector)
        return self._session

    async def close(self) -> None:
        """Close the session."""
        if self._session is not None:
            await self._session.close()

    async def request(self, method: str, url: str, *, headers: dict | None = None,
                      query: dict | None = None, body: Any = None, body_type: str = "json",
                      timeout: float = 10.0, max_bytes: int = 1024 * 1024) -> dict[str, Any]:
        """Send a request; the response as {status, headers, body}. Raises ValueError with why."""
        try:
            parsed = aiohttp.client.URL(url)
        except ValueError:
            raise ValueError(f'"{url}" is not a URL') from None
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise ValueError(f'"{url}" is not an http:// or https:// URL')
        if not self.allow_private and blocked(parsed.host):
            raise ValueError(f"{parsed.host} is a link-local or metadata address; allow private "
                             "addresses in the project settings to reach it")
        kwargs: dict[str, Any] = {"headers": {str(k): str(v) for k, v in (headers or {}).items()},
                                  "params": {str(k): str(v) for k, v in (query or {}).items()},
                                  "timeout": aiohttp.ClientTimeout(total=timeout)}
        if body is not None:
            if body_type == "json":
                kwargs["json"] = body
            elif body_type == "form":
                kwargs["data"] = {str(k): str(v) for k, v in dict(body).items()}
            else:
                kwargs["data"] = str(body)
        try:
            async with self.session().request(method, url, **kwargs) as r:
                raw = await r.content.read(max_bytes + 1)
                if len(raw) > max_bytes:
                    raise ValueError(f"the response is larger than {max_bytes} bytes")
                text = raw.decode(r.charset or "utf-8", "replace")
                data: Any = text
                if r.content_type == "application/json" or r.content_type.endswith("+json"):
                    try:
                        data = json.loads(text) if text else None
                    except ValueError:
                        data = text
                return {"status": r.status, "headers": dict(r.headers), "body": data}
        except BlockedAddress as e:
            raise ValueError(f"{e}; allow private addresses in the project settings to reach "
                             "it") from None
        except TimeoutError:
            raise Unreachable(f"no answer from {parsed.host} within {timeout:g} s") from None
        except aiohttp.ClientError as e:
            raise Unreachable(f"{parsed.host}: {e}") from None
