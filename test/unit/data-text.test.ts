// Text: tokenizer, training-only vocabulary with deterministic ties, padding/truncation, label ordering.

import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { buildVocabulary, encodeText, loadDataset, tokenize, OOV_ID, PAD_ID } from '../../src/engine/data';
import type { DataConfig } from '../../src/config/types';
import type { EncodingOptions, Vocabulary } from '../../src/engine/data/text';

const lower = { lowercase: true };

function encode(text: string, vocabulary: Vocabulary, options: EncodingOptions): number[] {
  const out = new Int32Array(options.sequenceLength);
  encodeText(text, vocabulary, lower, options, out, 0);
  return Array.from(out);
}

describe('data: text', () => {
  describe('tokenize', () => {
    it('lowercases and splits on anything but letters, digits and apostrophes', () => {
      assert.deepStrictEqual(tokenize("Don't STOP—believing! (2024) x_y", lower), ["don't", 'stop', 'believing', '2024', 'x', 'y']);
      assert.deepStrictEqual(tokenize('Hello, World', { lowercase: false }), ['Hello', 'World']);
      assert.deepStrictEqual(tokenize('3.14 is pi', lower), ['3', '14', 'is', 'pi']);
    });

    it('is Unicode aware: accents, other scripts, composed and decomposed forms', () => {
      assert.deepStrictEqual(tokenize("L'été à Zürich, ÇA VA?", lower), ["l'été", 'à', 'zürich', 'ça', 'va']);
      assert.deepStrictEqual(tokenize('cafe\u0301 café', lower), ['café', 'café'], 'NFC makes both spellings one word');
      assert.deepStrictEqual(tokenize('Привет мир, γειά σου', lower), ['привет', 'мир', 'γειά', 'σου']);
      assert.deepStrictEqual(tokenize('नमस्ते दुनिया', lower), ['नमस्ते', 'दुनिया'], 'combining vowel signs stay in the word');
      assert.deepStrictEqual(tokenize('hi😀there 𝐀𝐁', lower), ['hi', 'there', '𝐀𝐁'], 'astral letters (no lowercase form) stay whole');
    });

    it("keeps inner apostrophes (also ’) and drops quoting ones", () => {
      assert.deepStrictEqual(tokenize("don’t 'quoted' rock'n'roll '' '", lower), ["don't", 'quoted', "rock'n'roll"]);
    });

    it('returns nothing for text without words', () => {
      assert.deepStrictEqual(tokenize('  --- !!! ', lower), []);
      assert.deepStrictEqual(tokenize('', lower), []);
    });
  });

  describe('vocabulary', () => {
    it('keeps the vocabularySize − 2 most frequent words, ties in code-unit order, after <pad> and <oov>', () => {
      const v = buildVocabulary(['b a', 'a c', 'c b d', 'e'], 5, lower);
      assert.deepStrictEqual(v.words, ['<pad>', '<oov>', 'a', 'b', 'c']);
      assert.strictEqual(v.ids.get('a'), 2);
      assert.strictEqual(v.ids.get('d'), undefined);
      assert.strictEqual(v.distinctWords, 5);
      assert.deepStrictEqual(buildVocabulary(['z z y', 'x'], 10, lower).words, ['<pad>', '<oov>', 'z', 'x', 'y']);
    });

    it('is smaller than vocabularySize when the texts have fewer words', () => {
      assert.strictEqual(buildVocabulary(['one two'], 100, lower).words.length, 4);
    });
  });

  describe('padding and truncation', () => {
    const v = buildVocabulary(['a b c d e f g'], 100, lower); // a=2 … g=8 (all once: alphabetical)

    it("pads with 0 after ('post') or before ('pre')", () => {
      assert.deepStrictEqual(encode('a b c', v, { sequenceLength: 5, padding: 'post', truncating: 'post' }), [2, 3, 4, 0, 0]);
      assert.deepStrictEqual(encode('a b c', v, { sequenceLength: 5, padding: 'pre', truncating: 'post' }), [0, 0, 2, 3, 4]);
    });

    it("truncates the end ('post') or the beginning ('pre'), as Keras pad_sequences", () => {
      assert.deepStrictEqual(encode('a b c d e f g', v, { sequenceLength: 3, padding: 'post', truncating: 'post' }), [2, 3, 4]);
      assert.deepStrictEqual(encode('a b c d e f g', v, { sequenceLength: 3, padding: 'post', truncating: 'pre' }), [6, 7, 8]);
    });

    it('maps unknown words to the out-of-vocabulary id 1 and empty texts to all padding', () => {
      assert.deepStrictEqual(encode('a zebra b', v, { sequenceLength: 4, padding: 'post', truncating: 'post' }), [2, OOV_ID, 3, PAD_ID]);
      assert.deepStrictEqual(encode('!!!', v, { sequenceLength: 2, padding: 'pre', truncating: 'pre' }), [0, 0]);
    });
  });

  describe('datasets', () => {
    let dir: string;
    before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gradmon-text-')); });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const ctx = () => ({ configDir: dir, workspaceRoot: dir, seed: 11 });

    it('builds the vocabulary from the training split only', async () => {
      // Each text is one unique word: validation words must all be out of vocabulary.
      const rows = Array.from({ length: 20 }, (_, i) => `word${i},${i % 2 ? 'odd' : 'even'}`);
      fs.writeFileSync(path.join(dir, 'unique.csv'), `text,label\n${rows.join('\n')}\n`);
      const d = await loadDataset({
        source: 'csv', path: 'unique.csv', textColumn: 'text', labelColumn: 'label', validationSplit: 0.5, sequenceLength: 2,
      }, ctx());
      assert.strictEqual(d.train.count, 10);
      assert.strictEqual(d.vocabularySize, 12);
      assert.strictEqual(d.vocabulary!.length, 12);
      assert.deepStrictEqual(Array.from(d.validation.x), Array(20).fill(0).map((_, i) => (i % 2 === 0 ? OOV_ID : PAD_ID)));
      for (let i = 0; i < 10; i++) assert.ok(d.train.x[2 * i] >= 2, 'training words are known');
    });

    it('applies sequenceLength, padding, truncating, lowercase and vocabularySize from the config', async () => {
      fs.writeFileSync(path.join(dir, 'opts.jsonl'),
        '{"text":"Zed zed alpha beta gamma","label":true}\n{"text":"Alpha","label":false}\n');
      const config = {
        source: 'jsonl', path: 'opts.jsonl', textColumn: 'text', labelColumn: 'label', validationSplit: 0,
        sequenceLength: 3, padding: 'pre', truncating: 'pre', lowercase: false, vocabularySize: 4,
      } as DataConfig;
      const d = await loadDataset(config, ctx());
      // Case kept: Zed, zed, Alpha, alpha are four words, each once; the two kept are 'Alpha' and 'Zed'.
      assert.deepStrictEqual(d.vocabulary, ['<pad>', '<oov>', 'Alpha', 'Zed']);
      assert.deepStrictEqual(d.labelNames, ['false', 'true']);
      const byLabel = new Map<number, number[]>();
      for (let i = 0; i < 2; i++) byLabel.set(d.train.y[i], Array.from(d.train.x.subarray(3 * i, 3 * i + 3)));
      assert.deepStrictEqual(byLabel.get(1), [OOV_ID, OOV_ID, OOV_ID], "'pre' keeps the end: alpha beta gamma");
      assert.deepStrictEqual(byLabel.get(0), [0, 0, 2]);
    });

    it('reports the text defaults: 100 tokens, vocabulary capped at 10000', async () => {
      const words = Array.from({ length: 12000 }, (_, i) => `w${i}`);
      const rows = Array.from({ length: 120 }, (_, r) => `${words.slice(r * 100, r * 100 + 100).join(' ')} extra words here,${r % 3}`);
      fs.writeFileSync(path.join(dir, 'big.csv'), `text,label\n${rows.join('\n')}\n`);
      const d = await loadDataset({ source: 'csv', path: 'big.csv', textColumn: 'text', labelColumn: 'label', validationSplit: 0 }, ctx());
      assert.deepStrictEqual(d.inputShape, [100]);
      assert.strictEqual(d.vocabularySize, 10000);
      assert.match(d.description, /100 tokens per text \(100\.0 % of texts cut/);
    });
  });
});
