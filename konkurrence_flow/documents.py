"""What a file is, by its content: the kinds of tender material the materials bank keeps, the
check that refuses anything else, and the text its search index reads.

Nothing here holds a whole file in memory: a file is hashed, checked and copied a chunk
(`CHUNK` bytes) at a time, a ZIP-based format is judged by its directory and one small entry,
and the text taken from a document stops at `TEXT_LIMIT` characters.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import os
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from .errors import InvalidInput
from .log import logger

KINDS = (
    "udbudsbekendtgoerelse", "kravspecifikation", "kontrakt", "evaluering", "effektmaaling",
    "andet",
)  # fmt: skip
"""What a document is to its tender: notice, requirement specification, contract, evaluation,
measurement of effects, other."""

CHUNK = 1 << 20
"""Bytes read, hashed, stored and sent at a time."""
TEXT_LIMIT = 500_000
"""The most characters of a document's text the search index reads (some 150 pages)."""
DEFAULT_MAX_MB = 50
MAX_ENTRIES = 10_000
"""A DOCX, XLSX or ODT with more entries than this is no office document (a ZIP bomb, say)."""
SHARED_STRINGS = 16 * 1024 * 1024
"""The largest shared-strings part of an XLSX whose text is read (openpyxl holds all of it)."""
XML_LIMIT = 64 * 1024 * 1024
"""The most unpacked bytes of a DOCX's or ODT's text part that are read for the search index."""
PARAGRAPH_ELEMENTS = 100_000
"""The most XML elements one paragraph of a DOCX or ODT may hold (it is held whole while read)."""
OFFICE_ELEMENTS = 1_000_000
"""The most XML elements of a DOCX's or ODT's text part read (a few seconds of work; an ordinary
document reaches TEXT_LIMIT's 500,000 characters in a tenth of that)."""
XLSX_CELLS = 2_000_000
"""The most rows and cells of an XLSX read for the search index."""


@dataclass(frozen=True)
class Format:
    """A kind of file the bank keeps: a name for people, its media type, its extensions."""

    label: str
    media_type: str
    extensions: tuple[str, ...]


FORMATS = {
    "pdf": Format("PDF", "application/pdf", (".pdf",)),
    "docx": Format(
        "Word (DOCX)",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        (".docx",),
    ),
    "xlsx": Format(
        "Excel (XLSX)",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        (".xlsx",),
    ),
    "odt": Format("OpenDocument text (ODT)", "application/vnd.oasis.opendocument.text", (".odt",)),
    "text": Format("plain text", "text/plain; charset=utf-8", (".txt", ".text", ".md", ".csv")),
}
FORMAT_OF = {f.media_type: name for name, f in FORMATS.items()}
ACCEPTED = "a PDF, DOCX, XLSX, ODT or plain-text (UTF-8) file"


@dataclass(frozen=True)
class Upload:
    """A file to attach: where its bytes are now, and the name it was given."""

    path: Path
    filename: str


@dataclass(frozen=True)
class Checked:
    """A file that passed the check: where it is, what it is called, its size, hash and format."""

    path: Path
    filename: str
    size: int
    sha256: str
    format: str  # a key of FORMATS

    @property
    def media_type(self) -> str:
        return FORMATS[self.format].media_type


def max_bytes() -> int:
    """The largest document accepted, in bytes: KFLOW_MAX_FILE_MB megabytes (default 50)."""
    given = os.environ.get("KFLOW_MAX_FILE_MB", "").strip()
    if not given:
        return DEFAULT_MAX_MB * 1_000_000
    try:
        megabytes = float(given)
    except ValueError:
        megabytes = float("nan")
    if not (0 < megabytes <= 100_000):  # NaN fails too
        raise InvalidInput(f"KFLOW_MAX_FILE_MB must be a number of megabytes, 1–100000: {given!r}")
    return int(megabytes * 1_000_000)


def check(path: Path, filename: str | None = None, limit: int | None = None) -> Checked:
    """The file at `path` (called `filename`, by default its own name), if the bank keeps it;
    else one sentence saying why not. Reads the file once, a chunk at a time."""
    name = safe_filename(filename or path.name)
    limit = max_bytes() if limit is None else limit
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise InvalidInput(f"{name} is not a file")
    except OSError as exc:
        raise InvalidInput(f"cannot read {name}: {exc.strerror or exc}") from exc
    _check_size(name, size, limit)
    found = sniff(path)
    if found is None:
        raise InvalidInput(f"{name} is not {ACCEPTED} by its content; the bank keeps only those")
    extension = Path(name).suffix.lower()
    if extension not in FORMATS[found].extensions:
        said = f"ends in {extension}" if extension else "has no extension"
        raise InvalidInput(
            f"{name} {said}, but its content is {FORMATS[found].label}; name it "
            f"{FORMATS[found].extensions[0]} (or attach the file you meant)"
        )
    sha, counted = hashlib.sha256(), 0
    for chunk in chunks(path):
        sha.update(chunk)
        counted += len(chunk)
        _check_size(name, counted, limit)  # it grew while we read it
    return Checked(path, name, counted, sha.hexdigest(), found)


