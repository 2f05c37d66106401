"""Glance-style image service: the OpenStack Images API v2."""
