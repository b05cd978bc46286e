"""Turn the six Jane Austen novels in Debian's r-cran-janeaustenr into the embedded training corpus.

Input: the unpacked package root (dpkg -x). Output: corpus.jsonl.gz, one JSON object per line,
{"work": ..., "chapter": n, "text": ...}, one document per chapter, gzip'd with a fixed mtime so the
bytes are reproducible. Why chapters: they are long enough to teach a small model context (about
15k characters) and numerous enough (270) for a train/validation split by document.
"""

import gzip
import hashlib
import json
import re
import sys

import rlazyload

# name in the R package -> (title, year of first publication, sha256 of the lines joined by "\n").
# Pinned so a changed package is noticed instead of silently changing the corpus.
WORKS = [
    ("sensesensibility", "Sense and Sensibility", 1811, "0996d90842bbe8093f3b8142c1e77d1b20cff52d1d0615f3ed67733653e74e26"),
    ("prideprejudice", "Pride and Prejudice", 1813, "2e44edaa4946d64ad541c68e0224f5d672f43bf3ce2a8a0b0637ad5e02fc6eb3"),
    ("mansfieldpark", "Mansfield Park", 1814, "e0e9ef3863ea77f51f6070062ee0dd50ad9b933223880617629e4e4963ea40ff"),
    ("emma", "Emma", 1815, "dd08b340a56ad4a0a00718d5682528a5a5886ae0aef91c9e0fa528074fa64b75"),
    ("northangerabbey", "Northanger Abbey", 1817, "8618a5acf5be50cc6e9b7680c7469fb6012649ab08c709dfc63c6367989fd31d"),
    ("persuasion", "Persuasion", 1817, "726513a6c18bb678427bcbcf7c72d0d20816a67c25b0471b26ddcabf3ebac140"),
]

CHAPTER = re.compile(r"^\s*chapter\s+([ivxlc]+|\d+)\.?\s*$", re.IGNORECASE)
VOLUME = re.compile(r"^\s*volume\s+([ivxlc]+|\d+)\.?\s*$", re.IGNORECASE)
# Everything from here on is a modern editor's afterword (Signet Classic), not Austen's text.
EDITORIAL_TAIL = {"A NOTE ON THE TEXT"}
END_MARKS = {"THE END", "FINIS", "Finis"}
DOCUMENT_MIN_CHARS = 200  # front matter shorter than this is a title block, not prose


def paragraphs(lines):
    block = []
    for line in lines + [""]:
        if line.strip():
            block.append(line.rstrip())
        elif block:
            yield block
            block = []


def clean_paragraph(block):
    """Unwrap the 70-column hard wrap; keep line breaks only in indented blocks (verse, letters)."""
    tidy = [re.sub(r" {2,}", " ", line.strip().replace("_", "")) for line in block]
    if all(line[:1].isspace() for line in block):
        return "\n".join(tidy)
    return " ".join(tidy)


def is_editorial(text):
    # Transcribers' notes such as "[At this point in the first and second editions, Volume 1 ends.]".
    return text.startswith("[") and "edition" in text


def chapters(lines):
    """Yield (chapter number, paragraphs); chapter 0 is front matter such as an author's preface."""
    number, current = 0, []
    for line in lines:
        if line.strip() in EDITORIAL_TAIL:
            break
        if CHAPTER.match(line):
            yield number, current
            number, current = number + 1, []
        elif not VOLUME.match(line):
            current.append(line)
    yield number, current


def documents(name, title, lines):
    for number, chapter_lines in chapters(lines):
        paras = [clean_paragraph(b) for b in paragraphs(chapter_lines)]
        paras = [p for p in paras if not is_editorial(p) and p not in END_MARKS]
        if number == 0:
            paras = [p for p in paras if len(p) >= DOCUMENT_MIN_CHARS]
        text = "\n\n".join(paras)
        if text:
            yield {"work": title, "chapter": number, "text": text}


def main(package_root, out_path):
    base = package_root + "/usr/lib/R/site-library/janeaustenr/data/Rdata"
    index = rlazyload.read_index(base + ".rdx")
    docs = []
    for name, title, year, expected in WORKS:
        lines = rlazyload.read_object(base + ".rdb", *index[name]).value
        digest = hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()
        if digest != expected:
            sys.exit(f"{name}: extracted text sha256 {digest}, expected {expected}")
        work_docs = list(documents(name, title, lines))
        chars = sum(len(d["text"]) for d in work_docs)
        print(f"{title} ({year}): {len(work_docs)} documents, {chars} characters, sha256 {digest}")
        docs.extend(work_docs)
    payload = "".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs).encode("utf-8")
    with open(out_path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz:
        gz.write(payload)
    total = sum(len(d["text"]) for d in docs)
    print(f"total: {len(docs)} documents, {total} characters, {len(payload)} bytes of JSON lines")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