def safe_filename(given: str) -> str:
    """A file's name without folders (/ or \\), control characters or excess: what it was called,
    never where to write it."""
    base = re.split(r"[/\\]", given)[-1]
    name = "".join(c if c.isprintable() else " " for c in base).strip()
    if len(name) > 200:
        stem, dot, suffix = name.rpartition(".")
        name = (
            f"{stem[: 190 - len(suffix)]}…{dot}{suffix}" if dot and len(suffix) <= 8 else name[:200]
        )
    return name if name.strip(".") else "file"


def _check_size(name: str, size: int, limit: int) -> None:
    if size > limit:
        raise InvalidInput(
            f"{name} is {megabytes(size)}, over the {megabytes(limit)} limit for one document "
            "(KFLOW_MAX_FILE_MB)"
        )
    if size == 0:
        raise InvalidInput(f"{name} is empty")


def megabytes(size: int) -> str:
    """A size in megabytes, one decimal (6.0 MB); under 0.1 MB, in kilobytes (10 kB)."""
    return f"{size / 1_000_000:.1f} MB" if size >= 100_000 else f"{size / 1000:.0f} kB"


def chunks(path: Path) -> Iterator[bytes]:
    """The file's bytes, CHUNK at a time."""
    with path.open("rb") as file:
        while chunk := file.read(CHUNK):
            yield chunk


def sniff(path: Path) -> str | None:
    """The format of the file by its content (a key of FORMATS), or None."""
    with path.open("rb") as file:
        head = file.read(8)
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        return _office(path)
    return "text" if _is_text(path) else None


def _office(path: Path) -> str | None:
    """DOCX, XLSX or ODT by the ZIP's directory (and the ODT's `mimetype` entry)."""
    if _entries(path) > MAX_ENTRIES:  # before ZipFile, which reads every entry's record
        return None
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
            names = {e.filename for e in entries}
            if "[Content_Types].xml" in names and "word/document.xml" in names:
                return "docx"
            if "[Content_Types].xml" in names and "xl/workbook.xml" in names:
                return "xlsx"
            mimetype = archive.getinfo("mimetype") if "mimetype" in names else None
            odt = FORMATS["odt"].media_type.encode()
            if mimetype is not None and mimetype.file_size < 100 and archive.read(mimetype) == odt:
                return "odt"
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError):
        return None
    return None


def _entries(path: Path) -> int:
    """The number of entries a ZIP's end-of-central-directory record gives (ZIP64: as many as
    may be, so too many)."""
    with path.open("rb") as file:
        file.seek(0, os.SEEK_END)
        size = file.tell()
        file.seek(max(0, size - 65_557))  # the record, and a comment of at most 65,535 bytes
        tail = file.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or at + 22 > len(tail):
        return 0  # no record: zipfile will say it is no ZIP
    count = int.from_bytes(tail[at + 10 : at + 12], "little")
    return MAX_ENTRIES + 1 if count == 0xFFFF else count


_CONTROL = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f]")


def _is_text(path: Path) -> bool:
    """UTF-8 throughout, with no control characters but tab, newlines and form feed."""
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    try:
        for chunk in chunks(path):
            if _CONTROL.search(decoder.decode(chunk)):
                return False
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


# -- text for the search index -----------------------------------------------------------------


def text_of(path: Path, format: str) -> str:
    """The document's text, whitespace folded, at most TEXT_LIMIT characters; "" when it has
    none that can be read (a scanned PDF, an encrypted one): then only its title is searchable."""
    read = {"pdf": _pdf, "docx": _docx, "xlsx": _xlsx, "odt": _odt, "text": _text}[format]
    parts: list[str] = []
    length = 0
    try:
        for part in read(path):
            folded = " ".join(part.translate(_UNPRINTABLE).split())
            if folded:
                parts.append(folded)
                length += len(folded) + 1
            if length >= TEXT_LIMIT:
                break
    except Exception as exc:  # a library's refusal of a file it cannot read: index the title
        logger().warning("text not read to the end" if parts else "no text read",
                         file=path.name, format=format, reason=str(exc)[:200])  # fmt: skip
    return " ".join(parts)[:TEXT_LIMIT]


class _Unprintable(dict[int, str]):
    """`str.translate` table: every character that is not printable (NUL, ESC, …) a space (a
    PDF's unmapped glyphs come out as NUL, which PostgreSQL's text cannot hold)."""

    def __missing__(self, code: int) -> str:
        char = chr(code)
        self[code] = found = char if char.isprintable() or char.isspace() else " "
        return found


