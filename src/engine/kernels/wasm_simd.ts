// Hand-assembled WebAssembly SIMD kernels that work directly on the wasm backend's heap: the Adam and SGD
// updates, the moments and histogram of gradient statistics, the loops of the sparse convolution gradients
// (sparse_conv.ts), the Max/Min gradient (extremum_grad.ts), reductions over a middle axis (wasm_reduce.ts) and the
// Embedding gradient's float64 sums (unsorted_segment_sum.ts), and the forward pass of a convolution over embedded
// tokens and the Embedding lookup's row copies (embedding_conv.ts, gather.ts).

import { backend, getBackend } from '@tensorflow/tfjs-core';

// The WebAssembly JS API as far as used here (the project's TypeScript libs have no DOM/WebAssembly types).
interface WasmMemory { readonly buffer: ArrayBuffer }
interface WasmGlobal { value: number }
declare const WebAssembly: {
  Memory: new (descriptor: { initial: number }) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
};

/**
 * Why: JS has no SIMD, and its scalar square roots and divisions cost ~10 ns per element here: Adam over the
 * 110k MLP weights took ~1.2 ms in a JS loop, 2.7 ms as 11 tfjs kernels; the statistics loop ~5 ns per
 * gradient element. This module imports the wasm backend's own memory, so it reads tensors where they are,
 * four floats per instruction. There is no compiler here (no emscripten, no wabt), so the module is written
 * as bytes by the small assembler below; every function is checked against the JS code it replaces
 * (test/unit/kernels.test.ts). Arithmetic is float32 as in the tf-op versions (same operations, same order),
 * sums of squares in float64 as in the JS statistics.
 */

// ---------------------------------------------------------------------------------------------------
// A minimal assembler: LEB128, sections, and the opcodes used

const I32 = 0x7f;
const F32 = 0x7d;
const F64 = 0x7c;
const V128 = 0x7b;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

const utf8 = (s: string) => [...uleb(s.length), ...Array.from(s, c => c.charCodeAt(0))];
const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];

/** The instructions used, as byte sequences. Locals and globals by index. */
const op = {
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  end: [0x0b],
  br: (depth: number) => [0x0c, ...uleb(depth)],
  brIf: (depth: number) => [0x0d, ...uleb(depth)],
  get: (i: number) => [0x20, ...uleb(i)],
  set: (i: number) => [0x21, ...uleb(i)],
  tee: (i: number) => [0x22, ...uleb(i)],
  globalSet: (i: number) => [0x24, ...uleb(i)],
  i32Load: [0x28, 2, 0],
  i32Store: [0x36, 2, 0],
  i32Const: (n: number) => [0x41, ...sleb(n)],
  i32GeU: [0x4f],
  i32GeS: [0x4e],
  i32Add: [0x6a],
  i32Sub: [0x6b],
  i32And: [0x71],
  i32Shl: [0x74],
  i32ShrU: [0x76],
  f64Add: [0xa0],
  f32Min: [0x96],
  f32Max: [0x97],
  // SIMD: 0xfd, then the opcode as unsigned LEB128
  v128Load: [0xfd, ...uleb(0x00), 4, 0],
  v128Store: [0xfd, ...uleb(0x0b), 4, 0],
  /** Bytes 8..15 then 0..7 of the first operand: the high two lanes moved low. */
  swapHalves: [0xfd, ...uleb(0x0d), 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7],
  i32x4Splat: [0xfd, ...uleb(0x11)],
  f32x4Splat: [0xfd, ...uleb(0x13)],
  f64x2Splat: [0xfd, ...uleb(0x14)],
  i32x4Lane: (lane: number) => [0xfd, ...uleb(0x1b), lane],
  f32x4Lane: (lane: number) => [0xfd, ...uleb(0x1f), lane],
  f64x2Lane: (lane: number) => [0xfd, ...uleb(0x21), lane],
  f32x4Eq: [0xfd, ...uleb(0x41)],
  f32x4Ne: [0xfd, ...uleb(0x42)],
  f32x4Lt: [0xfd, ...uleb(0x43)],
  f32x4Gt: [0xfd, ...uleb(0x44)],
  f32x4Le: [0xfd, ...uleb(0x45)],
  f32x4Ge: [0xfd, ...uleb(0x46)],
  v128Or: [0xfd, ...uleb(0x50)],
  /** (a & mask) | (b & ~mask) for operands a, b, mask. */
  v128Bitselect: [0xfd, ...uleb(0x52)],
  v128AnyTrue: [0xfd, ...uleb(0x53)],
  i32Eqz: [0x45],
  f64x2PromoteLow: [0xfd, ...uleb(0x5f)],
  /** The two float64 lanes rounded to float32 in lanes 0 and 1; lanes 2 and 3 zero. */
  f32x4DemoteF64x2Zero: [0xfd, ...uleb(0x5e)],
  /** Bytes 0..7 of the first operand, then bytes 0..7 of the second: two low halves joined. */
  joinLowHalves: [0xfd, ...uleb(0x0d), 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23],
  i32x4Sub: [0xfd, ...uleb(0xb1)],
  i32x4Add: [0xfd, ...uleb(0xae)],
  f32x4Sqrt: [0xfd, ...uleb(0xe3)],
  f32x4Add: [0xfd, ...uleb(0xe4)],
  f32x4Sub: [0xfd, ...uleb(0xe5)],
  f32x4Mul: [0xfd, ...uleb(0xe6)],
  f32x4Div: [0xfd, ...uleb(0xe7)],
  f32x4Min: [0xfd, ...uleb(0xe8)],
  f32x4Max: [0xfd, ...uleb(0xe9)],
  f64x2Add: [0xfd, ...uleb(0xf0)],
  f32x4ConvertI32x4S: [0xfd, ...uleb(0xfa)],
  f64x2Sub: [0xfd, ...uleb(0xf1)],
  f64x2Mul: [0xfd, ...uleb(0xf2)],
  f64Const0: [0x44, 0, 0, 0, 0, 0, 0, 0, 0],
  f32Const: (x: number) => [0x43, ...new Uint8Array(new Float32Array([x]).buffer)],
};

