"""Signing in: attempt limits and lock-outs (django-axes), API tokens (expiry, revocation, staff only)."""
