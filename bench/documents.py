"""Benchmark: reading an office document's text for the search index, bounded against unbounded.

Run it from the repository root:

    .venv/bin/python bench/documents.py            # full run, about 20 s on 2 cores
    .venv/bin/python bench/documents.py --quick    # smoke run, a few seconds

Not a timed test: it prints figures and compares them with a baseline measured in the same run,
so the verdicts are ratios. The baseline is the reader the package had before 2026-12-03, kept
here: `iterparse` on end events, each paragraph cleared once read, everything else kept, no limit
on the unpacked bytes. The package's reader (`documents.text_of`) lets every element go once it
ends and stops at `XML_LIMIT` unpacked bytes or a paragraph of `PARAGRAPH_ELEMENTS` elements.

1. an ordinary DOCX (generated paragraphs of Danish text, up to the 500,000-character limit) and
   an ordinary ODT: time per document, best of several repeats; the goal is that the bounds
   cost at most 1.5× the baseline's time;
2. a DOCX whose text part is a ZIP bomb (empty elements outside any paragraph): Python's peak
   memory (tracemalloc) and time, against the baseline; the goal is a peak under 2 MB whatever
   the size, where the baseline's grows with it.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import tracemalloc
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import source_version, verdict

from konkurrence_flow import documents, samples

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
ODF = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"


def baseline(path: Path, part: str, paragraphs: tuple[str, ...], run: str | None) -> Iterator[str]:
    """The reader before the bounds (documents._paragraphs as it was at 21666b9)."""
    from xml.etree.ElementTree import iterparse

    with zipfile.ZipFile(path) as archive, archive.open(part) as content:
        for _event, element in iterparse(content):
            if element.tag in paragraphs:
                if run is None:
                    yield "".join(element.itertext())
                else:
                    yield "".join(t.text or "" for t in element.iter(run))
                element.clear()


def baseline_text(path: Path, format: str) -> str:
    """The baseline's text, folded and limited as `text_of` does."""
    if format == "docx":
        parts = baseline(path, "word/document.xml", (f"{{{W}}}p",), f"{{{W}}}t")
    else:
        parts = baseline(path, "content.xml", (f"{{{ODF}}}p", f"{{{ODF}}}h"), None)
    found, length = [], 0
    for part in parts:
        folded = " ".join(part.translate(documents._UNPRINTABLE).split())
        if folded:
            found.append(folded)
            length += len(folded) + 1
        if length >= documents.TEXT_LIMIT:
            break
    return " ".join(found)[: documents.TEXT_LIMIT]


def best_of(repeats: int, call: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - started)
    return best


def peak_of(call: Callable[[], object]) -> tuple[int, float]:
    """Python's peak memory (bytes) and the wall time of one call, under tracemalloc."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        call()
        return tracemalloc.get_traced_memory()[1], time.perf_counter() - started
    finally:
        tracemalloc.stop()


def bomb(path: Path, elements: int) -> Path:
    """A DOCX with one paragraph, then `elements` empty elements outside any paragraph."""
    body = "<w:p><w:r><w:t>madservice</w:t></w:r></w:p>" + "<x/>" * elements
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml",
                         f'<w:document xmlns:w="{W}"><w:body>{body}</w:body></w:document>')  # fmt: skip
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: small documents")
    quick = parser.parse_args().quick
    folder = Path(tempfile.mkdtemp(prefix="kflow-bench-documents-"))
    paragraphs, repeats = (2_000, 2) if quick else (20_000, 7)
    text = [f"Afsnit {n}: leverandøren leverer varm mad til borgere i eget hjem, dagligt."
            for n in range(paragraphs)]  # fmt: skip
    print(f"konkurrence-flow {source_version()}: office text, bounded reader against the old one")
    print(f"{'document':<34} {'bounded':>10} {'baseline':>10} {'ratio':>7}")
    ratios = []
    for name, made in (
        ("docx", samples.docx(folder / "krav.docx", "Kravspecifikation", text)),
        ("odt", samples.odt(folder / "krav.odt", "Kravspecifikation", text)),
    ):
        ours, theirs = documents.text_of(made, name), baseline_text(made, name)
        assert ours == theirs, f"the two readers read {name} differently"
        new = best_of(repeats, lambda: documents.text_of(made, name))  # noqa: B023
        old = best_of(repeats, lambda: baseline_text(made, name))  # noqa: B023
        ratios.append(new / old)
        label = f"{name}, {paragraphs:,} paragraphs ({len(ours):,} chars)"
        print(f"{label:<34} {new * 1000:>8.1f}ms {old * 1000:>8.1f}ms {new / old:>6.2f}×")
    elements = 100_000 if quick else 1_000_000
    bombed = bomb(folder / "bombe.docx", elements)
    new_peak, new_time = peak_of(lambda: documents.text_of(bombed, "docx"))
    old_peak, old_time = peak_of(lambda: baseline_text(bombed, "docx"))
    unpacked = zipfile.ZipFile(bombed).getinfo("word/document.xml").file_size
    print(f"\nZIP bomb: {bombed.stat().st_size:,} bytes unpacking to {unpacked:,} "
          f"({elements:,} empty elements), under tracemalloc")  # fmt: skip
    print(f"  bounded:  peak {new_peak / 1e6:7.2f} MB in {new_time:6.2f} s")
    print(f"  baseline: peak {old_peak / 1e6:7.2f} MB in {old_time:6.2f} s "
          f"({old_peak / max(new_peak, 1):.0f}× the bounded peak)")  # fmt: skip
    bare = best_of(1, lambda: documents.text_of(bombed, "docx"))
    print(f"  bounded, without tracemalloc: {bare:6.2f} s")
    if not quick:  # the most work a text part can cost: it stops at OFFICE_ELEMENTS
        capped = bomb(folder / "loft.docx", documents.OFFICE_ELEMENTS * 2)
        worst = best_of(1, lambda: documents.text_of(capped, "docx"))
        print(f"  {documents.OFFICE_ELEMENTS * 2:,} elements, read to the cap of "
              f"{documents.OFFICE_ELEMENTS:,}: {worst:6.2f} s")  # fmt: skip
    print("\nverdicts")
    worst = max(ratios)
    print(
        f"  ordinary documents, bounded / baseline time ≤ 1.5×: {worst:.2f}× {verdict(worst <= 1.5)}"
    )
    print(f"  ZIP bomb, bounded peak < 2 MB: {new_peak / 1e6:.2f} MB {verdict(new_peak < 2e6)}")


if __name__ == "__main__":
    main()