interface Func {
  name: string;
  params: number[];
  locals: number[];
  body: number[][];
}

/**
 * `for (i = 0; i < end; i += step) body`, i and end being i32 locals (byte offsets), step a constant or
 * `{ local }` (an i32 local): the loop shape of every kernel here.
 */
function forLoop(i: number, end: number, step: number | { local: number }, body: number[][]): number[][] {
  return [
    op.i32Const(0), op.set(i),
    op.block, op.loop,
    op.get(i), op.get(end), op.i32GeU, op.brIf(1),
    ...body,
    op.get(i), typeof step === 'number' ? op.i32Const(step) : op.get(step.local), op.i32Add, op.set(i),
    op.br(0),
    op.end, op.end,
  ];
}

/** acc += lo(x)² + hi(x)² (x a float32x4 local, acc a float64x2 local, tmp a v128 local). */
function addSquares(acc: number, x: number, tmp: number): number[][] {
  return [
    op.get(acc), op.get(x), op.f64x2PromoteLow, op.tee(tmp), op.get(tmp), op.f64x2Mul, op.f64x2Add,
    op.get(x), op.get(x), op.swapHalves, op.f64x2PromoteLow, op.tee(tmp), op.get(tmp), op.f64x2Mul, op.f64x2Add,
    op.set(acc),
  ];
}

/** acc += (lo(x) − lo(y))² + (hi(x) − hi(y))² in float64 (x, y float32x4 locals). */
function addSquaredDifferences(acc: number, x: number, y: number, tmp: number): number[][] {
  return [
    op.get(acc), op.get(x), op.f64x2PromoteLow, op.get(y), op.f64x2PromoteLow, op.f64x2Sub, op.tee(tmp), op.get(tmp), op.f64x2Mul, op.f64x2Add,
    op.get(x), op.get(x), op.swapHalves, op.f64x2PromoteLow, op.get(y), op.get(y), op.swapHalves, op.f64x2PromoteLow, op.f64x2Sub, op.tee(tmp), op.get(tmp), op.f64x2Mul, op.f64x2Add,
    op.set(acc),
  ];
}

// Exported globals that carry results (f64 sums; f32 extremes; an i32 count).
const G_A = 0;
const G_B = 1;
const G_MIN = 2;
const G_MAX = 3;
const G_ZEROS = 4;
const G_COUNT = 5;

/** Adds the two f64 lanes of `acc` into global `g`. */
const storeSum = (acc: number, g: number) => [op.get(acc), op.f64x2Lane(0), op.get(acc), op.f64x2Lane(1), op.f64Add, op.globalSet(g)];

/**
 * adam(w, out, g, m, v, bytes, lr, beta1, 1−beta1, beta2, 1−beta2, c1, c2, eps): tfjs' Adam in float32,
 *   m ← m·β1 + g·(1−β1); v ← v·β2 + g²·(1−β2); out ← w − ((m/c1) / (√(v/c2) + ε))·lr
 * and global A = Σ out², B = Σ (out − w)² in float64.
 */
function adamFunc(): Func {
  // params 0..5 i32, 6..13 f32; locals: 14 i (i32); 15..22 splats; 23 g, 24 nm, 25 nv, 26 w, 27 nw,
  // 28 acc A, 29 acc B (f64x2), 30 a temporary (v128).
  const [W, OUT, GR, M, V, BYTES] = [0, 1, 2, 3, 4, 5];
  const [LR, B1, OMB1, B2, OMB2, C1, C2, EPS] = [6, 7, 8, 9, 10, 11, 12, 13];
  const I = 14;
  const S = (k: number) => 15 + (k - LR); // splat of param k
  const [Gv, NM, NV, Wv, NW, ACC_A, ACC_B, D] = [23, 24, 25, 26, 27, 28, 29, 30];
  const splats = [LR, B1, OMB1, B2, OMB2, C1, C2, EPS].flatMap(k => [op.get(k), op.f32x4Splat, op.set(S(k))]);
  const at = (base: number) => [...op.get(base), ...op.get(I), ...op.i32Add];
  const locals = [I32, ...new Array(30 - 14).fill(V128)];
  return {
    name: 'adam',
    params: [I32, I32, I32, I32, I32, I32, F32, F32, F32, F32, F32, F32, F32, F32],
    locals,
    body: [
      ...splats,
      op.f64Const0, op.f64x2Splat, op.set(ACC_A), op.f64Const0, op.f64x2Splat, op.set(ACC_B),
      ...forLoop(I, BYTES, 16, [
        at(GR), op.v128Load, op.set(Gv),
        // m·β1 + g·(1−β1)
        at(M), at(M), op.v128Load, op.get(S(B1)), op.f32x4Mul, op.get(Gv), op.get(S(OMB1)), op.f32x4Mul, op.f32x4Add, op.tee(NM), op.v128Store,
        // v·β2 + (g·g)·(1−β2)
        at(V), at(V), op.v128Load, op.get(S(B2)), op.f32x4Mul, op.get(Gv), op.get(Gv), op.f32x4Mul, op.get(S(OMB2)), op.f32x4Mul, op.f32x4Add, op.tee(NV), op.v128Store,
        at(W), op.v128Load, op.set(Wv),
        // out = w − ((m/c1) / (√(v/c2) + ε))·lr
        at(OUT), op.get(Wv),
        op.get(NM), op.get(S(C1)), op.f32x4Div,
        op.get(NV), op.get(S(C2)), op.f32x4Div, op.f32x4Sqrt, op.get(S(EPS)), op.f32x4Add,
        op.f32x4Div, op.get(S(LR)), op.f32x4Mul, op.f32x4Sub, op.tee(NW), op.v128Store,
        ...addSquares(ACC_A, NW, D),
        ...addSquaredDifferences(ACC_B, NW, Wv, D),
      ]),
      ...storeSum(ACC_A, G_A), ...storeSum(ACC_B, G_B),
    ],
  };
}

