// Tokenizer, training-split vocabulary and pad/truncate encoding for text classification.

export const PAD_ID = 0;
export const OOV_ID = 1;
export const PAD_WORD = '<pad>';
export const OOV_WORD = '<oov>';

export interface TokenizerOptions {
  lowercase: boolean;
}

export interface EncodingOptions {
  sequenceLength: number;
  /** 'pre' keeps the end of a long text (drops its beginning), 'post' keeps the beginning (as Keras pad_sequences). */
  truncating: 'pre' | 'post';
  /** 'pre' puts the padding zeros before the tokens, 'post' after. */
  padding: 'pre' | 'post';
}

// Letters, combining marks (accents written as separate code points, Indic vowel signs), digits and
// apostrophes make words; everything else separates them. U+2019 is the typographic apostrophe of "don’t".
const WORD_CHAR = /[\p{L}\p{M}\p{N}]/u;
const APOSTROPHE = 0x27;
const RIGHT_QUOTE = 0x2019;

/** ASCII answered by a table; other code points by the Unicode regex, cached (texts reuse few of them). */
const ASCII_WORD = new Uint8Array(128);
for (let c = 0; c < 128; c++) ASCII_WORD[c] = WORD_CHAR.test(String.fromCharCode(c)) ? 1 : 0;
const wordCodePoints = new Map<number, boolean>();

function isWordCodePoint(cp: number): boolean {
  if (cp < 128) return ASCII_WORD[cp] === 1;
  let known = wordCodePoints.get(cp);
  if (known === undefined) {
    known = WORD_CHAR.test(String.fromCodePoint(cp));
    if (wordCodePoints.size < 65536) wordCodePoints.set(cp, known);
  }
  return known;
}

/**
 * Words of a text. NFC first so "é" typed two ways is one word; apostrophes at a word's edges are quotes
 * ('hello' → hello) while inner ones stay (don't). A hand-written scanner: a split on a Unicode regex was
 * the slowest step of loading a text corpus.
 */
export function tokenize(text: string, options: TokenizerOptions): string[] {
  let t = text.normalize('NFC');
  if (options.lowercase) t = t.toLowerCase();
  const words: string[] = [];
  const n = t.length;
  let i = 0;
  while (i < n) {
    // Skip separators.
    let start = -1;
    while (i < n) {
      const cp = t.codePointAt(i)!;
      if (cp === APOSTROPHE || cp === RIGHT_QUOTE || isWordCodePoint(cp)) { start = i; break; }
      i += cp > 0xffff ? 2 : 1;
    }
    if (start < 0) break;
    let end = start;
    let hasApostrophe = false;
    while (i < n) {
      const cp = t.codePointAt(i)!;
      if (cp === APOSTROPHE || cp === RIGHT_QUOTE) hasApostrophe = true;
      else if (!isWordCodePoint(cp)) break;
      i += cp > 0xffff ? 2 : 1;
      end = i;
    }
    let word = t.slice(start, end);
    if (hasApostrophe) word = word.replace(/\u2019/g, "'").replace(/^'+|'+$/g, '');
    if (word !== '') words.push(word);
  }
  return words;
}

export interface Vocabulary {
  /** Words by id: 0 '<pad>', 1 '<oov>', then by decreasing frequency. */
  words: string[];
  ids: Map<string, number>;
  /** Distinct words seen in the training texts (how much the size limit cut). */
  distinctWords: number;
}

/**
 * The `vocabularySize - 2` most frequent words of `texts` (the training split only, so validation measures
 * generalisation to unseen words). Ties by UTF-16 code-unit order: deterministic on every machine.
 */
export function buildVocabulary(texts: Iterable<string>, vocabularySize: number, options: TokenizerOptions): Vocabulary {
  const counts = new Map<string, number>();
  for (const text of texts) {
    for (const w of tokenize(text, options)) counts.set(w, (counts.get(w) ?? 0) + 1);
  }
  const ranked = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const words = [PAD_WORD, OOV_WORD];
  for (let i = 0; i < ranked.length && words.length < vocabularySize; i++) words.push(ranked[i][0]);
  const ids = new Map<string, number>();
  words.forEach((w, i) => { if (i > OOV_ID) ids.set(w, i); });
  return { words, ids, distinctWords: counts.size };
}

export interface EncodeStats {
  tokens: number;
  oovTokens: number;
  truncatedTexts: number;
}

export function newEncodeStats(): EncodeStats {
  return { tokens: 0, oovTokens: 0, truncatedTexts: 0 };
}

/** Writes the ids of one text into `out[offset … offset + sequenceLength)`, which must hold zeros. */
export function encodeText(
  text: string, vocabulary: Vocabulary, tokenizer: TokenizerOptions, encoding: EncodingOptions,
  out: Int32Array, offset: number, stats?: EncodeStats,
): void {
  const L = encoding.sequenceLength;
  const words = tokenize(text, tokenizer);
  let from = 0;
  let count = words.length;
  if (count > L) {
    if (encoding.truncating === 'pre') from = count - L;
    count = L;
    if (stats) stats.truncatedTexts++;
  }
  const start = offset + (encoding.padding === 'pre' ? L - count : 0);
  for (let k = 0; k < count; k++) {
    const id = vocabulary.ids.get(words[from + k]) ?? OOV_ID;
    out[start + k] = id;
    if (stats && id === OOV_ID) stats.oovTokens++;
  }
  if (stats) stats.tokens += count;
}
