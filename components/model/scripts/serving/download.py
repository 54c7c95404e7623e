"""Image URLs, downloaded safely and decoded to the pixels a digit model takes.

Every hop is checked before connecting (no loopback, private or other non-public address unless
allowed), with a time and size limit; Pillow and numpy are imported only to decode, so a serving
image without them (TensorFlow Serving's) serves everything else and refuses image URLs clearly.
"""

from __future__ import annotations

import http.client
import io
import ipaddress
import os
import socket
import ssl
import time
import warnings
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from .protocol import RequestError, media_type

if TYPE_CHECKING:
    from collections.abc import Iterable

    import numpy as np

ALLOWLIST_ENV = "INFERENCE_URL_ALLOWLIST"
IMAGE_TIMEOUT_SECONDS = 5.0
IMAGE_MAX_BYTES = 5 * 1024 * 1024
IMAGE_MAX_PIXELS = 25_000_000
MAX_REDIRECTS = 3
_REDIRECTS = (301, 302, 303, 307, 308)
_CHUNK = 64 * 1024


def _allowlist() -> list[Any]:
    entries: list[Any] = []
    for raw in os.environ.get(ALLOWLIST_ENV, "").split(","):
        entry = raw.strip().lower()
        if not entry:
            continue
        try:
            entries.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
        except ValueError:
            entries.append(entry.rstrip("."))
    return entries


def _embedded_ipv4(address: Any) -> Any:
    """The IPv4 address hidden in an IPv6 one (mapped, 6to4, Teredo, NAT64), if any."""
    if address.version != 6:
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in ipaddress.ip_network("64:ff9b::/96"):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def forbidden_reason(address: Any) -> str | None:
    """Why downloads from `address` are refused (None when it is a public address)."""
    inner = _embedded_ipv4(address)
    if inner is not None:
        reason = forbidden_reason(inner)
        return f"{reason} (embedded in {address})" if reason else None
    for flag, name in (
        ("is_unspecified", "unspecified"),
        ("is_loopback", "loopback"),
        ("is_link_local", "link-local"),
        ("is_multicast", "multicast"),
        ("is_reserved", "reserved"),
        ("is_private", "private"),
    ):
        if getattr(address, flag):
            return name
    if not address.is_global:
        return "not globally routable"
    return None


def _allowed(host: str, address: Any, allowlist: Iterable[Any]) -> bool:
    for entry in allowlist:
        if isinstance(entry, str):
            if entry == host:
                return True
        elif address.version == entry.version and address in entry:
            return True
    return False