/** sgd(w, out, g, bytes, lr): out ← w − g·lr in float32; global A = Σ out², B = Σ (out − w)². */
function sgdFunc(): Func {
  const [W, OUT, GR, BYTES, LR] = [0, 1, 2, 3, 4];
  const I = 5;
  const [SLR, Wv, NW, ACC_A, ACC_B, D] = [6, 7, 8, 9, 10, 11];
  const at = (base: number) => [...op.get(base), ...op.get(I), ...op.i32Add];
  return {
    name: 'sgd',
    params: [I32, I32, I32, I32, F32],
    locals: [I32, ...new Array(11 - 5).fill(V128)],
    body: [
      op.get(LR), op.f32x4Splat, op.set(SLR),
      op.f64Const0, op.f64x2Splat, op.set(ACC_A), op.f64Const0, op.f64x2Splat, op.set(ACC_B),
      ...forLoop(I, BYTES, 16, [
        at(W), op.v128Load, op.set(Wv),
        at(OUT), op.get(Wv), at(GR), op.v128Load, op.get(SLR), op.f32x4Mul, op.f32x4Sub, op.tee(NW), op.v128Store,
        ...addSquares(ACC_A, NW, D),
        ...addSquaredDifferences(ACC_B, NW, Wv, D),
      ]),
      ...storeSum(ACC_A, G_A), ...storeSum(ACC_B, G_B),
    ],
  };
}

/**
 * moments(x, bytes): global A = Σ x, B = Σ x² (float64), MIN/MAX = extremes (float32), ZEROS = count of ±0.
 * Eight floats a step into two sets of accumulators (bytes: a multiple of 32), so the float64 additions of one
 * do not wait for the other's; eight +0.0 in a row are only counted. NaN or ±Inf make A or B non-finite; the
 * caller then takes the exact JS path.
 */
function momentsFunc(): Func {
  const [X, BYTES] = [0, 1];
  const I = 2;
  const [Xv, SUM, SQ, MIN, MAX, ZC, T, Xv2, SUM2, SQ2, ZERO] = [3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13];
  const SKIPPED = 14; // count of zeros skipped in all-zero blocks (i32)
  const accumulate = (x: number, sum: number, sq: number) => [
    op.get(sum), op.get(x), op.f64x2PromoteLow, op.f64x2Add, op.get(x), op.get(x), op.swapHalves, op.f64x2PromoteLow, op.f64x2Add, op.set(sum),
    ...addSquares(sq, x, T),
    op.get(MIN), op.get(x), op.f32x4Min, op.set(MIN),
    op.get(MAX), op.get(x), op.f32x4Max, op.set(MAX),
    // x == 0 gives lane −1: subtracting counts it
    op.get(ZC), op.get(x), op.get(ZERO), op.f32x4Eq, op.i32x4Sub, op.set(ZC),
  ];
  return {
    name: 'moments',
    params: [I32, I32],
    locals: [I32, ...new Array(13 - 2).fill(V128), I32],
    body: [
      op.f64Const0, op.f64x2Splat, op.set(SUM), op.f64Const0, op.f64x2Splat, op.set(SQ),
      op.f64Const0, op.f64x2Splat, op.set(SUM2), op.f64Const0, op.f64x2Splat, op.set(SQ2),
      op.f32Const(Infinity), op.f32x4Splat, op.set(MIN), op.f32Const(-Infinity), op.f32x4Splat, op.set(MAX),
      op.i32Const(0), op.i32x4Splat, op.set(ZC), op.f32Const(0), op.f32x4Splat, op.set(ZERO),
      op.i32Const(0), op.set(SKIPPED),
      ...forLoop(I, BYTES, 32, [
        op.block, op.block,
        op.get(X), op.get(I), op.i32Add, op.v128Load, op.tee(Xv),
        op.get(X), op.get(I), op.i32Add, op.i32Const(16), op.i32Add, op.v128Load, op.tee(Xv2),
        // eight +0.0 (all bits clear, a zero row of a sparse gradient): only counted
        op.v128Or, op.v128AnyTrue, op.brIf(0),
        op.get(SKIPPED), op.i32Const(8), op.i32Add, op.set(SKIPPED), op.br(1),
        op.end,
        ...accumulate(Xv, SUM, SQ),
        ...accumulate(Xv2, SUM2, SQ2),
        op.end,
      ]),
      op.get(SUM), op.get(SUM2), op.f64x2Add, op.set(SUM), op.get(SQ), op.get(SQ2), op.f64x2Add, op.set(SQ),
      // the skipped zeros: counted, and bounds for the extremes
      op.get(ZC), op.get(SKIPPED), op.i32Const(2), op.i32ShrU, op.i32x4Splat, op.i32x4Add, op.set(ZC),
      op.block, op.get(SKIPPED), op.i32Eqz, op.brIf(0),
      op.get(MIN), op.get(ZERO), op.f32x4Min, op.set(MIN), op.get(MAX), op.get(ZERO), op.f32x4Max, op.set(MAX),
      op.end,
      ...storeSum(SUM, G_A), ...storeSum(SQ, G_B),
      op.get(MIN), op.f32x4Lane(0), op.get(MIN), op.f32x4Lane(1), op.f32Min, op.get(MIN), op.f32x4Lane(2), op.f32Min, op.get(MIN), op.f32x4Lane(3), op.f32Min, op.globalSet(G_MIN),
      op.get(MAX), op.f32x4Lane(0), op.get(MAX), op.f32x4Lane(1), op.f32Max, op.get(MAX), op.f32x4Lane(2), op.f32Max, op.get(MAX), op.f32x4Lane(3), op.f32Max, op.globalSet(G_MAX),
      op.get(ZC), op.i32x4Lane(0), op.get(ZC), op.i32x4Lane(1), op.i32Add, op.get(ZC), op.i32x4Lane(2), op.i32Add, op.get(ZC), op.i32x4Lane(3), op.i32Add, op.globalSet(G_ZEROS),
    ],
  };
}

