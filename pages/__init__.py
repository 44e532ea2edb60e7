"""Dash pages: one module per page (``register_page``, ``layout``, then its callbacks).

Modules starting with ``_`` are helpers, not pages (Dash skips them).
"""
