"""Compresses responses for clients that send ``Accept-Encoding: gzip``."""
from glance.common import wsgi


class GzipMiddleware(wsgi.Middleware):
    """gzip-encodes the response body, streaming (no Content-Length)."""

    def process_response(self, response):
        request = response.request
        if request is None or "gzip" not in request.accept_encoding:
            return response
        if response.status_int in (204, 304) or response.content_encoding:
            return response
        response.encode_content("gzip", lazy=True)
        return response