/**
 * histogram(x, bytes, slotTable, edgeTable, counts): for each nonzero finite float, the slot of stats.ts's
 * lookup (slot[key] + (bits ≥ edge[key]), key = the top 12 bits below the sign) counted in the int32 array at
 * `counts`. Zeros and NaN/±Inf are left out (counted elsewhere). Four floats are loaded at once and skipped
 * together when all are zero (a sparse Embedding gradient is mostly zero rows); the others one lane at a time.
 * bytes: a multiple of 16.
 */
function histogramFunc(): Func {
  const [X, BYTES, SLOTS, EDGES, COUNTS] = [0, 1, 2, 3, 4];
  const [I, BITS, KEY, AT, Xv] = [5, 6, 7, 8, 9];
  const lane = (k: number) => [
    op.block,
    op.get(Xv), op.i32x4Lane(k), op.i32Const(0x7fffffff), op.i32And, op.tee(BITS),
    // (bits − 1) ≥u 0x7f7fffff: zero, or NaN/±Inf
    op.i32Const(1), op.i32Sub, op.i32Const(0x7f7fffff), op.i32GeU, op.brIf(0),
    op.get(BITS), op.i32Const(19), op.i32ShrU, op.i32Const(2), op.i32Shl, op.set(KEY),
    op.get(SLOTS), op.get(KEY), op.i32Add, op.i32Load,
    op.get(BITS), op.get(EDGES), op.get(KEY), op.i32Add, op.i32Load, op.i32GeS, op.i32Add,
    op.i32Const(2), op.i32Shl, op.get(COUNTS), op.i32Add, op.tee(AT),
    op.get(AT), op.i32Load, op.i32Const(1), op.i32Add, op.i32Store,
    op.end,
  ];
  return {
    name: 'histogram',
    params: [I32, I32, I32, I32, I32],
    locals: [I32, I32, I32, I32, V128],
    body: [
      ...forLoop(I, BYTES, 16, [
        op.block,
        op.get(X), op.get(I), op.i32Add, op.v128Load, op.tee(Xv), op.v128AnyTrue, op.i32Eqz, op.brIf(0),
        ...lane(0), ...lane(1), ...lane(2), ...lane(3),
        op.end,
      ]),
    ],
  };
}

/**
 * activation(y, bytes, rowBytes, alive, low, high): over a layer's output [rows, units] (rowBytes = 4·units, a
 * multiple of 16): global A = Σ y, B = Σ y² (float64), ZEROS = count of y = 0, COUNT = count of y ≤ low or
 * y ≥ high (saturated), and alive[u] |= (y ≠ 0) for every column u (int32 lanes at `alive`, zeroed by the caller).
 */
