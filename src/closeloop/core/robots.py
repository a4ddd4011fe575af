"""Group-chat robots of WeCom (企业微信), DingTalk (钉钉) and Feishu/Lark (飞书): message formats,
signatures and one HTTP POST each.

Each platform's custom robot takes a JSON POST on its webhook URL:
- WeCom: `{"msgtype": "markdown", "markdown": {"content": ...}}` (content at most 4096 bytes);
  no signature, the key in the URL is the credential. Answers `{"errcode": 0, "errmsg": "ok"}`.
- DingTalk: `{"msgtype": "markdown", "markdown": {"title": ..., "text": ...}}`; with a signing secret
  the URL gets `timestamp` (ms) and `sign` = urlencode(base64(HMAC-SHA256(key=secret,
  msg="{timestamp}\\n{secret}"))). Answers `{"errcode": 0, "errmsg": "ok"}`.
- Feishu: `{"msg_type": "text", "content": {"text": ...}}`; with a signing secret the body gets
  `timestamp` (s) and `sign` = base64(HMAC-SHA256(key="{timestamp}\\n{secret}", msg=b"")).
  Answers `{"code": 0, "msg": "success"}` (older deployments: `{"StatusCode": 0}`).
All three answer HTTP 200 with a non-zero error code when they refuse a message.
"""

import base64
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from django.utils.translation import gettext as _

from . import outbound
from .models import RobotPlatform

TIMEOUT_SECONDS = 5
# Where each platform's custom robots live. The server posts to a robot's address, so an address
# elsewhere would let anyone who can edit robots make it call internal services (SSRF).
PLATFORM_HOSTS = {
    RobotPlatform.WECOM: {"qyapi.weixin.qq.com"},
    RobotPlatform.DINGTALK: {"oapi.dingtalk.com"},
    RobotPlatform.FEISHU: {"open.feishu.cn", "open.larksuite.com"},
}


def webhook_problem(platform: str, webhook_url: str) -> str | None:
    """Why the server will not post to this address for this platform, or None."""
    parts = urllib.parse.urlsplit(webhook_url)
    host = (parts.hostname or "").lower()
    official = PLATFORM_HOSTS.get(platform, set())
    if host in official:
        return None if parts.scheme == "https" else _("Use the https:// address the platform shows for the robot.")
    if outbound.host_allowed(host):
        return None
    return _("A %(platform)s robot's webhook address is on %(hosts)s; copy it from the robot's settings in the "
             "group chat.") % {"platform": RobotPlatform(platform).label if platform in RobotPlatform.values else platform,
                               "hosts": " / ".join(sorted(official)) or "?"}
# Every robot message starts with this, so a group can use it as the robot's "custom keyword"
# (自定义关键词), the simplest security setting DingTalk and Feishu offer.
KEYWORD = "Closeloop"
WECOM_MARKDOWN_MAX_BYTES = 4096
# The platforms throttle each robot (about 20 messages a minute); these codes mean "later", not "never".
RATE_LIMIT_CODES = {
    RobotPlatform.WECOM: {45009},
    RobotPlatform.DINGTALK: {130101, 410100},
    RobotPlatform.FEISHU: {11232},
}


@dataclass(frozen=True)
class SendResult:
    ok: bool
    retryable: bool
    status: int | None
    error: str = ""


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    string_to_sign = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode(), string_to_sign, hashlib.sha256).digest()
    return urllib.parse.quote_plus(base64.b64encode(digest))


def feishu_sign(secret: str, timestamp_s: int) -> str:
    # Feishu keys the HMAC with "timestamp\nsecret" and signs an empty message.
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def _truncate_utf8(text: str, max_bytes: int) -> str:
    encoded = text.encode()
    if len(encoded) <= max_bytes:
        return text
    return encoded[: max_bytes - 3].decode(errors="ignore") + "…"


def build_request(*, platform: str, webhook_url: str, secret: str, title: str, text: str, url: str = "",
                  now: float | None = None) -> tuple[str, dict]:
    """The URL to POST to and the JSON body, for one message on one platform."""
    now = time.time() if now is None else now
    title = f"【{KEYWORD}】{title}"
    if platform == RobotPlatform.WECOM:
        content = f"**{title}**\n{text}" + (f"\n[{url}]({url})" if url else "")
        return webhook_url, {"msgtype": "markdown",
                             "markdown": {"content": _truncate_utf8(content, WECOM_MARKDOWN_MAX_BYTES)}}
    if platform == RobotPlatform.DINGTALK:
        markdown = f"#### {title}\n\n{text}" + (f"\n\n[{url}]({url})" if url else "")
        if secret:
            timestamp = int(now * 1000)
            separator = "&" if urllib.parse.urlsplit(webhook_url).query else "?"
            webhook_url = f"{webhook_url}{separator}timestamp={timestamp}&sign={dingtalk_sign(secret, timestamp)}"
        return webhook_url, {"msgtype": "markdown", "markdown": {"title": title, "text": markdown}}
    if platform == RobotPlatform.FEISHU:
        body = {"msg_type": "text", "content": {"text": f"{title}\n{text}" + (f"\n{url}" if url else "")}}
        if secret:
            timestamp = int(now)
            body = {"timestamp": str(timestamp), "sign": feishu_sign(secret, timestamp), **body}
        return webhook_url, body
    raise ValueError(f"unknown robot platform {platform!r}")


def _platform_error(platform: str, answer) -> tuple[int, str] | None:
    """The platform's refusal (code, message) hidden in an HTTP 200 answer, or None when accepted."""
    if not isinstance(answer, dict):
        return None
    if platform == RobotPlatform.FEISHU:
        code = answer.get("code", answer.get("StatusCode", 0))
        message = answer.get("msg", answer.get("StatusMessage", ""))
    else:
        code, message = answer.get("errcode", 0), answer.get("errmsg", "")
    return (int(code), str(message)) if code not in (0, None) else None


def post(*, platform: str, webhook_url: str, body: dict) -> SendResult:
    problem = webhook_problem(platform, webhook_url)
    if problem:  # a robot saved before the address rules, or a setting narrowed since
        return SendResult(ok=False, retryable=False, status=None, error=problem)
    data = json.dumps(body, ensure_ascii=False).encode()
    request = urllib.request.Request(
        webhook_url, data=data, method="POST", headers={"Content-Type": "application/json; charset=utf-8"}
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            status, raw = response.status, response.read(64 * 1024)
    except urllib.error.HTTPError as exc:
        retryable = exc.code >= 500 or exc.code == 429
        return SendResult(ok=False, retryable=retryable, status=exc.code, error=f"HTTP {exc.code} {exc.reason}")
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return SendResult(ok=False, retryable=True, status=None,
                          error=_("Could not reach the robot's address (%(reason)s).") % {"reason": reason})
    try:
        answer = json.loads(raw.decode() or "{}")
    except ValueError:
        answer = None
    refusal = _platform_error(platform, answer)
    if refusal:
        code, message = refusal
        return SendResult(ok=False, retryable=code in RATE_LIMIT_CODES.get(platform, set()), status=status,
                          error=f"{code} {message}".strip())
    return SendResult(ok=True, retryable=False, status=status)


def send(*, platform: str, webhook_url: str, secret: str, title: str, text: str, url: str = "") -> SendResult:
    target, body = build_request(platform=platform, webhook_url=webhook_url, secret=secret, title=title,
                                 text=text, url=url)
    return post(platform=platform, webhook_url=target, body=body)
