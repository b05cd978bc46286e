#!/usr/bin/env bash
# Regenerates tests/TinyLlama.Data.Tests/TokenizerTraining/hf-encodings.json: the ids that Hugging Face's own
# tokenizers library gives, with the tokenizer.json our trainer writes for the tests' fixed configuration.
# The C# test HuggingFaceAgreementTests then holds our reference encoder (and so the file format) to those ids.
# Run it after any change that alters the trainer's output. Needs the .NET SDK, node and npm.
set -euo pipefail

readonly TOKENIZERS_VERSION=0.23.2
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# The test writes tokenizer.json and texts.json when this variable names a folder.
TINYLLAMA_BPE_FIXTURE_OUT="$work" dotnet test "$repo/tests/TinyLlama.Data.Tests" \
    --filter "FullyQualifiedName~HuggingFaceAgreementTests.Writes_inputs_for_the_fixture_when_asked"
(cd "$work" && npm init -y >/dev/null && npm install --no-audit --no-fund "tokenizers@$TOKENIZERS_VERSION" >/dev/null)
NODE_PATH="$work/node_modules" node "$here/hf-encode.js" "$work/tokenizer.json" "$work/texts.json" \
    "$repo/tests/TinyLlama.Data.Tests/TokenizerTraining/hf-encodings.json"
echo "wrote tests/TinyLlama.Data.Tests/TokenizerTraining/hf-encodings.json"
