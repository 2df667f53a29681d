"""Text from records made safe for the documents: no control character, no live HTML.

Anything a person typed (``--reason``), a scanner printed or a check observed can reach a
report. Control characters (terminal escapes such as ``ESC[2J`` or OSC sequences, C1 codes)
are shown as visible ``\\xNN`` escapes; HTML is escaped, and in Markdown every ``<`` that could
open a tag, comment or declaration is written ``&lt;``, so a ``<script>`` in a reason is shown as
text wherever the Markdown is rendered (a comparison such as ``<= 0.05`` stays as written).
"""

from __future__ import annotations

import re

from bmad.core.escapes import html as escape
from bmad.core.escapes import markdown

__all__ = ["escape", "html_text", "markdown_text", "printable"]

# C0 controls except tab and newline, DEL, and the C1 range (0x80-0x9f; U+009B is a CSI on many terminals).
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(value: object) -> str:
    """``value`` as text with every control character written as a visible ``\\xNN`` escape."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(value))


def html_text(value: object) -> str:
    """``value`` for HTML text or an attribute value: printable, with ``& < > " '`` escaped."""
    return escape(printable(value))


def markdown_text(value: object) -> str:
    """``value`` for a Markdown line: printable, with no ``<`` that opens an HTML tag."""
    return markdown(printable(value))
