"""Small tender documents made on the spot, in Danish: for the demo, the tests and the benchmark.

`python -m konkurrence_flow.samples DIR` writes the demo's set into DIR. A PDF is written by hand
(one font, WinAnsi text: enough for æ, ø and å); DOCX, XLSX and ODT by python-docx, openpyxl and
the ZIP layout ODF prescribes.
"""

from __future__ import annotations

import sys
import textwrap
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape


def pdf(title: str, paragraphs: list[str], filler: int = 0) -> bytes:
    """A PDF whose pages show the title and paragraphs (text a PDF reader can extract), with
    `filler` bytes of an unused stream appended (to make a big file cheaply)."""
    lines = [title, ""]
    for paragraph in paragraphs:
        lines += [*textwrap.wrap(paragraph, 90), ""]
    pages = [lines[i : i + 50] for i in range(0, len(lines), 50)]
    objects: list[bytes] = []
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(len(pages)))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode())
    font = 3 + 2 * len(pages)
    for i, page in enumerate(pages):
        stream = b"BT /F1 11 Tf 50 800 Td 14 TL " + b" ".join(
            b"(" + _pdf_text(line) + b") '" for line in page
        ) + b" ET"  # fmt: skip
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents {4 + 2 * i} 0 R "
            f"/Resources << /Font << /F1 {font} 0 R >> >> >>".encode()
        )
        objects.append(f"<< /Length {len(stream)} >>\nstream\n".encode() + stream + b"\nendstream")
    objects.append(
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
    )
    if filler:
        block = bytes(range(256)) * (filler // 256 + 1)
        objects.append(
            f"<< /Length {filler} >>\nstream\n".encode() + block[:filler] + b"\nendstream"
        )
    out = bytearray(b"%PDF-1.4\n%\xe6\xf8\xe5\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return bytes(out)


def _pdf_text(line: str) -> bytes:
    raw = line.encode("cp1252", "replace")
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def docx(path: Path, title: str, paragraphs: list[str]) -> Path:
    import docx as python_docx

    document = python_docx.Document()
    document.add_heading(title, level=1)
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    document.save(str(path))
    return path


def xlsx(path: Path, title: str, rows: list[list[object]]) -> Path:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = title[:31]
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def odt(path: Path, title: str, paragraphs: list[str]) -> Path:
    body = "".join(f"<text:p>{escape(p)}</text:p>" for p in [title, *paragraphs])
    content = (
        '<?xml version="1.0" encoding="UTF-8"?><office:document-content '
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        f"<office:body><office:text>{body}</office:text></office:body></office:document-content>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
        'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
        '<manifest:file-entry manifest:full-path="/" '
        'manifest:media-type="application/vnd.oasis.opendocument.text"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.text",
                         compress_type=zipfile.ZIP_STORED)  # fmt: skip
        archive.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED)
        archive.writestr("META-INF/manifest.xml", manifest, compress_type=zipfile.ZIP_DEFLATED)
    return path


DEMO = {
    "udbudsbekendtgoerelse-madservice.pdf": (
        "Udbudsbekendtgørelse: Madservice til hjemmeboende ældre",
        [
            "Gentofte Kommune udbyder levering af madservice til hjemmeboende ældre borgere som "
            "begrænset udbud efter udbudsdirektivet.",
            "Ansøgninger om prækvalifikation skal være modtaget senest 37 dage efter afsendelsen af "
            "bekendtgørelsen. Kontrakten løber i to år med mulighed for forlængelse i et år.",
        ],
    ),
    "kravspecifikation-madservice.docx": (
        "Kravspecifikation: Madservice",
        [
            "Leverandøren skal levere varm mad fem dage om ugen og kølemad til weekenden.",
            "Menuen skal følge Fødevarestyrelsens anbefalinger for ældre og tage hensyn til "
            "diætkost. Leverandøren dokumenterer kvaliteten med brugertilfredshedsmålinger.",
        ],
    ),
    "kravspecifikation-genoptraening.odt": (
        "Kravspecifikation: Genoptræning efter sygehusudskrivning",
        [
            "Leverandøren tilbyder genoptræning af borgere udskrevet fra sygehus med en "
            "genoptræningsplan efter sundhedsloven.",
            "Træningen begynder senest syv dage efter udskrivning.",
        ],
    ),
    "evaluering-jobsoegning.txt": (
        "Evaluering af tilbud: Jobsøgningsforløb for kontanthjælpsmodtagere",
        [
            "Tre tilbud blev evalueret på pris (40 %) og kvalitet (60 %).",
            "Det økonomisk mest fordelagtige tilbud kom fra en privat leverandør med "
            "erfaring i jobformidling.",
        ],
    ),
    "udkast-rygestop.txt": (
        "Udkast: Kravspecifikation for rygestopforløb",
        [
            "Udkast til drøftelse i markedsdialogen: holdforløb over seks uger med "
            "nikotinerstatning."
        ],
    ),
}
"""The demo's documents: file name -> (title, paragraphs)."""


def write_demo(folder: Path) -> list[Path]:
    """The demo's documents, written into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, (title, paragraphs) in DEMO.items():
        path = folder / name
        if name.endswith(".pdf"):
            path.write_bytes(pdf(title, paragraphs))
        elif name.endswith(".docx"):
            docx(path, title, paragraphs)
        elif name.endswith(".odt"):
            odt(path, title, paragraphs)
        else:
            path.write_text("\n\n".join([title, *paragraphs]) + "\n", encoding="utf-8")
        written.append(path)
    xlsx(folder / "effektmaaling-madservice.xlsx", "Effektmåling",
         [["Kommune", "Pris før (kr.)", "Pris efter (kr.)"], ["Aarhus", 4_200_000, 3_650_000]])  # fmt: skip
    written.append(folder / "effektmaaling-madservice.xlsx")
    return written


if __name__ == "__main__":
    for made in write_demo(Path(sys.argv[1] if len(sys.argv) > 1 else "demo-materials")):
        print(made)
