// The comparator of TokenizerBenchmarks: llama-tokenizer-js encoding the same 4 MiB under node.
//   node tools/assets/bench-llama-tokenizer-js.mjs [assets-folder]
// Same input as the C# benchmark: llama-tokenizer-js's longest test paragraph repeated to 4 MiB and encoded as
// separate documents, and its first 256 copies joined by newlines as one document. Validates the ids first, then
// reports the best and the median of 5 timed runs after 1 warm-up run, in MB/s of UTF-8 input (1 MB = 1e6 bytes).
import { pathToFileURL, fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const assets = process.argv[2] ?? process.env.TINYLLAMA_TOKENIZER_ASSETS ?? path.join(here, '../../tests/TinyLlama.Data.Tests/.assets');
const { default: tokenizer } = await import(pathToFileURL(path.join(assets, 'llama-tokenizer.js')).href);
const cases = JSON.parse(readFileSync(path.join(assets, 'llama-tokenizer-js-cases.json'), 'utf8'));
const longest = cases.encode.reduce((a, b) => (b.text.length > a.text.length ? b : a));

const targetBytes = 4 << 20;
const paragraphBytes = Buffer.byteLength(longest.text, 'utf8');
const documents = Array(Math.floor(targetBytes / paragraphBytes)).fill(longest.text);
const whole = documents.slice(0, 256).join('\n');

const ids = tokenizer.encode(longest.text);
if (ids.length !== longest.ids.length || ids.some((id, i) => id !== longest.ids[i])) throw new Error('ids differ from the test case');

function measure(name, bytes, run) {
    const times = [];
    for (let i = 0; i < 6; i++) {
        const start = process.hrtime.bigint();
        run();
        const seconds = Number(process.hrtime.bigint() - start) / 1e9;
        if (i >= 1) times.push(seconds);
    }
    times.sort((a, b) => a - b);
    const mbps = s => (bytes / s / 1e6).toFixed(2);
    console.log(`${name}: ${bytes} bytes, best ${mbps(times[0])} MB/s, median ${mbps(times[2])} MB/s (${times[2].toFixed(3)} s)`);
}

console.log(`llama-tokenizer-js 1.2.2 on node ${process.version}`);
measure('documents', documents.length * paragraphBytes, () => { for (const d of documents) tokenizer.encode(d); });
measure('one document', Buffer.byteLength(whole, 'utf8'), () => tokenizer.encode(whole));