def _check_url(url: str, where: str) -> tuple[str, str, int, str, list[str]]:
    """Validate scheme and host of `url`; resolve it; return (scheme, host, port, path, ips).

    The returned addresses are the ones to connect to, so a second DNS answer cannot swap in a
    forbidden address after the check.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise RequestError(400, f"{where}: {url!r} is not a valid URL ({error})") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise RequestError(
            400,
            f"{where}: {url!r} uses scheme {scheme or 'none'!r}; only http and https are allowed",
        )
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise RequestError(400, f"{where}: {url!r} has no host")
    if parts.username or parts.password:
        raise RequestError(400, f"{where}: {url!r} carries credentials; they are not allowed")
    port = port or (443 if scheme == "https" else 80)
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as error:
            raise RequestError(422, f"{where}: cannot resolve host {host!r} ({error})") from None
        addresses = []
        for info in infos:
            address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
            if address not in addresses:
                addresses.append(address)
        if not addresses:
            raise RequestError(422, f"{where}: host {host!r} has no address") from None
    allowlist = _allowlist()
    literal = str(addresses[0]) == host
    for address in addresses:
        reason = forbidden_reason(address)
        if reason and not _allowed(host, address, allowlist):
            found = f"{address} is" if literal else f"host {host!r} resolves to {address},"
            raise RequestError(
                400,
                f"{where}: {found} a forbidden ({reason}) address; downloads "
                f"from loopback, link-local, private, multicast, reserved and unspecified "
                f"addresses are refused. If this host is trusted, add it to {ALLOWLIST_ENV} "
                f"(comma-separated hostnames, IPs or CIDRs) in the endpoint's environment.",
            )
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return scheme, host, port, path, [str(address) for address in addresses]


def _connect(addresses: list[str], port: int, timeout: float) -> socket.socket:
    """A socket to the first of the checked addresses that answers."""
    error: OSError = OSError("no address to connect to")
    for address in addresses:
        try:
            return socket.create_connection((address, port), timeout)
        except OSError as exc:
            error = exc
    raise error


class _PinnedHTTP(http.client.HTTPConnection):
    """HTTP connection to addresses checked beforehand (the Host header keeps the name)."""

    def __init__(self, host: str, port: int, addresses: list[str], timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._addresses, self._timeout = addresses, timeout

    def connect(self) -> None:
        self.sock = _connect(self._addresses, self.port, self._timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """HTTPS connection to a checked address; the certificate is verified against the name."""

    def __init__(self, host: str, port: int, addresses: list[str], timeout: float) -> None:
        self._tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self._tls)
        self._addresses, self._timeout = addresses, timeout

    def connect(self) -> None:
        sock = _connect(self._addresses, self.port, self._timeout)
        self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)


def download(
    url: str,
    *,
    timeout: float = IMAGE_TIMEOUT_SECONDS,
    max_bytes: int = IMAGE_MAX_BYTES,
    where: str | None = None,
) -> tuple[bytes, str]:
    """Fetch `url` under the safety rules; return (body, content type).

    http/https only; every hop's address is checked before connecting (no loopback, link-local,
    private, multicast, reserved or unspecified addresses unless `INFERENCE_URL_ALLOWLIST`
    permits them); at most `MAX_REDIRECTS` redirects; `timeout` seconds in total; bodies over
    `max_bytes` refused (by Content-Length up front, else while reading); only image/* types.
    """
    where = where or f"image_url {url!r}"
    deadline = time.monotonic() + timeout
    current = url
    for hop in range(MAX_REDIRECTS + 1):
        label = where if hop == 0 else f"{where}, redirect {hop} to {current!r}"
        scheme, host, port, path, addresses = _check_url(current, label)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        factory = _PinnedHTTPS if scheme == "https" else _PinnedHTTP
        connection = factory(host, port, addresses, remaining)
        response = None
        try:
            connection.request(
                "GET", path, headers={"Accept": "image/*", "User-Agent": "inference-handler"}
            )
            response = connection.getresponse()
            if response.status in _REDIRECTS:
                location = response.getheader("Location")
                if not location:
                    raise RequestError(
                        422, f"{label}: redirect {response.status} without a Location"
                    )
                current = urljoin(current, location)
                continue
            if response.status != 200:
                raise RequestError(
                    422, f"{label}: the server answered HTTP {response.status} {response.reason}"
                )
            kind = media_type(response.getheader("Content-Type"))
            if not kind.startswith("image/"):
                raise RequestError(
                    422, f"{label}: content type is {kind or 'missing'!r}, not an image (image/*)"
                )
            length = response.getheader("Content-Length")
            if length and length.strip().isdigit() and int(length) > max_bytes:
                raise RequestError(
                    413, f"{label}: the image has {int(length)} bytes; the limit is {max_bytes}"
                )
            data = bytearray()
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError()
                if connection.sock is not None:
                    connection.sock.settimeout(remaining)
                # read1 returns what has arrived, so a server trickling bytes meets the deadline.
                chunk = response.read1(_CHUNK)
                if not chunk:
                    break
                data.extend(chunk)
                if len(data) > max_bytes:
                    raise RequestError(
                        413, f"{label}: the image is larger than the limit of {max_bytes} bytes"
                    )
            return bytes(data), kind
        except RequestError:
            raise
        except TimeoutError:
            raise RequestError(
                422, f"{label}: no complete answer within {timeout:g} s (timeout)"
            ) from None
        except ssl.SSLError as error:
            raise RequestError(422, f"{label}: TLS failed ({error})") from None
        except (OSError, http.client.HTTPException) as error:
            raise RequestError(
                422, f"{label}: cannot download ({type(error).__name__}: {error})"
            ) from None
        finally:
            # The response owns the socket once the server says it will close the connection.
            if response is not None:
                response.close()
            connection.close()
    if time.monotonic() >= deadline:
        raise RequestError(422, f"{where}: no complete answer within {timeout:g} s (timeout)")
    raise RequestError(422, f"{where}: more than {MAX_REDIRECTS} redirects")


def _check_decoder(where: str) -> None:
    """Refuse an image URL, before downloading it, on an image without numpy or Pillow.

    Raises:
        RequestError: 422, naming what is missing and to send pixels instead.
    """
    try:
        import numpy  # noqa: F401
        import PIL  # noqa: F401
    except ImportError as error:
        raise RequestError(
            422,
            f"{where}: this serving image cannot decode image URLs (it lacks {error.name}); "
            'send the image\'s pixels instead: {"pixels": [...]}',
        ) from None


def image_pixels(data: bytes, side: int, where: str = "image_url") -> np.ndarray:
    """Decode an image into side x side raw 0..255 pixels, light digit on dark like MNIST.

    Grayscale (transparency composited on white), resized to the training side, and inverted
    when the background (the border) is light, so a black digit on white paper matches training.
    """
    _check_decoder(where)
    import numpy as np
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > IMAGE_MAX_PIXELS:
                raise RequestError(
                    413,
                    f"{where}: the image has {width} x {height} pixels; the limit is "
                    f"{IMAGE_MAX_PIXELS}",
                )
            image.load()
    except RequestError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise RequestError(422, f"{where}: the content is not an image Pillow can decode") from None
    except (OSError, ValueError, SyntaxError) as error:
        raise RequestError(422, f"{where}: the image is damaged ({error})") from None
    opaque: Image.Image = image
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        opaque = Image.alpha_composite(white, rgba)
    gray = opaque.convert("L")
    resampling = getattr(Image, "Resampling", Image)
    shrink = gray.width >= side and gray.height >= side
    gray = gray.resize((side, side), resampling.BOX if shrink else resampling.BILINEAR)
    pixels = np.asarray(gray, dtype=np.float64)
    border = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    if border.mean() > 127.5:
        pixels = 255.0 - pixels
    return pixels.reshape(-1)


def fetch_image(
    url: str,
    side: int,
    *,
    timeout: float = IMAGE_TIMEOUT_SECONDS,
    max_bytes: int = IMAGE_MAX_BYTES,
) -> np.ndarray:
    """Download `url` safely (see `download`) and decode it to side*side raw 0..255 pixels."""
    _check_decoder(f"image_url {url!r}")
    data, _ = download(url, timeout=timeout, max_bytes=max_bytes)
    return image_pixels(data, side, f"image_url {url!r}")
