"""Money and rate filters of the customer and margin pages (and alert emails): costlens.display's rules."""

from django import template

from costlens import display

register = template.Library()
register.filter("usd", display.usd)
register.filter("pct", display.pct)
register.filter("rate", display.rate)
register.filter("negative", display.is_negative)
register.filter("thousands", display.thousands)
