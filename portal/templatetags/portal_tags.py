from django import template
from django.utils.formats import number_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from portal import text
from portal.i18n import missing_english
from portal.images import rendition_name, rendition_widths

register = template.Library()


@register.filter
def markdown(value):
    """Render editor Markdown safely (portal.text.render_markdown)."""
    return text.render_markdown(value)


@register.simple_tag
def jdate(value):
    """A date as people read it, inside <time datetime>: 令和8年(2026年)11月29日."""
    if not value:
        return ""
    date = text._as_date(value)
    label = text.format_date_en(date) if get_language() == "en" else text.format_date_ja(date)
    return format_html('<time datetime="{}">{}</time>', date.isoformat(), label)


@register.simple_tag
def field_lang(obj, field):
    """` lang="ja"` when an English page shows this field's Japanese text as fallback."""
    if get_language() == "en" and field in missing_english(obj, (field,)):
        return format_html(' lang="{}"', "ja")
    return ""


@register.simple_tag
def responsive_image(fieldfile, alt, width, height, sizes="(min-width: 960px) 960px, 100vw", css_class=""):
    """An <img> with srcset of the Pillow renditions, width/height and lazy loading.

    ``width`` and ``height`` come from the model's width_field/height_field, so that rendering
    never opens the file.
    """
    if not fieldfile or not width or not height:
        return ""
    storage = fieldfile.storage
    sources = [(storage.url(rendition_name(fieldfile.name, w)), f"{w}w") for w in rendition_widths(width)]
    sources.append((fieldfile.url, f"{width}w"))
    srcset = format_html_join(", ", "{} {}", sources)
    return format_html(
        '<img src="{}" srcset="{}" sizes="{}" width="{}" height="{}" alt="{}" loading="lazy" decoding="async"{}>',
        fieldfile.url,
        srcset,
        sizes,
        width,
        height,
        alt,
        format_html(' class="{}"', css_class) if css_class else "",
    )


@register.filter
def intcomma_ja(value):
    return number_format(value, force_grouping=True)


@register.inclusion_tag("components/breadcrumbs.html")
def breadcrumbs(items):
    return {"items": items}


@register.simple_tag
def hit_count(count, bound=""):
    """A number of search results as people read it: 12 件, 約 1,200 件, 10,000 件以上."""
    n = number_format(count, force_grouping=True)
    if bound == "about":
        return _("約 %(n)s 件") % {"n": n}
    if bound == "at_least":
        return _("%(n)s 件以上") % {"n": n}
    return _("%(n)s 件") % {"n": n}


@register.simple_tag
def json_ld(data):
    """A <script type="application/ld+json"> data block (not run, so the CSP allows it)."""
    import json

    from django.utils.html import _json_script_escapes
    from django.utils.safestring import mark_safe

    text = json.dumps({k: v for k, v in data.items() if v is not None}, ensure_ascii=False)
    safe = mark_safe(text.translate(_json_script_escapes))  # noqa: S308 - <, > and & escaped as in json_script
    return format_html('<script type="application/ld+json">{}</script>', safe)


# {% frozen key … %}…{% endfrozen %}: the parts of every page that depend only on the language
# and on a few small keys (the footer, the navigation) are drawn once per process and reused.
# What a frozen block shows must follow from the language and its keys alone; templates and
# translations change only with a deploy, which starts new processes.
_FROZEN: dict[tuple, str] = {}
_FROZEN_LIMIT = 1000


class FrozenNode(template.Node):
    def __init__(self, nodelist, keys, block_key):
        self.nodelist, self.keys, self.block_key = nodelist, keys, block_key

    def render(self, context):
        key = (self.block_key, get_language(), *(k.resolve(context) for k in self.keys))
        html = _FROZEN.get(key)
        if html is None:
            html = self.nodelist.render(context)
            if len(_FROZEN) < _FROZEN_LIMIT:
                _FROZEN[key] = html
        return html


@register.tag
def frozen(parser, token):
    bits = token.split_contents()
    nodelist = parser.parse(("endfrozen",))
    parser.delete_first_token()
    block_key = (str(getattr(parser.origin, "name", "")), token.position)
    return FrozenNode(nodelist, [parser.compile_filter(bit) for bit in bits[1:]], block_key)
