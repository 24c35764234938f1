"""The only tags and filters signposting templates have: ``{% if %}`` and a few filters.

The signposting engine loads this library alone, instead of Django's built-ins, so a
template written straight into the database (a shell, a data fix) cannot run ``{% lorem %}``,
``|center:"999999999"`` or anything else the save-time check would have refused.
"""

from django.template import Library, defaultfilters, defaulttags

ALLOWED_TAGS = frozenset({"if", "elif", "else", "endif"})  # elif/else/endif close an if
ALLOWED_FILTERS = frozenset({"default", "upper", "lower", "capfirst", "yesno"})

register = Library()
register.tag("if", defaulttags.do_if)
for _name in sorted(ALLOWED_FILTERS):
    register.filter(_name, defaultfilters.register.filters[_name])
