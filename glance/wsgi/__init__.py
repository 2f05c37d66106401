"""wsgi package."""