function activationFunc(): Func {
  const [Y, BYTES, ROW, ALIVE, LOW, HIGH] = [0, 1, 2, 3, 4, 5];
  const [R, C, AT] = [6, 7, 8];
  const [Yv, SUM, SQ, ZC, SC, VLOW, VHIGH, ZERO, T] = [9, 10, 11, 12, 13, 14, 15, 16, 17];
  const rowLoop = forLoop(C, ROW, 16, [
    op.get(Y), op.get(R), op.i32Add, op.get(C), op.i32Add, op.v128Load, op.set(Yv),
    op.get(SUM), op.get(Yv), op.f64x2PromoteLow, op.f64x2Add, op.get(Yv), op.get(Yv), op.swapHalves, op.f64x2PromoteLow, op.f64x2Add, op.set(SUM),
    ...addSquares(SQ, Yv, T),
    op.get(ZC), op.get(Yv), op.get(ZERO), op.f32x4Eq, op.i32x4Sub, op.set(ZC),
    op.get(SC), op.get(Yv), op.get(VLOW), op.f32x4Le, op.get(Yv), op.get(VHIGH), op.f32x4Ge, op.v128Or, op.i32x4Sub, op.set(SC),
    op.get(ALIVE), op.get(C), op.i32Add, op.tee(AT), op.get(AT), op.v128Load, op.get(Yv), op.get(ZERO), op.f32x4Ne, op.v128Or, op.v128Store,
  ]);
  const laneSum = (v: number) => [op.get(v), op.i32x4Lane(0), op.get(v), op.i32x4Lane(1), op.i32Add, op.get(v), op.i32x4Lane(2), op.i32Add, op.get(v), op.i32x4Lane(3), op.i32Add];
  return {
    name: 'activation',
    params: [I32, I32, I32, I32, F32, F32],
    locals: [I32, I32, I32, ...new Array(9).fill(V128)],
    body: [
      op.f64Const0, op.f64x2Splat, op.set(SUM), op.f64Const0, op.f64x2Splat, op.set(SQ),
      op.i32Const(0), op.i32x4Splat, op.set(ZC), op.i32Const(0), op.i32x4Splat, op.set(SC),
      op.get(LOW), op.f32x4Splat, op.set(VLOW), op.get(HIGH), op.f32x4Splat, op.set(VHIGH), op.f32Const(0), op.f32x4Splat, op.set(ZERO),
      // for (r = 0; r < bytes; r += rowBytes) for (c = 0; c < rowBytes; c += 16)
      ...forLoop(R, BYTES, { local: ROW }, rowLoop),
      ...storeSum(SUM, G_A), ...storeSum(SQ, G_B),
      ...laneSum(ZC), op.globalSet(G_ZEROS), ...laneSum(SC), op.globalSet(G_COUNT),
    ],
  };
}

/**
 * axpy(dst, src, bytes, a): dst ← dst + src·a over `bytes` (a multiple of 16), float32 (each product rounded,
 * then each sum, as the JS fallback in sparse_conv.ts computes it).
 */
function axpyFunc(): Func {
  const [DST, SRC, BYTES, A] = [0, 1, 2, 3];
  const [I, AV] = [4, 5];
  return {
    name: 'axpy',
    params: [I32, I32, I32, F32],
    locals: [I32, V128],
    body: [
      op.get(A), op.f32x4Splat, op.set(AV),
      ...forLoop(I, BYTES, 16, [
        op.get(DST), op.get(I), op.i32Add,
        op.get(DST), op.get(I), op.i32Add, op.v128Load,
        op.get(SRC), op.get(I), op.i32Add, op.v128Load, op.get(AV), op.f32x4Mul,
        op.f32x4Add, op.v128Store,
      ]),
    ],
  };
}

/**
 * nonzeroGroups(x, bytes, out): the byte offsets (from x) of the groups of four floats that hold a value other than
 * ±0 (NaN included), ascending, as int32 at `out` (room for bytes / 16 of them); global COUNT = how many.
 * bytes: a multiple of 16.
 */
function nonzeroGroupsFunc(): Func {
  const [X, BYTES, OUT] = [0, 1, 2];
  const [I, N, ZERO] = [3, 4, 5];
  return {
    name: 'nonzeroGroups',
    params: [I32, I32, I32],
    locals: [I32, I32, V128],
    body: [
      op.f32Const(0), op.f32x4Splat, op.set(ZERO), op.i32Const(0), op.set(N),
      ...forLoop(I, BYTES, 16, [
        op.block,
        op.get(X), op.get(I), op.i32Add, op.v128Load, op.get(ZERO), op.f32x4Ne, op.v128AnyTrue, op.i32Eqz, op.brIf(0),
        op.get(OUT), op.get(N), op.i32Add, op.get(I), op.i32Store,
        op.get(N), op.i32Const(4), op.i32Add, op.set(N),
        op.end,
      ]),
      op.get(N), op.i32Const(2), op.i32ShrU, op.globalSet(G_COUNT),
    ],
  };
}

/** finite(x, bytes): global COUNT = 1 when every float is finite, else 0 (x − x is NaN for ±Inf and NaN). bytes: a multiple of 16. */
function finiteFunc(): Func {
  const [X, BYTES] = [0, 1];
  const [I, ACC, V] = [2, 3, 4];
  return {
    name: 'finite',
    params: [I32, I32],
    locals: [I32, V128, V128],
    body: [
      op.f32Const(0), op.f32x4Splat, op.set(ACC),
      ...forLoop(I, BYTES, 16, [
        op.get(ACC), op.get(X), op.get(I), op.i32Add, op.v128Load, op.tee(V), op.get(V), op.f32x4Sub, op.f32x4Add, op.set(ACC),
      ]),
      op.get(ACC), op.get(ACC), op.f32x4Ne, op.v128AnyTrue, op.i32Eqz, op.globalSet(G_COUNT),
    ],
  };
}

/**
 * extremumGrad(x, y, dy, dx, scratch, outer, reduced, rowBytes): the Max/Min gradient of extremum_grad.ts over x
 * seen as [outer, reduced, row] (rowBytes = 4·row, a multiple of 16), y and dy as [outer, row]:
 *   n = the count of x == y along `reduced`; dx = x == y ? dy·(1/n) : dy·(0/n)
 * in float32 (IEEE division and product, as the tf ops' chain). scratch: 2·rowBytes bytes, for the counts, then
 * the two candidate values per column.
 */
