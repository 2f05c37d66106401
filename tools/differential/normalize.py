"""Turning one side's answers into something comparable with the other's.

What legitimately differs between two servers given the same requests is
replaced by a placeholder: generated UUIDs (numbered in their order of
first appearance within a scenario, so the same image is ``<id3>`` on both
sides), request ids (by their format), times (by their shape: Glance's
``2024-01-02T03:04:05Z`` and a ``.123456`` fraction stay distinct), the
server's base URL and state directory, and the scenario's random token.
Error bodies are reduced to their text (HTML wrapping removed); the
content type is compared separately, as a header.
"""
import hashlib
import html
import json
import re

UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-" \
       r"[0-9a-fA-F]{12}"
REQ_ID_RE = re.compile(r"\breq-" + UUID + r"\b")
UUID_RE = re.compile(UUID)
TIME_RE = re.compile(
    r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?")
HEX32_RE = re.compile(r"\b[0-9a-f]{32}\b")
TAG_RE = re.compile(r"<[^>]+>")
SPACE_RE = re.compile(r"\s+")
EPOCH_KEYS = {"last_accessed", "last_modified"}
UNORDERED_KEYS = {"tags"}     # a set in Glance: its order is hash order


def time_shape(match):
    return "<time:%s>" % re.sub(r"\d", "d", match.group(0))


class Normalizer:
    """One side's substitutions for one scenario run."""

    def __init__(self, base_url, state_dirs, token):
        self.base_url = base_url.rstrip("/")
        self.state_dirs = [str(d) for d in state_dirs]
        self.token = token
        self.ids = {}
        self.context = None
        self.in_context = 0

    def _uuid(self, match):
        value = match.group(0).lower()
        if value not in self.ids:
            if self.context:
                self.in_context += 1
                self.ids[value] = "<%s#%d>" % (self.context,
                                               self.in_context)
            else:
                self.ids[value] = "<id%d>" % (len(self.ids) + 1)
        return self.ids[value]

    def step(self, label):
        """Name UUIDs first seen from now on after step ``label``: a
        step that creates an image on one side only then shifts no
        other name."""
        self.context = label
        self.in_context = 0

    def see(self, value):
        """Number ``value`` (a UUID) now, in the order the scenario saw it."""
        if isinstance(value, str) and UUID_RE.fullmatch(value):
            self._uuid(UUID_RE.fullmatch(value))

    def text(self, value):
        if not isinstance(value, str):
            return value
        value = value.replace(self.base_url, "<base>")
        for state in self.state_dirs:
            value = value.replace(state, "<state>")
        if self.token:
            value = value.replace(self.token, "T")
        value = REQ_ID_RE.sub("<req-id>", value)
        value = UUID_RE.sub(self._uuid, value)
        value = TIME_RE.sub(time_shape, value)
        return value

    def data(self, value, key=None):
        if key in EPOCH_KEYS and isinstance(value, (int, float)):
            return "<epoch>"
        if isinstance(value, dict):
            return {self.text(k): self.data(v, k) for k, v in value.items()}
        if isinstance(value, list):
            items = [self.data(v) for v in value]
            if key in UNORDERED_KEYS:
                items.sort(key=str)
            return items
        return self.text(value)


def error_text(body_text):
    """The message of an error body: tags and spacing removed."""
    text = TAG_RE.sub(" ", body_text)
    return SPACE_RE.sub(" ", html.unescape(text)).strip()


def body_view(norm, content_type, content):
    """(kind, value) of a response body, normalised."""
    if not content:
        return "empty", None
    ctype = (content_type or "").split(";")[0].strip().lower()
    if ctype.endswith("json"):
        try:
            return "json", norm.data(json.loads(content))
        except ValueError:
            pass
    if ctype.startswith("text/") or ctype.endswith("json"):
        return "text", norm.text(error_text(content.decode("utf-8",
                                                           "replace")))
    return "bytes", "%d bytes, md5 %s" % (
        len(content), hashlib.md5(content).hexdigest())   # noqa: S324
