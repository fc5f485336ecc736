"""Read policy files into source text, one loader per format.

For .txt/.md the source text is the file itself (decoded, line endings kept), so
character offsets index the file. For .html/.pdf it is the extracted readable text,
which ``policychat policies --source ID`` prints and citations index.
"""
from __future__ import annotations

import re
from pathlib import Path

from index.errors import LoadError
from index.records import SourceDoc

MAX_BYTES = 10 * 1024 * 1024
TEXT_SUFFIXES = {".txt", ".md", ".markdown", ".text"}
HTML_SUFFIXES = {".html", ".htm", ".xhtml"}
PDF_SUFFIXES = {".pdf"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | PDF_SUFFIXES
POLICY_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def policy_id_for(path: Path) -> str:
    """Policy ids are file stems, lower-cased, with anything unusual folded to '-'."""
    pid = re.sub(r"[^a-z0-9_-]+", "-", path.stem.lower()).strip("-_")
    if not POLICY_ID_RE.match(pid):
        raise LoadError(f"{path.name}: cannot derive a policy id from the file name")
    return pid


def load_document(path: Path) -> SourceDoc:
    """Load one policy file; raise LoadError with a clear reason when it cannot be used."""
    if not path.exists():
        raise LoadError(f"{path}: no such file")
    if not path.is_file():
        raise LoadError(f"{path}: not a regular file")
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise LoadError(f"{path.name}: unsupported file type '{suffix or '(none)'}' "
                        f"(supported: {', '.join(sorted(SUPPORTED_SUFFIXES))})")
    size = path.stat().st_size
    if size == 0:
        raise LoadError(f"{path.name}: empty file")
    if size > MAX_BYTES:
        raise LoadError(f"{path.name}: file is {size / 1e6:.1f} MB, over the {MAX_BYTES // 2**20} MiB limit")
    data = path.read_bytes()
    pid = policy_id_for(path)
    if suffix in PDF_SUFFIXES:
        text, kind = pdf_text(data, path.name), "pdf"
    else:
        raw = decode_text(data, path.name)
        text, kind = (html_text(raw), "html") if suffix in HTML_SUFFIXES else (raw, "text")
    if not text.strip():
        raise LoadError(f"{path.name}: no readable text")
    return SourceDoc(policy_id=pid, path=str(path.resolve()), kind=kind, text=text)


def decode_text(data: bytes, name: str) -> str:
    """Strict UTF-8 (BOM allowed); binary or other encodings are refused, not guessed."""
    if b"\x00" in data[:8192]:
        raise LoadError(f"{name}: looks like a binary file, not text")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LoadError(f"{name}: not valid UTF-8 text (byte {exc.start})") from None
    controls = sum(1 for ch in text[:8192] if ord(ch) < 32 and ch not in "\t\r\n\f")
    if controls > 0.05 * min(len(text), 8192):
        raise LoadError(f"{name}: looks like a binary file, not text")
    return text


BLOCK_TAGS = {
    "p", "div", "section", "article", "main", "br", "li", "ul", "ol", "table", "tr", "td", "th",
    "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "dl", "dt", "dd", "hr", "tbody",
    "thead", "body", "html", "figure", "figcaption", "address",
}
DROP_TAGS = {"script", "style", "noscript", "iframe", "svg", "nav", "header", "footer", "form",
             "button", "select", "template", "object", "embed", "canvas", "head", "aside"}


def html_text(html: str) -> str:
    """Readable text of an HTML page: headings as '#' lines, list items as '* ' lines."""
    from selectolax.lexbor import LexborHTMLParser as HTMLParser

    tree = HTMLParser(html)
    root = tree.body or tree.root
    if root is None:
        return ""
    parts: list[str] = []
    _walk(root, parts)
    text = "".join(parts)
    text = re.sub(r"[ \t\u00a0]+", " ", text)
    text = re.sub(r" *\n *", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip() + "\n"


def _walk(node, parts: list[str]) -> None:
    for child in node.iter(include_text=True):
        tag = child.tag
        if tag == "-text":
            parts.append(child.text_content or "")
            continue
        if tag in DROP_TAGS or tag == "-comment":
            continue
        if tag in BLOCK_TAGS:
            parts.append("\n\n" if tag not in {"br", "td", "th", "li"} else "\n")
        if tag and tag[0] == "h" and tag[1:].isdigit():
            parts.append("#" * int(tag[1:]) + " ")
        elif tag == "li":
            parts.append("* ")
        _walk(child, parts)
        if tag in BLOCK_TAGS:
            parts.append("\n")


def pdf_text(data: bytes, name: str) -> str:
    """Text layer of a PDF, pages separated by blank lines."""
    import io
    import logging

    from pypdf import PdfReader
    from pypdf.errors import FileNotDecryptedError, PdfReadError

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [(page.extract_text() or "").strip() for page in reader.pages]
    except FileNotDecryptedError:
        raise LoadError(f"{name}: unreadable PDF: it is password-protected; save a copy without "
                        "the password") from None
    except (PdfReadError, ValueError, KeyError, TypeError, OSError):
        raise LoadError(f"{name}: unreadable PDF: the file is damaged or is not really a PDF; "
                        "export it again from the original") from None
    text = "\n\n".join(p for p in pages if p)
    if not text.strip():
        raise LoadError(f"{name}: PDF has no text layer (scanned?); OCR it first")
    return text + "\n"
