#!/usr/bin/env bash
# Rebuilds src/TinyLlama.Data/Corpus/corpus.jsonl.gz from a pinned Debian package, offline from then on.
# Needs: apt-get (Debian bookworm lists; run `apt-get update` once), dpkg-deb, python3. No R needed:
# rlazyload.py reads R's lazy-load data format directly.
set -euo pipefail

readonly PACKAGE=r-cran-janeaustenr
readonly VERSION=1.0.0-1
readonly DEB_SHA256=df6bddf211906d1ff404f8ff662c21b34e6660e7f54a311084e749050c019c95

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
out="$repo/src/TinyLlama.Data/Corpus/corpus.jsonl.gz"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"  # apt's sandbox user must be able to write the .deb here

(cd "$work" && apt-get download "$PACKAGE=$VERSION")
deb="$work/${PACKAGE}_${VERSION}_all.deb"
echo "$DEB_SHA256  $deb" | sha256sum --check --quiet
dpkg-deb -x "$deb" "$work/root"

python3 "$here/build_corpus.py" "$work/root" "$out.tmp"
mv "$out.tmp" "$out"  # replace the committed corpus only once the new one is whole
sha256sum "$out"
