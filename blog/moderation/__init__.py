"""Moderation: the desk, discussion settings, rules, the audit log and mail actions.

The blueprint lives in views.py (``from blog.moderation.views import bp``) so
that importing the rules or the service never pulls in the views.
"""
