"""Config, exceptions, the WSGI toolkit and small utilities."""
