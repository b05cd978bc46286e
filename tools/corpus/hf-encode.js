// Encodes texts with Hugging Face's own tokenizers library (the npm package `tokenizers`, Rust compiled for
// Node) to pin what a real HF loader does with a tokenizer.json our BPE trainer wrote.
// Usage: node hf-encode.js tokenizer.json texts.json out.json   (texts.json: a JSON array of strings)
"use strict";
const crypto = require("crypto");
const fs = require("fs");
const { Tokenizer } = require("tokenizers");

async function main() {
  const [tokenizerPath, textsPath, outPath] = process.argv.slice(2);
  const tokenizerBytes = fs.readFileSync(tokenizerPath);
  const tokenizer = Tokenizer.fromFile(tokenizerPath);
  const texts = JSON.parse(fs.readFileSync(textsPath, "utf8"));
  const cases = [];
  for (const text of texts) {
    const plain = await tokenizer.encode(text, null, { addSpecialTokens: false });
    const withSpecials = await tokenizer.encode(text);
    const ids = plain.getIds();
    cases.push({
      text,
      ids: Array.from(ids),
      idsWithSpecialTokens: Array.from(withSpecials.getIds()),
      decoded: await tokenizer.decode(Array.from(ids), false),
    });
  }
  const out = {
    producedBy: "tools/corpus/hf-fixture.sh: HF tokenizers (npm tokenizers@" + require("tokenizers/package.json").version + ")",
    tokenizerJsonSha256: crypto.createHash("sha256").update(tokenizerBytes).digest("hex"),
    cases,
  };
  fs.writeFileSync(outPath, JSON.stringify(out, null, 1) + "\n");
}

main().catch((e) => { console.error(e); process.exit(1); });