function extremumGradFunc(): Func {
  const [X, Y, DY, DX, S, OUTER, REDUCED, ROW] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [O, R, C, P1, P2, YOFF] = [8, 9, 10, 11, 12, 13];
  const [ONE, ZERO, N] = [14, 15, 16];
  const at = (base: number, offset: number) => [op.get(base), op.get(offset), op.i32Add];
  const at3 = (base: number, offset: number, col: number) => [...at(base, offset), op.get(col), op.i32Add];
  const equalMask = (offset: number) => [...at3(X, offset, C), op.v128Load, ...at3(Y, YOFF, C), op.v128Load, op.f32x4Eq];
  const nextRow = (local: number) => [op.get(local), op.get(ROW), op.i32Add, op.set(local)];
  return {
    name: 'extremumGrad',
    params: [I32, I32, I32, I32, I32, I32, I32, I32],
    locals: [I32, I32, I32, I32, I32, I32, V128, V128, V128],
    body: [
      op.f32Const(1), op.f32x4Splat, op.set(ONE), op.f32Const(0), op.f32x4Splat, op.set(ZERO),
      op.i32Const(0), op.set(P1), op.i32Const(0), op.set(P2), op.i32Const(0), op.set(YOFF),
      ...forLoop(O, OUTER, 1, [
        // counts (int32 lanes) ← 0
        ...forLoop(C, ROW, 16, [...at(S, C), op.get(ZERO), op.v128Store]),
        // counts −= (x == y) (a true lane is −1)
        ...forLoop(R, REDUCED, 1, [
          ...forLoop(C, ROW, 16, [...at(S, C), ...at(S, C), op.v128Load, ...equalMask(P1), op.i32x4Sub, op.v128Store]),
          ...nextRow(P1),
        ]),
        // scratch[0] ← dy·(1/n), scratch[1] ← dy·(0/n)
        ...forLoop(C, ROW, 16, [
          ...at(S, C), op.v128Load, op.f32x4ConvertI32x4S, op.set(N),
          ...at(S, C), ...at3(DY, YOFF, C), op.v128Load, op.get(ONE), op.get(N), op.f32x4Div, op.f32x4Mul, op.v128Store,
          ...at3(S, ROW, C), ...at3(DY, YOFF, C), op.v128Load, op.get(ZERO), op.get(N), op.f32x4Div, op.f32x4Mul, op.v128Store,
        ]),
        ...forLoop(R, REDUCED, 1, [
          ...forLoop(C, ROW, 16, [
            ...at3(DX, P2, C), ...at(S, C), op.v128Load, ...at3(S, ROW, C), op.v128Load, ...equalMask(P2), op.v128Bitselect, op.v128Store,
          ]),
          ...nextRow(P2),
        ]),
        ...nextRow(YOFF),
      ]),
    ],
  };
}

/**
 * sumRows / maxRows / minRows(x, out, outer, reduced, rowBytes): x seen as [outer, reduced, row] (rowBytes = 4·row, a
 * multiple of 16) reduced along the middle axis into out [outer, row], with the stock wasm kernels' float32 results
 * (they transpose the reduced axes innermost, then loop): sums added in row order from +0; max/min keep the first
 * value unless a later one is strictly greater/less or NaN (so NaN anywhere gives NaN, and ±0 the first zero).
 */
function reduceRowsFunc(kind: 'sum' | 'max' | 'min'): Func {
  const [X, OUT, OUTER, REDUCED, ROW] = [0, 1, 2, 3, 4];
  const [O, R, C, P, Q] = [5, 6, 7, 8, 9];
  const [A, V] = [10, 11];
  const outAt = [op.get(OUT), op.get(Q), op.i32Add, op.get(C), op.i32Add];
  const xAt = [op.get(X), op.get(P), op.i32Add, op.get(C), op.i32Add];
  const combine = kind === 'sum'
    ? [op.get(A), op.get(V), op.f32x4Add]
    // v where v > a (max) or v < a (min), or v is NaN; else a
    : [op.get(V), op.get(A), op.get(V), op.get(A), kind === 'max' ? op.f32x4Gt : op.f32x4Lt, op.get(V), op.get(V), op.f32x4Ne, op.v128Or, op.v128Bitselect];
  return {
    name: `${kind}Rows`,
    params: [I32, I32, I32, I32, I32],
    locals: [I32, I32, I32, I32, I32, V128, V128],
    body: [
      op.i32Const(0), op.set(P), op.i32Const(0), op.set(Q),
      ...forLoop(O, OUTER, 1, [
        // out row ← +0 (sum) or x's first row (max, min: reducing it again changes nothing)
        ...forLoop(C, ROW, 16, [...outAt, ...(kind === 'sum' ? [op.f32Const(0), op.f32x4Splat] : [...xAt, op.v128Load]), op.v128Store]),
        ...forLoop(R, REDUCED, 1, [
          ...forLoop(C, ROW, 16, [...outAt, ...outAt, op.v128Load, op.set(A), ...xAt, op.v128Load, op.set(V), ...combine, op.v128Store]),
          op.get(P), op.get(ROW), op.i32Add, op.set(P),
        ]),
        op.get(Q), op.get(ROW), op.i32Add, op.set(Q),
      ]),
    ],
  };
}

/**
 * scatterAddF64(acc, x, to, count, rowBytes): for each of `count` rows of x (float32, rowBytes = 4·row, a multiple of
 * 16), the int32 at `to` (one per row, in order) is the byte offset in acc of that row's float64 accumulator row
 * (2·rowBytes bytes), or −1 to skip the row; the row is added to it, each float promoted (exactly) to float64.
 * The Embedding gradient's sums, as unsorted_segment_sum.ts computes them in JS.
 */
