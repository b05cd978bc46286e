// Turns llama-tokenizer-js's built-in test cases into JSON, and adds a generated corpus encoded by the same library.
//   node extract-llama-cases.mjs path/to/llama-tokenizer.js out.json
// The library's cases live inside its defaultTests() as JavaScript calls that assert encode(input) == expected ids.
// Running defaultTests against a recording wrapper of the real tokenizer captures each (input, ids) pair; a case is
// recorded only after its own assertion has passed, so the recorded ids are the library's expected ids.
import { pathToFileURL } from 'node:url';
import { writeFileSync } from 'node:fs';

const [libraryPath, outputPath] = process.argv.slice(2);
const { default: tokenizer } = await import(pathToFileURL(libraryPath).href);

const encodeCalls = [];
const decodeCases = [];
const recorder = {
    encode(text, addBos, addPrecedingSpace) {
        const ids = tokenizer.encode(text, addBos, addPrecedingSpace, false);
        encodeCalls.push({ text, ids });
        return ids;
    },
    decode(ids, addBos = true, addPrecedingSpace = true) {
        const text = tokenizer.decode(ids, addBos, addPrecedingSpace);
        decodeCases.push({ ids, addBos, addPrecedingSpace, text });
        return text;
    },
};
const log = console.log;
console.log = () => {};
tokenizer.defaultTests(recorder); // throws if any of its assertions fails
console.log = log;
// testCase() also decodes its own ids to check the round trip; keep only the explicit decode-only cases.
const encodedTexts = new Set(encodeCalls.map(c => c.text));
const decodeOnly = decodeCases.filter(c => !encodedTexts.has(c.text) || c.addBos !== true || c.addPrecedingSpace !== true
    || !encodeCalls.some(e => e.ids === c.ids));

// A generated corpus: seeded, so every fetch writes the same file. It mixes what tends to break tokenizers:
// whitespace runs, control characters, CJK, emoji (surrogate pairs), combining marks, digits and punctuation.
let state = 0x2545F491;
const next = () => { // xorshift32
    state ^= state << 13; state >>>= 0; state ^= state >>> 17; state ^= state << 5; state >>>= 0;
    return state / 4294967296;
};
const pick = items => items[Math.floor(next() * items.length)];
const words = ['the', 'llama', 'grabbed', 'tokenizer', 'Hello', 'world', 'TinyLlama', 'pre-training', "don't", 'über',
    'naïve', 'café', 'Москва', 'привет', 'αβγ', 'שלום', 'مرحبا', 'नमस्ते', '東京', '镇', '日本語のテキスト', '한국어',
    '🦙', '👍🏽', '👨‍👩‍👧', '🇫🇷', '𝔘𝔫𝔦𝔠𝔬𝔡𝔢', 'Ꙋ', 'e\u0301', '\u00a0', '½', '∑', '42', '3.14159', '#####', '<s>',
    '</s>', '<unk>', '<0x0A>', '▁', '▁▁', '"quoted"', '(paren)', '[1]', 'a\u200bb', 'x\u0000y', '\u007f', '\ufeff',
    '\uffff', '\u{10ffff}', '\u{1f600}\u{1f601}'];
const spaces = [' ', ' ', ' ', '  ', '   ', '        ', '\t', '\n', '\n\n', '\r\n', ' \n ', '\u3000', '\u2003'];
const generated = [];
for (let i = 0; i < 400; i++) {
    let text = next() < 0.3 ? pick(spaces) : '';
    const count = 1 + Math.floor(next() * 12);
    for (let w = 0; w < count; w++) {
        text += pick(words);
        if (next() < 0.8) text += pick(spaces);
    }
    generated.push(text);
}
// Random code points from all planes (no lone surrogates: they have no UTF-8 form and cannot round-trip).
for (let i = 0; i < 100; i++) {
    let text = '';
    const count = 1 + Math.floor(next() * 20);
    for (let c = 0; c < count; c++) {
        let cp;
        const r = next();
        if (r < 0.3) cp = 0x20 + Math.floor(next() * 0x5f);
        else if (r < 0.4) cp = Math.floor(next() * 0x20);
        else if (r < 0.7) cp = 0x80 + Math.floor(next() * 0xff80);
        else cp = 0x10000 + Math.floor(next() * 0x100000);
        if (cp >= 0xd800 && cp <= 0xdfff) cp = 0x20;
        text += String.fromCodePoint(cp);
    }
    generated.push(text);
}
// Long inputs: the library's longest case repeated, and long runs of one character.
const longest = encodeCalls.reduce((a, b) => (b.text.length > a.text.length ? b : a)).text;
generated.push(Array(20).fill(longest).join('\n'), ' '.repeat(1000), 'a'.repeat(777), '\n'.repeat(50), '🦙'.repeat(100));

const cases = {
    source: 'llama-tokenizer-js 1.2.2: defaultTests() cases, then a seeded corpus encoded by the same library',
    encode: encodeCalls.map(c => ({ text: c.text, ids: c.ids })),
    decode: decodeOnly,
    generated: generated.map(text => ({ text, ids: tokenizer.encode(text, true, true, false) })),
};
writeFileSync(outputPath, JSON.stringify(cases, null, 1));
log(`extracted ${cases.encode.length} encode cases, ${cases.decode.length} decode cases, ${cases.generated.length} generated`);
