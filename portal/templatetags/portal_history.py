"""Template filters of the admin's history pages (portal/history.py)."""

from django import template

from portal.history import jdatetime

register = template.Library()


@register.filter
def history_datetime(value) -> str:
    """令和8年(2026年)11月29日 14:05"""
    return jdatetime(value) if value else ""