function scatterAddF64Func(): Func {
  const [ACC, X, TO, COUNT, ROW] = [0, 1, 2, 3, 4];
  const [I, C, XR, AR] = [5, 6, 7, 8];
  const [V] = [9];
  const accAt = (extra: number) => [op.get(ACC), op.get(AR), op.i32Add, op.get(C), op.i32Add, op.get(C), op.i32Add, ...(extra ? [op.i32Const(extra), op.i32Add] : [])];
  const addHalf = (extra: number, lanes: number[][]) => [...accAt(extra), ...accAt(extra), op.v128Load, ...lanes, op.f64x2PromoteLow, op.f64x2Add, op.v128Store];
  return {
    name: 'scatterAddF64',
    params: [I32, I32, I32, I32, I32],
    locals: [I32, I32, I32, I32, V128],
    body: [
      op.get(X), op.set(XR),
      ...forLoop(I, COUNT, 1, [
        op.block,
        op.get(TO), op.i32Load, op.tee(AR), op.i32Const(0), op.i32GeS, op.i32Eqz, op.brIf(0),
        ...forLoop(C, ROW, 16, [
          op.get(XR), op.get(C), op.i32Add, op.v128Load, op.set(V),
          ...addHalf(0, [op.get(V)]),
          ...addHalf(16, [op.get(V), op.get(V), op.swapHalves]),
        ]),
        op.end,
        op.get(TO), op.i32Const(4), op.i32Add, op.set(TO),
        op.get(XR), op.get(ROW), op.i32Add, op.set(XR),
      ]),
    ],
  };
}

/** demoteRow(out, acc, bytes): out (float32, `bytes` a multiple of 16) ← the float64 values at acc, each rounded once. */
function demoteRowFunc(): Func {
  const [OUT, ACC, BYTES] = [0, 1, 2];
  const [C] = [3];
  const accAt = (extra: number) => [op.get(ACC), op.get(C), op.i32Add, op.get(C), op.i32Add, op.i32Const(extra), op.i32Add, op.v128Load, op.f32x4DemoteF64x2Zero];
  return {
    name: 'demoteRow',
    params: [I32, I32, I32],
    locals: [I32],
    body: [
      ...forLoop(C, BYTES, 16, [op.get(OUT), op.get(C), op.i32Add, ...accAt(0), ...accAt(16), op.joinLowHalves, op.v128Store]),
    ],
  };
}

/**
 * gatherSum(out, src, table, rows, taps, rowBytes): out row r (float32, rowBytes a multiple of 16) ← +0 plus, in
 * order, the src rows at the byte offsets table[r·taps + t] for t < taps (int32; −1: none). The forward pass of a
 * convolution over gathered rows (embedding_conv.ts).
 */
function gatherSumFunc(): Func {
  const [OUT, SRC, TABLE, ROWS, TAPS, ROW] = [0, 1, 2, 3, 4, 5];
  const [R, T, C, OFF] = [6, 7, 8, 9];
  const outAt = [op.get(OUT), op.get(C), op.i32Add];
  return {
    name: 'gatherSum',
    params: [I32, I32, I32, I32, I32, I32],
    locals: [I32, I32, I32, I32],
    body: [
      ...forLoop(R, ROWS, 1, [
        ...forLoop(C, ROW, 16, [...outAt, op.f32Const(0), op.f32x4Splat, op.v128Store]),
        ...forLoop(T, TAPS, 1, [
          op.block,
          op.get(TABLE), op.i32Load, op.set(OFF),
          op.get(TABLE), op.i32Const(4), op.i32Add, op.set(TABLE),
          op.get(OFF), op.i32Const(0), op.i32GeS, op.i32Eqz, op.brIf(0),
          ...forLoop(C, ROW, 16, [...outAt, ...outAt, op.v128Load, op.get(SRC), op.get(OFF), op.i32Add, op.get(C), op.i32Add, op.v128Load, op.f32x4Add, op.v128Store]),
          op.end,
        ]),
        op.get(OUT), op.get(ROW), op.i32Add, op.set(OUT),
      ]),
    ],
  };
}

/**
 * copyRows(dst, src, from, count, rowBytes): row i of dst (rowBytes a multiple of 16) ← the rowBytes at src + from[i]
 * (int32 byte offsets). GatherV2's row copies (gather.ts, embedding_conv.ts) without a JS call per row.
 */
function copyRowsFunc(): Func {
  const [DST, SRC, FROM, COUNT, ROW] = [0, 1, 2, 3, 4];
  const [I, C, S] = [5, 6, 7];
  return {
    name: 'copyRows',
    params: [I32, I32, I32, I32, I32],
    locals: [I32, I32, I32],
    body: [
      ...forLoop(I, COUNT, 1, [
        op.get(SRC), op.get(FROM), op.i32Load, op.i32Add, op.set(S),
        ...forLoop(C, ROW, 16, [op.get(DST), op.get(C), op.i32Add, op.get(S), op.get(C), op.i32Add, op.v128Load, op.v128Store]),
        op.get(FROM), op.i32Const(4), op.i32Add, op.set(FROM),
        op.get(DST), op.get(ROW), op.i32Add, op.set(DST),
      ]),
    ],
  };
}