_UNPRINTABLE = _Unprintable()


def _pdf(path: Path) -> Iterator[str]:
    from pypdf import PdfReader

    with path.open("rb") as file:  # an open file: given a path, pypdf reads the whole of it
        reader = PdfReader(file)
        if reader.is_encrypted:
            return
        for page in reader.pages:
            yield page.extract_text() or ""


def _docx(path: Path) -> Iterator[str]:
    """The text of `word/document.xml`, a paragraph at a time, read as it is unpacked (the
    document's pictures and other parts are never read)."""
    yield from _paragraphs(path, "word/document.xml", (f"{{{_W}}}p",), f"{{{_W}}}t")


_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_ODF_TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"


def _paragraphs(
    path: Path, part: str, paragraphs: tuple[str, ...], run: str | None
) -> Iterator[str]:
    """Each paragraph's text in an office document's XML part, in document order: the text of its
    `run` elements (of all its elements, if None) joined as written, so that a word split over
    spans stays one word. A paragraph is let go once read: memory holds one at a time."""
    from xml.etree.ElementTree import Element, iterparse

    open_: list[Element] = []  # the elements begun and not yet ended, outermost first
    inside = 0  # how many of them are paragraphs
    held = 0  # elements held in the paragraph being read
    with zipfile.ZipFile(path) as archive, archive.open(part) as content:
        started = 0
        for event, element in iterparse(_Bounded(content, XML_LIMIT), ("start", "end")):
            if event == "start":
                started += 1
                if started > OFFICE_ELEMENTS:
                    raise ValueError(f"more than {OFFICE_ELEMENTS:,} elements")
                open_.append(element)
                inside += element.tag in paragraphs
                held += inside > 0
                if held > PARAGRAPH_ELEMENTS:
                    raise ValueError(f"a paragraph of more than {PARAGRAPH_ELEMENTS:,} elements")
                continue
            open_.pop()
            paragraph = element.tag in paragraphs
            if paragraph:
                inside -= 1
                if run is None:
                    yield "".join(element.itertext())
                else:
                    yield "".join(t.text or "" for t in element.iter(run))
            if paragraph or not inside:  # let it go: memory holds one paragraph at a time, and
                element.clear()  # a paragraph in a paragraph (a text box) is read once
                if open_:
                    open_[-1].remove(element)
            if not inside:
                held = 0


class _Bounded(io.RawIOBase):
    """A part of an archive read up to `limit` unpacked bytes, then refused: a few kilobytes may
    unpack to gigabytes of XML (a ZIP bomb)."""

    def __init__(self, source: IO[bytes], limit: int) -> None:
        self.source, self.left, self.limit = source, limit, limit

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self.source.read(min(size, self.left + 1) if size >= 0 else self.left + 1)
        self.left -= len(data)
        if self.left < 0:
            raise ValueError(f"the part unpacks to more than {self.limit:,} bytes")
        return data


def _xlsx(path: Path) -> Iterator[str]:
    """Each sheet's title and rows. The rows as written (a sheet that says it runs to XFD1048576
    is not padded out to it), and no more than XLSX_CELLS rows and cells in all."""
    from openpyxl import load_workbook

    _small_parts(path, ("xl/sharedStrings.xml",), SHARED_STRINGS)  # openpyxl reads it whole
    seen = 0
    with path.open("rb") as file:  # a file, not a path: openpyxl goes by a path's extension
        workbook = load_workbook(file, read_only=True, data_only=True)
        try:
            for sheet in workbook.worksheets:
                yield sheet.title
                sheet.reset_dimensions()
                for row in sheet.iter_rows(values_only=True):
                    seen += 1 + len(row)
                    if seen > XLSX_CELLS:
                        raise ValueError(f"more than {XLSX_CELLS:,} rows and cells")
                    yield " ".join(str(v) for v in row if v is not None)
        finally:
            workbook.close()


def _odt(path: Path) -> Iterator[str]:
    tags = (f"{{{_ODF_TEXT}}}p", f"{{{_ODF_TEXT}}}h")
    yield from _paragraphs(path, "content.xml", tags, None)


def _text(path: Path) -> Iterator[str]:
    with path.open(encoding="utf-8-sig") as file:
        while chunk := file.read(CHUNK):
            yield chunk


def _small_parts(path: Path, names: tuple[str, ...], limit: int) -> None:
    """Refuse to read a part that unpacks to more than `limit` bytes (a ZIP bomb)."""
    with zipfile.ZipFile(path) as archive:
        for name in names:
            if name in archive.NameToInfo and archive.getinfo(name).file_size > limit:
                raise ValueError(f"{name} unpacks to more than {limit} bytes")
