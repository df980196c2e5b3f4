"""Which feeds a brand uses: every feed is on unless `config/feed_options.yml` under the home says
`<feed>: {enabled: false}` (like the `*_using_*` variables of Fivetran's dbt packages). One file
holds a feed's switch and its facts (`pinterest_ads: {currency: USD, enabled: false}`);
`cwh feeds disable|enable FEED` edits it in place, keeping the other keys and the comments.

A disabled feed gets no gates, is not landed (its files wait in landing/<feed>/) and its dbt source
reads no rows, so the marts build without it: zeros where it would have added money.
Some feeds are needed by others (`NEEDED_BY`): product costs by every sales feed, the payment and
settlement feeds by the orders whose fees they carry. A needed feed cannot be disabled while a
feed that needs it is on; a hand-edited file that does so fails the needed feed's gate.

Kept light (yaml only): the command line and the gates read it.
"""

from __future__ import annotations

import re
from functools import cache

import yaml

from connectors.home import CONTRACTS_DIR, Home

SWITCH = "enabled"
SALES_FEEDS = ("shopify_orders", "amazon_orders", "wholesale_invoices")
# feed -> the feeds whose P&L lines are wrong without it (contribution without product cost, revenue
# without its processing or marketplace fees)
NEEDED_BY = {
    "cogs": SALES_FEEDS,
    "shopify_payments": ("shopify_orders",),
    "amazon_settlements": ("amazon_orders",),
}


class FeedSwitchError(ValueError):
    """A switch the warehouse cannot take; the message says what to do."""


@cache
def all_feeds() -> tuple[str, ...]:
    """Every feed with a contract (data_contracts/<feed>.yml), without importing the connectors."""
    return tuple(sorted(path.stem for path in CONTRACTS_DIR.glob("*.yml")))


def _options(home: Home) -> dict:
    path = home.feed_options_file
    data = yaml.safe_load(path.read_text()) if path.exists() else None
    if data is not None and not isinstance(data, dict):
        raise FeedSwitchError(f"{path} must map feed names to their options, e.g. `pinterest_ads: {{enabled: false}}`")
    return data or {}


def _is_off(value) -> bool:
    return value is False or str(value).strip().lower() in {"false", "no", "off", "0"}


def disabled_feeds(home: Home) -> list[str]:
    """The feeds switched off in config/feed_options.yml, sorted."""
    return sorted(feed for feed, options in _options(home).items()
                  if feed in all_feeds() and isinstance(options, dict) and _is_off(options.get(SWITCH, True)))


def is_enabled(home: Home, feed: str) -> bool:
    return feed not in disabled_feeds(home)


def enabled_feeds(home: Home, feeds=None) -> list[str]:
    """`feeds` (every feed when None) without the disabled ones, in their order."""
    off = set(disabled_feeds(home))
    return [feed for feed in (all_feeds() if feeds is None else feeds) if feed not in off]


def needed_by(home: Home, feed: str) -> list[str]:
    """The enabled feeds that need `feed` (empty when none does)."""
    off = set(disabled_feeds(home))
    return [other for other in NEEDED_BY.get(feed, ()) if other not in off]


def disabled_note(home: Home, feed: str) -> str:
    """What a disabled feed's checks and listings say."""
    return (f"{feed} is disabled in {home.feed_options_file} (`{feed}: {{enabled: false}}`): no gates, "
            f"its files are not landed and its models read no rows; `cwh feeds enable {feed}` turns it on")


# ---- editing the file ------------------------------------------------------------------------------
def set_enabled(home: Home, feed: str, enabled: bool) -> bool:
    """Switch `feed` on or off in config/feed_options.yml, keeping its other options and every comment.
    Returns whether the file changed. Disabling a feed that an enabled feed needs is refused."""
    if feed not in all_feeds():
        raise FeedSwitchError(f"unknown feed {feed!r}: `cwh feeds` lists them")
    if not enabled and (needing := needed_by(home, feed)):
        raise FeedSwitchError(
            f"{feed} is needed by {', '.join(needing)} (their P&L lines are wrong without it): "
            f"disable {', '.join(needing)} first, or keep {feed}")
    if is_enabled(home, feed) == enabled:
        return False
    path = home.feed_options_file
    text = path.read_text() if path.exists() else ""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(edit_switch(text, feed, enabled))
    return True


def edit_switch(text: str, feed: str, enabled: bool) -> str:
    """The YAML text with `feed` switched: `enabled: false` added to (or removed from) its mapping,
    in the mapping's own style (flow `{…}` or block), every other line untouched. A layout this does
    not recognise is rewritten whole from its parsed value (comments lost, values kept)."""
    expected = yaml.safe_load(text) or {}
    options = dict(expected.get(feed) or {})
    options.pop(SWITCH, None)
    if not enabled:
        options[SWITCH] = False
    if options:
        expected[feed] = options
    else:
        expected.pop(feed, None)
    try:
        edited = _edit_lines(text, feed, options)
        if (yaml.safe_load(edited) or {}) == expected:
            return edited
    except (ValueError, yaml.YAMLError):
        pass
    return yaml.safe_dump(expected, sort_keys=False, default_flow_style=None)


_KEY = re.compile(r"^(?P<key>[A-Za-z0-9_]+)\s*:(?P<rest>.*)$")


def _flow(options: dict) -> str:
    return "{" + ", ".join(f"{k}: {yaml.safe_dump(v, default_flow_style=True).strip().removesuffix('...').strip()}"
                           for k, v in options.items()) + "}"


def _edit_lines(text: str, feed: str, options: dict) -> str:
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if (m := _KEY.match(line)) and m["key"] == feed), None)
    if start is None:  # a new entry at the end
        prefix = "" if not text or text.endswith("\n") else "\n"
        return text + prefix + f"{feed}: {_flow(options)}\n"
    value, _, comment = _KEY.match(lines[start].rstrip("\n"))["rest"].partition(" #")
    comment = f"  #{comment}" if comment else ""
    end = start + 1  # the block's indented lines (blank and comment lines inside it too)
    while end < len(lines) and (lines[end][:1] in (" ", "\t") or not lines[end].strip()):
        end += 1
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1
    if value.strip():  # flow style (or a scalar): the whole entry on its line
        new = [f"{feed}: {_flow(options)}{comment}\n"] if options else []
        return "".join(lines[:start] + new + lines[start + 1:])
    body = [line for line in lines[start + 1:end] if not re.match(rf"\s+{SWITCH}\s*:", line)]
    if SWITCH in options:
        indent = next((re.match(r"\s+", line)[0] for line in body if line.strip() and not line.strip().startswith("#")),
                      "  ")
        body.append(f"{indent}{SWITCH}: false\n")
    if not any(line.strip() and not line.strip().startswith("#") for line in body):
        return "".join(lines[:start] + lines[end:])  # nothing left under the key
    return "".join(lines[:start + 1] + body + lines[end:])
