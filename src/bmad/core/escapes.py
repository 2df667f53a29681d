"""How bmad's writers escape text for XML, HTML and Markdown: one definition each.

The JUnit writer, the documents and the redaction of whole texts share them: a registered secret is
masked in the very forms the writers give it (:func:`bmad.core.redact.escaped_forms`).
"""

from __future__ import annotations

import re

# a ``<`` that could open a tag, comment or declaration in Markdown rendered as HTML
_MARKDOWN_TAG_OPEN = re.compile(r"<(?=[A-Za-z/!?])")


def xml_text(text: str) -> str:
    """Character data as ElementTree escapes it (``&``, ``<``, ``>``)."""
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    return text


def xml_attribute(text: str) -> str:
    """An attribute value as ElementTree escapes it (also ``"``, and line breaks and tabs as character references)."""
    text = xml_text(text)
    for char, reference in (('"', "&quot;"), ("\r", "&#13;"), ("\n", "&#10;"), ("\t", "&#09;")):
        if char in text:
            text = text.replace(char, reference)
    return text


def html(text: str) -> str:
    """``html.escape(text, quote=True)``, without importing :mod:`html` (its entity table is most of
    the import of the documents' text rules)."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace('"', "&quot;").replace("'", "&#x27;")


def markdown(text: str) -> str:
    """``text`` with every ``<`` that could open an HTML tag, comment or declaration written ``&lt;``
    (a comparison such as ``<= 0.05`` stays as written)."""
    return _MARKDOWN_TAG_OPEN.sub("&lt;", text)


def encodable(value: object) -> str:
    """A path (or any text) as text every writer can encode. A byte of a file name that is not UTF-8
    (Python holds it as a lone surrogate: ``os.fsdecode``'s and tarfile's surrogateescape) is written
    ``\\xfe``, as ``ls -b`` shows it; any other lone surrogate as ``\\udxxx``. The ledger, JSON, XML
    and YAML writers encode to UTF-8 strictly and stopped on such a name."""
    text = str(value)
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return "".join(_escaped_surrogate(char) if "\ud800" <= char <= "\udfff" else char for char in text)


def _escaped_surrogate(char: str) -> str:
    code = ord(char)
    return f"\\x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"\\u{code:04x}"
