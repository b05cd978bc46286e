#!/usr/bin/env bash
# Installs NVIDIA's PTX assembler (ptxas, CUDA 11.8) from Debian's non-free nvidia-cuda-toolkit package, without
# installing the package: the .deb is downloaded and unpacked (dpkg -x) into a cache folder, so no CUDA runtime,
# driver or GPU is needed. The PTX tests use it to assemble every kernel for sm_80 and sm_90.
#
# Usage: tools/ci/install-ptxas.sh            prints the path of ptxas on its last line
# The folder is $TINYLLAMA_PTXAS_DIR, or .cache/ptxas under the repository root.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
dest="${TINYLLAMA_PTXAS_DIR:-$repo_root/.cache/ptxas}"
ptxas="$dest/usr/bin/ptxas"

if [[ -x "$ptxas" ]] && "$ptxas" --version >/dev/null 2>&1; then
  echo "$ptxas"
  exit 0
fi

if [[ "$(id -u)" != 0 ]]; then
  echo "install-ptxas: needs root to add Debian's non-free section to apt's sources (run as root, or set TINYLLAMA_PTXAS_DIR to a folder holding usr/bin/ptxas)" >&2
  exit 1
fi

# Debian's non-free section holds nvidia-cuda-toolkit; add it in a sources file of our own.
list=/etc/apt/sources.list.d/tinyllama-nonfree.sources
if [[ ! -f "$list" ]]; then
  codename="$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")"
  cat > "$list" <<SRC
Types: deb
URIs: http://deb.debian.org/debian
Suites: $codename
Components: non-free
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi
apt-get update -qq -o Dir::Etc::sourcelist="$list" -o Dir::Etc::sourceparts="-" -o APT::Get::List-Cleanup="0" >&2

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download -qq nvidia-cuda-toolkit >&2)
deb="$(ls "$work"/nvidia-cuda-toolkit_*.deb)"
mkdir -p "$dest"
dpkg -x "$deb" "$work/x"
# Keep only the assembler: it is a static binary and the rest of the toolkit is not needed.
mkdir -p "$dest/usr/bin"
cp "$work/x/usr/bin/ptxas" "$dest/usr/bin/ptxas.tmp"
mv "$dest/usr/bin/ptxas.tmp" "$ptxas"
"$ptxas" --version >&2
echo "$ptxas"