function assemble(funcs: Func[]): Uint8Array {
  const types = funcs.map(f => [0x60, ...vec(f.params.map(p => [p])), 0x00]);
  // Memory limits: none (min 0). The memory is the importer's: tfjs' heap, or the monitor thread's own.
  const limits = [0x00, 0x00];
  const imports = [[...utf8('env'), ...utf8('memory'), 0x02, ...limits]];
  const globals = [F64, F64, F32, F32, I32, I32].map(t => [
    t, 0x01, ...(t === F64 ? op.f64Const0 : t === F32 ? op.f32Const(0) : op.i32Const(0)), 0x0b,
  ]);
  const exports = [
    ...funcs.map((f, i) => [...utf8(f.name), 0x00, ...uleb(i)]),
    ...['a', 'b', 'min', 'max', 'zeros', 'count'].map((name, i) => [...utf8(name), 0x03, ...uleb(i)]),
  ];
  const codes = funcs.map(f => {
    const locals = f.locals.map(t => [1, t]); // one entry per local: simple, and small enough
    const body = [...vec(locals), ...f.body.flat(), 0x0b];
    return [...uleb(body.length), ...body];
  });
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec(types)),
    ...section(2, vec(imports)),
    ...section(3, vec(funcs.map((_, i) => uleb(i)))),
    ...section(6, vec(globals)),
    ...section(7, vec(exports)),
    ...section(10, vec(codes)),
  ]);
}

// ---------------------------------------------------------------------------------------------------
// Instantiation against the wasm backend's memory

export interface SimdKernels {
  memory: WasmMemory;
  adam(w: number, out: number, g: number, m: number, v: number, bytes: number, lr: number, beta1: number, oneMinusBeta1: number,
    beta2: number, oneMinusBeta2: number, c1: number, c2: number, eps: number): void;
  sgd(w: number, out: number, g: number, bytes: number, lr: number): void;
  moments(x: number, bytes: number): void;
  histogram(x: number, bytes: number, slots: number, edges: number, counts: number): void;
  activation(y: number, bytes: number, rowBytes: number, alive: number, low: number, high: number): void;
  axpy(dst: number, src: number, bytes: number, a: number): void;
  nonzeroGroups(x: number, bytes: number, out: number): void;
  finite(x: number, bytes: number): void;
  extremumGrad(x: number, y: number, dy: number, dx: number, scratch: number, outer: number, reduced: number, rowBytes: number): void;
  sumRows(x: number, out: number, outer: number, reduced: number, rowBytes: number): void;
  maxRows(x: number, out: number, outer: number, reduced: number, rowBytes: number): void;
  minRows(x: number, out: number, outer: number, reduced: number, rowBytes: number): void;
  scatterAddF64(acc: number, x: number, to: number, count: number, rowBytes: number): void;
  demoteRow(out: number, acc: number, bytes: number): void;
  gatherSum(out: number, src: number, table: number, rows: number, taps: number, rowBytes: number): void;
  copyRows(dst: number, src: number, from: number, count: number, rowBytes: number): void;
  /** Results of the last call: A, B (float64 sums), min, max, zeros, count. */
  result: { a: WasmGlobal; b: WasmGlobal; min: WasmGlobal; max: WasmGlobal; zeros: WasmGlobal; count: WasmGlobal };
}

let compiled: object | null | undefined;
const instances = new WeakMap<WasmMemory, SimdKernels>();

/** The module's bytes (for tests, and for the monitor thread, which binds it to its own memory: monitorThread.ts). */
export function simdModuleBytes(): Uint8Array {
  return assemble([adamFunc(), sgdFunc(), momentsFunc(), histogramFunc(), activationFunc(), axpyFunc(), nonzeroGroupsFunc(), finiteFunc(), extremumGradFunc(),
    reduceRowsFunc('sum'), reduceRowsFunc('max'), reduceRowsFunc('min'), scatterAddF64Func(), demoteRowFunc(), gatherSumFunc(), copyRowsFunc()]);
}

/**
 * The kernels bound to the wasm backend's memory, or undefined when the current backend is not wasm, or
 * WebAssembly SIMD is unavailable (then callers keep their JS paths). Set GRADMON_SIMD=0 to turn them off.
 */
export function simdKernels(): SimdKernels | undefined {
  if (getBackend() !== 'wasm' || process.env.GRADMON_SIMD === '0') return undefined;
  const memory = (backend() as unknown as { wasm?: { asm?: { memory?: WasmMemory } } }).wasm?.asm?.memory;
  if (!(memory instanceof WebAssembly.Memory)) return undefined;
  let kernels = instances.get(memory);
  if (kernels) return kernels;
  if (compiled === undefined) {
    try {
      compiled = new WebAssembly.Module(simdModuleBytes());
    } catch {
      compiled = null; // no SIMD in this engine
    }
  }
  if (compiled === null) return undefined;
  const e = new WebAssembly.Instance(compiled, { env: { memory } }).exports as unknown as Omit<SimdKernels, 'memory' | 'result'> & SimdKernels['result'];
  kernels = {
    memory, adam: e.adam, sgd: e.sgd, moments: e.moments, histogram: e.histogram, activation: e.activation, axpy: e.axpy, nonzeroGroups: e.nonzeroGroups, finite: e.finite,
    extremumGrad: e.extremumGrad, sumRows: e.sumRows, maxRows: e.maxRows, minRows: e.minRows,
    scatterAddF64: e.scatterAddF64, demoteRow: e.demoteRow, gatherSum: e.gatherSum, copyRows: e.copyRows,
    result: { a: e.a, b: e.b, min: e.min, max: e.max, zeros: e.zeros, count: e.count },
  };
  instances.set(memory, kernels);
  return kernels;
}

/** Whether `view` lies in the kernels' memory (a heap view of a wasm tensor), so they can read it in place. */
export function onHeap(kernels: SimdKernels, view: Float32Array): boolean {
  return view.buffer === kernels.memory.buffer;
}
