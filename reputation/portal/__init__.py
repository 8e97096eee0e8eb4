"""The agency web portal: server-rendered pages (Jinja and htmx) over the same services as the API.

Staff sign in with the same Flask-Login sessions as the API. Every page carries a
Content-Security-Policy with a per-request nonce (api/security.py), every form a CSRF token, and
every string goes through the English and French catalogs (reputation/translations).
"""
